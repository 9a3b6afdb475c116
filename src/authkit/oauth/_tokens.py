"""Token endpoint requests and responses (RFC 6749 §4.1.3, §5, §6), client authentication
(§2.3.1, RFC 7523 ``private_key_jwt``), revocation (RFC 7009) and RP-initiated logout
(OpenID Connect RP-Initiated Logout 1.0).

Every function here builds an :class:`~authkit.transport.HTTPRequest` or reads an
:class:`~authkit.transport.HTTPResponse`; none sends anything.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import attrs
import jwt

from authkit.config import RemoteApp
from authkit.errors import ConfigurationError, ProviderHTTPError, ProviderResponseError
from authkit.transport import HTTPRequest, HTTPResponse

__all__ = [
    "TokenSet",
    "authorization_code_request",
    "end_session_url",
    "parse_token_response",
    "refresh_token_request",
    "revocation_request",
]

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@attrs.frozen(kw_only=True)
class TokenSet:
    """A token response (RFC 6749 §5.1).

    Attributes:
        access_token: The access token.
        token_type: Its type, lower-cased (``bearer``).
        expires_at: When it expires (epoch seconds), if the provider said.
        refresh_token: A refresh token, if issued.
        id_token: The raw ID token, if issued (OIDC).
        scope: The granted scope, if the provider said.
        raw: The whole response; provider-specific fields (ORCID's ``orcid`` and ``name``) are here.
    """

    access_token: str = attrs.field(repr=False)
    token_type: str = "bearer"
    expires_at: float | None = None
    refresh_token: str | None = attrs.field(default=None, repr=False)
    id_token: str | None = attrs.field(default=None, repr=False)
    scope: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible form, for storage (encrypt it at rest)."""
        return attrs.asdict(self)


def _client_auth(
    app: RemoteApp, form: dict[str, str], headers: dict[str, str], audience: str, now: float
) -> None:
    client_id, secret = app.require_credentials()
    method = app.token_auth_method
    if method == "client_secret_basic":
        assert secret is not None
        # RFC 6749 §2.3.1: form-urlencode both parts before joining.
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif method == "client_secret_post":
        assert secret is not None
        form["client_id"] = client_id
        form["client_secret"] = secret
    elif method == "private_key_jwt":
        form["client_id"] = client_id
        form["client_assertion_type"] = _ASSERTION_TYPE
        form["client_assertion"] = _client_assertion(app, client_id, audience, now)
    else:  # "none": a public client, protected by PKCE
        form["client_id"] = client_id


def _client_assertion(app: RemoteApp, client_id: str, audience: str, now: float) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(16),
        "iat": int(now),
        "exp": int(now) + 60,
    }
    headers = {"kid": app.client_key_id} if app.client_key_id else None
    algorithm = str(app.extra.get("client_assertion_alg", "RS256"))
    try:
        return jwt.encode(
            claims, app.client_private_key or "", algorithm=algorithm, headers=headers
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise ConfigurationError(
            f"cannot sign a client assertion with {algorithm}: the key is not a usable private key",
            key=f"RemoteApp({app.name!r}).client_private_key",
        ) from exc


def _token_request(app: RemoteApp, form: dict[str, str], now: float) -> HTTPRequest:
    token_url = app.require("token_url")
    headers = {"Accept": "application/json"}
    _client_auth(app, form, headers, token_url, now)
    body = urlencode(form)
    if app.token_method == "GET":
        separator = "&" if urlsplit(token_url).query else "?"
        return HTTPRequest(
            method="GET",
            url=f"{token_url}{separator}{body}",
            headers=headers,
            timeout=app.timeout,
            idempotent=False,
            provider=app.name,
        )
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return HTTPRequest(
        method="POST",
        url=token_url,
        headers=headers,
        body=body.encode("ascii"),
        timeout=app.timeout,
        provider=app.name,
    )


def authorization_code_request(
    app: RemoteApp,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    clock: Callable[[], float] = time.time,
) -> HTTPRequest:
    """The token request that exchanges an authorization code (RFC 6749 §4.1.3)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    return _token_request(app, form, clock())


def refresh_token_request(
    app: RemoteApp,
    *,
    refresh_token: str,
    scope: str | None = None,
    clock: Callable[[], float] = time.time,
) -> HTTPRequest:
    """The token request that refreshes an access token (RFC 6749 §6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope:
        form["scope"] = scope
    return _token_request(app, form, clock())


def parse_token_response(
    app: RemoteApp, response: HTTPResponse, *, clock: Callable[[], float] = time.time
) -> TokenSet:
    """Read a token response.

    JSON is expected (authkit always asks for it); a form-encoded body, which some OAuth 2.0
    providers still send, is accepted too. A 200 answer carrying an ``error`` field (GitHub does
    this) is an error like any other.

    Raises:
        ProviderHTTPError: An error status or an error body, keeping the OAuth ``error``.
        ProviderResponseError: The body is malformed (no ``access_token``, wrong types…).
    """
    response.raise_for_status(provider=app.name)
    content_type = response.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
        try:
            data: dict[str, Any] = dict(
                parse_qsl(response.body.decode("utf-8"), strict_parsing=True)
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderResponseError(
                f"{app.name} answered the token request with a malformed form body",
                provider=app.name,
            ) from exc
    else:
        data = response.json_object(provider=app.name)
    if "error" in data:
        error = str(data["error"])
        description = data.get("error_description")
        raise ProviderHTTPError(
            f"{app.name} refused the token request: {error}",
            status=response.status,
            body=response.body,
            error=error,
            error_description=description if isinstance(description, str) else None,
            provider=app.name,
        )

    def field(name: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
        value = data.get(name)
        if value is None:
            if required:
                raise ProviderResponseError(
                    f"{app.name}'s token response has no {name!r}", provider=app.name
                )
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProviderResponseError(
                f"{app.name}'s token response has a malformed {name!r}", provider=app.name
            )
        return value

    access_token = field("access_token", str, required=True)
    token_type = (field("token_type", str) or "bearer").lower()
    expires_in = field("expires_in", (int, float, str))
    if isinstance(expires_in, str):
        try:
            expires_in = int(expires_in)
        except ValueError as exc:
            raise ProviderResponseError(
                f"{app.name}'s token response has a malformed 'expires_in'", provider=app.name
            ) from exc
    if token_type not in ("bearer", "dpop", "mac", "n_a"):
        raise ProviderResponseError(
            f"{app.name} issued an unsupported token type", provider=app.name
        )
    return TokenSet(
        access_token=access_token,
        token_type=token_type,
        expires_at=clock() + float(expires_in) if expires_in is not None else None,
        refresh_token=field("refresh_token", str),
        id_token=field("id_token", str),
        scope=field("scope", str),
        raw=data,
    )


def revocation_request(
    app: RemoteApp,
    *,
    token: str,
    token_type_hint: str | None = "access_token",
    clock: Callable[[], float] = time.time,
) -> HTTPRequest:
    """The RFC 7009 revocation request for ``token`` (the provider answers 200 even for
    unknown tokens)."""
    url = app.require("revocation_url")
    form = {"token": token}
    if token_type_hint:
        form["token_type_hint"] = token_type_hint
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    _client_auth(app, form, headers, url, clock())
    return HTTPRequest(
        method="POST",
        url=url,
        headers=headers,
        body=urlencode(form).encode("ascii"),
        timeout=app.timeout,
        provider=app.name,
    )


def end_session_url(
    app: RemoteApp,
    *,
    id_token_hint: str | None = None,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
) -> str:
    """The RP-initiated logout URL (``end_session_endpoint``) with its parameters."""
    url = app.require("end_session_url")
    params: dict[str, str] = {}
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    if app.client_id:
        params["client_id"] = app.client_id
    if post_logout_redirect_uri:
        params["post_logout_redirect_uri"] = post_logout_redirect_uri
    if state:
        params["state"] = state
    if not params:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(params)}"
