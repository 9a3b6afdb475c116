"""Client authentication at the token and revocation endpoints, strictly.

Implements RFC 6749 §2.3.1 (``client_secret_basic``, ``client_secret_post``), RFC 7523 §2.2 and
§3 with OpenID Connect Core §9 (``private_key_jwt``), and public clients (``none``, which must
use PKCE). A client must use the one method it is registered with and only one method per
request (RFC 6749 §2.3). Failures raise :class:`OAuthError` carrying the RFC 6749 §5.2 error
code and HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

import jwt

from authkit.testing._oidc_model import OIDCClient

__all__ = ["JWT_BEARER", "ClientAuthenticator", "OAuthError"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: Signature algorithms accepted on client assertions: asymmetric ones only.
_ASSERTION_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class OAuthError(Exception):
    """An OAuth error answer: ``error`` code, description, HTTP status, extra headers."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})


def _invalid_client(description: str, *, basic: bool = False) -> OAuthError:
    # RFC 6749 §5.2: 401, with a challenge when the client tried the Authorization header.
    headers = {"WWW-Authenticate": 'Basic realm="authkit-test"'} if basic else {}
    return OAuthError("invalid_client", description, status=401, headers=headers)


def single(params: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    """The one value of ``name``, ``None`` when absent; a repeated parameter is refused.

    Raises:
        OAuthError: ``invalid_request``, the parameter was sent more than once (RFC 6749 §3.1).
    """
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise OAuthError("invalid_request", f"parameter {name!r} was sent more than once")
    return values[0]


class ClientAuthenticator:
    """Authenticates clients; remembers used assertion ``jti`` values until they expire.

    Not thread-safe on its own: the provider calls it under its lock.

    Args:
        clients: Client id → registered client (read at each call, so later additions count).
        audiences: Called for the endpoint URL; returns the ``aud`` values an assertion may
            name (the issuer, the token endpoint, the endpoint called).
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        clients: Mapping[str, OIDCClient],
        audiences: Callable[[str], frozenset[str]],
        clock: Callable[[], float],
    ) -> None:
        self._clients = clients
        self._audiences = audiences
        self._clock = clock
        self._seen_jti: dict[tuple[str, str], float] = {}

    def authenticate(
        self,
        headers: Mapping[str, str],
        form: Mapping[str, tuple[str, ...]],
        *,
        endpoint_url: str,
    ) -> OIDCClient:
        """The authenticated client of a token or revocation request.

        Raises:
            OAuthError: ``invalid_request`` (several methods, conflicting ``client_id``) or
                ``invalid_client`` (unknown client, wrong credentials, wrong method).
        """
        authorization = headers.get("authorization", "")
        basic = authorization[:6].lower() == "basic "
        secret_post = single(form, "client_secret")
        assertion = single(form, "client_assertion")
        assertion_type = single(form, "client_assertion_type")
        form_client_id = single(form, "client_id")
        used = [
            name
            for name, present in (
                ("client_secret_basic", basic),
                ("client_secret_post", secret_post is not None),
                ("private_key_jwt", assertion is not None or assertion_type is not None),
            )
            if present
        ]
        if len(used) > 1:
            raise OAuthError(
                "invalid_request", f"more than one client authentication method: {used}"
            )
        method = used[0] if used else "none"

        secrets: tuple[str | None, ...] = (secret_post,)
        if method == "client_secret_basic":
            client_id, secrets = self._basic_credentials(authorization)
            if form_client_id is not None and form_client_id != client_id:
                raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        elif method == "private_key_jwt":
            client_id = self._check_assertion_shape(assertion, assertion_type, form_client_id)
        else:
            if form_client_id is None:
                raise _invalid_client("client authentication is missing")
            client_id = form_client_id

        client = self._clients.get(client_id)
        if client is None:
            raise _invalid_client("unknown client", basic=basic)
        if client.auth_method != method:
            raise _invalid_client(
                f"the client is registered for {client.auth_method}, not {method}", basic=basic
            )
        if method in ("client_secret_basic", "client_secret_post"):
            expected = (client.client_secret or "").encode()
            if not any(
                candidate is not None and hmac.compare_digest(candidate.encode(), expected)
                for candidate in secrets
            ):
                raise _invalid_client("wrong client secret", basic=basic)
        elif method == "private_key_jwt":
            assert assertion is not None
            self._verify_assertion(client, assertion, endpoint_url)
        return client

    def _basic_credentials(self, authorization: str) -> tuple[str, tuple[str, ...]]:
        """RFC 6749 §2.3.1: base64 of ``urlencode(id):urlencode(secret)``.

        Returns the client id and the secret candidates: decoded as the RFC says, and as sent,
        since many clients (``requests``' own ``auth=``) skip the form-encoding, and many
        providers accept that too.
        """
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("malformed Basic credentials", basic=True) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep or not client_id:
            raise _invalid_client("malformed Basic credentials", basic=True)
        if unquote_plus(client_id) in self._clients:
            client_id = unquote_plus(client_id)
        return client_id, (unquote_plus(secret), secret)

    @staticmethod
    def _check_assertion_shape(
        assertion: str | None, assertion_type: str | None, form_client_id: str | None
    ) -> str:
        if assertion is None or assertion_type is None:
            raise OAuthError(
                "invalid_request", "client_assertion and client_assertion_type go together"
            )
        if assertion_type != JWT_BEARER:
            raise _invalid_client(f"client_assertion_type must be {JWT_BEARER}")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _invalid_client("client_assertion is not a JWT") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _invalid_client("client_assertion has no sub")
        if form_client_id is not None and form_client_id != subject:
            raise OAuthError("invalid_request", "client_id differs from the assertion's sub")
        return subject

    def _verify_assertion(self, client: OIDCClient, assertion: str, endpoint_url: str) -> None:
        """RFC 7523 §3 and OpenID Connect Core §9, against the client's registered keys."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise _invalid_client("client_assertion header is malformed") from None
        alg = header.get("alg")
        if alg not in _ASSERTION_ALGORITHMS:
            raise _invalid_client(f"client_assertion alg {alg!r} is not accepted")
        key = self._client_key(client, header.get("kid"), str(alg))
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=[str(alg)],
                # Time and audience are checked below, against the provider's clock.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "verify_aud": False, "verify_iss": False},
            )  # fmt: skip
        except jwt.PyJWTError:
            raise _invalid_client("client_assertion signature is invalid") from None
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise _invalid_client("client_assertion iss and sub must be the client_id")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(audiences) & self._audiences(endpoint_url):
            raise _invalid_client("client_assertion aud must name the issuer or the endpoint")
        now = self._clock()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise _invalid_client("client_assertion has no exp")
        if exp <= now:
            raise _invalid_client("client_assertion has expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > now:
            raise _invalid_client("client_assertion is not valid yet")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _invalid_client("client_assertion has no jti")
        self._seen_jti = {k: t for k, t in self._seen_jti.items() if t > now}
        if (client.client_id, jti) in self._seen_jti:
            raise _invalid_client("client_assertion jti was already used")
        self._seen_jti[(client.client_id, jti)] = float(exp)

    @staticmethod
    def _client_key(client: OIDCClient, kid: object, alg: str) -> Any:
        assert client.jwks is not None
        keys = jwt.PyJWKSet.from_dict(dict(client.jwks)).keys
        if kid is not None:
            keys = [k for k in keys if k.key_id == kid]
        elif len(keys) > 1:
            raise _invalid_client("client_assertion has no kid and the client has several keys")
        if not keys:
            raise _invalid_client("client_assertion kid is not among the client's keys")
        family = {"R": "RSA", "P": "RSA", "E": "EC"}.get(alg[0], "OKP")
        if keys[0].key_type != family:
            raise _invalid_client("client_assertion alg does not fit the client's key")
        return keys[0].key
