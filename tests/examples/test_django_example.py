"""Run examples/django_app: serve it on a free port and sign in through OpenID Connect and SAML,
following the real redirects and forms."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.web.site_kit import free_port

from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
    read_post_form,
)

APP = Path(__file__).resolve().parents[2] / "examples" / "django_app"
ALICE = OIDCUser(
    sub="alice",
    claims={"email": "alice@example.org", "email_verified": True, "groups": ["staff"]},
)
BOB = SAMLUser(
    username="bob",
    attributes={
        "mail": "bob@example.org",
        "givenName": "Bob",
        "sn": "Builder",
        "eduPersonPrincipalName": "bob@example.org",
    },
)


def environment(
    base: str, op: OIDCProvider, idp: SAMLIdentityProvider, data: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "AUTHKIT_PUBLIC_URL": base,
        "AUTHKIT_OIDC_ISSUER": op.issuer,
        "AUTHKIT_OIDC_CLIENT_ID": "example",
        "AUTHKIT_OIDC_CLIENT_SECRET": "example-secret",
        "AUTHKIT_SAML_METADATA_URL": idp.metadata_url,
        "AUTHKIT_DATA_DIR": str(data),
    }


@pytest.fixture
def example(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = OIDCClient(
        client_id="example",
        client_secret="example-secret",
        redirect_uris=[f"{base}/auth/oauth/authorized/op/"],
    )
    party = SAMLRelyingParty(
        entity_id=f"{base}/auth/saml/metadata/idp/",
        acs_url=f"{base}/auth/saml/acs/idp/",
        slo_url=f"{base}/auth/saml/sls/idp/",
    )
    with (
        OIDCProvider(users=[ALICE], clients=[client], auto_login="alice") as op,
        SAMLIdentityProvider(users=[BOB], relying_parties=[party], auto_login="bob") as idp,
    ):
        env = environment(base, op, idp, tmp_path)
        check = subprocess.run(
            [sys.executable, str(APP / "manage.py"), "check"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        server = subprocess.Popen(
            [sys.executable, str(APP / "serve.py"), "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert wait_for_line(server) == f"Serving on {base}/"
            yield base
        finally:
            server.terminate()
            server.wait(10)
            assert server.stderr is not None
            errors = server.stderr.read()
            server.stderr.close()
            assert "Traceback" not in errors, errors


def wait_for_line(server: subprocess.Popen[str], timeout: float = 60) -> str:
    """The first line the server prints (a thread reads it, so a hung start fails the test)."""
    lines: list[str] = []
    stdout = server.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, "the example did not start"
    return lines[0].strip()


def account(browser: requests.Session, base: str) -> dict[str, Any]:
    text = browser.get(f"{base}/account/", timeout=10).text
    cells = dict(re.findall(r'<td class="([a-z-]+)">([^<]*)</td>', text))
    logout = read_post_form(text) if "Sign out" in text else None
    return {**cells, "logout": logout}


def test_oidc_sign_in_and_out(example: str) -> None:
    browser = requests.Session()
    home = browser.get(f"{example}/", timeout=10)
    link = re.search(r'href="([^"]+)">Sign in</a>', home.text)
    assert link is not None
    login_page = browser.get(example + link[1].replace("&amp;", "&"), timeout=10)
    start = re.search(r'href="([^"]+)">Sign in with Test OP', login_page.text)
    assert start is not None
    answer = browser.get(start[1].replace("&amp;", "&"), timeout=10)
    assert answer.url == f"{example}/account/"
    seen = account(browser, example)
    assert seen["user"] == f"authkit:{seen['account']}"
    assert seen["e-mail"] == "alice@example.org"
    assert seen["groups"] == "staff"

    form = seen["logout"]
    done = browser.post(example + form.action, data=form.fields, timeout=10)
    assert done.url == f"{example}/auth/login/?next=%2Faccount%2F"  # AFTER_LOGIN needs a user
    assert "Sign in with Test OP" in done.text


def test_saml_sign_in(example: str) -> None:
    browser = requests.Session()
    answer = browser.get(f"{example}/auth/saml/sso/idp/?next=/account/", timeout=10)
    form = read_post_form(answer.text)
    assert form.action == f"{example}/auth/saml/acs/idp/"
    signed_in = browser.post(form.action, data=form.fields, timeout=10)
    assert signed_in.url == f"{example}/account/"
    seen = account(browser, example)
    assert seen["user"] == f"authkit:{seen['account']}"
    assert seen["e-mail"] == "bob@example.org"
