"""Runs examples/groups.py and checks what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "groups.py"


def test_groups_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "keycloak groups: ['curator', 'staff', 'staff/editors', 'users']",
        "sources: claim=ok, claim=ok, remote=ok, static=ok",
        "second resolution, remote: cached | added: []",
        "provider down: kept_cached provider.http_error",
        "opal string claim: ['analysts', 'data-managers', 'opal-users']",
        "opal JSON in a string: ['analysts', 'opal-users']",
        "saml entitlements: ['research-data']",
        "custom resolver: ['cern', 'domain:example.org']",
        "next sign-in: added ['reviewers'] removed ['editors']",
        "groups now: ['local-admins', 'reviewers', 'staff']",
        "identity provides staff: True",
        "identity provides admins: False",
        "session value round-trips: True",
    ]
    assert done.stderr == ""
