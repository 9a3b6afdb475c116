"""Run the Starlette and FastAPI example sites and sign in on them as a browser would."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
import requests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APPS = ["starlette_app.py", "fastapi_app.py"]


@contextmanager
def running(script: str, *options: str) -> Iterator[str]:
    """Start ``examples/<script> --port 0``; yields the URL it prints."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "--test-providers", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.fullmatch(
            r"authkit (?:Starlette|FastAPI) example on (http://127\.0\.0\.1:\d+)\n", first
        )
        assert match, f"unexpected first line {first!r}"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def form_of(page: str) -> tuple[str, dict[str, str]]:
    form = lxml.html.fromstring(page).forms[0]
    return str(form.action), {k: str(v) for k, v in form.form_values()}


def account_of(page: str) -> tuple[str, list[str]]:
    tree = lxml.html.fromstring(page)
    account_id = tree.get_element_by_id("account-id").text_content()
    groups = [li.text_content() for li in tree.get_element_by_id("groups")]
    return account_id, groups


def sign_out(base: str, browser: requests.Session, account_page: str) -> requests.Response:
    action, fields = form_of(account_page)
    assert action == "/logout/"
    return browser.post(base + action, data=fields, timeout=10)


@pytest.mark.parametrize("script", APPS)
def test_oidc_sign_in_account_page_api_and_sign_out(script: str) -> None:
    with running(script, "--auto-login") as base:
        browser = requests.Session()
        home = browser.get(f"{base}/", timeout=5)
        assert 'href="/login/?next=/account"' in home.text
        assert browser.get(f"{base}/api/me", timeout=5).status_code == 401
        login = browser.get(f"{base}/login/?next=/account", timeout=5)
        assert "Sign in with the test OpenID provider" in login.text
        assert "Sign in with the test SAML IdP" in login.text
        account = browser.get(f"{base}/oauth/login/oidc/?next=/account", timeout=10)
        assert account.url == f"{base}/account"
        account_id, groups = account_of(account.text)
        assert groups == ["readers", "staff"]
        assert "Signed in with: oidc" in account.text
        me = browser.get(f"{base}/api/me", timeout=5)
        assert me.json() == {"account_id": account_id, "groups": ["readers", "staff"]}
        assert account_id in browser.get(f"{base}/", timeout=5).text
        out = sign_out(base, browser, account.text)
        assert out.url == f"{base}/login/?next=/account"  # after_login is /account
        assert browser.get(f"{base}/api/me", timeout=5).status_code == 401


@pytest.mark.parametrize("script", APPS)
def test_saml_sign_in_and_single_logout(script: str) -> None:
    with running(script, "--auto-login") as base:
        browser = requests.Session()
        at_idp = browser.get(f"{base}/saml/sso/idp/?next=/account", timeout=10)
        action, fields = form_of(at_idp.text)
        assert action == f"{base}/saml/acs/idp/"
        # The IdP's cross-site POST arrives without the SameSite=Lax cookie...
        resend = requests.post(action, data=fields, timeout=10)
        action, fields = form_of(resend.text)
        assert fields["authkit_resent"] == "1"
        # ...and the site's same-site re-post brings it.
        account = browser.post(action, data=fields, timeout=10)
        assert account.url == f"{base}/account"
        _, groups = account_of(account.text)
        assert groups == ["library"]
        assert "Signed in with: idp" in account.text
        out = sign_out(base, browser, account.text)
        assert any("/slo" in r.url for r in out.history)  # through the IdP's single logout
        assert any(r.url.startswith(f"{base}/saml/sls/idp/") for r in out.history)
        assert browser.get(f"{base}/api/me", timeout=5).status_code == 401


@pytest.mark.parametrize("script", APPS)
def test_the_providers_ask_for_passwords_without_auto_login(script: str) -> None:
    with running(script) as base:
        browser = requests.Session()
        form_page = browser.get(f"{base}/oauth/login/oidc/?next=/account", timeout=10)
        action, fields = form_of(form_page.text)
        fields.update(username="alice", password="alice-pw")
        account = browser.post(urljoin(form_page.url, action), data=fields, timeout=10)
        assert account.url == f"{base}/account"
        assert account_of(account.text)[1] == ["readers", "staff"]

        other = requests.Session()
        form_page = other.get(f"{base}/saml/sso/idp/?next=/account", timeout=10)
        action, fields = form_of(form_page.text)
        fields.update(username="bob", password="bob-pw")
        to_acs = other.post(urljoin(form_page.url, action), data=fields, timeout=10)
        action, fields = form_of(to_acs.text)
        account = other.post(action, data=fields, timeout=10)  # a client that sends the cookie
        assert account.url == f"{base}/account"
        assert account_of(account.text)[1] == ["library"]


def test_a_port_in_use_is_reported() -> None:
    with running("starlette_app.py", "--auto-login") as base:
        port = base.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "starlette_app.py"), "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == f"cannot listen on 127.0.0.1:{port}: Address already in use\n"
