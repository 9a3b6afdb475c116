"""Runs examples/personal_access_tokens.py and checks what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "personal_access_tokens.py"


def test_personal_access_tokens_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "token looks like: ak_pat_… 62 characters",
        "found in a log line: True",
        "stored: cnsim analysis ['access:READ', 'useR'] ['CNSIM'] active",
        "inactive after: 30 days, 0:00:00",
        "R on CNSIM: 200 alice",
        "R on DASIM: 403 pat.project_not_allowed",
        "admin: 403 pat.scope_missing",
        "mistyped: 401 pat.checksum_invalid",
        "made up: 401 pat.malformed",
        "last used: 2026-03-02T09:00:00+00:00",
        "a month later: 401 pat.inactive",
        "after renewing: 200 alice",
        "past its expiry: 401 pat.expired",
        "a token that never expires: pat.lifetime_too_long",
        "second token: 200 alice",
        "after revoking: 401 pat.revoked",
        "listed: cnsim analysis expired",
        "listed: nightly export revoked",
    ]
    assert done.stderr == ""
