"""Test harness: a real OpenID provider and a real SAML IdP on loopback, pytest fixtures."""

from authkit.testing._oidc_faults import Fault, FaultInjector
from authkit.testing._oidc_model import OIDCClient, OIDCUser
from authkit.testing._oidc_provider import OIDCProvider, RecordedRequest

__all__: list[str] = [
    "Fault",
    "FaultInjector",
    "OIDCClient",
    "OIDCProvider",
    "OIDCUser",
    "RecordedRequest",
]
