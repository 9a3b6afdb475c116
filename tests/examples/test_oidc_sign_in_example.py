from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oidc_sign_in.py"


def test_example_signs_alice_in() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "signed in: alice alice@example.org ['staff']" in done.stdout
    assert "next: /me" in done.stdout
    assert "refreshed: True" in done.stdout
    assert "revoked: True" in done.stdout
