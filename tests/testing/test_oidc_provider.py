"""OIDCProvider driven over real HTTP by plain ``requests``, as an independent client would.

ID tokens are verified with PyJWT against the JWKS the provider serves; times are checked
against the injected clock, never the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from authkit.errors import ConfigurationError, InvalidSettingError
from authkit.testing import Fault, OIDCClient, OIDCProvider, OIDCUser
from authkit.testing._demo import (
    DEMO_CLIENT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_REDIRECT_URI,
    DEMO_USER,
)

pytest_plugins = ["pytester"]  # the authkit fixtures come from the installed pytest11 plugin

BASIC = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
SCOPE = "openid email profile groups"
ProviderFactory = Callable[..., OIDCProvider]


# -- helpers ------------------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(
    provider: OIDCProvider,
    *,
    client_id: str = DEMO_CLIENT_ID,
    redirect_uri: str | None = DEMO_REDIRECT_URI,
    challenge: str | None = None,
    **params: str,
) -> requests.Response:
    query: dict[str, str] = {
        "client_id": client_id,
        "response_type": "code",
        "scope": SCOPE,
        "state": "state-1",
        "nonce": "nonce-1",
    }
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    if challenge is not None:
        query.update(code_challenge=challenge, code_challenge_method="S256")
    query.update(params)
    return requests.get(provider.authorize_url, params=query, allow_redirects=False, timeout=5)


def redirect_params(response: requests.Response, target: str = DEMO_REDIRECT_URI) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(target + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(provider: OIDCProvider, **params: str) -> tuple[str, str]:
    """(code, verifier) of an auto-approved authorization request."""
    verifier, challenge = pkce()
    got = redirect_params(authorize(provider, challenge=challenge, **params))
    return got["code"], verifier


def token_request(
    provider: OIDCProvider,
    data: Mapping[str, str],
    *,
    auth: tuple[str, str] | None = BASIC,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    return requests.post(provider.token_url, data=data, auth=auth, headers=headers, timeout=5)


def exchange(
    provider: OIDCProvider, code: str, verifier: str, *, auth: tuple[str, str] | None = BASIC
) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
    }
    return token_request(provider, data, auth=auth)


def sign_in(provider: OIDCProvider, **params: str) -> dict[str, Any]:
    code, verifier = get_code(provider, **params)
    response = exchange(provider, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def decode(provider: OIDCProvider, token: str, *, audience: str = DEMO_CLIENT_ID) -> dict[str, Any]:
    """Verify an ID token's signature against the served JWKS; times are left to the caller."""
    jwks = jwt.PyJWKSet.from_dict(requests.get(provider.jwks_url, timeout=5).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "ES256"],
        audience=audience,
        issuer=provider.issuer,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return claims


def unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def s256_at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_json(url: str, token: str) -> Any:
    return requests.get(url, headers=bearer(token), timeout=5).json()


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


@pytest.fixture
def provider(oidc_provider_factory: ProviderFactory, clock: Any) -> OIDCProvider:
    """The demo provider on the test's fake clock."""
    return oidc_provider_factory(clock=clock)


@pytest.fixture
def rsa_client_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwt_client(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str = "k1") -> OIDCClient:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return OIDCClient(
        client_id="jwt-client",
        redirect_uris=[DEMO_REDIRECT_URI],
        auth_method="private_key_jwt",
        jwks={"keys": [{**jwk, "kid": kid}]},
    )


def assertion(
    provider: OIDCProvider,
    key: Any,
    *,
    now: float,
    alg: str = "RS256",
    kid: str = "k1",
    **overrides: Any,
) -> str:
    claims = {
        "iss": "jwt-client",
        "sub": "jwt-client",
        "aud": provider.token_url,
        "exp": int(now) + 60,
        "iat": int(now),
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def jwt_exchange(provider: OIDCProvider, client_assertion: str) -> requests.Response:
    code, verifier = get_code(provider, client_id="jwt-client")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion,
    }
    return token_request(provider, data, auth=None)


# -- discovery and keys -------------------------------------------------------------------------


def test_discovery_document_describes_the_provider(oidc_provider: OIDCProvider) -> None:
    response = requests.get(oidc_provider.metadata_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    doc = response.json()
    base = oidc_provider.base_url
    assert oidc_provider.metadata_url == f"{base}/.well-known/openid-configuration"
    assert doc["issuer"] == oidc_provider.issuer == base
    assert doc["authorization_endpoint"] == oidc_provider.authorize_url == f"{base}/authorize"
    assert doc["token_endpoint"] == oidc_provider.token_url
    assert doc["userinfo_endpoint"] == oidc_provider.userinfo_url
    assert doc["jwks_uri"] == oidc_provider.jwks_url
    assert doc["revocation_endpoint"] == oidc_provider.revocation_url
    assert doc["end_session_endpoint"] == oidc_provider.end_session_url
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert {"openid", "profile", "email", "groups"} <= set(doc["scopes_supported"])
    assert {"email", "email_verified", "groups"} <= set(doc["claims_supported"])
    # Every advertised endpoint answers on the same loopback server.
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert doc[field].startswith(base + "/")


@pytest.mark.parametrize(("algorithm", "kty"), [("RS256", "RSA"), ("ES256", "EC")])
def test_jwks_serves_the_public_signing_key(
    oidc_provider_factory: ProviderFactory, algorithm: str, kty: str
) -> None:
    provider = oidc_provider_factory(algorithm=algorithm)
    jwks = requests.get(provider.jwks_url, timeout=5).json()
    assert jwks == provider.jwks
    [key] = jwks["keys"]
    assert key["kty"] == kty
    assert key["alg"] == algorithm
    assert key["use"] == "sig"
    assert key["kid"] == provider.kid
    assert "d" not in key  # public only
    claims = decode(provider, sign_in(provider)["id_token"])
    assert claims["sub"] == "alice"
    assert jwt.get_unverified_header(sign_in(provider)["id_token"])["alg"] == algorithm


def test_each_provider_has_its_own_keys(oidc_provider_factory: ProviderFactory) -> None:
    first, second = oidc_provider_factory(), oidc_provider_factory()
    assert first.kid != second.kid
    token = sign_in(first)["id_token"]
    foreign = jwt.PyJWKSet.from_dict(second.jwks).keys[0].key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, foreign, algorithms=["RS256"], options={"verify_aud": False})


# -- the authorization code flow ----------------------------------------------------------------


def test_code_flow_with_pkce_and_client_secret_basic(provider: OIDCProvider, clock: Any) -> None:
    verifier, challenge = pkce()
    response = authorize(provider, challenge=challenge)
    got = redirect_params(response)
    assert set(got) == {"code", "state", "iss"}
    assert got["state"] == "state-1"
    assert got["iss"] == provider.issuer
    assert provider.last_authorize_params is not None
    assert provider.last_authorize_params["code_challenge"] == challenge

    response = exchange(provider, got["code"], verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == SCOPE
    assert body["access_token"] != body["refresh_token"]

    claims = decode(provider, body["id_token"])
    now = int(clock())
    assert claims["iss"] == provider.issuer
    assert claims["sub"] == "alice"
    assert claims["aud"] == DEMO_CLIENT_ID
    assert claims["azp"] == DEMO_CLIENT_ID
    assert claims["nonce"] == "nonce-1"
    assert claims["iat"] == now
    assert claims["exp"] == now + 300
    assert claims["auth_time"] == now
    assert claims["at_hash"] == s256_at_hash(body["access_token"])
    assert claims["email"] == "alice@example.org"
    assert claims["email_verified"] is True
    assert claims["groups"] == ["staff", "readers"]
    assert "realm_access" not in claims  # the roles scope was not asked for


def test_code_flow_with_client_secret_post(oidc_provider_factory: ProviderFactory) -> None:
    client = OIDCClient(
        client_id="post-client",
        client_secret="post-secret",
        redirect_uris=[DEMO_REDIRECT_URI],
        auth_method="client_secret_post",
    )
    provider = oidc_provider_factory(clients=[client])
    code, verifier = get_code(provider, client_id="post-client")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "post-client",
        "client_secret": "post-secret",
    }
    response = token_request(provider, data, auth=None)
    assert response.status_code == 200, response.text
    assert decode(provider, response.json()["id_token"], audience="post-client")["sub"] == "alice"


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_code_flow_with_private_key_jwt(
    oidc_provider_factory: ProviderFactory, clock: Any, kind: str
) -> None:
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    alg = "RS256" if kind == "rsa" else "ES256"
    provider = oidc_provider_factory(clients=[jwt_client(key)], clock=clock)
    response = jwt_exchange(provider, assertion(provider, key, now=clock(), alg=alg))
    assert response.status_code == 200, response.text
    assert decode(provider, response.json()["id_token"], audience="jwt-client")["sub"] == "alice"


def test_private_key_jwt_accepts_the_issuer_as_audience(
    oidc_provider_factory: ProviderFactory, clock: Any, rsa_client_key: rsa.RSAPrivateKey
) -> None:
    provider = oidc_provider_factory(clients=[jwt_client(rsa_client_key)], clock=clock)
    signed = assertion(provider, rsa_client_key, now=clock(), aud=[provider.issuer])
    assert jwt_exchange(provider, signed).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"aud": "https://elsewhere.invalid/token"}, "aud"),
        ({"iss": "someone-else"}, "iss and sub"),
        ({"exp": "past"}, "expired"),
        ({"nbf": "future"}, "not valid yet"),
        ({"exp": None}, "no exp"),
        ({"jti": None}, "no jti"),
        ({"kid": "unknown-kid"}, "kid"),
        ({"key": "other"}, "signature"),
        ({"alg": "HS256"}, "alg"),
    ],
)
def test_private_key_jwt_refuses_bad_assertions(
    oidc_provider_factory: ProviderFactory,
    clock: Any,
    rsa_client_key: rsa.RSAPrivateKey,
    overrides: dict[str, Any],
    description: str,
) -> None:
    provider = oidc_provider_factory(clients=[jwt_client(rsa_client_key)], clock=clock)
    now = clock()
    options: dict[str, Any] = dict(overrides)
    key: Any = rsa_client_key
    if options.pop("key", None):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if options.get("alg") == "HS256":
        key = b"a-shared-secret-that-is-long-enough-for-hs256"
    if options.get("exp") == "past":
        options["exp"] = int(now) - 1
    if options.get("nbf") == "future":
        options["nbf"] = int(now) + 60
    signed = assertion(provider, key, now=now, **options)
    response = jwt_exchange(provider, signed)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert description in response.json()["error_description"]


def test_private_key_jwt_assertion_is_single_use(
    oidc_provider_factory: ProviderFactory, clock: Any, rsa_client_key: rsa.RSAPrivateKey
) -> None:
    provider = oidc_provider_factory(clients=[jwt_client(rsa_client_key)], clock=clock)
    signed = assertion(provider, rsa_client_key, now=clock())
    assert jwt_exchange(provider, signed).status_code == 200
    replay = jwt_exchange(provider, signed)
    assert replay.status_code == 401
    assert replay.json() == {
        "error": "invalid_client",
        "error_description": "client_assertion jti was already used",
    }


def test_public_client_uses_pkce_without_a_secret(oidc_provider_factory: ProviderFactory) -> None:
    public = OIDCClient(client_id="spa", redirect_uris=[DEMO_REDIRECT_URI], auth_method="none")
    provider = oidc_provider_factory(clients=[public])
    no_pkce = redirect_params(authorize(provider, client_id="spa"))
    assert no_pkce["error"] == "invalid_request"
    code, verifier = get_code(provider, client_id="spa")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "spa",
    }
    assert token_request(provider, data, auth=None).status_code == 200


def test_client_without_pkce_requirement_may_omit_it(
    oidc_provider_factory: ProviderFactory,
) -> None:
    lax = OIDCClient(
        client_id="lax",
        client_secret="lax-secret",
        redirect_uris=[DEMO_REDIRECT_URI],
        require_pkce=False,
    )
    provider = oidc_provider_factory(clients=[lax])
    code = redirect_params(authorize(provider, client_id="lax"))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": DEMO_REDIRECT_URI}
    assert token_request(provider, data, auth=("lax", "lax-secret")).status_code == 200


# -- token endpoint strictness ------------------------------------------------------------------


def assert_oauth_error(response: requests.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    return body


def test_code_is_single_use_and_reuse_revokes_its_tokens(provider: OIDCProvider) -> None:
    code, verifier = get_code(provider)
    first = exchange(provider, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert provider.is_token_active(tokens["access_token"])

    again = exchange(provider, code, verifier)
    assert assert_oauth_error(again, 400, "invalid_grant")["error_description"] == (
        "the code was already used"
    )
    assert not provider.is_token_active(tokens["access_token"])
    assert not provider.is_token_active(tokens["refresh_token"])
    gone = requests.get(provider.userinfo_url, headers=bearer(tokens["access_token"]), timeout=5)
    assert gone.status_code == 401


def test_wrong_pkce_verifier_is_refused_and_burns_the_code(provider: OIDCProvider) -> None:
    code, verifier = get_code(provider)
    wrong, _ = pkce()
    assert_oauth_error(exchange(provider, code, wrong), 400, "invalid_grant")
    assert_oauth_error(exchange(provider, code, verifier), 400, "invalid_grant")


@pytest.mark.parametrize(
    ("verifier", "description"),
    [(None, "required"), ("short", "malformed")],
)
def test_missing_or_malformed_verifier_is_refused(
    provider: OIDCProvider, verifier: str | None, description: str
) -> None:
    code, _ = get_code(provider)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": DEMO_REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    body = assert_oauth_error(token_request(provider, data), 400, "invalid_grant")
    assert description in body["error_description"]


def test_verifier_without_challenge_is_a_downgrade(oidc_provider_factory: ProviderFactory) -> None:
    lax = OIDCClient(
        client_id="lax", client_secret="s", redirect_uris=[DEMO_REDIRECT_URI], require_pkce=False
    )
    provider = oidc_provider_factory(clients=[lax])
    code = redirect_params(authorize(provider, client_id="lax"))["code"]
    verifier, _ = pkce()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert_oauth_error(token_request(provider, data, auth=("lax", "s")), 400, "invalid_grant")


def test_wrong_secret_is_401_with_a_basic_challenge(provider: OIDCProvider) -> None:
    code, verifier = get_code(provider)
    response = exchange(provider, code, verifier, auth=(DEMO_CLIENT_ID, "wrong"))
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    # The code was not burnt by a request that failed client authentication.
    assert exchange(provider, code, verifier).status_code == 200


@pytest.mark.parametrize(
    ("auth", "extra", "status", "error"),
    [
        (("nobody", "x"), {}, 401, "invalid_client"),
        (
            None,
            {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
            401,
            "invalid_client",
        ),
        (None, {}, 401, "invalid_client"),
        (BASIC, {"client_secret": DEMO_CLIENT_SECRET}, 400, "invalid_request"),
        (BASIC, {"client_id": "someone-else"}, 400, "invalid_request"),
    ],
    ids=["unknown-client", "wrong-method", "no-auth", "two-methods", "conflicting-client-id"],
)
def test_client_authentication_is_strict(
    provider: OIDCProvider,
    auth: tuple[str, str] | None,
    extra: dict[str, str],
    status: int,
    error: str,
) -> None:
    code, verifier = get_code(provider)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": DEMO_REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }
    assert_oauth_error(token_request(provider, data, auth=auth), status, error)


@pytest.mark.parametrize(
    ("user", "password", "status"),
    [
        (quote_plus("c:1"), quote_plus("s+cr%t:x"), 200),  # form-encoded, as RFC 6749 says
        ("c:1", "s+cr%t:x", 401),  # a raw ":" in the client id cannot be told apart
        (quote_plus("c:1"), "s+cr%t:x", 200),  # a raw secret, as requests' auth= sends it
        (quote_plus("c:1"), "s cr%t:x", 401),
    ],
)
def test_basic_credentials_encoding(
    oidc_provider_factory: ProviderFactory, user: str, password: str, status: int
) -> None:
    client = OIDCClient(
        client_id="c:1", client_secret="s+cr%t:x", redirect_uris=[DEMO_REDIRECT_URI]
    )
    provider = oidc_provider_factory(clients=[client])
    code, verifier = get_code(provider, client_id="c:1")
    assert exchange(provider, code, verifier, auth=(user, password)).status_code == status


def test_malformed_basic_credentials_are_invalid_client(provider: OIDCProvider) -> None:
    response = token_request(
        provider,
        {"grant_type": "authorization_code"},
        auth=None,
        headers={"Authorization": "Basic !!"},
    )
    assert_oauth_error(response, 401, "invalid_client")


def test_redirect_uri_must_match_at_the_token_endpoint(
    oidc_provider_factory: ProviderFactory,
) -> None:
    other = "http://127.0.0.1:5000/other"
    client = OIDCClient(
        client_id="two", client_secret="s", redirect_uris=[DEMO_REDIRECT_URI, other]
    )
    provider = oidc_provider_factory(clients=[client])
    code, verifier = get_code(provider, client_id="two")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": other,
        "code_verifier": verifier,
    }
    body = assert_oauth_error(
        token_request(provider, data, auth=("two", "s")), 400, "invalid_grant"
    )
    assert "redirect_uri" in body["error_description"]


def test_redirect_uri_cannot_be_dropped_at_the_token_endpoint(provider: OIDCProvider) -> None:
    code, verifier = get_code(provider)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    assert_oauth_error(token_request(provider, data), 400, "invalid_grant")


def test_code_expires_by_the_providers_clock(provider: OIDCProvider, clock: Any) -> None:
    code, verifier = get_code(provider)
    clock.advance(61)
    body = assert_oauth_error(exchange(provider, code, verifier), 400, "invalid_grant")
    assert body["error_description"] == "the code has expired"


def test_code_of_another_client_is_refused(oidc_provider_factory: ProviderFactory) -> None:
    other = OIDCClient(client_id="other", client_secret="s", redirect_uris=[DEMO_REDIRECT_URI])
    provider = oidc_provider_factory(clients=[DEMO_CLIENT, other])
    code, verifier = get_code(provider)
    assert_oauth_error(
        exchange(provider, code, verifier, auth=("other", "s")), 400, "invalid_grant"
    )
    assert exchange(provider, code, verifier).status_code == 200


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"grant_type": "password", "username": "alice"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "nope"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
    ],
)
def test_token_request_errors(
    provider: OIDCProvider, data: dict[str, str], status: int, error: str
) -> None:
    assert_oauth_error(token_request(provider, data), status, error)


def test_token_endpoint_refuses_repeated_parameters_get_and_json(provider: OIDCProvider) -> None:
    repeated = requests.post(
        provider.token_url,
        data=[("grant_type", "authorization_code"), ("grant_type", "refresh_token")],
        auth=BASIC,
        timeout=5,
    )
    assert_oauth_error(repeated, 400, "invalid_request")
    get = requests.get(provider.token_url, timeout=5)
    assert_oauth_error(get, 405, "invalid_request")
    assert get.headers["Allow"] == "POST"
    as_json = requests.post(provider.token_url, json={"grant_type": "x"}, auth=BASIC, timeout=5)
    assert_oauth_error(as_json, 400, "invalid_request")


# -- refresh ------------------------------------------------------------------------------------


def refresh(provider: OIDCProvider, token: str, **extra: str) -> requests.Response:
    return token_request(provider, {"grant_type": "refresh_token", "refresh_token": token, **extra})


def test_refresh_rotates_the_refresh_token(provider: OIDCProvider, clock: Any) -> None:
    first = sign_in(provider)
    clock.advance(100)
    response = refresh(provider, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    claims = decode(provider, second["id_token"])
    assert claims["iat"] == int(clock())
    assert claims["auth_time"] == int(clock()) - 100  # the original sign-in
    assert "nonce" not in claims
    assert not provider.is_token_active(first["refresh_token"])
    assert provider.is_token_active(second["refresh_token"])


def test_reused_refresh_token_revokes_the_whole_grant(provider: OIDCProvider) -> None:
    first = sign_in(provider)
    second = refresh(provider, first["refresh_token"]).json()
    reuse = refresh(provider, first["refresh_token"])
    assert assert_oauth_error(reuse, 400, "invalid_grant")["error_description"] == (
        "the refresh token was already used"
    )
    assert_oauth_error(refresh(provider, second["refresh_token"]), 400, "invalid_grant")
    assert not provider.is_token_active(second["access_token"])


def test_refresh_may_narrow_but_not_widen_the_scope(provider: OIDCProvider) -> None:
    tokens = sign_in(provider)
    narrowed = refresh(provider, tokens["refresh_token"], scope="openid email")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "openid email"
    assert "groups" not in decode(provider, narrowed.json()["id_token"])
    widened = refresh(provider, narrowed.json()["refresh_token"], scope="openid roles")
    assert_oauth_error(widened, 400, "invalid_scope")


def test_refresh_token_expires_and_belongs_to_its_client(
    oidc_provider_factory: ProviderFactory, clock: Any
) -> None:
    other = OIDCClient(client_id="other", client_secret="s", redirect_uris=[DEMO_REDIRECT_URI])
    provider = oidc_provider_factory(
        clock=clock,
        refresh_token_lifetime=1000,
        clients=[DEMO_CLIENT, other],
    )
    tokens = sign_in(provider)
    stolen = token_request(
        provider,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("other", "s"),
    )
    assert_oauth_error(stolen, 400, "invalid_grant")
    clock.advance(1000)
    assert_oauth_error(refresh(provider, tokens["refresh_token"]), 400, "invalid_grant")


# -- authorization endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"redirect_uri": "http://127.0.0.1:5000/evil"}, "redirect_uri is not registered"),
        ({"redirect_uri": None}, "redirect_uri is required"),
        ({"client_id": "nobody"}, "the client is unknown"),
    ],
)
def test_bad_client_or_redirect_uri_is_a_400_page_never_a_redirect(
    provider: OIDCProvider, params: dict[str, Any], description: str
) -> None:
    _, challenge = pkce()
    response = authorize(provider, challenge=challenge, **params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert description in response.text


def test_single_registered_uri_may_be_omitted_without_openid(provider: OIDCProvider) -> None:
    _, challenge = pkce()
    response = authorize(provider, challenge=challenge, redirect_uri=None, scope="email")
    assert "code" in redirect_params(response)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJ..."}, "request_not_supported"),
    ],
)
def test_bad_authorization_requests_redirect_an_oauth_error(
    provider: OIDCProvider, params: dict[str, str], error: str
) -> None:
    _, challenge = pkce()
    got = redirect_params(authorize(provider, challenge=challenge, **params))
    assert got["error"] == error
    assert got["state"] == "state-1"
    assert got["iss"] == provider.issuer
    assert "code" not in got


def test_missing_pkce_and_repeated_parameters_are_refused(provider: OIDCProvider) -> None:
    assert redirect_params(authorize(provider))["error"] == "invalid_request"
    _, challenge = pkce()
    query = [
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", DEMO_REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("scope", "email"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    response = requests.get(provider.authorize_url, params=query, allow_redirects=False, timeout=5)
    assert redirect_params(response)["error"] == "invalid_request"
    query[0:1] = [("client_id", DEMO_CLIENT_ID), ("client_id", DEMO_CLIENT_ID)]
    response = requests.get(provider.authorize_url, params=query, allow_redirects=False, timeout=5)
    assert response.status_code == 400


def test_authorization_request_by_post(provider: OIDCProvider) -> None:
    _, challenge = pkce()
    data = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": DEMO_REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = requests.post(provider.authorize_url, data=data, allow_redirects=False, timeout=5)
    assert "code" in redirect_params(response)
    assert provider.last_authorize_params == data


def test_redirect_keeps_the_registered_query(oidc_provider_factory: ProviderFactory) -> None:
    uri = "http://127.0.0.1:5000/cb?tenant=a"
    client = OIDCClient(client_id="q", client_secret="s", redirect_uris=[uri])
    provider = oidc_provider_factory(clients=[client])
    _, challenge = pkce()
    response = authorize(provider, client_id="q", redirect_uri=uri, challenge=challenge)
    location = urlsplit(response.headers["Location"])
    assert parse_qs(location.query)["tenant"] == ["a"]
    assert "code" in parse_qs(location.query)


def test_prompt_none_without_a_session_is_login_required(provider: OIDCProvider) -> None:
    provider.login_as(None)
    _, challenge = pkce()
    got = redirect_params(authorize(provider, challenge=challenge, prompt="none"))
    assert got["error"] == "login_required"


# -- the HTML login form ------------------------------------------------------------------------


def open_login_form(provider: OIDCProvider) -> tuple[str, dict[str, str]]:
    provider.login_as(None)
    verifier, challenge = pkce()
    page = authorize(provider, challenge=challenge)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<form" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    return provider.base_url + action.group(1), {**form_fields(page.text), "verifier": verifier}


def post_login(url: str, fields: Mapping[str, str], **values: str) -> requests.Response:
    data = {"request_id": fields["request_id"], "csrf_token": fields["csrf_token"], **values}
    return requests.post(url, data=data, allow_redirects=False, timeout=5)


def test_login_form_signs_in_with_username_and_password(provider: OIDCProvider) -> None:
    url, fields = open_login_form(provider)
    assert url == provider.url_for("login")
    wrong = post_login(url, fields, username="alice", password="nope", action="login")
    assert wrong.status_code == 200
    assert "Invalid username or password." in wrong.text

    ok = post_login(url, fields, username="alice", password=DEMO_PASSWORD, action="login")
    got = redirect_params(ok)
    assert got["state"] == "state-1"
    tokens = exchange(provider, got["code"], fields["verifier"]).json()
    assert decode(provider, tokens["id_token"])["sub"] == "alice"
    # The pending request is single-use.
    again = post_login(url, fields, username="alice", password=DEMO_PASSWORD, action="login")
    assert again.status_code == 400


def test_login_form_is_bound_to_its_csrf_token(provider: OIDCProvider) -> None:
    url, fields = open_login_form(provider)
    forged = post_login(
        url, {**fields, "csrf_token": "forged"}, username="alice", password=DEMO_PASSWORD
    )
    assert forged.status_code == 400
    assert "CSRF" in forged.text
    unknown = post_login(url, {**fields, "request_id": "forged"}, username="alice")
    assert unknown.status_code == 400


def test_login_form_expires(provider: OIDCProvider, clock: Any) -> None:
    url, fields = open_login_form(provider)
    clock.advance(601)
    expired = post_login(url, fields, username="alice", password=DEMO_PASSWORD)
    assert expired.status_code == 400
    assert "expired" in expired.text


def test_login_form_cancel_is_access_denied(provider: OIDCProvider) -> None:
    url, fields = open_login_form(provider)
    got = redirect_params(post_login(url, fields, action="deny"))
    assert got["error"] == "access_denied"
    assert got["iss"] == provider.issuer


def test_user_without_password_cannot_use_the_form(oidc_provider_factory: ProviderFactory) -> None:
    provider = oidc_provider_factory(users=[OIDCUser(sub="bob")])
    url, fields = open_login_form(provider)
    refused = post_login(url, fields, username="bob", password="")
    assert "Invalid username or password." in refused.text


# -- userinfo -----------------------------------------------------------------------------------


def test_userinfo_with_a_bearer_token(provider: OIDCProvider) -> None:
    tokens = sign_in(provider)
    response = requests.get(
        provider.userinfo_url, headers=bearer(tokens["access_token"]), timeout=5
    )
    assert response.status_code == 200
    assert response.json() == {
        "sub": "alice",
        "email": "alice@example.org",
        "email_verified": True,
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "preferred_username": "alice",
        "groups": ["staff", "readers"],
    }
    by_post = requests.post(
        provider.userinfo_url, data={"access_token": tokens["access_token"]}, timeout=5
    )
    assert by_post.json()["sub"] == "alice"


def test_userinfo_releases_only_the_granted_scopes(provider: OIDCProvider) -> None:
    tokens = sign_in(provider, scope="openid email")
    claims = get_json(provider.userinfo_url, tokens["access_token"])
    assert claims == {"sub": "alice", "email": "alice@example.org", "email_verified": True}


def test_userinfo_without_a_token_is_401_with_a_bare_challenge(provider: OIDCProvider) -> None:
    response = requests.get(provider.userinfo_url, timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{provider.issuer}"'


@pytest.mark.parametrize("how", ["unknown", "expired", "revoked"])
def test_userinfo_with_a_bad_token_is_invalid_token(
    provider: OIDCProvider, clock: Any, how: str
) -> None:
    token = sign_in(provider)["access_token"]
    if how == "unknown":
        token = "not-a-token"
    elif how == "expired":
        clock.advance(300)
    else:
        requests.post(provider.revocation_url, data={"token": token}, auth=BASIC, timeout=5)
    response = requests.get(provider.userinfo_url, headers=bearer(token), timeout=5)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_needs_the_openid_scope(provider: OIDCProvider) -> None:
    token = sign_in(provider, scope="email")["access_token"]
    response = requests.get(provider.userinfo_url, headers=bearer(token), timeout=5)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_userinfo_refuses_two_token_methods(provider: OIDCProvider) -> None:
    token = sign_in(provider)["access_token"]
    response = requests.post(
        provider.userinfo_url, data={"access_token": token}, headers=bearer(token), timeout=5
    )
    assert response.status_code == 400


def test_custom_claims_and_scope_claims(oidc_provider_factory: ProviderFactory) -> None:
    user = OIDCUser(
        sub="carol",
        claims={"email": "c@example.org", "eduperson_entitlement": ["urn:x"], "org": "ACME"},
    )
    provider = oidc_provider_factory(
        users=[user], auto_login="carol", scope_claims={"org": ["org"]}
    )
    tokens = sign_in(provider, scope="openid")
    claims = decode(provider, tokens["id_token"])
    assert claims["eduperson_entitlement"] == ["urn:x"]  # listed by no scope: comes with openid
    assert "org" not in claims
    assert "email" not in claims
    with_org = decode(provider, sign_in(provider, scope="openid org")["id_token"])
    assert with_org["org"] == "ACME"


def test_claims_can_stay_out_of_the_id_token(oidc_provider_factory: ProviderFactory) -> None:
    provider = oidc_provider_factory(claims_in_id_token=False)
    tokens = sign_in(provider)
    assert "email" not in decode(provider, tokens["id_token"])
    userinfo = get_json(provider.userinfo_url, tokens["access_token"])
    assert userinfo["email"] == "alice@example.org"


# -- revocation and logout ----------------------------------------------------------------------


def revoke(provider: OIDCProvider, token: str, auth: tuple[str, str] = BASIC) -> requests.Response:
    return requests.post(provider.revocation_url, data={"token": token}, auth=auth, timeout=5)


def test_revoking_a_refresh_token_ends_the_grant(provider: OIDCProvider) -> None:
    tokens = sign_in(provider)
    response = revoke(provider, tokens["refresh_token"])
    assert response.status_code == 200
    assert response.content == b""
    assert not provider.is_token_active(tokens["access_token"])
    assert_oauth_error(refresh(provider, tokens["refresh_token"]), 400, "invalid_grant")


def test_revoking_an_access_token_leaves_the_refresh_token(provider: OIDCProvider) -> None:
    tokens = sign_in(provider)
    assert revoke(provider, tokens["access_token"]).status_code == 200
    assert not provider.is_token_active(tokens["access_token"])
    assert provider.is_token_active(tokens["refresh_token"])


def test_revocation_is_200_for_unknown_tokens_and_401_for_bad_clients(
    oidc_provider_factory: ProviderFactory,
) -> None:
    other = OIDCClient(client_id="other", client_secret="s", redirect_uris=[DEMO_REDIRECT_URI])
    provider = oidc_provider_factory(clients=[other, DEMO_CLIENT])
    tokens = sign_in(provider)
    assert revoke(provider, "never-issued").status_code == 200
    assert revoke(provider, tokens["access_token"], auth=("other", "s")).status_code == 200
    assert provider.is_token_active(tokens["access_token"])  # not the other client's to revoke
    assert_oauth_error(
        revoke(provider, tokens["access_token"], auth=("other", "x")), 401, "invalid_client"
    )
    missing = requests.post(provider.revocation_url, data={}, auth=BASIC, timeout=5)
    assert_oauth_error(missing, 400, "invalid_request")


def test_end_session_redirects_to_a_registered_uri(provider: OIDCProvider) -> None:
    id_token = sign_in(provider)["id_token"]
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": "http://127.0.0.1:5000/",
        "state": "bye",
    }
    response = requests.get(
        provider.end_session_url, params=params, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:5000/?state=bye"
    assert provider.last_request("end_session") is not None


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"post_logout_redirect_uri": "http://127.0.0.1:5000/evil"}, "not registered"),
        ({"id_token_hint": "forged"}, "not issued here"),
        ({"client_id": "nobody"}, "unknown"),
        ({"client_id": "hint-mismatch"}, "audience"),
        ({"id_token_hint": None, "post_logout_redirect_uri": "http://127.0.0.1:5000/"}, "needs"),
    ],
)
def test_end_session_refuses_what_it_cannot_trust(
    oidc_provider_factory: ProviderFactory, params: dict[str, Any], description: str
) -> None:
    extra = OIDCClient(client_id="hint-mismatch", client_secret="s", redirect_uris=["http://x/"])
    provider = oidc_provider_factory(clients=[extra, DEMO_CLIENT])
    query = {"id_token_hint": sign_in(provider)["id_token"], **params}
    query = {k: v for k, v in query.items() if v is not None}
    response = requests.get(
        provider.end_session_url, params=query, allow_redirects=False, timeout=5
    )
    assert response.status_code == 400
    assert description in response.text


def test_end_session_without_redirect_shows_a_page(provider: OIDCProvider) -> None:
    response = requests.get(provider.end_session_url, timeout=5)
    assert response.status_code == 200
    assert "signed out" in response.text


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["discovery", "jwks", "token", "userinfo"])
def test_http_500_fault(provider: OIDCProvider, endpoint: str) -> None:
    with provider.fault(endpoint, Fault.HTTP_500):
        response = requests.request(
            "GET" if endpoint != "token" else "POST", provider.url_for(endpoint), timeout=5
        )
        assert response.status_code == 500
    assert requests.get(provider.metadata_url, timeout=5).status_code == 200


@pytest.mark.parametrize("endpoint", ["discovery", "jwks", "userinfo"])
def test_malformed_json_fault(provider: OIDCProvider, endpoint: str) -> None:
    provider.faults.set(endpoint, "malformed_json")
    response = requests.get(provider.url_for(endpoint), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    provider.faults.clear(endpoint)
    assert provider.faults.active(endpoint) == {}


def test_delay_fault_outlasts_the_timeout_and_stop_interrupts_it(
    oidc_provider_factory: ProviderFactory,
) -> None:
    provider = oidc_provider_factory()
    provider.faults.set("jwks", "delay", seconds=60)
    with pytest.raises(requests.ReadTimeout):
        requests.get(provider.jwks_url, timeout=(2, 0.2))
    # A second stalled request is still waiting when the provider stops: stop() ends it at once.
    outcome: list[BaseException] = []

    def stalled() -> None:
        try:
            requests.get(provider.jwks_url, timeout=(2, 30))
        except requests.RequestException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=stalled)
    worker.start()
    for _ in range(200):
        if provider.request_count("jwks") == 2:
            break
        time.sleep(0.01)
    started = time.monotonic()
    provider.stop()
    assert time.monotonic() - started < 2
    worker.join(5)
    assert isinstance(outcome[0], requests.ConnectionError)


def test_close_connection_fault(provider: OIDCProvider) -> None:
    provider.faults.set("token", "close_connection", times=1)
    with pytest.raises(requests.ConnectionError):
        token_request(provider, {"grant_type": "authorization_code"})
    assert provider.faults.active("token") == {}  # times=1 spent


def test_fault_times_counts_requests(provider: OIDCProvider) -> None:
    provider.faults.set("discovery", "http_500", times=2, status=503)
    statuses = [requests.get(provider.metadata_url, timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_wrong_issuer_fault_in_discovery(provider: OIDCProvider) -> None:
    with provider.fault("discovery", "wrong_issuer", issuer="https://mallory.invalid"):
        assert (
            requests.get(provider.metadata_url, timeout=5).json()["issuer"]
            == "https://mallory.invalid"
        )


@pytest.mark.parametrize(
    ("fault", "options", "check"),
    [
        ("wrong_issuer", {}, lambda c, now: c["iss"] == "https://issuer.invalid"),
        ("expired", {}, lambda c, now: c["exp"] == now - 3600),
        ("expired", {"by": 5}, lambda c, now: c["exp"] == now - 5),
        ("not_yet_valid", {}, lambda c, now: c["iat"] == c["nbf"] == now + 3600),
        ("wrong_audience", {}, lambda c, now: c["aud"] == "another-client"),
        ("nonce_mismatch", {}, lambda c, now: c["nonce"] == "not-the-nonce-you-sent"),
        ("id_token_claims", {"set": {"aud": ["a", "b"]}, "remove": ["azp"]},
         lambda c, now: c["aud"] == ["a", "b"] and "azp" not in c),
    ],
)  # fmt: skip
def test_id_token_claim_faults(
    provider: OIDCProvider, clock: Any, fault: str, options: dict[str, Any], check: Any
) -> None:
    with provider.fault("token", fault, **options):
        token = sign_in(provider)["id_token"]
    claims = unverified(token)
    assert check(claims, int(clock()))
    # Still validly signed by the provider: only the claim is wrong.
    key = jwt.PyJWKSet.from_dict(provider.jwks).keys[0].key
    jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False,
               "verify_iat": False, "verify_nbf": False})  # fmt: skip


def test_at_hash_mismatch_fault(provider: OIDCProvider) -> None:
    with provider.fault("token", "at_hash_mismatch"):
        tokens = sign_in(provider)
    assert decode(provider, tokens["id_token"])["at_hash"] != s256_at_hash(tokens["access_token"])


def test_unknown_key_fault_names_a_kid_missing_from_the_jwks(provider: OIDCProvider) -> None:
    with provider.fault("token", "unknown_key"):
        token = sign_in(provider)["id_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    served = requests.get(provider.jwks_url, timeout=5).json()
    assert kid not in {k["kid"] for k in served["keys"]}
    key = jwt.PyJWKSet.from_dict(served).keys[0].key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})


def test_bad_signature_fault(provider: OIDCProvider) -> None:
    with provider.fault("token", "bad_signature"):
        token = sign_in(provider)["id_token"]
    assert jwt.get_unverified_header(token)["kid"] == provider.kid
    with pytest.raises(jwt.InvalidSignatureError):
        decode(provider, token)


def test_oauth_error_faults(provider: OIDCProvider) -> None:
    _, challenge = pkce()
    with provider.fault("authorize", "oauth_error"):
        got = redirect_params(authorize(provider, challenge=challenge))
    assert got["error"] == "access_denied"
    assert got["state"] == "state-1"
    assert got["iss"] == provider.issuer
    code, verifier = get_code(provider)
    with provider.fault("token", "oauth_error", error="invalid_grant", description="nope"):
        response = exchange(provider, code, verifier)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "nope"}


def test_iss_parameter_faults(provider: OIDCProvider) -> None:
    _, challenge = pkce()
    with provider.fault("authorize", "omit_iss"):
        assert "iss" not in redirect_params(authorize(provider, challenge=challenge))
    with provider.fault("authorize", "wrong_issuer", issuer="https://mix-up.invalid"):
        got = redirect_params(authorize(provider, challenge=challenge))
    assert got["iss"] == "https://mix-up.invalid"
    assert "code" in got


def test_authorize_faults_apply_to_the_login_form_response(provider: OIDCProvider) -> None:
    provider.faults.set("authorize", "omit_iss", times=1)
    url, fields = open_login_form(provider)
    got = redirect_params(post_login(url, fields, username="alice", password=DEMO_PASSWORD))
    assert "iss" not in got
    assert "code" in got


@pytest.mark.parametrize(
    ("endpoint", "fault", "options", "message"),
    [
        ("nowhere", "http_500", {}, "expected one of"),
        ("token", "explode", {}, "expected one of"),
        ("jwks", "expired", {}, "applies to token"),
        ("emails", "http_500", {}, "expected one of"),  # the standard shape has no emails
        ("token", "expired", {"minutes": 5}, "takes by"),
        ("token", "http_500", {"times": 0}, "positive integer"),
    ],
)
def test_fault_settings_are_validated(
    provider: OIDCProvider, endpoint: str, fault: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSettingError, match=message) as caught:
        provider.faults.set(endpoint, fault, **options)
    assert caught.value.code == "config.invalid_value"


# -- key rotation -------------------------------------------------------------------------------


def test_rotate_keys_replaces_the_key_in_the_jwks(provider: OIDCProvider) -> None:
    before = sign_in(provider)["id_token"]
    old_kid = provider.kid
    new_kid = provider.rotate_keys()
    assert new_kid != old_kid == jwt.get_unverified_header(before)["kid"]
    served = requests.get(provider.jwks_url, timeout=5).json()
    assert [k["kid"] for k in served["keys"]] == [new_kid]
    after = sign_in(provider)["id_token"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert decode(provider, after)["sub"] == "alice"
    with pytest.raises(StopIteration):
        decode(provider, before)  # its kid is gone from the JWKS


def test_rotate_keys_can_keep_the_previous_key(provider: OIDCProvider) -> None:
    before = sign_in(provider)["id_token"]
    new_kid = provider.rotate_keys(keep_previous=True)
    assert provider.jwks["keys"][0]["kid"] == new_kid
    assert len(provider.jwks["keys"]) == 2
    assert decode(provider, before)["sub"] == "alice"


def test_sign_jwt_crafts_tokens_with_the_current_key(provider: OIDCProvider) -> None:
    token = provider.sign_jwt({"iss": provider.issuer, "aud": DEMO_CLIENT_ID, "sub": "x"})
    assert jwt.get_unverified_header(token)["kid"] == provider.kid
    assert decode(provider, token)["sub"] == "x"


# -- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("legacy", "prefix"), [(False, ""), (True, "/auth")])
def test_keycloak_shape(oidc_provider_factory: ProviderFactory, legacy: bool, prefix: str) -> None:
    provider = oidc_provider_factory(shape="keycloak", realm="inst", legacy_url_path=legacy)
    base = provider.base_url
    realm = f"{base}{prefix}/realms/inst"
    oc = f"{realm}/protocol/openid-connect"
    assert provider.issuer == realm
    assert provider.metadata_url == f"{realm}/.well-known/openid-configuration"
    doc = requests.get(provider.metadata_url, timeout=5).json()
    assert doc["issuer"] == realm
    assert doc["authorization_endpoint"] == f"{oc}/auth"
    assert doc["token_endpoint"] == f"{oc}/token"
    assert doc["userinfo_endpoint"] == f"{oc}/userinfo"
    assert doc["jwks_uri"] == f"{oc}/certs"
    assert doc["end_session_endpoint"] == f"{oc}/logout"
    assert doc["revocation_endpoint"] == f"{oc}/revoke"

    tokens = sign_in(provider, scope="openid")
    claims = decode(provider, tokens["id_token"])
    assert claims["typ"] == "ID"
    assert claims["realm_access"] == {"roles": ["user"]}
    assert claims["resource_access"] == {DEMO_CLIENT_ID: {"roles": ["curator"]}}
    assert claims["email"] == "alice@example.org"  # profile, email, roles come by default
    assert tokens["session_state"] == claims["sid"]
    assert tokens["refresh_expires_in"] == 86400
    userinfo = get_json(provider.userinfo_url, tokens["access_token"])
    assert userinfo["realm_access"] == {"roles": ["user"]}
    assert requests.get(f"{base}/.well-known/openid-configuration", timeout=5).status_code == 404


GITHUB_USER = OIDCUser(
    sub="octocat",
    password="pw",
    claims={
        "id": 583231,
        "name": "The Octocat",
        "preferred_username": "octocat",
        "emails": [
            {"email": "octo@example.org", "primary": True, "verified": True, "visibility": None},
            {"email": "old@example.org", "primary": False, "verified": False, "visibility": None},
        ],
    },
)
GITHUB_CLIENT = OIDCClient(
    client_id="gh-app",
    client_secret="gh-secret",
    redirect_uris=[DEMO_REDIRECT_URI],
    auth_method="client_secret_post",
    require_pkce=False,
)


@pytest.fixture
def github(oidc_provider_factory: ProviderFactory) -> OIDCProvider:
    return oidc_provider_factory(
        shape="github", users=[GITHUB_USER], clients=[GITHUB_CLIENT], auto_login="octocat"
    )


def github_code(provider: OIDCProvider, scope: str = "read:user user:email") -> str:
    params = {
        "client_id": "gh-app",
        "redirect_uri": DEMO_REDIRECT_URI,
        "scope": scope,
        "state": "s",
    }
    response = requests.get(provider.authorize_url, params=params, allow_redirects=False, timeout=5)
    got = redirect_params(response)
    assert "iss" not in got  # GitHub does not send RFC 9207's iss
    return got["code"]


def github_token(provider: OIDCProvider, code: str, accept: str | None) -> requests.Response:
    data = {"client_id": "gh-app", "client_secret": "gh-secret", "code": code,
            "redirect_uri": DEMO_REDIRECT_URI}  # fmt: skip
    headers = {"Accept": accept} if accept else {}
    return requests.post(provider.token_url, data=data, headers=headers, timeout=5)


def test_github_shape_endpoints(github: OIDCProvider) -> None:
    base = github.base_url
    assert github.authorize_url == f"{base}/login/oauth/authorize"
    assert github.token_url == f"{base}/login/oauth/access_token"
    assert github.userinfo_url == f"{base}/user"
    assert github.emails_url == f"{base}/user/emails"
    with pytest.raises(InvalidSettingError) as caught:
        _ = github.metadata_url
    assert caught.value.code == "testing.no_such_endpoint"
    missing = requests.get(f"{base}/.well-known/openid-configuration", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"


def test_github_token_response_formats(github: OIDCProvider) -> None:
    as_form = github_token(github, github_code(github), accept=None)
    assert as_form.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(as_form.text)
    assert form["token_type"] == ["bearer"]
    assert form["scope"] == ["read:user,user:email"]
    as_json = github_token(github, github_code(github), accept="application/json").json()
    assert set(as_json) == {"access_token", "token_type", "scope"}  # no ID token, no refresh


def test_github_user_and_emails(github: OIDCProvider) -> None:
    token = github_token(github, github_code(github), accept="application/json").json()
    for header in (f"Bearer {token['access_token']}", f"token {token['access_token']}"):
        user = requests.get(
            github.userinfo_url, headers={"Authorization": header}, timeout=5
        ).json()
        assert user["login"] == "octocat"
        assert user["id"] == 583231
        assert user["name"] == "The Octocat"
        assert user["email"] is None  # the primary e-mail is private
    emails = get_json(github.emails_url, token["access_token"])
    assert emails == GITHUB_USER.claims["emails"]


def test_github_emails_need_the_email_scope_and_a_token(github: OIDCProvider) -> None:
    token = github_token(github, github_code(github, scope="read:user"), "application/json").json()
    hidden = requests.get(github.emails_url, headers=bearer(token["access_token"]), timeout=5)
    assert hidden.status_code == 404
    anonymous = requests.get(github.userinfo_url, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "Requires authentication"
    bad = requests.get(github.userinfo_url, headers=bearer("nope"), timeout=5)
    assert bad.json()["message"] == "Bad credentials"


def test_github_public_email_and_derived_emails(oidc_provider_factory: ProviderFactory) -> None:
    user = OIDCUser(sub="pub", claims={"email": "pub@example.org", "email_verified": True})
    provider = oidc_provider_factory(
        shape="github", users=[user], clients=[GITHUB_CLIENT], auto_login="pub"
    )
    token = github_token(provider, github_code(provider), "application/json").json()
    emails = get_json(provider.emails_url, token["access_token"])
    assert emails == [
        {"email": "pub@example.org", "primary": True, "verified": True, "visibility": "private"}
    ]
    primary = {"email": "p2@example.org", "primary": True, "verified": True, "visibility": "public"}
    public = OIDCUser(sub="pub2", claims={"emails": [primary]})
    provider.add_user(public)
    provider.login_as("pub2")
    token = github_token(provider, github_code(provider), "application/json").json()
    user_doc = get_json(provider.userinfo_url, token["access_token"])
    assert user_doc["email"] == "p2@example.org"


def test_github_token_errors_come_with_status_200(github: OIDCProvider) -> None:
    code = github_code(github)
    wrong_secret = requests.post(
        github.token_url,
        data={"client_id": "gh-app", "client_secret": "x", "code": code},
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert wrong_secret.status_code == 200
    assert wrong_secret.json()["error"] == "incorrect_client_credentials"
    bad_code = github_token(github, "nope", accept=None)
    assert bad_code.status_code == 200
    assert parse_qs(bad_code.text)["error"] == ["bad_verification_code"]


ORCID_USER = OIDCUser(
    sub="0000-0002-1825-0097",
    claims={
        "given_name": "Josiah",
        "family_name": "Carberry",
        "email": "josiah@example.org",
        "email_verified": True,
    },
)


def test_orcid_shape(oidc_provider_factory: ProviderFactory) -> None:
    orcid_client = OIDCClient(
        client_id="APP-1", client_secret="orcid-secret", redirect_uris=[DEMO_REDIRECT_URI],
        auth_method="client_secret_post",
    )  # fmt: skip
    provider = oidc_provider_factory(
        shape="orcid", users=[ORCID_USER], clients=[orcid_client], auto_login=ORCID_USER.sub
    )
    base = provider.base_url
    assert provider.userinfo_url == f"{base}/oauth/userinfo"
    assert provider.token_url == f"{base}/oauth/token"
    doc = requests.get(provider.metadata_url, timeout=5).json()
    assert doc["scopes_supported"][:3] == ["openid", "/authenticate", "/read-limited"]
    assert "end_session_endpoint" not in doc

    verifier, challenge = pkce()
    got = redirect_params(
        authorize(provider, client_id="APP-1", challenge=challenge, scope="openid /authenticate")
    )
    data = {"grant_type": "authorization_code", "code": got["code"],
            "redirect_uri": DEMO_REDIRECT_URI, "code_verifier": verifier,
            "client_id": "APP-1", "client_secret": "orcid-secret"}  # fmt: skip
    tokens = token_request(provider, data, auth=None).json()
    assert tokens["orcid"] == "0000-0002-1825-0097"
    assert tokens["name"] == "Josiah Carberry"
    assert tokens["token_type"] == "bearer"
    claims = decode(provider, tokens["id_token"], audience="APP-1")
    assert claims["sub"] == "0000-0002-1825-0097"
    assert claims["family_name"] == "Carberry"
    assert "email" not in claims
    userinfo = get_json(provider.userinfo_url, tokens["access_token"])
    assert userinfo["sub"] == "0000-0002-1825-0097"
    assert userinfo["id"] == "https://orcid.org/0000-0002-1825-0097"
    assert "email" not in userinfo


def test_orcid_authenticate_scope_alone_has_no_id_token(
    oidc_provider_factory: ProviderFactory,
) -> None:
    provider = oidc_provider_factory(shape="orcid", users=[ORCID_USER], auto_login=ORCID_USER.sub)
    tokens = sign_in(provider, scope="/authenticate")
    assert "id_token" not in tokens
    assert tokens["orcid"] == ORCID_USER.sub


# -- life cycle ---------------------------------------------------------------------------------


def test_stop_joins_every_thread_and_releases_the_port() -> None:
    before = set(threading.enumerate())
    provider = OIDCProvider(users=[DEMO_USER], auto_login="alice")
    with provider:
        port = provider.base_url.rsplit(":", 1)[1]
        pending = [
            threading.Thread(
                target=requests.get, args=(provider.metadata_url,), kwargs={"timeout": 5}
            )
            for _ in range(8)
        ]
        for thread in pending:
            thread.start()
        for thread in pending:
            thread.join()
        assert provider.request_count("discovery") == 8
        # A client that connects and never sends anything must not hold up stop().
        idle = socket.create_connection(("127.0.0.1", int(port)))
    try:
        assert set(threading.enumerate()) == before
        assert not provider.running
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", int(port)))
    finally:
        idle.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(provider.metadata_url, timeout=2)
    assert provider.server_errors == []


def test_life_cycle_misuse_is_reported() -> None:
    provider = OIDCProvider()
    with pytest.raises(ConfigurationError) as caught:
        _ = provider.base_url
    assert caught.value.code == "testing.not_started"
    assert "not running" in repr(provider)
    provider.start()
    try:
        assert provider.base_url in repr(provider)
        with pytest.raises(ConfigurationError) as again:
            provider.start()
        assert again.value.code == "testing.already_started"
    finally:
        provider.stop()
    provider.stop()  # idempotent
    with pytest.raises(ConfigurationError):
        provider.start()


def test_unknown_paths_and_methods(provider: OIDCProvider) -> None:
    assert requests.get(provider.base_url + "/nope", timeout=5).status_code == 404
    assert requests.post(provider.metadata_url, timeout=5).status_code == 405
    assert requests.delete(provider.jwks_url, timeout=5).status_code == 405
    assert requests.put(provider.authorize_url, timeout=5).status_code == 405
    assert requests.get(provider.url_for("login"), timeout=5).status_code == 405


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: OIDCUser(sub=""), "OIDCUser.sub"),
        (lambda: OIDCUser(sub="a", claims={"sub": "b"}), "OIDCUser.claims"),
        (lambda: OIDCUser(sub="a", claims=["x"]), "OIDCUser.claims"),
        (lambda: OIDCClient(client_id="c", redirect_uris=[]), "OIDCClient('c').redirect_uris"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["/relative"]),
         "OIDCClient('c').redirect_uris"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/#frag"]),
         "OIDCClient('c').redirect_uris"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/"]),
         "OIDCClient('c').client_secret"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/"], auth_method="none",
                            client_secret="s"), "OIDCClient('c').client_secret"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/"],
                            auth_method="private_key_jwt"), "OIDCClient('c').jwks"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/"],
                            auth_method="private_key_jwt", jwks={"keys": []}),
         "OIDCClient('c').jwks"),
        (lambda: OIDCClient(client_id="c", redirect_uris=["http://x/"], auth_method="magic",  # type: ignore[arg-type]
                            client_secret="s"), "OIDCClient.auth_method"),
        (lambda: OIDCProvider(shape="okta"), "OIDCProvider.shape"),  # type: ignore[arg-type]
        (lambda: OIDCProvider(algorithm="HS256"), "OIDCProvider.algorithm"),  # type: ignore[arg-type]
        (lambda: OIDCProvider(realm="a/b"), "OIDCProvider.realm"),
        (lambda: OIDCProvider(code_lifetime=0), "OIDCProvider.code_lifetime"),
        (lambda: OIDCProvider(clock=5), "OIDCProvider.clock"),  # type: ignore[arg-type]
        (lambda: OIDCProvider(scope_claims={"x": "y"}), "OIDCProvider.scope_claims"),
        (lambda: OIDCProvider(auto_login="ghost"), "OIDCProvider.login_as"),
        (lambda: OIDCProvider(users=[DEMO_USER, DEMO_USER]), "OIDCProvider.users"),
        (lambda: OIDCProvider(users=["alice"]), "OIDCProvider.users"),  # type: ignore[list-item]
    ],
)  # fmt: skip
def test_bad_configuration_names_the_field(build: Callable[[], object], key: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        build()
    assert caught.value.key == key
    assert caught.value.code == "config.invalid_value"


def test_private_keys_are_refused_in_client_jwks(rsa_client_key: rsa.RSAPrivateKey) -> None:
    private = RSAAlgorithm.to_jwk(rsa_client_key, as_dict=True)
    with pytest.raises(InvalidSettingError, match="public keys only"):
        OIDCClient(
            client_id="c", redirect_uris=["http://x/"], auth_method="private_key_jwt",
            jwks={"keys": [private]},
        )  # fmt: skip


def test_add_client_and_user_at_runtime(provider: OIDCProvider) -> None:
    provider.add_user(OIDCUser(sub="dave", claims={"email": "d@example.org"}))
    provider.add_client(
        OIDCClient(client_id="late", client_secret="s", redirect_uris=["http://x/"])
    )
    provider.login_as("dave")
    assert set(provider.users) == {"alice", "dave"}
    assert set(provider.clients) == {DEMO_CLIENT_ID, "late"}
    verifier, challenge = pkce()
    got = redirect_params(
        authorize(provider, client_id="late", redirect_uri="http://x/", challenge=challenge),
        target="http://x/",
    )
    data = {"grant_type": "authorization_code", "code": got["code"],
            "redirect_uri": "http://x/", "code_verifier": verifier}  # fmt: skip
    tokens = token_request(provider, data, auth=("late", "s")).json()
    assert decode(provider, tokens["id_token"], audience="late")["sub"] == "dave"
    with pytest.raises(InvalidSettingError):
        provider.add_client(
            OIDCClient(client_id="late", client_secret="s", redirect_uris=["http://x/"])
        )


# -- pytest fixtures ----------------------------------------------------------------------------


def test_oidc_provider_fixture_is_running_with_alice(oidc_provider: OIDCProvider) -> None:
    assert oidc_provider.running
    assert oidc_provider.shape == "standard"
    assert set(oidc_provider.users) == {"alice"}
    assert sign_in(oidc_provider)["scope"] == SCOPE


def test_factory_stops_every_provider_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_make(oidc_provider_factory, oidc_provider, tmp_path_factory):
            made = [oidc_provider_factory(shape="keycloak"), oidc_provider_factory(shape="github")]
            with open("urls.txt", "w") as out:
                for provider in [*made, oidc_provider]:
                    assert provider.running
                    out.write(provider.base_url + "\\n")
        """
    )
    before = threading.active_count()
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert threading.active_count() == before
    urls = (pytester.path / "urls.txt").read_text().split()
    assert len(urls) == 3
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=2)


@pytest.fixture
def many(oidc_provider_factory: ProviderFactory) -> list[OIDCProvider]:
    return [oidc_provider_factory() for _ in range(3)]


def test_parallel_sign_ins(many: list[OIDCProvider]) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def run(provider: OIDCProvider) -> None:
        claims = decode(provider, sign_in(provider)["id_token"])
        with lock:
            results.append(claims["sub"])

    threads = [threading.Thread(target=run, args=(p,)) for p in many for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["alice"] * 9
    assert all(p.server_errors == [] for p in many)
