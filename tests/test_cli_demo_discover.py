"""`authkit demo` and `authkit discover`, run for real against loopback providers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import requests

from authkit.cli import main
from authkit.testing import OIDCProvider


def test_demo_smoke_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--smoke"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("passed, 0 failed")
    assert "registration form shown" in out
    assert "single logout" in out
    assert "✗" not in out


def test_demo_serves_the_site_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "authkit.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("authkit demo site: http://127.0.0.1:")
        url = first.split(": ", 1)[1].strip()
        page = requests.get(url + "login/", timeout=10)
        assert page.status_code == 200
        assert "Sign in with Demo SAML IdP" in page.text
        # Without auto-login the provider shows its login form.
        at_provider = requests.get(url + "oauth/login/demo-oidc/", timeout=10)
        assert "<form" in at_provider.text
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "stopped" in out


def test_discover_prints_the_remote_app(
    oidc_provider: OIDCProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", oidc_provider.issuer, "--name", "lab", "--client-id", "x"]) == 0
    app = json.loads(capsys.readouterr().out)
    assert app["name"] == "lab"
    assert app["protocol"] == "oidc"
    assert app["issuer"] == oidc_provider.issuer
    assert app["token_url"] == oidc_provider.token_url
    assert app["jwks_url"] == oidc_provider.jwks_url
    assert "client_secret" not in app


def test_discover_in_invenio_and_opal_shapes(
    oidc_provider: OIDCProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["discover", oidc_provider.issuer, "--format", "invenio"]) == 0
    invenio = json.loads(capsys.readouterr().out)
    assert invenio["params"]["access_token_url"] == oidc_provider.token_url
    assert main(["discover", oidc_provider.issuer, "--format", "opal"]) == 0
    opal = json.loads(capsys.readouterr().out)
    assert opal["discoveryURI"].endswith("/.well-known/openid-configuration")


def test_discover_refuses_a_document_for_another_issuer(
    oidc_provider: OIDCProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    with oidc_provider.fault("discovery", "wrong_issuer"):
        assert main(["discover", oidc_provider.issuer]) == 2
    assert "oidc.discovery_issuer_mismatch" in capsys.readouterr().err


def test_discover_an_unreachable_provider(capsys: pytest.CaptureFixture[str]) -> None:
    with OIDCProvider() as provider:
        issuer = provider.issuer
    assert main(["discover", issuer, "--timeout", "1"]) == 2
    assert "provider.unreachable" in capsys.readouterr().err


def test_demo_without_the_sql_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import authkit.stores

    # As if SQLAlchemy were absent: the lazy import of the SQL store fails.
    monkeypatch.delattr(authkit.stores, "SQLAccountsStore", raising=False)
    monkeypatch.setitem(sys.modules, "authkit.stores._sql", None)
    assert main(["demo", "--smoke"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'authkit[sql]'" in err
