"""The OAuth 2.0 / OpenID Connect client for one provider: the whole sign-in, end to end.

Theory of operation
-------------------
:class:`OAuthClient` ties the sans-IO pieces to one transport and one state store:

1. ``authorization_redirect`` — discovery if the provider is configured by issuer or discovery
   URL (cached), then :func:`~authkit.oauth.begin_authorization`.
2. ``handle_callback`` — :func:`~authkit.oauth.complete_authorization` (state taken once,
   session binding, RFC 9207 ``iss``), the code exchanged at the token endpoint with the
   configured client authentication and the PKCE verifier, the ID token validated (signature
   against the cached JWKS, iss/aud/azp/exp/iat/nbf/nonce/at_hash), then the user info: from the
   UserInfo endpoint (whose ``sub`` must equal the ID token's) or from the ID token, or from the
   provider's own profile API through a *profile fetcher* (GitHub, ORCID… in
   :mod:`authkit.providers`), which returns OIDC-shaped claims.
3. ``refresh``, ``revoke`` and ``logout_url`` serve the rest of a session's life.

Every failure is an :class:`~authkit.errors.AuthkitError`; none leaks a transport, JSON or JWT
exception.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from authkit.config import RemoteApp
from authkit.config._registry import CALLBACK_PATH
from authkit.errors import InvalidTokenError, ProviderResponseError
from authkit.oauth._authorization import (
    AuthorizationRedirect,
    begin_authorization,
    complete_authorization,
)
from authkit.oauth._discovery import (
    ProviderMetadata,
    apply_provider_metadata,
    fetch_provider_metadata,
)
from authkit.oauth._idtoken import IDTokenValidator
from authkit.oauth._tokens import (
    TokenSet,
    authorization_code_request,
    end_session_url,
    parse_token_response,
    refresh_token_request,
    revocation_request,
)
from authkit.stores import MemoryStateStore, StateStore
from authkit.transport import HTTPRequest, RequestsTransport, Transport

__all__ = ["OAuthClient", "ProfileFetcher", "SignInResult"]

#: Signature algorithms accepted for ID tokens when the provider's metadata lists them.
_ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class ProfileFetcher(Protocol):
    """Fetches what a provider says about the person and returns OIDC-shaped claims.

    Contrib providers whose profile is not a standard UserInfo (GitHub's ``/user`` and
    ``/user/emails``, ORCID's token response) implement this; ``sub`` must be in the result.
    """

    def __call__(
        self, client: OAuthClient, tokens: TokenSet, id_token_claims: Mapping[str, Any]
    ) -> dict[str, Any]: ...


@attrs.frozen(kw_only=True)
class SignInResult:
    """A completed sign-in.

    Attributes:
        provider: The provider's name.
        subject: The person's stable identifier at the provider (``sub``).
        tokens: The token response.
        id_token_claims: The validated ID token's claims (empty for plain OAuth 2.0).
        userinfo: OIDC-shaped claims about the person (UserInfo, or the ID token's claims, or
            what a profile fetcher returned).
        next_url: The checked ``next`` URL given when signing in started.
    """

    provider: str
    subject: str
    tokens: TokenSet
    id_token_claims: Mapping[str, Any]
    userinfo: Mapping[str, Any]
    next_url: str | None


class OAuthClient:
    """Sign people in through one OAuth 2.0 / OpenID Connect provider.

    Args:
        app: The provider.
        redirect_uri: The callback URL registered at the provider; derived from ``public_url``
            when omitted (``<public_url>/oauth/authorized/<name>/``).
        public_url: The site's public base URL.
        transport: How HTTP is sent (``RequestsTransport`` by default).
        store: Where states, the discovery document and JWKS are kept (memory by default;
            use a shared store with several workers).
        allowed_hosts: Hosts an absolute ``next`` URL may point to.
        profile: A profile fetcher for providers without a standard UserInfo.
        algorithms: ID-token signature algorithms accepted; by default the asymmetric ones the
            provider's metadata lists, else ``RS256``.
        leeway: Clock skew tolerated on ID-token times, in seconds.
        state_lifetime: Seconds a person has to complete the sign-in at the provider.
        discovery_ttl: Seconds a fetched discovery document is trusted.
        clock: Current time in seconds.
    """

    def __init__(
        self,
        app: RemoteApp,
        *,
        redirect_uri: str | None = None,
        public_url: str | None = None,
        transport: Transport | None = None,
        store: StateStore | None = None,
        allowed_hosts: tuple[str, ...] = (),
        profile: ProfileFetcher | None = None,
        algorithms: tuple[str, ...] | None = None,
        leeway: float = 60.0,
        state_lifetime: float = 600.0,
        discovery_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if redirect_uri is None:
            if public_url is None:
                raise TypeError("OAuthClient needs redirect_uri or public_url")
            redirect_uri = public_url.rstrip("/") + CALLBACK_PATH.format(name=app.name)
        self.configured_app = app
        self.redirect_uri = redirect_uri
        self.transport: Transport = transport if transport is not None else RequestsTransport()
        # An empty store is falsy (it has a length): compare with None, not truthiness.
        self.store: StateStore = store if store is not None else MemoryStateStore(clock=clock)
        self.allowed_hosts = allowed_hosts
        self.profile = profile
        self.algorithms = algorithms
        self.leeway = leeway
        self.state_lifetime = state_lifetime
        self.discovery_ttl = discovery_ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        # The configured app with the endpoints of ``_metadata`` filled in, built once per
        # fetched document (building validates every field again).
        self._resolved: tuple[ProviderMetadata, RemoteApp] | None = None
        self._validator: IDTokenValidator | None = None

    # --- configuration resolved through discovery ------------------------------------------------

    def metadata(self) -> ProviderMetadata | None:
        """The provider's discovery metadata, fetched (and cached) when it has a discovery URL
        or is an OIDC provider configured by issuer only; ``None`` otherwise."""
        app = self.configured_app
        source = app.discovery_url or (app.issuer if app.is_oidc else None)
        if source is None:
            return None
        now = self.clock()
        with self._lock:
            if self._metadata is None or now - self._metadata_at > self.discovery_ttl:
                self._metadata = fetch_provider_metadata(
                    source,
                    transport=self.transport,
                    timeout=app.timeout,
                    store=self.store,
                    ttl=self.discovery_ttl,
                    expected_issuer=app.issuer,
                    provider=app.name,
                )
                self._metadata_at = now
            return self._metadata

    @property
    def app(self) -> RemoteApp:
        """The provider with endpoints filled in from discovery."""
        metadata = self.metadata()
        if metadata is None:
            return self.configured_app
        resolved = self._resolved
        if resolved is None or resolved[0] is not metadata:
            resolved = (metadata, apply_provider_metadata(self.configured_app, metadata))
            self._resolved = resolved
        return resolved[1]

    def id_token_validator(self) -> IDTokenValidator:
        """The (cached) validator for this provider's ID tokens."""
        app = self.app
        with self._lock:
            if self._validator is None:
                self._validator = IDTokenValidator(
                    issuer=app.require("issuer"),
                    client_id=app.require_credentials()[0],
                    jwks=app.require("jwks_url"),
                    algorithms=list(self._algorithms()),
                    leeway=self.leeway,
                    audience=(app.audience,) if app.audience else (),
                    verify_exp=app.verify_exp,
                    verify_aud=app.verify_aud,
                    transport=self.transport,
                    store=self.store,
                    timeout=app.timeout,
                    provider=app.name,
                    clock=self.clock,
                )
            return self._validator

    def _algorithms(self) -> tuple[str, ...]:
        if self.algorithms:
            return self.algorithms
        metadata = self._metadata
        if metadata and metadata.id_token_signing_alg_values_supported:
            allowed = tuple(
                a for a in metadata.id_token_signing_alg_values_supported if a in _ASYMMETRIC
            )
            if allowed:
                return allowed
        return ("RS256",)

    # --- the sign-in ---------------------------------------------------------------------------

    def authorization_redirect(
        self, *, session_id: str, next_url: str | None = None, **options: Any
    ) -> AuthorizationRedirect:
        """Start signing in: the URL to redirect the browser to (its state is stored).

        ``options`` are those of :func:`~authkit.oauth.begin_authorization` (``prompt``,
        ``max_age``, ``login_hint``, ``idp_hint``, ``scope``, ``extra_params``).
        """
        return begin_authorization(
            self.app,
            redirect_uri=self.redirect_uri,
            session_id=session_id,
            store=self.store,
            next_url=next_url,
            allowed_hosts=self.allowed_hosts,
            lifetime=self.state_lifetime,
            clock=self.clock,
            **options,
        )

    def handle_callback(self, params: Mapping[str, Any], *, session_id: str) -> SignInResult:
        """Finish signing in from the callback's query parameters."""
        app = self.app
        metadata = self._metadata
        callback = complete_authorization(
            app,
            params,
            session_id=session_id,
            store=self.store,
            expected_issuer=app.issuer,
            require_iss=bool(metadata and metadata.authorization_response_iss_parameter_supported),
            allowed_hosts=self.allowed_hosts,
            lifetime=self.state_lifetime,
            clock=self.clock,
        )
        pending = callback.pending
        tokens = self.exchange_code(
            callback.code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )
        claims: dict[str, Any] = {}
        if app.is_oidc:
            if tokens.id_token is None:
                raise ProviderResponseError(
                    f"{app.name} is an OpenID provider but issued no ID token",
                    provider=app.name,
                    code="oidc.id_token_missing",
                )
            claims = self.validate_id_token(
                tokens.id_token, nonce=pending.nonce, access_token=tokens.access_token
            )
        userinfo = self._userinfo(app, tokens, claims)
        subject = claims.get("sub", userinfo.get("sub"))
        if not isinstance(subject, str) or not subject:
            raise ProviderResponseError(
                f"{app.name} did not say who signed in (no 'sub')",
                provider=app.name,
                code="oidc.subject_missing",
            )
        return SignInResult(
            provider=app.name,
            subject=subject,
            tokens=tokens,
            id_token_claims=claims,
            userinfo=userinfo,
            next_url=pending.next_url,
        )

    def exchange_code(
        self, code: str, *, code_verifier: str | None, redirect_uri: str | None = None
    ) -> TokenSet:
        """Exchange an authorization code for tokens."""
        app = self.app
        request = authorization_code_request(
            app,
            code=code,
            redirect_uri=redirect_uri or self.redirect_uri,
            code_verifier=code_verifier,
            clock=self.clock,
        )
        return parse_token_response(app, self.transport.send(request), clock=self.clock)

    def validate_id_token(
        self, id_token: str, *, nonce: str | None, access_token: str | None = None
    ) -> dict[str, Any]:
        """Validate an ID token from this provider and return its claims."""
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        return self.id_token_validator().validate(
            id_token, nonce=nonce, access_token=access_token, now=now
        )

    def fetch_userinfo(self, access_token: str) -> dict[str, Any]:
        """Call the UserInfo endpoint (OIDC Core §5.3) with the access token."""
        app = self.app
        response = self.transport.send(
            HTTPRequest(
                method="GET",
                url=app.require("userinfo_url"),
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=app.timeout,
                idempotent=False,
                provider=app.name,
            )
        )
        response.raise_for_status(provider=app.name)
        if "application/jwt" in response.headers.get("content-type", ""):
            raise ProviderResponseError(
                f"{app.name} answered UserInfo with a signed JWT, which is not supported",
                provider=app.name,
                code="oidc.userinfo_jwt_unsupported",
            )
        return response.json_object(provider=app.name)

    def _userinfo(
        self, app: RemoteApp, tokens: TokenSet, claims: Mapping[str, Any]
    ) -> dict[str, Any]:
        if self.profile is not None:
            info = self.profile(self, tokens, claims)
        elif app.userinfo_from == "endpoint" and app.userinfo_url:
            info = self.fetch_userinfo(tokens.access_token)
        else:
            return dict(claims)
        if claims:
            sub = info.get("sub")
            # OIDC Core §5.3.2: the UserInfo sub MUST equal the ID token's, or it is discarded.
            if not isinstance(sub, str) or not hmac.compare_digest(sub, str(claims["sub"])):
                raise InvalidTokenError(
                    "the UserInfo response is about another subject than the ID token",
                    code="oidc.userinfo_sub_mismatch",
                )
        return info

    # --- the rest of a session's life ----------------------------------------------------------

    def refresh(self, refresh_token: str, *, scope: str | None = None) -> TokenSet:
        """Get fresh tokens with a refresh token (RFC 6749 §6)."""
        app = self.app
        request = refresh_token_request(
            app, refresh_token=refresh_token, scope=scope, clock=self.clock
        )
        tokens = parse_token_response(app, self.transport.send(request), clock=self.clock)
        if tokens.refresh_token is None:  # §6: the old refresh token stays valid if none is issued
            tokens = attrs.evolve(tokens, refresh_token=refresh_token)
        return tokens

    def revoke(self, token: str, *, token_type_hint: str | None = "access_token") -> None:
        """Revoke a token at the provider (RFC 7009); a no-op when it has no revocation endpoint."""
        app = self.app
        if not app.revocation_url:
            return
        request = revocation_request(
            app, token=token, token_type_hint=token_type_hint, clock=self.clock
        )
        self.transport.send(request).raise_for_status(provider=app.name)

    def logout_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str | None:
        """The provider's RP-initiated logout URL, or ``None`` when it has no end-session
        endpoint."""
        app = self.app
        if not app.end_session_url:
            return None
        return end_session_url(
            app,
            id_token_hint=id_token_hint,
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=state,
        )
