"""Test harness: a real OpenID provider and a real SAML IdP on loopback, pytest fixtures."""

from authkit.testing._oidc_faults import Fault, FaultInjector
from authkit.testing._oidc_model import OIDCClient, OIDCUser
from authkit.testing._oidc_provider import OIDCProvider, RecordedRequest
from authkit.testing._saml_idp import SAMLIdentityProvider
from authkit.testing._saml_idp_model import (
    IssuedResponse,
    PostForm,
    ReceivedAuthnRequest,
    ReceivedLogoutRequest,
    ReceivedLogoutResponse,
    Rejection,
    SAMLMessage,
    SAMLRelyingParty,
    SAMLSession,
    SAMLUser,
    read_post_form,
)

__all__: list[str] = [
    "Fault",
    "FaultInjector",
    "IssuedResponse",
    "OIDCClient",
    "OIDCProvider",
    "OIDCUser",
    "PostForm",
    "ReceivedAuthnRequest",
    "ReceivedLogoutRequest",
    "ReceivedLogoutResponse",
    "RecordedRequest",
    "Rejection",
    "SAMLIdentityProvider",
    "SAMLMessage",
    "SAMLRelyingParty",
    "SAMLSession",
    "SAMLUser",
    "read_post_form",
]
