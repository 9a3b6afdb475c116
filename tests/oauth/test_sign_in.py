"""Complete sign-ins over real HTTP against the loopback OpenID provider, and every failure."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit.config import RemoteApp
from authkit.errors import (
    AuthorizationError,
    InvalidTokenError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnreachableError,
    StateError,
)
from authkit.oauth import OAuthClient
from authkit.providers._profiles import oauth_client
from authkit.stores import MemoryStateStore
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser
from authkit.transport import RequestsTransport, Timeout

REDIRECT = "http://127.0.0.1:5000/oauth/authorized/op/"
ALICE = OIDCUser(
    sub="alice",
    password="wonderland",
    claims={
        "email": "alice@example.org",
        "email_verified": True,
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "groups": ["staff", "readers"],
        "realm_access": {"roles": ["admin"]},
    },
)


def make_provider(**options: Any) -> OIDCProvider:
    options.setdefault("users", [ALICE])
    options.setdefault("auto_login", "alice")
    options.setdefault(
        "clients",
        [OIDCClient(client_id="rp", client_secret="rp-secret", redirect_uris=[REDIRECT])],
    )
    return OIDCProvider(**options)


@pytest.fixture
def provider() -> Iterator[OIDCProvider]:
    with make_provider() as running:
        yield running


def app_for(provider: OIDCProvider, **changes: Any) -> RemoteApp:
    values: dict[str, Any] = {
        "name": "op",
        "title": "OP",
        "protocol": "oidc",
        "issuer": provider.issuer,
        "client_id": "rp",
        "client_secret": "rp-secret",
        "scope": "email profile groups roles",
        "timeout": Timeout(connect=2, read=2),
    }
    values.update(changes)
    return RemoteApp(**values)


def client_for(app: RemoteApp, **options: Any) -> OAuthClient:
    options.setdefault("redirect_uri", REDIRECT)
    options.setdefault("transport", RequestsTransport(retries=1, sleep=lambda s: None))
    return oauth_client(app, **options)


def browse(url: str) -> dict[str, str]:
    """What a browser does at an auto-approving provider: follow to the callback URL."""
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(client: OAuthClient, *, session: str = "browser-1", **kwargs: Any):
    redirect = client.authorization_redirect(session_id=session, **kwargs)
    return client.handle_callback(browse(redirect.url), session_id=session)


def test_generic_oidc_from_discovery(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    result = sign_in(client, next_url="/deposit")
    assert result.subject == "alice"
    assert result.next_url == "/deposit"
    assert result.id_token_claims["iss"] == provider.issuer
    assert result.id_token_claims["aud"] in ("rp", ["rp"])
    assert result.userinfo["email"] == "alice@example.org"
    assert result.userinfo["email_verified"] is True
    assert result.userinfo["groups"] == ["staff", "readers"]
    assert result.tokens.refresh_token
    sent = provider.last_authorize_params
    assert sent is not None
    assert sent["code_challenge_method"] == "S256"
    assert sent["nonce"] == result.id_token_claims["nonce"]
    assert provider.request_count("discovery") == 1
    # A second sign-in reuses discovery and the JWKS.
    sign_in(client, session="browser-2")
    assert provider.request_count("discovery") == 1
    assert provider.request_count("jwks") == 1


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_secret_client_authentication(method: str) -> None:
    client_reg = OIDCClient(
        client_id="rp", client_secret="rp-secret", redirect_uris=[REDIRECT], auth_method=method
    )
    with make_provider(clients=[client_reg]) as provider:
        result = sign_in(client_for(app_for(provider, token_auth_method=method)))
        assert result.subject == "alice"


def test_private_key_jwt_client_authentication() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public_jwk["kid"] = "rp-key"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    client_reg = OIDCClient(
        client_id="rp",
        redirect_uris=[REDIRECT],
        auth_method="private_key_jwt",
        jwks={"keys": [public_jwk]},
    )
    with make_provider(clients=[client_reg]) as provider:
        app = app_for(
            provider,
            token_auth_method="private_key_jwt",
            client_secret=None,
            client_private_key=pem,
            client_key_id="rp-key",
        )
        client = client_for(app)
        result = sign_in(client)
        assert result.subject == "alice"
        refreshed = client.refresh(result.tokens.refresh_token)
        assert refreshed.access_token != result.tokens.access_token


def test_wrong_client_secret_keeps_the_oauth_error(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider, client_secret="wrong"))
    with pytest.raises(ProviderHTTPError) as info:
        sign_in(client)
    assert info.value.status == 401
    assert info.value.error == "invalid_client"


def test_refresh_revoke_and_logout(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    result = sign_in(client)
    refreshed = client.refresh(result.tokens.refresh_token)
    assert refreshed.access_token != result.tokens.access_token
    assert provider.is_token_active(refreshed.access_token)
    client.revoke(refreshed.access_token)
    assert not provider.is_token_active(refreshed.access_token)
    url = client.logout_url(
        id_token_hint=result.tokens.id_token, post_logout_redirect_uri="http://127.0.0.1:5000/"
    )
    assert url is not None
    assert url.startswith(provider.end_session_url)
    assert "id_token_hint=" in url


def test_keycloak_shape_with_realm_urls() -> None:
    with make_provider(shape="keycloak", realm="research") as provider:
        assert provider.issuer.endswith("/realms/research")
        result = sign_in(client_for(app_for(provider)))
        assert result.userinfo["realm_access"] == {"roles": ["admin"]}


def test_github_shape_uses_the_verified_primary_email() -> None:
    octo = OIDCUser(
        sub="octocat",
        claims={
            "id": 583231,
            "login": "octocat",
            "name": "The Octocat",
            "email": None,
            "emails": [
                {"email": "old@example.org", "primary": False, "verified": True},
                {"email": "unverified@example.org", "primary": True, "verified": False},
                {"email": "octo@example.org", "primary": True, "verified": True},
            ],
        },
    )
    with make_provider(shape="github", users=[octo], auto_login="octocat") as provider:
        app = RemoteApp(
            name="op",
            title="GitHub",
            kind="github",
            base_url=provider.base_url + "/",
            authorize_url=provider.authorize_url,
            token_url=provider.token_url,
            client_id="rp",
            client_secret="rp-secret",
            scope="user:email",
            nonce=False,
        )
        result = sign_in(client_for(app))
        assert result.subject == "583231"
        assert result.userinfo["email"] == "octo@example.org"
        assert result.userinfo["email_verified"] is True
        assert result.userinfo["preferred_username"] == "octocat"
        assert result.id_token_claims == {}


def test_orcid_shape_takes_the_id_from_the_token_response() -> None:
    orcid_user = OIDCUser(sub="0000-0002-1825-0097", claims={"name": "Josiah Carberry"})
    with make_provider(
        shape="orcid", users=[orcid_user], auto_login="0000-0002-1825-0097"
    ) as provider:
        app = RemoteApp(
            name="op",
            title="ORCID",
            kind="orcid",
            authorize_url=provider.authorize_url,
            token_url=provider.token_url,
            client_id="rp",
            client_secret="rp-secret",
            scope="/authenticate",
        )
        result = sign_in(client_for(app))
        assert result.subject == "0000-0002-1825-0097"
        assert result.userinfo["name"] == "Josiah Carberry"
        assert "email" not in result.userinfo


# --- failures, each provoked through the provider -------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "options", "code"),
    [
        ("expired", {}, "oidc.expired"),
        ("not_yet_valid", {}, "oidc.issued_in_future"),
        ("wrong_audience", {}, "oidc.audience_mismatch"),
        ("nonce_mismatch", {}, "oidc.nonce_mismatch"),
        ("at_hash_mismatch", {}, "oidc.at_hash_mismatch"),
        ("unknown_key", {}, "oidc.unknown_kid"),
        ("bad_signature", {}, "oidc.signature_invalid"),
        ("wrong_issuer", {}, "oidc.issuer_mismatch"),
    ],
)
def test_id_token_faults(provider: OIDCProvider, fault: str, options: dict, code: str) -> None:
    client = client_for(app_for(provider))
    with provider.fault("token", fault, **options), pytest.raises(InvalidTokenError) as info:
        sign_in(client)
    assert info.value.code == code


def test_userinfo_about_another_subject(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with (
        provider.fault("userinfo", "http_500", status=200, body='{"sub": "mallory"}'),
        pytest.raises(InvalidTokenError) as info,
    ):
        sign_in(client)
    assert info.value.code == "oidc.userinfo_sub_mismatch"


def test_key_rotation_is_followed(clock) -> None:
    with make_provider(clock=clock) as provider:
        client = client_for(app_for(provider), clock=clock)
        sign_in(client)
        provider.rotate_keys()
        clock.advance(61)  # the first fetch was just now: past the refetch rate limit
        assert sign_in(client, session="b").subject == "alice"
        assert provider.request_count("jwks") == 2
        # A token naming yet another unknown key within the rate limit does not refetch.
        with provider.fault("token", "unknown_key"), pytest.raises(InvalidTokenError) as info:
            sign_in(client, session="c")
        assert info.value.code == "oidc.unknown_kid"
        assert provider.request_count("jwks") == 2
        clock.advance(120)  # past the JWKS refetch rate limit
        with provider.fault("token", "unknown_key"), pytest.raises(InvalidTokenError):
            sign_in(client, session="d")
        assert provider.request_count("jwks") == 3


def test_access_denied_at_the_provider(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with provider.fault("authorize", "oauth_error"), pytest.raises(AuthorizationError) as info:
        sign_in(client)
    assert info.value.code == "oauth.access_denied"


def test_missing_iss_is_refused_when_advertised(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with provider.fault("authorize", "omit_iss"), pytest.raises(StateError) as info:
        sign_in(client)
    assert info.value.code == "oauth.issuer_missing"


def test_wrong_iss_in_the_callback_is_a_mix_up(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    client.metadata()  # discovery happens before the fault switches on
    with provider.fault("authorize", "wrong_issuer"), pytest.raises(StateError) as info:
        sign_in(client)
    assert info.value.code == "oauth.issuer_mismatch"


def test_discovery_naming_another_issuer(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with provider.fault("discovery", "wrong_issuer"), pytest.raises(ProviderResponseError) as info:
        sign_in(client)
    assert info.value.code == "oidc.discovery_issuer_mismatch"


def test_malformed_discovery_document(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with (
        provider.fault("discovery", "malformed_json"),
        pytest.raises(ProviderResponseError) as info,
    ):
        sign_in(client)
    assert info.value.code == "provider.malformed_response"


def test_discovery_retried_once_then_succeeds(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    with provider.fault("discovery", "http_500", times=1):
        assert sign_in(client).subject == "alice"
    assert provider.request_count("discovery") == 2


def test_token_endpoint_server_error_is_not_retried(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    client.metadata()
    with provider.fault("token", "http_500"), pytest.raises(ProviderHTTPError) as info:
        sign_in(client)
    assert info.value.status == 500
    assert provider.request_count("token") == 1


def test_slow_provider_times_out(provider: OIDCProvider) -> None:
    app = app_for(provider, timeout=Timeout(connect=1, read=0.2))
    client = client_for(app)
    client.metadata()
    with provider.fault("token", "delay"), pytest.raises(ProviderTimeoutError) as info:
        sign_in(client)
    assert info.value.code == "provider.timeout"


def test_unreachable_provider() -> None:
    with make_provider() as provider:
        app = app_for(provider)
    client = client_for(app)
    with pytest.raises(ProviderUnreachableError) as info:
        client.authorization_redirect(session_id="s")
    assert info.value.code == "provider.unreachable"


def test_state_shared_between_two_workers(provider: OIDCProvider) -> None:
    store = MemoryStateStore()
    worker_a = client_for(app_for(provider), store=store)
    worker_b = client_for(app_for(provider), store=store)
    redirect = worker_a.authorization_redirect(session_id="s")
    params = browse(redirect.url)
    assert worker_b.handle_callback(params, session_id="s").subject == "alice"
    with pytest.raises(StateError) as info:
        worker_a.handle_callback(params, session_id="s")
    assert info.value.code == "oauth.state_reused"


def test_replayed_code_is_refused_by_the_provider(provider: OIDCProvider) -> None:
    client = client_for(app_for(provider))
    redirect = client.authorization_redirect(session_id="s")
    params = browse(redirect.url)
    client.handle_callback(params, session_id="s")
    verifier = redirect.pending.code_verifier
    with pytest.raises(ProviderHTTPError) as info:
        client.exchange_code(params["code"], code_verifier=verifier)
    assert info.value.error == "invalid_grant"


def test_html_login_form(provider: OIDCProvider) -> None:
    provider.login_as(None)
    client = client_for(app_for(provider))
    redirect = client.authorization_redirect(session_id="s")
    session = requests.Session()
    page = session.get(redirect.url, timeout=5)
    assert page.status_code == 200
    assert "<form" in page.text
    # Fill the form as a person would: every hidden field, plus the credentials.
    import re

    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    fields.update({"username": "alice", "password": "wonderland", "action": "login"})
    target = requests.compat.urljoin(provider.base_url + "/", action.group(1).replace("&amp;", "&"))
    answer = session.post(target, data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert client.handle_callback(params, session_id="s").subject == "alice"


def test_basic_credentials_are_form_encoded() -> None:
    # RFC 6749 §2.3.1: a client id with reserved characters still authenticates.
    client_reg = OIDCClient(client_id="rp:1", client_secret="s/+:", redirect_uris=[REDIRECT])
    with make_provider(clients=[client_reg]) as provider:
        app = app_for(provider, client_id="rp:1", client_secret="s/+:")
        assert sign_in(client_for(app)).subject == "alice"
        header = provider.last_request("token")
        assert header is not None
        value = dict(header.headers)["authorization"]
        assert base64.b64decode(value[6:]) == b"rp%3A1:s%2F%2B%3A"
