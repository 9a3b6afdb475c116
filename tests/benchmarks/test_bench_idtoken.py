"""The ID-token benchmark runs and prints its ratio lines (not checking the figures)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_idtoken.py"


def test_bench_idtoken_quick_prints_ratios():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("authkit/pyjwt", "authkit/authlib", "authkit/floor", "pyjwt/floor"):
        assert re.search(rf"^ratio {name}: \d+\.\d\d", out, re.MULTILINE), out
    assert re.search(r"^ratio authlib/floor: \d+\.\d\d", out, re.MULTILINE), out
    for label in ("authkit IDTokenValidator.validate", "PyJWT jwt.decode", "Authlib", "floor"):
        assert label in out
    assert re.search(r"^goals: (met|NOT met)$", out, re.MULTILINE)
    assert "Warning" not in result.stderr
