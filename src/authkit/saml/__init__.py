"""SAML 2.0 service provider."""

from authkit.errors import SAMLValidationError
from authkit.saml._attributes import (
    DEFAULT_ATTRIBUTE_REGISTRY,
    AttributeDefinition,
    AttributeRegistry,
)
from authkit.saml._authn_request import LoginRequest
from authkit.saml._idp_metadata import (
    Endpoint,
    IdPListing,
    IdPMetadata,
    Logo,
    Scope,
    fetch_idp_metadata,
    fetch_metadata,
    find_idp,
    iter_idps,
    list_idps,
    parse_idp_metadata,
)
from authkit.saml._invenio import SAMLIdPConfig, load_sso_saml_idp, load_sso_saml_idps
from authkit.saml._logout import IdPLogoutRequest, LogoutMessage, LogoutResult
from authkit.saml._mapping import NAME_ID, AttributeMapping, AttributeRule, MappedIdentity
from authkit.saml._replay import MemoryReplayCache, ReplayCache, StateStoreReplayCache
from authkit.saml._response import SAMLAttribute, SAMLAuthn
from authkit.saml._settings import (
    AttributeConsumingService,
    ContactPerson,
    IdPSettings,
    Organization,
    RequestedAttribute,
    SAMLSettings,
    SecuritySettings,
    SPSettings,
)
from authkit.saml._sp import ServiceProvider

__all__ = [
    "DEFAULT_ATTRIBUTE_REGISTRY",
    "NAME_ID",
    "AttributeConsumingService",
    "AttributeDefinition",
    "AttributeMapping",
    "AttributeRegistry",
    "AttributeRule",
    "ContactPerson",
    "Endpoint",
    "IdPListing",
    "IdPLogoutRequest",
    "IdPMetadata",
    "IdPSettings",
    "LoginRequest",
    "Logo",
    "LogoutMessage",
    "LogoutResult",
    "MappedIdentity",
    "MemoryReplayCache",
    "Organization",
    "ReplayCache",
    "RequestedAttribute",
    "SAMLAttribute",
    "SAMLAuthn",
    "SAMLIdPConfig",
    "SAMLSettings",
    "SAMLValidationError",
    "SPSettings",
    "Scope",
    "SecuritySettings",
    "ServiceProvider",
    "StateStoreReplayCache",
    "fetch_idp_metadata",
    "fetch_metadata",
    "find_idp",
    "iter_idps",
    "list_idps",
    "load_sso_saml_idp",
    "load_sso_saml_idps",
    "parse_idp_metadata",
]
