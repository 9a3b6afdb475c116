"""``authkit demo``: the demo site on embedded defaults, and its smoke test.

``authkit demo`` starts :class:`~authkit._demo_site.DemoSite` and prints its URL and the demo
people. ``authkit demo --smoke`` starts it with auto-approving providers and signs in the way a
browser would — an HTTP client following the real redirects and forms — printing each check it
verified; it exits 0 only when every check passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import TextIO

import requests

from authkit._demo_site import DEMO_PEOPLE, DemoSite
from authkit.testing import read_post_form

__all__ = ["run_demo", "smoke_test"]


class _Checks:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.passed = 0
        self.failed = 0

    def expect(self, condition: bool, what: str) -> None:
        if condition:
            self.passed += 1
            print(f"  ✓ {what}", file=self.out)
        else:
            self.failed += 1
            print(f"  ✗ {what}", file=self.out)


class _Browser:
    """Just enough of a browser: cookies, redirects, and auto-submitting forms."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self._settle(self.http.get(url, timeout=15))

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self._settle(self.http.post(url, data=data, timeout=15))

    def _settle(self, response: requests.Response) -> requests.Response:
        # An auto-posting form (SAML bindings) is submitted as a browser's script would.
        for _ in range(5):
            if "document.forms[0].submit()" not in response.text and "onload" not in response.text:
                return response
            form = read_post_form(response.text)
            target = requests.compat.urljoin(response.url, form.action)
            response = self.http.post(target, data=dict(form.fields), timeout=15)
        return response

    def submit(self, page: requests.Response, values: dict[str, str]) -> requests.Response:
        """Fill in and submit the first form of ``page`` (hidden fields kept)."""
        action = re.search(r'<form[^>]*action="([^"]*)"', page.text)
        fields = {
            unescape(name): unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text
            )
        }
        fields.update(values)
        target = requests.compat.urljoin(page.url, unescape(action.group(1)) if action else "")
        return self.post(target, fields)


def _text(page: requests.Response, element: str) -> str:
    found = re.search(rf"<([a-z]+) id={element}>(.*?)</\1>", page.text, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", found.group(2))).strip() if found else ""


def smoke_test(site: DemoSite, out: TextIO) -> int:
    """Sign in through every path of a running auto-approving demo site; 0 when all passed."""
    checks = _Checks(out)
    base = site.url

    print("OpenID Connect", file=out)
    alice = _Browser()
    page = alice.get(f"{base}/login/")
    checks.expect(page.text.count("Sign in with") == 3, "sign-in page lists three providers")
    page = alice.get(f"{base}/oauth/login/demo-oidc/?next=/account")
    checks.expect(page.url == f"{base}/account", "signed in and sent to the next URL")
    checks.expect("alice@example.org" in _text(page, "profile"), "profile shows the e-mail")
    checks.expect(
        _text(page, "groups") == "readers, staff", "groups resolved from the groups claim"
    )
    checks.expect("role:staff" in _text(page, "needs"), "a RoleNeed per group on the identity")
    sent = site.oidc.last_authorize_params or {}
    checks.expect(
        sent.get("code_challenge_method") == "S256" and "state" in sent and "nonce" in sent,
        "the authorization request carried state, a PKCE S256 challenge and a nonce",
    )

    print("Connecting a second provider", file=out)
    page = alice.get(f"{base}/saml/sso/demo-saml/?next=/account")
    checks.expect("demo-saml" in _text(page, "identities"), "SAML identity linked to Alice")
    page = alice.submit(alice.get(f"{base}/logout/"), {})
    checks.expect("/login/" in page.url and "Sign in with" in page.text, "signed out")
    checks.expect(
        site.oidc.request_count("end_session") == 1,
        "the provider's session ended too (RP-initiated logout with the ID token as hint)",
    )

    print("SAML 2.0, with single logout", file=out)
    bob = _Browser()
    page = bob.get(f"{base}/saml/sso/demo-saml/?next=/account")
    checks.expect(page.url == f"{base}/account", "signed in through the SAML IdP")
    checks.expect("physics" in _text(page, "groups"), "group from eduPersonEntitlement URN")
    checks.expect("alice@example.org" in _text(page, "profile"), "same account as Alice")
    before = len(site.saml_idp.logout_requests)
    page = bob.submit(page, {})
    checks.expect(
        len(site.saml_idp.logout_requests) == before + 1 and "/login/" in page.url,
        "single logout: LogoutRequest sent, LogoutResponse verified",
    )

    print("Registration when the provider withholds the e-mail (ORCID-like)", file=out)
    josiah = _Browser()
    form = josiah.get(f"{base}/oauth/login/demo-orcid/?next=/account")
    checks.expect("Complete your registration" in form.text, "registration form shown")
    bad = josiah.submit(form, {"email": "not-an-email"})
    checks.expect("accounts." in bad.text and bad.status_code == 400, "invalid e-mail refused")
    page = josiah.submit(bad, {"email": "josiah@example.org"})
    checks.expect(
        page.url == f"{base}/account" and "josiah@example.org" in _text(page, "profile"),
        "account created from the form and the provider's name",
    )
    checks.expect("Josiah Carberry" in _text(page, "profile"), "name taken from the provider")

    print("A login policy refusing a sign-in", file=out)
    site.oidc.login_as("mallory")
    try:
        mallory = _Browser()
        page = mallory.get(f"{base}/oauth/login/demo-oidc/")
        checks.expect(
            page.status_code == 403 and "may not sign in" in page.text,
            "denied with a reason the person can read",
        )
    finally:
        site.oidc.login_as("alice")

    print("Refusals", file=out)
    stranger = _Browser()
    start = stranger.http.get(f"{base}/oauth/login/demo-oidc/", allow_redirects=False, timeout=5)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = at_provider.headers["Location"]
    other = requests.get(callback, allow_redirects=False, timeout=5)
    checks.expect(
        "oauth.state_session_mismatch" in other.text, "callback in another browser refused"
    )
    evil = stranger.http.get(f"{base}/oauth/login/demo-oidc/?next=https://evil.example/",
                             timeout=5)  # fmt: skip
    checks.expect("request.redirect_not_allowed" in evil.text, "open redirect refused")

    print(f"\n{checks.passed} passed, {checks.failed} failed", file=out)
    return 0 if checks.failed == 0 else 1


def run_demo(
    out: TextIO, *, smoke: bool = False, port: int = 0, wait: Callable[[], None] | None = None
) -> int:
    """Run the demo site (until interrupted), or its smoke test with ``smoke``."""
    with DemoSite(port=port, auto_login=smoke) as site:
        if smoke:
            print(f"authkit demo --smoke: {site.url}\n", file=out)
            return smoke_test(site, out)
        print(f"authkit demo site: {site.url}/\n", file=out)
        print("Sign in as:", file=out)
        for username, password, provider, note in DEMO_PEOPLE:
            print(f"  {username:<8} {password:<11} at {provider:<10} {note}", file=out)
        print("\nPress Ctrl-C to stop.", file=out, flush=True)
        try:
            (wait or site.serve_forever)()
        except KeyboardInterrupt:
            print("stopped", file=out)
        return 0
