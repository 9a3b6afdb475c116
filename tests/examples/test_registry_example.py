"""Runs examples/provider_registry.py and checks what it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "provider_registry.py"


def test_provider_registry_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        "registered: keycloak, github, keycloak-intranet",
        "sign-in page of https://opal.example.org:",
        "  [Keycloak] callback https://opal.example.org/oauth/authorized/keycloak/",
        "sign-in page of https://intranet.example.org/opal:",
        "  [Keycloak (intranet)] callback "
        "https://intranet.example.org/opal/oauth/authorized/keycloak-intranet/",
        "saved and loaded 3 providers, file mode 600, no secrets",
    ]
    assert lines[6] == "exported to Opal unchanged: True"
    exported = json.loads("\n".join(lines[7:]))
    assert exported["name"] == "keycloak-intranet"
    assert exported["callbackURL"] == "https://intranet.example.org/opal/auth/callback/"
    assert "secret" not in exported
    assert "change-me" not in result.stdout
    assert result.stderr == ""
