"""Runs examples/accounts_flow.py (three real loopback providers) and checks what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts_flow.py"


def test_accounts_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "  event registered: alice@example.org (send e-mail: False)",
        "1. institute, alice: registered as 'alice'",
        "2. orcid, josiah: registration_required, missing ['email'], "
        "prefilled {'profile.full_name': 'Josiah Carberry'}",
        "  event registered: josiah@example.org (send e-mail: True)",
        "   completed: registered, confirmation required: True",
        "3. social, alice: confirm_link_required for the account of alice@example.org",
        "   after signing in at the institute: linked (social -> alice)",
        "4. orcid while signed in: linked (0000-0001-5109-3700)",
        "   disconnected ['0000-0001-5109-3700']; revoked: True, "
        "token still active at ORCID: False",
        "5. social, mallory: denied: "
        "Accounts with this e-mail address may not sign in to this site.",
    ]
    assert done.stderr == ""
