"""The sign-in page: visible providers, and auto-redirect decided by should_auto_redirect."""

from __future__ import annotations

from tests.web.site_kit import make_routes

from authkit.config import RemoteApp
from authkit.web import WebRequest

BASE = "https://data.example.org"


def app(name: str, **changes: object) -> RemoteApp:
    return RemoteApp(name=name, title=name.upper(), authorize_url="https://op.example/authorize",
                     token_url="https://op.example/token", client_id="c", client_secret="s",
                     **changes)  # type: ignore[arg-type]  # fmt: skip


def page(*apps: RemoteApp, auto: bool) -> tuple[int, str, str]:
    routes = make_routes(BASE, list(apps), auto_redirect=auto)
    answer = routes.dispatch(WebRequest(method="GET", path="/login/", query={"next": "/x"}))
    assert answer is not None
    return answer.status, answer.header("Location") or "", answer.body.decode()


def test_one_visible_provider_is_redirected_to() -> None:
    status, location, _ = page(app("orcid"), app("hidden", hidden=True), auto=True)
    assert status == 302
    assert location == f"{BASE}/oauth/login/orcid/?next=%2Fx"


def test_several_providers_or_auto_redirect_off_show_the_page() -> None:
    status, _, body = page(app("orcid"), app("github"), auto=True)
    assert status == 200
    assert "Sign in with ORCID" in body
    assert "Sign in with GITHUB" in body
    status, _, body = page(app("orcid"), auto=False)
    assert status == 200
    assert "Sign in with ORCID" in body


def test_disabled_and_link_only_providers_are_not_listed() -> None:
    _, _, body = page(app("orcid"), app("off", enabled=False), app("link", link_only=True),
                      auto=False)  # fmt: skip
    assert "Sign in with ORCID" in body
    assert "OFF" not in body
    assert "LINK" not in body
