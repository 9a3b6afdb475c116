"""examples/flask_app.py, run as a person would run it, signed into with ``requests`` following
the real redirects and forms (OpenID Connect and SAML, through the login forms)."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import requests

from authkit.testing import OIDCClient, OIDCProvider, OIDCUser, read_post_form

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_app.py"


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the example; yield the URL it prints; stop it."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # werkzeug's request log
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the example printed no URL within 60 s"
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"authkit Flask example on (http://127\.0\.0\.1:\d+)\n", line)
        assert found, line
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(10)


def log_in(browser: requests.Session, page: requests.Response, user: str) -> requests.Response:
    """Fill a test provider's login form."""
    form = read_post_form(page.text)
    fields = {**form.fields, "username": user, "password": f"{user}-pw", "action": "login"}
    return browser.post(urljoin(page.url, form.action), data=fields, timeout=10)


def sign_out(browser: requests.Session, page: requests.Response) -> requests.Response:
    form = read_post_form(page.text)
    return browser.post(form.action, data=dict(form.fields), timeout=10)


def test_the_example_signs_in_with_oidc_and_saml_through_the_login_forms() -> None:
    with running("--port", "0", "--test-providers") as url:
        browser = requests.Session()
        home = browser.get(url + "/", timeout=5)
        login_href = re.search(r'<a id=login href="([^"]+)"', home.text)
        assert login_href is not None
        sign_in_page = browser.get(login_href.group(1).replace("&amp;", "&"), timeout=5)
        assert "Sign in with Test OpenID provider" in sign_in_page.text
        assert "Sign in with Test SAML IdP" in sign_in_page.text

        # OpenID Connect: alice, with the groups her provider sends.
        buttons = re.findall(r'href="([^"]+)">Sign in with', sign_in_page.text)
        at_provider = browser.get(buttons[0].replace("&amp;", "&"), timeout=10)
        account = log_in(browser, at_provider, "alice")
        assert account.url == url + "/account"
        assert "<span id=groups>readers, staff</span>" in account.text
        alice = re.search(r"<code id=user>(\w+)</code>", account.text)
        assert alice is not None
        signed_out = sign_out(browser, account)
        assert "<a id=login" in signed_out.text

        # SAML: bob, through the IdP's form and its auto-posting Response.
        at_idp = browser.get(buttons[1].replace("&amp;", "&"), timeout=10)
        posting = log_in(browser, at_idp, "bob")
        acs = read_post_form(posting.text)
        assert acs.action == url + "/saml/acs/test-saml/"
        account = browser.post(acs.action, data=dict(acs.fields), timeout=10)
        assert account.url == url + "/account"
        assert "<span id=groups>physics</span>" in account.text
        bob = re.search(r"<code id=user>(\w+)</code>", account.text)
        assert bob is not None
        assert bob.group(1) != alice.group(1)
        back = sign_out(browser, account)  # SAML single logout through the IdP
        assert back.url == url + "/"
        assert "<a id=login" in back.text


def test_the_example_reads_flask_prefixed_environment_variables() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = f"http://127.0.0.1:{port}"
    client = OIDCClient(
        client_id="env-site", client_secret="env-secret",
        redirect_uris=[f"{site}/oauth/authorized/campus/"],
    )  # fmt: skip
    alice = OIDCUser(sub="alice", claims={"email": "alice@example.org", "email_verified": True})
    with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as provider:
        providers = (
            '[{"name": "campus", "title": "Campus SSO", "protocol": "oidc", '
            f'"issuer": "{provider.issuer}", "client_id": "env-site", '
            '"client_secret": "env-secret", "scope": "openid email"}]'
        )
        env = {
            "FLASK_SECRET_KEY": '"a test secret of some length"',
            "FLASK_AUTHKIT_PUBLIC_URL": f'"{site}"',
            "FLASK_AUTHKIT_PROVIDERS": providers,
        }
        with running("--port", str(port), env=env) as url:
            assert url == site
            browser = requests.Session()
            account = browser.get(f"{url}/oauth/login/campus/?next=/account", timeout=10)
            assert account.url == f"{url}/account"
            assert "<span id=groups>none</span>" in account.text


def test_a_missing_setting_stops_the_example_with_its_key() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("FLASK_")},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("configuration error: SECRET_KEY: ")
    assert done.stderr.rstrip().endswith("[config.missing_key]")
