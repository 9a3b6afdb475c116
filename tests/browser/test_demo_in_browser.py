"""The demo site in a real browser: every sign-in path a person takes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.browser.conftest import shot

from authkit._demo_site import DemoSite


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    # The site answers at "localhost" and the providers at "127.0.0.1": two different sites
    # for the browser, so the IdP's POST to the ACS is cross-site, as in real life.
    with DemoSite(hostname="localhost") as running:
        yield running


def sign_in_at_provider(page: Any, username: str, password: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit][value=login], button[type=submit]:has-text('Sign in')")


def test_oidc_sign_in(page: Any, site: DemoSite) -> None:
    page.goto(f"{site.url}/login/")
    shot(page, "01-sign-in-page")
    page.click("text=Sign in with Demo OpenID provider")
    shot(page, "02-oidc-provider-login")
    sign_in_at_provider(page, "alice", "alice-pw")
    page.wait_for_url(f"{site.url}/account")
    shot(page, "03-account-alice")
    assert "alice@example.org" in page.inner_text("#profile")
    assert page.inner_text("#groups") == "readers, staff"
    assert "role:staff" in page.inner_text("#needs")


def test_saml_sign_in_and_single_logout(
    page: Any, site: DemoSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    resends: list[str] = []
    assert site.routes is not None
    original = site.routes._resend

    def counting(request: Any, path: str) -> Any:
        resends.append(f"resend:{path}")
        return original(request, path)

    monkeypatch.setattr(site.routes, "_resend", counting)
    page.goto(f"{site.url}/login/")
    page.click("text=Sign in with Demo SAML IdP")
    shot(page, "04-saml-idp-login")
    sign_in_at_provider(page, "bob", "bob-pw")
    page.wait_for_url(f"{site.url}/account")
    shot(page, "05-account-bob")
    assert "physics" in page.inner_text("#groups")
    assert "demo-saml" in page.inner_text("#identities")
    # The IdP's POST arrived cross-site without the Lax session cookie and was re-posted.
    assert any(r.startswith("resend:") for r in resends)
    before = len(site.saml_idp.logout_requests)
    page.click("#logout")
    page.wait_for_url(f"{site.url}/login/**")
    assert len(site.saml_idp.logout_requests) == before + 1


def test_registration_form_when_the_provider_withholds_the_email(page: Any, site: DemoSite) -> None:
    page.goto(f"{site.url}/login/")
    page.click("text=Sign in with ORCID (demo)")
    sign_in_at_provider(page, "josiah", "josiah-pw")
    page.wait_for_selector("text=Complete your registration")
    shot(page, "06-registration-form")
    page.fill("input[name=email]", "josiah@example.org")
    page.click("text=Create account")
    page.wait_for_url(f"{site.url}/account")
    shot(page, "07-account-josiah")
    assert "josiah@example.org" in page.inner_text("#profile")
    assert "Josiah Carberry" in page.inner_text("#profile")


def test_connect_a_second_provider(page: Any) -> None:
    with DemoSite(hostname="localhost") as fresh:
        page.goto(f"{fresh.url}/oauth/login/demo-oidc/?next=/account")
        sign_in_at_provider(page, "alice", "alice-pw")
        page.wait_for_url(f"{fresh.url}/account")
        page.click("#connect a:has-text('ORCID')")
        sign_in_at_provider(page, "josiah", "josiah-pw")
        page.wait_for_url(f"{fresh.url}/account")
        shot(page, "08-two-providers-connected")
        identities = page.inner_text("#identities")
        assert "demo-oidc" in identities
        assert "demo-orcid" in identities


def test_policy_denial_shows_its_reason(page: Any, site: DemoSite) -> None:
    page.goto(f"{site.url}/oauth/login/demo-oidc/")
    sign_in_at_provider(page, "mallory", "mallory-pw")
    page.wait_for_selector("text=Sign-in refused")
    shot(page, "09-denied")
    assert "may not sign in" in page.content()
    assert "accounts.email_domain_denied" in page.content()
