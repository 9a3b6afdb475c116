"""The authorization request and its callback (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1).

Theory of operation
-------------------
1. :func:`begin_authorization` draws a high-entropy ``state``, a PKCE verifier and (for OIDC) a
   ``nonce``, and stores a :class:`PendingAuthorization` under the state in the state store, with
   a TTL and a hash of the browser session it belongs to. It returns the URL to send the browser
   to.
2. The provider redirects back with ``code`` and ``state`` (or ``error``).
   :func:`complete_authorization` *takes* the pending authorization out of the store atomically —
   so a state is usable once, even when two workers race — and checks that it exists, has not
   expired, was not used before, belongs to this browser session and this provider, and that the
   RFC 9207 ``iss`` parameter names the expected issuer. It returns the code and the pending
   authorization, whose verifier and nonce the token exchange and ID-token check need.

Nothing here performs I/O besides the state store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from authkit._redirects import check_redirect
from authkit.config import RemoteApp
from authkit.errors import AuthorizationError, StateError
from authkit.oauth._pkce import code_challenge, new_code_verifier
from authkit.stores import StateStore

__all__ = [
    "AuthorizationCallback",
    "AuthorizationRedirect",
    "PendingAuthorization",
    "begin_authorization",
    "complete_authorization",
]

_STATE_KEY = "authkit:oauth:state:"
_USED_KEY = "authkit:oauth:used:"
#: Parameters authkit computes itself; configuration cannot override them.
_RESERVED = frozenset(
    {"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge",
     "code_challenge_method"}
)  # fmt: skip


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@attrs.frozen(kw_only=True)
class PendingAuthorization:
    """What is remembered between the authorization request and its callback."""

    provider: str
    session_hash: str
    redirect_uri: str
    code_verifier: str | None
    nonce: str | None
    next_url: str | None
    issued_at: float

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingAuthorization:
        try:
            return cls(**data)
        except TypeError as exc:  # a record written by another version
            raise StateError(
                "the stored sign-in state is unreadable", code="oauth.state_unknown"
            ) from exc


@attrs.frozen(kw_only=True)
class AuthorizationRedirect:
    """Where to send the browser to start signing in.

    Attributes:
        url: The provider's authorization URL with every parameter.
        state: The ``state`` value (already stored).
        pending: What was stored under it.
    """

    url: str
    state: str
    pending: PendingAuthorization


@attrs.frozen(kw_only=True)
class AuthorizationCallback:
    """A callback that passed every check: the code to exchange and the pending authorization."""

    code: str
    state: str
    pending: PendingAuthorization


def begin_authorization(
    app: RemoteApp,
    *,
    redirect_uri: str,
    session_id: str,
    store: StateStore,
    next_url: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    scope: str | None = None,
    prompt: str | None = None,
    max_age: int | None = None,
    login_hint: str | None = None,
    idp_hint: str | None = None,
    extra_params: Mapping[str, str] | None = None,
    lifetime: float = 600.0,
    clock: Callable[[], float] = time.time,
) -> AuthorizationRedirect:
    """Build the authorization request and remember its state.

    Args:
        app: The provider (its ``authorize_url`` and ``client_id`` must be set).
        redirect_uri: The callback URL registered at the provider.
        session_id: An opaque identifier of the browser session the state is bound to.
        store: Where the pending authorization is kept.
        next_url: Where to send the person after signing in; checked now and on use.
        allowed_hosts: Hosts an absolute ``next_url`` may point to.
        scope: Overrides the provider's configured scope.
        prompt: OIDC ``prompt`` (``login``, ``consent``, ``none``…).
        max_age: OIDC ``max_age`` in seconds.
        login_hint: OIDC ``login_hint``.
        idp_hint: Keycloak's ``kc_idp_hint`` (brokered identity provider to use).
        extra_params: More provider-specific parameters.
        lifetime: Seconds the person has to come back.
        clock: Current time in seconds.

    Raises:
        MissingSettingError: ``authorize_url`` is not set (discover it first).
        MissingCredentialsError: ``client_id`` is not set.
        RedirectNotAllowedError: ``next_url`` is not allowed.
    """
    authorize_url = app.require("authorize_url")
    client_id = app.require_credentials()[0]
    if next_url is not None:
        check_redirect(next_url, allowed_hosts=allowed_hosts)
    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier() if app.pkce else None
    nonce = secrets.token_urlsafe(24) if app.is_oidc and app.nonce else None

    params: dict[str, str] = {}
    for key, value in {**app.authorize_params, **(extra_params or {})}.items():
        if key not in _RESERVED:
            params[key] = str(value)
    requested_scope = scope if scope is not None else app.scope
    if app.is_oidc and "openid" not in requested_scope.replace(",", " ").split():
        requested_scope = f"openid {requested_scope}".strip()
    params.update(
        {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
         "state": state}
    )  # fmt: skip
    if requested_scope:
        params["scope"] = requested_scope
    if verifier is not None:
        params["code_challenge"] = code_challenge(verifier)
        params["code_challenge_method"] = "S256"
    if nonce is not None:
        params["nonce"] = nonce
    if prompt is not None:
        params["prompt"] = prompt
    if max_age is not None:
        params["max_age"] = str(int(max_age))
    if login_hint is not None:
        params["login_hint"] = login_hint
    if idp_hint is not None:
        params["kc_idp_hint"] = idp_hint

    pending = PendingAuthorization(
        provider=app.name,
        session_hash=_session_hash(session_id),
        redirect_uri=redirect_uri,
        code_verifier=verifier,
        nonce=nonce,
        next_url=next_url,
        issued_at=clock(),
    )
    # Keep the record a little longer than its lifetime so an expired state is reported as
    # expired rather than unknown.
    store.put(_STATE_KEY + state, pending.to_dict(), ttl=lifetime + 300.0)
    separator = "&" if urlsplit(authorize_url).query else "?"
    return AuthorizationRedirect(
        url=f"{authorize_url}{separator}{urlencode(params)}", state=state, pending=pending
    )


def complete_authorization(
    app: RemoteApp,
    params: Mapping[str, str],
    *,
    session_id: str,
    store: StateStore,
    expected_issuer: str | None = None,
    require_iss: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    lifetime: float = 600.0,
    clock: Callable[[], float] = time.time,
) -> AuthorizationCallback:
    """Check the callback's query parameters and consume its state.

    Args:
        app: The provider the callback is for.
        params: The callback's query (or form) parameters.
        session_id: The browser session the callback arrived in.
        store: The state store used by :func:`begin_authorization`.
        expected_issuer: The provider's issuer, for the RFC 9207 ``iss`` check.
        require_iss: The provider advertises ``authorization_response_iss_parameter_supported``:
            a callback without ``iss`` is refused (mix-up defence).
        allowed_hosts: Hosts an absolute ``next_url`` may point to.
        lifetime: Seconds a state is valid.
        clock: Current time in seconds.

    Raises:
        AuthorizationError: The provider answered with an OAuth error (``oauth.<error>``).
        StateError: ``oauth.state_missing``, ``oauth.state_unknown``, ``oauth.state_reused``,
            ``oauth.state_expired``, ``oauth.state_session_mismatch``,
            ``oauth.state_provider_mismatch``, ``oauth.issuer_mismatch``,
            ``oauth.issuer_missing``, ``oauth.code_missing``.
    """
    state = _single(params, "state")
    if not state:
        if "error" in params:
            raise _oauth_error(params)
        raise StateError("the callback carries no state", code="oauth.state_missing")
    if len(state) > 512:
        raise StateError(
            "the callback's state is not one authkit issued", code="oauth.state_unknown"
        )
    now = clock()
    record = store.take(_STATE_KEY + state)
    if record is None:
        if store.get(_USED_KEY + state) is not None:
            raise StateError(
                "this sign-in link was already used; start signing in again",
                code="oauth.state_reused",
            )
        raise StateError(
            "the sign-in state is unknown or has expired; start signing in again",
            code="oauth.state_unknown",
        )
    store.put(_USED_KEY + state, {"at": now}, ttl=lifetime + 300.0)
    pending = PendingAuthorization.from_dict(record)
    if not hmac.compare_digest(pending.session_hash, _session_hash(session_id)):
        raise StateError(
            "the sign-in was started in another browser session",
            code="oauth.state_session_mismatch",
        )
    if pending.provider != app.name:
        raise StateError(
            f"the sign-in was started for another provider than {app.name!r}",
            code="oauth.state_provider_mismatch",
        )
    if now - pending.issued_at > lifetime:
        raise StateError(
            "the sign-in took too long and has expired; start signing in again",
            code="oauth.state_expired",
        )
    iss = _single(params, "iss")
    # Without a known issuer (a plain OAuth 2.0 provider configured by endpoints) there is
    # nothing to compare with; the per-provider callback URL and the state's provider binding
    # remain the mix-up defence there.
    if iss is not None and expected_issuer is not None:
        if not hmac.compare_digest(iss, expected_issuer):
            raise StateError(
                "the callback's 'iss' does not name this provider (possible mix-up attack)",
                code="oauth.issuer_mismatch",
            )
    elif require_iss:
        raise StateError(
            "the provider announces the 'iss' callback parameter but the callback lacks it",
            code="oauth.issuer_missing",
        )
    if "error" in params:
        raise _oauth_error(params)
    code = _single(params, "code")
    if not code:
        raise StateError("the callback carries no authorization code", code="oauth.code_missing")
    if pending.next_url is not None:
        check_redirect(pending.next_url, allowed_hosts=allowed_hosts)
    return AuthorizationCallback(code=code, state=state, pending=pending)


def _single(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list | tuple):  # frameworks that give every value as a list
        if len(value) != 1:
            raise StateError(f"the callback repeats the {name!r} parameter", code="oauth.malformed")
        value = value[0]
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateError(f"the callback's {name!r} parameter is malformed", code="oauth.malformed")
    return value


def _oauth_error(params: Mapping[str, Any]) -> AuthorizationError:
    error = _single(params, "error") or "error"
    description = _single(params, "error_description")
    uri = _single(params, "error_uri")
    readable = {
        "access_denied": "the sign-in was cancelled or refused at the provider",
        "login_required": "the provider requires the person to sign in",
        "consent_required": "the provider requires the person's consent",
        "interaction_required": "the provider requires the person's interaction",
        "temporarily_unavailable": "the provider is temporarily unavailable",
        "server_error": "the provider had an internal error",
    }.get(error, "the provider refused the authorization request")
    return AuthorizationError(readable, error=error, error_description=description, error_uri=uri)
