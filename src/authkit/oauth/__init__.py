"""OAuth 2.0 and OpenID Connect client: sans-IO requests, callbacks, token validation.

The sans-IO pieces (:func:`begin_authorization`, :func:`complete_authorization`, the token
request builders, :func:`parse_provider_metadata`) take and return values; :class:`OAuthClient`
runs a whole sign-in through one :class:`~authkit.transport.Transport` and one
:class:`~authkit.stores.StateStore`.
"""

from authkit.errors import InvalidTokenError
from authkit.oauth._authorization import (
    AuthorizationCallback,
    AuthorizationRedirect,
    PendingAuthorization,
    begin_authorization,
    complete_authorization,
)
from authkit.oauth._client import OAuthClient, ProfileFetcher, SignInResult
from authkit.oauth._discovery import (
    ProviderMetadata,
    apply_provider_metadata,
    discovery_url_for,
    fetch_provider_metadata,
    parse_provider_metadata,
)
from authkit.oauth._idtoken import IDTokenValidator
from authkit.oauth._jwks import JWK, JWKSCache, KeySet
from authkit.oauth._pkce import code_challenge, new_code_verifier
from authkit.oauth._tokens import (
    TokenSet,
    authorization_code_request,
    end_session_url,
    parse_token_response,
    refresh_token_request,
    revocation_request,
)

__all__ = [
    "JWK",
    "AuthorizationCallback",
    "AuthorizationRedirect",
    "IDTokenValidator",
    "InvalidTokenError",
    "JWKSCache",
    "KeySet",
    "OAuthClient",
    "PendingAuthorization",
    "ProfileFetcher",
    "ProviderMetadata",
    "SignInResult",
    "TokenSet",
    "apply_provider_metadata",
    "authorization_code_request",
    "begin_authorization",
    "code_challenge",
    "complete_authorization",
    "discovery_url_for",
    "end_session_url",
    "fetch_provider_metadata",
    "new_code_verifier",
    "parse_provider_metadata",
    "parse_token_response",
    "refresh_token_request",
    "revocation_request",
]
