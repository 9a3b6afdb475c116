"""The Flask, Starlette and FastAPI example apps: OIDC and SAML sign-in in Chromium.

Each example runs as its own process with the loopback test providers (``--test-providers``),
as a person would start it; the browser signs in through the providers' login forms.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import shot
from tests.web.site_kit import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(params=["flask_app.py", "starlette_app.py", "fastapi_app.py"])
def example(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / request.param), "--test-providers", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " example on http://" in line, line + (
            process.stderr.read() if process.stderr else ""
        )
        yield request.param.removesuffix(".py"), line.rsplit(" ", 1)[1].strip().rstrip("/")
    finally:
        process.terminate()
        process.communicate(timeout=20)


def sign_in(page: Any, site: str, provider: str, username: str, password: str) -> None:
    page.goto(f"{site}/login/?next=/account")
    page.click(f"a:has-text('{provider}')")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{site}/account**")
    page.wait_for_selector("button:has-text('Sign out')")


def test_example_signs_in_with_oidc_and_saml(page: Any, example: tuple[str, str]) -> None:
    name, site = example
    sign_in(page, site, "OpenID provider", "alice", "alice-pw")
    shot(page, f"{name}-oidc-signed-in")
    assert "staff" in page.content() or "alice" in page.content()
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    sign_in(page, site, "SAML IdP", "bob", "bob-pw")
    shot(page, f"{name}-saml-signed-in")
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    assert "Sign out" not in page.content()
