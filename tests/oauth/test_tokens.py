"""Token requests (client authentication) and token responses, sans-IO."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit.config import RemoteApp
from authkit.errors import ConfigurationError, ProviderHTTPError, ProviderResponseError
from authkit.oauth import (
    authorization_code_request,
    end_session_url,
    parse_token_response,
    refresh_token_request,
    revocation_request,
)
from authkit.transport import HTTPResponse

APP = RemoteApp(
    name="op",
    title="OP",
    token_url="https://op.example.org/token",
    revocation_url="https://op.example.org/revoke",
    end_session_url="https://op.example.org/logout",
    client_id="client:1",
    client_secret="s3cret/+",
)


def form(request):
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def test_client_secret_basic_encodes_both_parts(clock):
    request = authorization_code_request(
        APP, code="c0de", redirect_uri="https://rp/cb", code_verifier="v" * 43, clock=clock
    )
    assert request.method == "POST"
    assert request.retryable is False
    user, _, password = (
        base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == ("client%3A1", "s3cret%2F%2B")
    body = form(request)
    assert body == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": "https://rp/cb",
        "code_verifier": "v" * 43,
    }


def test_client_secret_post(clock):
    app = APP.evolve(token_auth_method="client_secret_post")
    body = form(
        authorization_code_request(
            app, code="c", redirect_uri="https://rp/cb", code_verifier=None, clock=clock
        )
    )
    assert body["client_id"] == "client:1"
    assert body["client_secret"] == "s3cret/+"
    assert "code_verifier" not in body


def test_private_key_jwt_assertion_is_signed(clock):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app = APP.evolve(
        token_auth_method="private_key_jwt",
        client_secret=None,
        client_private_key=pem,
        client_key_id="k1",
    )
    request = refresh_token_request(app, refresh_token="r1", clock=clock)
    body = form(request)
    assert "authorization" not in request.headers
    assert body["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert jwt.get_unverified_header(body["client_assertion"])["kid"] == "k1"
    claims = jwt.decode(
        body["client_assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://op.example.org/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "client:1"
    assert claims["iat"] == int(clock())


def test_private_key_jwt_with_a_bad_key_is_a_configuration_error(clock):
    app = APP.evolve(token_auth_method="private_key_jwt", client_private_key="not a key")
    with pytest.raises(ConfigurationError) as info:
        refresh_token_request(app, refresh_token="r1", clock=clock)
    assert "client_private_key" in str(info.value)


def test_get_token_method(clock):
    request = authorization_code_request(
        APP.evolve(token_method="GET"),
        code="c",
        redirect_uri="https://rp/cb",
        code_verifier=None,
        clock=clock,
    )
    assert request.method == "GET"
    assert "code=c" in request.url
    assert request.body is None


def ok(body, content_type="application/json", status=200):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return HTTPResponse(status=status, headers={"Content-Type": content_type}, body=body)


def test_parse_token_response(clock):
    tokens = parse_token_response(
        APP,
        ok(
            {
                "access_token": "secret-access",
                "token_type": "Bearer",
                "expires_in": 300,
                "refresh_token": "rt",
                "id_token": "a.b.c",
                "scope": "openid",
                "orcid": "0000",
            }
        ),
        clock=clock,
    )
    assert tokens.token_type == "bearer"
    assert tokens.expires_at == clock() + 300
    assert tokens.raw["orcid"] == "0000"
    assert "secret-access" not in repr(tokens)


def test_parse_form_encoded_token_response(clock):
    tokens = parse_token_response(
        APP,
        ok(
            b"access_token=at&token_type=bearer&scope=user%3Aemail",
            "application/x-www-form-urlencoded",
        ),
        clock=clock,
    )
    assert tokens.access_token == "at"
    assert tokens.scope == "user:email"


@pytest.mark.parametrize(
    ("response", "error_type", "code"),
    [
        (
            ok({"error": "invalid_grant", "error_description": "code used"}, status=400),
            ProviderHTTPError,
            "provider.http_error",
        ),
        (ok({"error": "bad_verification_code"}), ProviderHTTPError, "provider.http_error"),
        (ok(b"<html>oops</html>", "text/html", 502), ProviderHTTPError, "provider.http_error"),
        (ok(b"not json"), ProviderResponseError, "provider.malformed_response"),
        (ok([1, 2]), ProviderResponseError, "provider.malformed_response"),
        (ok({"token_type": "bearer"}), ProviderResponseError, "provider.malformed_response"),
        (ok({"access_token": 5}), ProviderResponseError, "provider.malformed_response"),
        (
            ok({"access_token": "a", "expires_in": True}),
            ProviderResponseError,
            "provider.malformed_response",
        ),
        (
            ok({"access_token": "a", "expires_in": "soon"}),
            ProviderResponseError,
            "provider.malformed_response",
        ),
        (
            ok({"access_token": "a", "token_type": "weird"}),
            ProviderResponseError,
            "provider.malformed_response",
        ),
    ],
)
def test_bad_token_responses(clock, response, error_type, code):
    with pytest.raises(error_type) as info:
        parse_token_response(APP, response, clock=clock)
    assert info.value.code == code


def test_http_error_keeps_the_oauth_error(clock):
    with pytest.raises(ProviderHTTPError) as info:
        parse_token_response(APP, ok({"error": "invalid_client"}, status=401), clock=clock)
    assert info.value.status == 401
    assert info.value.error == "invalid_client"


def test_revocation_request(clock):
    request = revocation_request(APP, token="rt", token_type_hint="refresh_token", clock=clock)
    assert request.url == "https://op.example.org/revoke"
    assert form(request) == {"token": "rt", "token_type_hint": "refresh_token"}


def test_end_session_url():
    url = end_session_url(
        APP, id_token_hint="a.b.c", post_logout_redirect_uri="https://rp/", state="s"
    )
    assert url.startswith("https://op.example.org/logout?id_token_hint=a.b.c&client_id=client%3A1")
    assert "post_logout_redirect_uri=https%3A%2F%2Frp%2F" in url
