"""Run examples/oidc_provider_standalone.py and check what it prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oidc_provider_standalone.py"


def test_standalone_provider_example_prints_verified_claims() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    issuer = re.search(r"^issuer: (http://127\.0\.0\.1:\d+)$", done.stdout, re.MULTILINE)
    assert issuer is not None
    assert "callback parameters: ['code', 'iss', 'state']" in done.stdout
    printed = done.stdout.split("ID token claims:\n", 1)[1].rsplit("provider stopped:", 1)[0]
    claims = json.loads(printed)
    assert claims["iss"] == issuer.group(1)
    assert claims["sub"] == "alice"
    assert claims["aud"] == "demo"
    assert claims["email"] == "alice@example.org"
    assert claims["groups"] == ["staff"]
    assert claims["exp"] - claims["iat"] == 300
    assert done.stdout.rstrip().endswith("provider stopped: True")
