"""OAuth sign-in through AuthRoutes and the WSGI adapter, over real HTTP, as a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from tests.web.site_kit import free_port, make_routes, serve

from authkit.config import RemoteApp
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser


@pytest.fixture
def site() -> Iterator[tuple[str, OIDCProvider]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    alice = OIDCUser(
        sub="alice",
        claims={
            "email": "alice@example.org",
            "email_verified": True,
            "name": "Alice",
            "groups": ["staff"],
        },
    )
    client = OIDCClient(
        client_id="site", client_secret="s3cret", redirect_uris=[f"{base}/oauth/authorized/op/"]
    )
    with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as provider:
        app = RemoteApp(
            name="op",
            title="Test OP",
            protocol="oidc",
            issuer=provider.issuer,
            client_id="site",
            client_secret="s3cret",
            scope="openid email profile groups",
            groups_claim="groups",
        )
        routes = make_routes(base, [app])
        with serve(routes, port) as url:
            yield url, provider


def test_sign_in_page_lists_the_provider(site) -> None:
    base, _ = site
    page = requests.get(f"{base}/login/", timeout=5)
    assert page.status_code == 200
    assert "Sign in with Test OP" in page.text


def test_complete_oauth_sign_in(site) -> None:
    base, _ = site
    browser = requests.Session()
    answer = browser.get(f"{base}/oauth/login/op/?next=/account", timeout=10)
    assert answer.url == f"{base}/account"
    assert answer.text.startswith("user=")
    assert "groups=staff" in answer.text
    cookie = browser.cookies.get("authkit_session")
    assert cookie
    raw = next(c for c in browser.cookies if c.name == "authkit_session")
    assert raw.has_nonstandard_attr("HttpOnly")


def test_open_redirect_refused(site) -> None:
    base, _ = site
    answer = requests.get(
        f"{base}/oauth/login/op/?next=https://evil.example/", allow_redirects=False, timeout=5
    )
    assert answer.status_code == 400
    assert "request.redirect_not_allowed" in answer.text


def test_unknown_provider_is_a_404_problem_document(site) -> None:
    base, _ = site
    answer = requests.get(
        f"{base}/oauth/login/nope/", headers={"Accept": "application/json"}, timeout=5
    )
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "registry.unknown"


def test_callback_in_another_browser_is_refused(site) -> None:
    base, _ = site
    first = requests.Session()
    start = first.get(f"{base}/oauth/login/op/", allow_redirects=False, timeout=5)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = at_provider.headers["Location"]
    stranger = requests.get(callback, allow_redirects=False, timeout=5)
    assert stranger.status_code == 400
    assert "oauth.state_session_mismatch" in stranger.text


def test_disconnect_needs_csrf_and_refuses_the_last_method(site) -> None:
    base, _ = site
    browser = requests.Session()
    browser.get(f"{base}/oauth/login/op/", timeout=10)
    no_token = browser.post(
        f"{base}/oauth/disconnect/op/", data={}, allow_redirects=False, timeout=5
    )
    assert "request.csrf_failed" in no_token.text
    form = browser.get(f"{base}/oauth/disconnect/op/", timeout=5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    last = browser.post(
        f"{base}/oauth/disconnect/op/", data={"csrf_token": token}, allow_redirects=False, timeout=5
    )
    assert "accounts.last_sign_in_method" in last.text


def test_logout_ends_the_provider_session_when_asked() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    alice = OIDCUser(sub="alice", claims={"email": "alice@example.org", "email_verified": True})
    client = OIDCClient(client_id="site", client_secret="s3cret",
                        redirect_uris=[f"{base}/oauth/authorized/op/"],
                        post_logout_redirect_uris=[f"{base}/"])  # fmt: skip
    with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as provider:
        app = RemoteApp(name="op", title="Test OP", protocol="oidc", issuer=provider.issuer,
                        client_id="site", client_secret="s3cret", scope="openid email")  # fmt: skip
        with serve(make_routes(base, [app], provider_logout=True), port) as url:
            browser = requests.Session()
            browser.get(f"{url}/oauth/login/op/", timeout=10)
            form = browser.get(f"{url}/logout/", timeout=5)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            answer = browser.post(f"{url}/logout/", data={"csrf_token": token},
                                  allow_redirects=False, timeout=5)  # fmt: skip
            assert answer.headers["Location"].startswith(provider.end_session_url)
            assert "id_token_hint=" in answer.headers["Location"]
            back = browser.get(answer.headers["Location"], allow_redirects=False, timeout=5)
            assert back.headers["Location"] == f"{base}/"
            assert provider.request_count("end_session") == 1


def test_editing_a_providers_groups_claim_applies_at_the_next_sign_in() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    alice = OIDCUser(sub="alice", claims={"email": "alice@example.org", "email_verified": True,
                                          "groups": ["staff"], "roles": ["admin"]})  # fmt: skip
    client = OIDCClient(client_id="site", client_secret="s3cret",
                        redirect_uris=[f"{base}/oauth/authorized/op/"])  # fmt: skip
    with OIDCProvider(users=[alice], clients=[client], auto_login="alice",
                      scope_claims={"groups": ["groups", "roles"]}) as provider:  # fmt: skip
        app = RemoteApp(name="op", title="OP", protocol="oidc", issuer=provider.issuer,
                        client_id="site", client_secret="s3cret",
                        scope="openid email groups", groups_claim="groups")  # fmt: skip
        routes = make_routes(base, [app])
        with serve(routes, port) as url:
            first = requests.Session().get(f"{url}/oauth/login/op/", timeout=10)
            assert "groups=staff" in first.text
            routes.registry.update("op", groups_claim="roles")
            second = requests.Session().get(f"{url}/oauth/login/op/", timeout=10)
            assert "groups=admin" in second.text
