"""The Django example project: OIDC and SAML sign-in in Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.browser.adapter_kit import ALICE, BOB
from tests.browser.conftest import shot
from tests.examples.test_django_example import environment, wait_for_line
from tests.web.site_kit import free_port

from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    SAMLIdentityProvider,
    SAMLRelyingParty,
)

APP = Path(__file__).resolve().parents[2] / "examples" / "django_app"


def sign_in(page: Any, base: str, provider: str, username: str, password: str) -> None:
    page.goto(f"{base}/auth/login/?next=/account/")
    page.click(f"a:has-text('{provider}')")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{base}/account/**")
    page.wait_for_selector("text=Sign out")


def test_django_example_signs_in_with_oidc_and_saml(page: Any, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = OIDCClient(client_id="example", client_secret="example-secret",
                        redirect_uris=[f"{base}/auth/oauth/authorized/op/"])  # fmt: skip
    party = SAMLRelyingParty(entity_id=f"{base}/auth/saml/metadata/idp/",
                             acs_url=f"{base}/auth/saml/acs/idp/",
                             slo_url=f"{base}/auth/saml/sls/idp/")  # fmt: skip
    with (
        OIDCProvider(users=[ALICE], clients=[client]) as op,
        SAMLIdentityProvider(users=[BOB], relying_parties=[party]) as idp,
    ):
        server = subprocess.Popen(
            [sys.executable, str(APP / "serve.py"), "--port", str(port)],
            env=environment(base, op, idp, tmp_path),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert wait_for_line(server) == f"Serving on {base}/"
            sign_in(page, base, "Test OP", "alice", "alice-pw")
            shot(page, "django-oidc-signed-in")
            page.click("button:has-text('Sign out')")
            page.wait_for_load_state()
            sign_in(page, base, "Test IdP", "bob", "bob-pw")
            shot(page, "django-saml-signed-in")
        finally:
            server.terminate()
            server.communicate(timeout=20)
