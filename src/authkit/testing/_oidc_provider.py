"""A real OpenID provider on loopback, for tests: :class:`OIDCProvider`.

It serves OpenID Connect Discovery 1.0, a JWKS, the authorization endpoint (RFC 6749 §4.1 with
PKCE, RFC 7636, and the ``iss`` parameter, RFC 9207), the token endpoint (authorization code and
refresh token grants; ``client_secret_basic``, ``client_secret_post``, ``private_key_jwt``), the
UserInfo endpoint (OpenID Connect Core §5.3, bearer tokens per RFC 6750), token revocation
(RFC 7009) and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), over real HTTP
from :class:`~authkit.testing._http.LoopbackHTTPServer`. It is strict where a lax provider would
hide client bugs: wrong credentials, wrong PKCE verifiers, reused codes and refresh tokens,
mismatched redirect URIs and repeated parameters are all refused with the error the RFCs name.

Theory of operation:

- *Authorization.* ``GET /authorize`` validates the client and the redirect URI first; while
  either is wrong nothing is redirected (a ``400`` HTML page, RFC 6749 §4.1.2.1). Other errors
  are redirected to the client with ``error``, ``state`` and ``iss``. A valid request is approved
  at once for the user chosen with :meth:`OIDCProvider.login_as`, or else parked as a *pending
  login* (random id, CSRF token) and answered with an HTML form whose POST completes it.
- *Codes.* Approval creates a single-use code bound to the client, redirect URI, scopes, nonce
  and PKCE challenge, expiring ``code_lifetime`` seconds later by the provider's clock.
- *Grants.* Redeeming a code creates a *grant*: every access and refresh token issued from it
  belongs to it. A code presented twice revokes its grant (RFC 6749 §4.1.2); a rotated refresh
  token presented again revokes its grant too (reuse detection, RFC 9700 §4.14.2); revoking a
  refresh token revokes the grant (RFC 7009 §2.1).
- *Faults.* Each request first fires the faults switched on for its endpoint
  (:class:`~authkit.testing.FaultInjector`): transport faults replace the answer, token faults
  alter the ID token, authorization faults alter the redirect.
- *Concurrency.* Requests are served in parallel threads; all state changes happen under one
  lock, and injected delays happen outside it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import jwt

from authkit.errors import InvalidSettingError
from authkit.testing._http import (
    DropConnection,
    LoopbackHTTPServer,
    LoopbackService,
    RecordedRequest,
    ServerRequest,
    ServerResponse,
)
from authkit.testing._oidc_client_auth import ClientAuthenticator, OAuthError, single
from authkit.testing._oidc_faults import Fault, FaultInjector, FiredFaults
from authkit.testing._oidc_keys import (
    SIGNING_ALGORITHMS,
    SigningAlgorithm,
    SigningKey,
    at_hash,
    generate_key,
)
from authkit.testing._oidc_model import CLIENT_AUTH_METHODS, OIDCClient, OIDCUser
from authkit.testing._oidc_shapes import SHAPES, ProviderShape, Shape, build_shape

__all__ = ["OIDCProvider", "RecordedRequest"]

#: RFC 7636 §4.1: 43 to 128 characters of the unreserved set (the challenge has the same form).
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_AUTHORIZATION_RESPONSE_FAULTS = frozenset({Fault.OMIT_ISS, Fault.WRONG_ISSUER, Fault.OAUTH_ERROR})
_GITHUB_DOCS = "https://docs.github.com/rest"

#: How long a login form stays valid, in seconds.
LOGIN_LIFETIME = 600


@attrs.define
class _AuthRequest:
    client_id: str
    redirect_uri: str
    redirect_uri_sent: bool
    state: str | None
    scopes: tuple[str, ...] = ()
    nonce: str | None = None
    code_challenge: str | None = None


@attrs.define
class _PendingLogin:
    csrf: str
    request: _AuthRequest
    fired: FiredFaults
    expires_at: float


@attrs.define
class _Code:
    request: _AuthRequest
    sub: str
    auth_time: int
    expires_at: float
    used: bool = False
    grant_id: str | None = None


@attrs.define
class _Grant:
    client_id: str
    sub: str
    scopes: tuple[str, ...]
    auth_time: int
    session_id: str
    revoked: bool = False


@attrs.define
class _Token:
    grant_id: str
    client_id: str
    expires_at: float
    revoked: bool = False  # access tokens: revoked; refresh tokens: revoked or rotated
    rotated: bool = False


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _first_values(params: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {k: v[0] for k, v in params.items() if v}


def _page(title: str, body: str, *, status: int = 200) -> ServerResponse:
    text = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return ServerResponse.html(
        text, status=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    )


def _error_page(error: str, description: str, *, status: int = 400) -> ServerResponse:
    return _page(
        "Sign-in error",
        f"<h1>{html.escape(error)}</h1>\n<p class=error>{html.escape(description)}</p>",
        status=status,
    )


def _corrupt_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0xFF
    return f"{head}.{payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidSettingError(
            f"expected a number of seconds greater than 0, got {value!r}",
            key=f"OIDCProvider.{name}",
        )
    return float(value)


class OIDCProvider(LoopbackService):
    """A real OpenID provider (or OAuth 2.0 server) on ``127.0.0.1`` and a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as provider:
            provider.metadata_url  # http://127.0.0.1:<port>/.well-known/openid-configuration

    Args:
        users: The people who can sign in.
        clients: The registered clients.
        shape: Which provider to emulate: ``"standard"``, ``"keycloak"``, ``"github"`` or
            ``"orcid"`` (see the shapes in the documentation).
        realm: The Keycloak realm (``keycloak`` shape).
        legacy_url_path: Serve Keycloak URLs under ``/auth`` (``keycloak`` shape).
        auto_login: ``sub`` of the user to approve authorization requests for, without a login
            form; ``None`` shows the HTML login form. See :meth:`login_as`.
        algorithm: ID-token signature algorithm, ``"RS256"`` or ``"ES256"``.
        clock: Seconds since the epoch; drives ``iat``/``exp``/``auth_time`` and every expiry
            (codes, tokens, client assertions, login forms), so tests can share a fake clock.
        scope_claims: Extra scope → claims releases, merged over the shape's defaults.
        claims_in_id_token: Put the released claims in the ID token as well as in UserInfo.
        code_lifetime: Seconds an authorization code stays redeemable.
        access_token_lifetime: Seconds an access token stays valid.
        id_token_lifetime: Seconds between an ID token's ``iat`` and ``exp``.
        refresh_token_lifetime: Seconds a refresh token stays valid.
        host: Address to bind (keep loopback).
        port: Port to bind; ``0`` picks a free one.

    Raises:
        InvalidSettingError: A bad option (named in the error's ``key``).
    """

    def __init__(
        self,
        *,
        users: Iterable[OIDCUser] = (),
        clients: Iterable[OIDCClient] = (),
        shape: Shape = "standard",
        realm: str = "test",
        legacy_url_path: bool = False,
        auto_login: str | None = None,
        algorithm: SigningAlgorithm = "RS256",
        clock: Callable[[], float] = time.time,
        scope_claims: Mapping[str, Sequence[str]] | None = None,
        claims_in_id_token: bool = True,
        code_lifetime: float = 60,
        access_token_lifetime: float = 300,
        id_token_lifetime: float = 300,
        refresh_token_lifetime: float = 86400,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if shape not in SHAPES:
            raise InvalidSettingError(
                f"expected one of {', '.join(SHAPES)}, got {shape!r}", key="OIDCProvider.shape"
            )
        if algorithm not in SIGNING_ALGORITHMS:
            raise InvalidSettingError(
                f"expected one of {', '.join(SIGNING_ALGORITHMS)}, got {algorithm!r}",
                key="OIDCProvider.algorithm",
            )
        if not isinstance(realm, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", realm):
            raise InvalidSettingError(
                f"expected a realm name of letters, digits and _.-, got {realm!r}",
                key="OIDCProvider.realm",
            )
        if not callable(clock):
            raise InvalidSettingError(
                f"expected a callable returning epoch seconds, got {clock!r}",
                key="OIDCProvider.clock",
            )
        claims_map: dict[str, tuple[str, ...]] = {}
        for scope, names in (scope_claims or {}).items():
            if not isinstance(scope, str) or isinstance(names, str):
                raise InvalidSettingError(
                    f"expected scope → list of claim names, got {scope!r}: {names!r}",
                    key="OIDCProvider.scope_claims",
                )
            claims_map[scope] = tuple(names)
        self._shape: ProviderShape = build_shape(
            shape, realm=realm, legacy_url_path=legacy_url_path, scope_claims=claims_map
        )
        self._clock = clock
        self._algorithm: SigningAlgorithm = algorithm
        self._claims_in_id_token = bool(claims_in_id_token)
        self._code_lifetime = _positive("code_lifetime", code_lifetime)
        self._access_lifetime = _positive("access_token_lifetime", access_token_lifetime)
        self._id_token_lifetime = _positive("id_token_lifetime", id_token_lifetime)
        self._refresh_lifetime = _positive("refresh_token_lifetime", refresh_token_lifetime)

        self._lock = threading.RLock()
        self._users: dict[str, OIDCUser] = {}
        self._clients: dict[str, OIDCClient] = {}
        for user in users:
            self.add_user(user)
        for client in clients:
            self.add_client(client)
        self._auto_login: str | None = None
        self.login_as(auto_login)

        self._keys: list[SigningKey] = [generate_key(algorithm)]
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._pending: dict[str, _PendingLogin] = {}
        self._log: list[RecordedRequest] = []
        self._routes = {path: name for name, path in self._shape.paths.items()}
        self._client_auth = ClientAuthenticator(self._clients, self._assertion_audiences, clock)

        self.faults = FaultInjector(self._shape.endpoints)
        """Switch faults on and off (see :class:`~authkit.testing.FaultInjector`)."""
        self._server = LoopbackHTTPServer(
            self._handle, host=host, port=port, name=f"authkit-oidc-{shape}"
        )

    # -- life cycle -------------------------------------------------------------------------------

    # -- URLs -------------------------------------------------------------------------------------

    @property
    def shape(self) -> Shape:
        """The emulated provider shape."""
        return self._shape.name

    @property
    def issuer(self) -> str:
        """The issuer identifier (for the GitHub shape, which has none: the base URL)."""
        return self.base_url + self._shape.issuer_path

    def url_for(self, endpoint: str) -> str:
        """The URL of ``endpoint`` (``"discovery"``, ``"jwks"``, ``"authorize"``, ``"token"``,
        ``"userinfo"``, ``"emails"``, ``"revocation"``, ``"end_session"``, ``"login"``).

        Raises:
            InvalidSettingError: The provider's shape has no such endpoint.
        """
        path = self._shape.paths.get(endpoint)
        if path is None:
            raise InvalidSettingError(
                f"the {self._shape.name} shape serves {', '.join(sorted(self._shape.paths))}; "
                f"it has no {endpoint!r} endpoint",
                key="OIDCProvider.url_for",
                code="testing.no_such_endpoint",
            )
        return self.base_url + path

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL (``<issuer>/.well-known/openid-configuration``)."""
        return self.url_for("discovery")

    @property
    def jwks_url(self) -> str:
        """The JWKS URL."""
        return self.url_for("jwks")

    @property
    def authorize_url(self) -> str:
        """The authorization endpoint."""
        return self.url_for("authorize")

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return self.url_for("token")

    @property
    def userinfo_url(self) -> str:
        """The UserInfo endpoint (GitHub shape: the API's ``/user``)."""
        return self.url_for("userinfo")

    @property
    def emails_url(self) -> str:
        """GitHub's ``/user/emails`` (GitHub shape only)."""
        return self.url_for("emails")

    @property
    def revocation_url(self) -> str:
        """The revocation endpoint (RFC 7009)."""
        return self.url_for("revocation")

    @property
    def end_session_url(self) -> str:
        """The RP-initiated logout endpoint."""
        return self.url_for("end_session")

    # -- users, clients, keys ---------------------------------------------------------------------

    def add_user(self, user: OIDCUser) -> None:
        """Register a person.

        Raises:
            InvalidSettingError: Not an :class:`OIDCUser`, or the ``sub`` is taken.
        """
        if not isinstance(user, OIDCUser):
            raise InvalidSettingError(
                f"expected an OIDCUser, got {user!r}", key="OIDCProvider.users"
            )
        with self._lock:
            if user.sub in self._users:
                raise InvalidSettingError(
                    f"a user with sub {user.sub!r} is already registered",
                    key="OIDCProvider.users",
                )
            self._users[user.sub] = user

    def add_client(self, client: OIDCClient) -> None:
        """Register a client.

        Raises:
            InvalidSettingError: Not an :class:`OIDCClient`, or the ``client_id`` is taken.
        """
        if not isinstance(client, OIDCClient):
            raise InvalidSettingError(
                f"expected an OIDCClient, got {client!r}", key="OIDCProvider.clients"
            )
        with self._lock:
            if client.client_id in self._clients:
                raise InvalidSettingError(
                    f"a client with client_id {client.client_id!r} is already registered",
                    key="OIDCProvider.clients",
                )
            self._clients[client.client_id] = client

    @property
    def users(self) -> Mapping[str, OIDCUser]:
        """The registered people by ``sub`` (a copy)."""
        with self._lock:
            return dict(self._users)

    @property
    def clients(self) -> Mapping[str, OIDCClient]:
        """The registered clients by ``client_id`` (a copy)."""
        with self._lock:
            return dict(self._clients)

    def login_as(self, sub: str | None) -> None:
        """Approve every authorization request from now on for user ``sub``, without a form.

        ``None`` switches back to the HTML login form.

        Raises:
            InvalidSettingError: No user has this ``sub``.
        """
        with self._lock:
            if sub is not None and sub not in self._users:
                raise InvalidSettingError(
                    f"expected the sub of a registered user, got {sub!r}",
                    key="OIDCProvider.login_as",
                )
            self._auto_login = sub

    @property
    def jwks(self) -> dict[str, Any]:
        """The public JWK set, as served at :attr:`jwks_url`."""
        with self._lock:
            return {"keys": [dict(k.public_jwk) for k in self._keys]}

    @property
    def kid(self) -> str:
        """The ``kid`` of the current signing key."""
        with self._lock:
            return self._keys[0].kid

    def rotate_keys(self, *, keep_previous: bool = False) -> str:
        """Sign with a new key from now on.

        Args:
            keep_previous: Keep the old public key in the JWKS (a graceful rotation); by default
                it is removed at once, so tokens signed with it stop verifying.

        Returns:
            The new ``kid``.
        """
        key = generate_key(self._algorithm)
        with self._lock:
            self._keys = [key, *self._keys] if keep_previous else [key]
        return key.kid

    def sign_jwt(
        self, payload: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None
    ) -> str:
        """Sign ``payload`` with the current key, for tests that craft their own tokens."""
        with self._lock:
            key = self._keys[0]
        return key.sign(payload, headers=headers)

    # -- observations for assertions --------------------------------------------------------------

    @property
    def last_authorize_params(self) -> Mapping[str, str] | None:
        """The parameters of the last authorization request, or ``None`` before the first."""
        last = self.last_request("authorize")
        return None if last is None else last.params

    def is_token_active(self, token: str) -> bool:
        """Whether an access or refresh token would be accepted now (not revoked, not expired)."""
        with self._lock:
            record = self._access.get(token) or self._refresh.get(token)
            return record is not None and self._active(record)

    @property
    def server_errors(self) -> list[BaseException]:
        """Exceptions raised inside the provider while serving (a bug; normally empty)."""
        return self._server.errors

    @contextmanager
    def fault(
        self, endpoint: str, fault: Fault | str, *, times: int | None = None, **options: Any
    ) -> Iterator[None]:
        """Switch ``fault`` on for ``endpoint`` inside a ``with`` block (see :class:`Fault`)."""
        with self.faults.applied(endpoint, fault, times=times, **options):
            yield

    def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2)."""
        paths = self._shape.paths
        signing = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorize_url,
            "token_endpoint": self.token_url,
            "userinfo_endpoint": self.userinfo_url,
            "jwks_uri": self.jwks_url,
        }
        if "revocation" in paths:
            doc["revocation_endpoint"] = self.revocation_url
        if "end_session" in paths:
            doc["end_session_endpoint"] = self.end_session_url
        claims = sorted({c for names in self._shape.scope_claims.values() for c in names})
        doc.update(
            {
                "scopes_supported": list(dict.fromkeys(["openid", *self._shape.scope_claims])),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [self._algorithm],
                "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
                "token_endpoint_auth_signing_alg_values_supported": signing,
                "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": sorted({"sub", "iss", "aud", "exp", "iat", *claims}),
                "claims_parameter_supported": False,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "authorization_response_iss_parameter_supported": True,
            }
        )
        return doc

    # -- dispatch ---------------------------------------------------------------------------------

    def _handle(self, request: ServerRequest) -> ServerResponse:
        endpoint = self._routes.get(request.path)
        if endpoint is None:
            if self._shape.name == "github":
                return ServerResponse.json(
                    {"message": "Not Found", "documentation_url": _GITHUB_DOCS}, status=404
                )
            return ServerResponse.json({"error": "not_found"}, status=404)
        params = request.query if request.method in ("GET", "HEAD") else request.form()
        with self._lock:
            self._log.append(
                RecordedRequest(
                    endpoint=endpoint,
                    method=request.method,
                    path=request.path,
                    params=_first_values(params),
                    headers=dict(request.headers),
                )
            )
        fired = self.faults.fire(endpoint)
        delay = fired.get(Fault.DELAY)
        if delay is not None:
            self._server.wait(float(delay["seconds"]))
        if Fault.CLOSE_CONNECTION in fired:
            raise DropConnection
        error = fired.get(Fault.HTTP_500)
        if error is not None:
            return ServerResponse(
                status=int(error["status"]),
                headers={"Content-Type": "application/json"},
                body=str(error["body"]).encode(),
            )
        malformed = fired.get(Fault.MALFORMED_JSON)
        if malformed is not None:
            return ServerResponse(
                headers={"Content-Type": "application/json"}, body=str(malformed["body"]).encode()
            )
        handler: Callable[[ServerRequest, FiredFaults], ServerResponse] = getattr(
            self, f"_serve_{endpoint}"
        )
        with self._lock:
            return handler(request, fired)

    @staticmethod
    def _method_not_allowed(allowed: str) -> ServerResponse:
        return ServerResponse.json(
            {"error": "invalid_request", "error_description": f"use {allowed}"},
            status=405,
            headers={"Allow": allowed},
        )

    # -- discovery and keys -----------------------------------------------------------------------

    def _serve_discovery(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        if request.method != "GET":
            return self._method_not_allowed("GET")
        doc = self.metadata()
        wrong = fired.get(Fault.WRONG_ISSUER)
        if wrong is not None:
            doc["issuer"] = wrong["issuer"]
        return ServerResponse.json(doc)

    def _serve_jwks(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        if request.method != "GET":
            return self._method_not_allowed("GET")
        return ServerResponse.json(self.jwks, headers={"Cache-Control": "max-age=300"})

    # -- authorization ----------------------------------------------------------------------------

    def _serve_authorize(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        if request.method == "GET":
            params = request.query
        elif request.method == "POST" and request.content_type == _FORM:
            params = request.form()
        else:
            return _error_page("invalid_request", "use GET, or POST with a form", status=405)
        try:
            client_id = single(params, "client_id")
            redirect_uri = single(params, "redirect_uri")
        except OAuthError as exc:
            return _error_page(exc.error, exc.description)
        client = self._clients.get(client_id) if client_id is not None else None
        if client is None:
            what = "client_id is missing" if client_id is None else "the client is unknown"
            return _error_page("invalid_request", what)
        openid_requested = "openid" in params.get("scope", ("",))[0].split()
        if redirect_uri is None:
            # RFC 6749 §3.1.2.3 lets a client with one registered URI omit it; OIDC does not.
            if openid_requested or len(client.redirect_uris) != 1:
                return _error_page("invalid_request", "redirect_uri is required")
            target = client.redirect_uris[0]
        elif redirect_uri not in client.redirect_uris:
            return _error_page("invalid_request", "redirect_uri is not registered for the client")
        else:
            target = redirect_uri
        states = params.get("state", ())
        auth = _AuthRequest(
            client_id=client.client_id,
            redirect_uri=target,
            redirect_uri_sent=redirect_uri is not None,
            state=states[0] if states else None,
        )
        try:
            self._check_authorization_request(params, client, auth)
        except OAuthError as exc:
            return self._authorization_error(auth, exc.error, exc.description, fired)
        forced = fired.get(Fault.OAUTH_ERROR)
        if forced is not None:
            return self._authorization_error(
                auth,
                str(forced["error"] or "access_denied"),
                str(forced["description"] or "the resource owner denied the request"),
                fired,
            )
        prompts = set(params.get("prompt", ("",))[0].split())
        if self._auto_login is not None:
            return self._approve(auth, self._users[self._auto_login], fired)
        if "none" in prompts:
            return self._authorization_error(
                auth, "login_required", "the user is not signed in", fired
            )
        request_id = secrets.token_urlsafe(24)
        self._pending[request_id] = _PendingLogin(
            csrf=secrets.token_urlsafe(24),
            request=auth,
            fired=fired.only(_AUTHORIZATION_RESPONSE_FAULTS),
            expires_at=self._clock() + LOGIN_LIFETIME,
        )
        return self._login_page(request_id)

    def _check_authorization_request(
        self, params: Mapping[str, tuple[str, ...]], client: OIDCClient, auth: _AuthRequest
    ) -> None:
        """Validate everything but the client and redirect URI; fill ``auth`` in."""
        for name, values in params.items():
            if len(values) > 1:
                raise OAuthError("invalid_request", f"parameter {name!r} was sent more than once")
        value = _first_values(params)
        for name in ("request", "request_uri"):
            if name in value:
                raise OAuthError(f"{name}_not_supported", f"the {name} parameter is not supported")
        response_type = value.get("response_type")
        if response_type is None and self._shape.response_type_optional:
            response_type = "code"
        if response_type is None:
            raise OAuthError("invalid_request", "response_type is required")
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        if value.get("response_mode", "query") != "query":
            raise OAuthError("invalid_request", "only response_mode=query is supported")
        auth.scopes = self._granted_scopes(value.get("scope", ""))
        method = value.get("code_challenge_method")
        challenge = value.get("code_challenge")
        if challenge is None:
            if method is not None:
                raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
            if client.require_pkce or client.auth_method == "none":
                raise OAuthError("invalid_request", "code_challenge (PKCE, S256) is required")
        else:
            if method != "S256":
                # Absent means "plain" (RFC 7636 §4.3), which this provider does not support.
                raise OAuthError("invalid_request", "transform algorithm not supported (use S256)")
            if not _PKCE_VALUE.fullmatch(challenge):
                raise OAuthError("invalid_request", "code_challenge is malformed")
        auth.code_challenge = challenge
        prompts = value.get("prompt", "").split()
        if not set(prompts) <= _PROMPTS or ("none" in prompts and len(prompts) > 1):
            raise OAuthError("invalid_request", "prompt is invalid")
        max_age = value.get("max_age")
        if max_age is not None and not max_age.isdigit():
            raise OAuthError("invalid_request", "max_age must be a non-negative integer")
        auth.nonce = value.get("nonce")

    def _granted_scopes(self, scope: str) -> tuple[str, ...]:
        separators = "[ ,]+" if self._shape.accept_any_scope else " +"
        requested = tuple(dict.fromkeys(s for s in re.split(separators, scope) if s))
        if not self._shape.accept_any_scope:
            known = {"openid", *self._shape.scope_claims}
            unknown = [s for s in requested if s not in known]
            if unknown:
                raise OAuthError("invalid_scope", f"unknown scope {unknown[0]!r}")
        implicit = sorted(self._shape.implicit_scopes - set(requested))
        return (*requested, *implicit)

    def _authorization_response(
        self, auth: _AuthRequest, params: Mapping[str, str], fired: FiredFaults
    ) -> ServerResponse:
        out = dict(params)
        if auth.state is not None:
            out["state"] = auth.state
        wrong = fired.get(Fault.WRONG_ISSUER)
        if wrong is not None:
            out["iss"] = str(wrong["issuer"])
        elif self._shape.iss_parameter and Fault.OMIT_ISS not in fired:
            out["iss"] = self.issuer
        return ServerResponse.redirect(_with_query(auth.redirect_uri, out))

    def _authorization_error(
        self, auth: _AuthRequest, error: str, description: str, fired: FiredFaults
    ) -> ServerResponse:
        params = {"error": error, "error_description": description}
        return self._authorization_response(auth, params, fired)

    def _approve(self, auth: _AuthRequest, user: OIDCUser, fired: FiredFaults) -> ServerResponse:
        now = self._clock()
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            request=auth, sub=user.sub, auth_time=int(now), expires_at=now + self._code_lifetime
        )
        return self._authorization_response(auth, {"code": code}, fired)

    def _login_page(self, request_id: str, error: str | None = None) -> ServerResponse:
        pending = self._pending[request_id]
        client = html.escape(pending.request.client_id)
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
        action = html.escape(self._shape.paths["login"])
        return _page(
            "Sign in",
            f"<h1>Sign in to continue to {client}</h1>\n{notice}"
            f'<form method="post" action="{action}">\n'
            f'<input type="hidden" name="request_id" value="{html.escape(request_id)}">\n'
            f'<input type="hidden" name="csrf_token" value="{html.escape(pending.csrf)}">\n'
            '<label>Username <input name="username" autocomplete="username" required></label>\n'
            '<label>Password <input type="password" name="password" '
            'autocomplete="current-password"></label>\n'
            '<button type="submit" name="action" value="login">Sign in</button>\n'
            '<button type="submit" name="action" value="deny">Cancel</button>\n'
            "</form>",
        )

    def _serve_login(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        if request.method != "POST" or request.content_type != _FORM:
            return _error_page("invalid_request", "post the login form", status=405)
        form = _first_values(request.form())
        request_id = form.get("request_id", "")
        pending = self._pending.get(request_id)
        if pending is None or self._clock() >= pending.expires_at:
            self._pending.pop(request_id, None)
            return _error_page("invalid_request", "this sign-in request is unknown or expired")
        if not hmac.compare_digest(form.get("csrf_token", "").encode(), pending.csrf.encode()):
            return _error_page("invalid_request", "the form's CSRF token does not match")
        if form.get("action") == "deny":
            del self._pending[request_id]
            return self._authorization_error(
                pending.request, "access_denied", "the user cancelled the sign-in", pending.fired
            )
        user = self._find_user(form.get("username", ""))
        password = form.get("password", "")
        if (
            user is None
            or user.password is None
            or not hmac.compare_digest(password.encode(), user.password.encode())
        ):
            return self._login_page(request_id, error="Invalid username or password.")
        del self._pending[request_id]
        return self._approve(pending.request, user, pending.fired)

    def _find_user(self, username: str) -> OIDCUser | None:
        if username in self._users:
            return self._users[username]
        return next((u for u in self._users.values() if u.username == username), None)

    # -- token endpoint ---------------------------------------------------------------------------

    def _serve_token(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        try:
            if request.method != "POST":
                raise OAuthError(
                    "invalid_request", "use POST", status=405, headers={"Allow": "POST"}
                )
            if request.content_type != _FORM:
                raise OAuthError("invalid_request", f"the body must be {_FORM}")
            form = request.form()
            client = self._client_auth.authenticate(
                request.headers, form, endpoint_url=self.token_url
            )
            forced = fired.get(Fault.OAUTH_ERROR)
            if forced is not None:
                raise OAuthError(
                    str(forced["error"] or "temporarily_unavailable"),
                    str(forced["description"] or "fault injected by the test"),
                    status=int(forced["status"]),
                )
            grant_type = single(form, "grant_type")
            if grant_type is None and self._shape.grant_type_optional:
                grant_type = "authorization_code"
            if grant_type is None:
                raise OAuthError("invalid_request", "grant_type is required")
            if grant_type == "authorization_code":
                body = self._code_grant(client, form, fired)
            elif grant_type == "refresh_token" and self._shape.refresh_tokens:
                body = self._refresh_grant(client, form, fired)
            else:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r}")
        except OAuthError as exc:
            return self._token_error(request, exc)
        if self._shape.name == "github":
            return self._github_answer(request, body)
        return ServerResponse.json(body, headers=_NO_STORE)

    def _token_error(self, request: ServerRequest, exc: OAuthError) -> ServerResponse:
        body = {"error": exc.error, "error_description": exc.description}
        if self._shape.name == "github" and exc.status != 405:
            # GitHub reports token errors with status 200 and its own error codes.
            body["error"] = {
                "invalid_client": "incorrect_client_credentials",
                "invalid_grant": "bad_verification_code",
            }.get(exc.error, exc.error)
            body["error_uri"] = f"{_GITHUB_DOCS}/apps/oauth-apps"
            return self._github_answer(request, body)
        return ServerResponse.json(body, status=exc.status, headers={**_NO_STORE, **exc.headers})

    @staticmethod
    def _github_answer(request: ServerRequest, body: Mapping[str, Any]) -> ServerResponse:
        if "application/json" in request.headers.get("accept", ""):
            return ServerResponse.json(body, headers=_NO_STORE)
        return ServerResponse(
            headers={"Content-Type": f"{_FORM}; charset=utf-8", **_NO_STORE},
            body=urlencode({k: str(v) for k, v in body.items()}).encode(),
        )

    def _code_grant(
        self, client: OIDCClient, form: Mapping[str, tuple[str, ...]], fired: FiredFaults
    ) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with RFC 7636 §4.6."""
        code = single(form, "code")
        if code is None:
            raise OAuthError("invalid_request", "code is required")
        record = self._codes.get(code)
        if record is None or record.request.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the code is unknown or was issued to another client")
        if record.used:
            if record.grant_id is not None:
                self._grants[record.grant_id].revoked = True
            raise OAuthError("invalid_grant", "the code was already used")
        record.used = True
        if self._clock() >= record.expires_at:
            raise OAuthError("invalid_grant", "the code has expired")
        auth = record.request
        redirect_uri = single(form, "redirect_uri")
        redirect_checked = auth.redirect_uri_sent or redirect_uri is not None
        if redirect_checked and redirect_uri != auth.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = single(form, "code_verifier")
        if auth.code_challenge is not None:
            if verifier is None:
                raise OAuthError("invalid_grant", "code_verifier is required (PKCE)")
            if not _PKCE_VALUE.fullmatch(verifier):
                raise OAuthError("invalid_grant", "code_verifier is malformed")
            if not hmac.compare_digest(_s256(verifier), auth.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the challenge")
        elif verifier is not None:
            # A verifier without a challenge is a PKCE downgrade attempt (RFC 9700 §2.1.1).
            raise OAuthError("invalid_grant", "code_verifier sent but no code_challenge was")
        grant_id = secrets.token_urlsafe(16)
        self._grants[grant_id] = _Grant(
            client_id=client.client_id,
            sub=record.sub,
            scopes=auth.scopes,
            auth_time=record.auth_time,
            session_id=secrets.token_urlsafe(16),
        )
        record.grant_id = grant_id
        return self._issue_tokens(grant_id, nonce=auth.nonce, fired=fired)

    def _refresh_grant(
        self, client: OIDCClient, form: Mapping[str, tuple[str, ...]], fired: FiredFaults
    ) -> dict[str, Any]:
        """RFC 6749 §6, rotating the refresh token on every use."""
        token = single(form, "refresh_token")
        if token is None:
            raise OAuthError("invalid_request", "refresh_token is required")
        record = self._refresh.get(token)
        if record is None or record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the refresh token is unknown")
        grant = self._grants[record.grant_id]
        if record.rotated:
            grant.revoked = True
            raise OAuthError("invalid_grant", "the refresh token was already used")
        if not self._active(record):
            raise OAuthError("invalid_grant", "the refresh token is revoked or expired")
        scope = single(form, "scope")
        scopes = grant.scopes
        if scope is not None:
            scopes = tuple(dict.fromkeys(scope.split()))
            if not set(scopes) <= set(grant.scopes):
                raise OAuthError("invalid_scope", "scope exceeds the original grant")
        record.rotated = True
        return self._issue_tokens(record.grant_id, nonce=None, fired=fired, scopes=scopes)

    def _active(self, record: _Token) -> bool:
        grant = self._grants[record.grant_id]
        return (
            not record.revoked
            and not record.rotated
            and not grant.revoked
            and self._clock() < record.expires_at
        )

    def _issue_tokens(
        self,
        grant_id: str,
        *,
        nonce: str | None,
        fired: FiredFaults,
        scopes: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        grant = self._grants[grant_id]
        scopes = grant.scopes if scopes is None else scopes
        now = self._clock()
        access = secrets.token_urlsafe(32)
        self._access[access] = _Token(grant_id, grant.client_id, now + self._access_lifetime)
        user = self._users[grant.sub]
        if self._shape.name == "github":
            return {"access_token": access, "token_type": "bearer", "scope": ",".join(scopes)}
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self._access_lifetime),
            "scope": " ".join(scopes),
        }
        if self._shape.refresh_tokens:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = _Token(grant_id, grant.client_id, now + self._refresh_lifetime)
            body["refresh_token"] = refresh
        if self._shape.openid and "openid" in scopes:
            body["id_token"] = self._id_token(grant, user, access, nonce, fired, scopes)
        if self._shape.name == "keycloak":
            body.update(
                {
                    "refresh_expires_in": int(self._refresh_lifetime),
                    "not-before-policy": 0,
                    "session_state": grant.session_id,
                }
            )
        elif self._shape.name == "orcid":
            body["token_type"] = "bearer"
            body["orcid"] = user.sub
            body["name"] = self._orcid_name(user)
        return body

    @staticmethod
    def _orcid_name(user: OIDCUser) -> str | None:
        name = user.claims.get("name")
        if isinstance(name, str):
            return name
        parts = [user.claims.get("given_name"), user.claims.get("family_name")]
        joined = " ".join(p for p in parts if isinstance(p, str) and p)
        return joined or None

    def _id_token(
        self,
        grant: _Grant,
        user: OIDCUser,
        access_token: str,
        nonce: str | None,
        fired: FiredFaults,
        scopes: tuple[str, ...],
    ) -> str:
        """OpenID Connect Core §2 and §3.1.3.6, then the token faults of the request."""
        now = int(self._clock())
        lifetime = int(self._id_token_lifetime)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": grant.client_id,
            "exp": now + lifetime,
            "iat": now,
            "auth_time": grant.auth_time,
            "azp": grant.client_id,
            "at_hash": at_hash(access_token, self._algorithm),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if self._shape.name == "keycloak":
            claims.update({"typ": "ID", "sid": grant.session_id, "session_state": grant.session_id})
        if self._claims_in_id_token:
            claims.update(self._released_claims(user, scopes))

        if (opts := fired.get(Fault.WRONG_ISSUER)) is not None:
            claims["iss"] = opts["issuer"]
        if (opts := fired.get(Fault.EXPIRED)) is not None:
            claims["exp"] = now - int(opts["by"])
            claims["iat"] = claims["exp"] - lifetime
        if (opts := fired.get(Fault.NOT_YET_VALID)) is not None:
            claims["iat"] = claims["nbf"] = now + int(opts["by"])
            claims["exp"] = claims["iat"] + lifetime
        if (opts := fired.get(Fault.WRONG_AUDIENCE)) is not None:
            claims["aud"] = claims["azp"] = opts["audience"]
        if (opts := fired.get(Fault.NONCE_MISMATCH)) is not None:
            claims["nonce"] = opts["nonce"]
        if Fault.AT_HASH_MISMATCH in fired:
            claims["at_hash"] = at_hash(secrets.token_urlsafe(32), self._algorithm)
        if (opts := fired.get(Fault.ID_TOKEN_CLAIMS)) is not None:
            claims.update(opts["set"])
            for name in opts["remove"]:
                claims.pop(name, None)

        key = generate_key(self._algorithm) if Fault.UNKNOWN_KEY in fired else self._keys[0]
        token = key.sign(claims)
        return _corrupt_signature(token) if Fault.BAD_SIGNATURE in fired else token

    def _released_claims(self, user: OIDCUser, scopes: Iterable[str]) -> dict[str, Any]:
        """The user's claims the granted scopes release (OpenID Connect Core §5.4)."""
        scope_claims = self._shape.scope_claims
        granted = set(scopes)
        names = {c for s in granted for c in scope_claims.get(s, ())}
        if "openid" in granted:
            listed = {c for claims in scope_claims.values() for c in claims}
            names |= {k for k in user.claims if k not in listed}
        names -= self._shape.withheld_claims
        return {k: v for k, v in user.claims.items() if k in names}

    # -- userinfo ---------------------------------------------------------------------------------

    def _bearer(self, request: ServerRequest) -> tuple[_Token | None, ServerResponse | None]:
        """RFC 6750 §2.1 and §2.2: the token from the header or the form body, never both."""
        realm = f'Bearer realm="{self.issuer}"'
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        header_token = credentials.strip() if scheme.lower() == "bearer" else None
        if self._shape.name == "github" and scheme.lower() == "token":
            header_token = credentials.strip()
        form_token = None
        if request.method == "POST":
            try:
                form_token = single(request.form(), "access_token")
            except OAuthError:
                form_token = ""
        if header_token is not None and form_token is not None:
            challenge = f'{realm}, error="invalid_request"'
            return None, ServerResponse.json(
                {"error": "invalid_request", "error_description": "one token, one method"},
                status=400,
                headers={"WWW-Authenticate": challenge},
            )
        token = header_token if header_token is not None else form_token
        if not token:
            return None, ServerResponse(status=401, headers={"WWW-Authenticate": realm})
        record = self._access.get(token)
        if record is None or not self._active(record):
            challenge = (
                f'{realm}, error="invalid_token", '
                'error_description="the access token is invalid, revoked or expired"'
            )
            return None, ServerResponse.json(
                {"error": "invalid_token"}, status=401, headers={"WWW-Authenticate": challenge}
            )
        return record, None

    def _serve_userinfo(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        if self._shape.name == "github":
            return self._serve_github_user(request)
        if request.method not in ("GET", "POST"):
            return self._method_not_allowed("GET, POST")
        record, failure = self._bearer(request)
        if failure is not None or record is None:
            return failure or ServerResponse(status=401)
        grant = self._grants[record.grant_id]
        scopes = set(grant.scopes)
        if self._shape.name == "orcid":
            scopes.add("openid")  # ORCID answers UserInfo for /authenticate tokens as well
        if "openid" not in scopes:
            challenge = f'Bearer realm="{self.issuer}", error="insufficient_scope", scope="openid"'
            return ServerResponse.json(
                {"error": "insufficient_scope"},
                status=403,
                headers={"WWW-Authenticate": challenge},
            )
        user = self._users[grant.sub]
        claims = {**self._released_claims(user, scopes), "sub": user.sub}
        if self._shape.name == "orcid":
            claims["id"] = f"https://orcid.org/{user.sub}"
        return ServerResponse.json(claims, headers={"Cache-Control": "no-store"})

    # -- GitHub's REST API ------------------------------------------------------------------------

    def _github_token(self, request: ServerRequest) -> tuple[_Grant | None, ServerResponse | None]:
        if request.method != "GET":
            return None, ServerResponse.json(
                {"message": "Not Found", "documentation_url": _GITHUB_DOCS}, status=404
            )
        scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
        record, failure = self._bearer(request)
        if failure is not None or record is None:
            known = scheme in ("bearer", "token")
            message = "Bad credentials" if known else "Requires authentication"
            return None, ServerResponse.json(
                {"message": message, "documentation_url": _GITHUB_DOCS}, status=401
            )
        return self._grants[record.grant_id], None

    @staticmethod
    def _github_emails(user: OIDCUser) -> list[dict[str, Any]]:
        emails = user.claims.get("emails")
        if isinstance(emails, list):
            return [dict(e) for e in emails]
        email = user.claims.get("email")
        if not isinstance(email, str):
            return []
        verified = user.claims.get("email_verified") is True
        return [{"email": email, "primary": True, "verified": verified, "visibility": "private"}]

    def _serve_github_user(self, request: ServerRequest) -> ServerResponse:
        grant, failure = self._github_token(request)
        if failure is not None or grant is None:
            return failure or ServerResponse(status=401)
        user = self._users[grant.sub]
        claims = user.claims
        primary = next((e for e in self._github_emails(user) if e.get("primary")), None)
        public = primary["email"] if primary and primary.get("visibility") == "public" else None
        user_id = claims.get("id")
        if not isinstance(user_id, int):
            user_id = zlib.crc32(user.sub.encode())
        login = user.username
        return ServerResponse.json(
            {
                "login": login,
                "id": user_id,
                "node_id": base64.b64encode(f"04:User{user_id}".encode()).decode(),
                "avatar_url": claims.get("picture", f"https://avatars.invalid/u/{user_id}"),
                "html_url": f"https://github.invalid/{login}",
                "type": "User",
                "site_admin": False,
                "name": claims.get("name"),
                "company": claims.get("company"),
                "blog": claims.get("website", ""),
                "location": claims.get("location"),
                "email": public,
                "bio": claims.get("bio"),
            }
        )

    def _serve_emails(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        grant, failure = self._github_token(request)
        if failure is not None or grant is None:
            return failure or ServerResponse(status=401)
        if not {"user", "user:email"} & set(grant.scopes):
            # GitHub hides what a token may not see behind a 404.
            return ServerResponse.json(
                {"message": "Not Found", "documentation_url": _GITHUB_DOCS}, status=404
            )
        return ServerResponse.json(self._github_emails(self._users[grant.sub]))

    # -- revocation and logout --------------------------------------------------------------------

    def _serve_revocation(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        """RFC 7009 §2: authenticate the client, revoke if the token is its own, answer 200."""
        try:
            if request.method != "POST":
                raise OAuthError(
                    "invalid_request", "use POST", status=405, headers={"Allow": "POST"}
                )
            if request.content_type != _FORM:
                raise OAuthError("invalid_request", f"the body must be {_FORM}")
            form = request.form()
            client = self._client_auth.authenticate(
                request.headers, form, endpoint_url=self.revocation_url
            )
            token = single(form, "token")
            single(form, "token_type_hint")  # only a hint (§2.1): both kinds are searched
            if token is None:
                raise OAuthError("invalid_request", "token is required")
        except OAuthError as exc:
            return self._token_error(request, exc)
        refresh = self._refresh.get(token)
        access = self._access.get(token)
        # A token of another client, or no token at all, is not revealed: still 200 (§2.2).
        if refresh is not None and refresh.client_id == client.client_id:
            self._grants[refresh.grant_id].revoked = True
        elif access is not None and access.client_id == client.client_id:
            access.revoked = True
        return ServerResponse(headers={"Cache-Control": "no-store"})

    def _serve_end_session(self, request: ServerRequest, fired: FiredFaults) -> ServerResponse:
        """OpenID Connect RP-Initiated Logout 1.0 §2 and §3."""
        if request.method == "GET":
            params = request.query
        elif request.method == "POST" and request.content_type == _FORM:
            params = request.form()
        else:
            return _error_page("invalid_request", "use GET, or POST with a form", status=405)
        try:
            hint = single(params, "id_token_hint")
            client_id = single(params, "client_id")
            target = single(params, "post_logout_redirect_uri")
            state = single(params, "state")
        except OAuthError as exc:
            return _error_page(exc.error, exc.description)
        client = self._clients.get(client_id) if client_id is not None else None
        if client_id is not None and client is None:
            return _error_page("invalid_request", "the client is unknown")
        if hint is not None:
            audiences = self._own_token_audiences(hint)
            if audiences is None:
                return _error_page("invalid_request", "id_token_hint was not issued here")
            if client_id is not None and client_id not in audiences:
                return _error_page("invalid_request", "client_id is not the hint's audience")
            client = client or next(
                (self._clients[a] for a in audiences if a in self._clients), None
            )
        if target is not None:
            if client is None:
                return _error_page(
                    "invalid_request", "post_logout_redirect_uri needs id_token_hint or client_id"
                )
            if target not in client.post_logout_redirect_uris:
                return _error_page("invalid_request", "post_logout_redirect_uri is not registered")
            return ServerResponse.redirect(
                _with_query(target, {"state": state} if state is not None else {})
            )
        return _page("Signed out", "<h1>You are signed out.</h1>")

    def _own_token_audiences(self, token: str) -> list[str] | None:
        """The ``aud`` of an ID token this provider signed (expired ones count), else ``None``."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next((k for k in self._keys if k.kid == kid), None)
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[key.algorithm],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                         "verify_nbf": False},
            )  # fmt: skip
        except jwt.PyJWTError:
            return None
        if claims.get("iss") != self.issuer:
            return None
        aud = claims.get("aud")
        if isinstance(aud, str):
            return [aud]
        return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []

    def _assertion_audiences(self, endpoint_url: str) -> frozenset[str]:
        return frozenset({self.issuer, self.token_url, endpoint_url})

    def __repr__(self) -> str:
        where = self.base_url if self._server.running else "not running"
        return f"<OIDCProvider shape={self._shape.name!r} {where}>"
