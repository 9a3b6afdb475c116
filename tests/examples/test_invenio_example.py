"""Runs examples/invenio_remote_apps.py and checks what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "invenio_remote_apps.py"


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INVENIO_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environ,
    )


def test_invenio_example_lists_providers_with_callback_urls() -> None:
    result = _run(ORCID_CLIENT_SECRET="from-the-environment")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert headers == [
        "staff: Example University [keycloak, oidc]",
        "partners: Partner institutions [keycloak, oidc]",
        "orcid: ORCID [orcid, oauth2]",
    ]
    for name in ("staff", "partners", "orcid"):
        assert f"callback URL:  https://repository.example.org/oauth/authorized/{name}/" in out
    assert "issuer:        https://sso.example.org/realms/staff\n" in out
    assert "issuer:        https://login.partners.example.net/auth/realms/partners\n" in out
    assert "client id:     APP-0000000000000000 (from ORCID_APP_CREDENTIALS)" in out
    assert out.count("client secret: set") == 3
    assert out.count("Invenio dict round-trips: True") == 3
    assert "from-the-environment" not in out  # secrets are never printed
