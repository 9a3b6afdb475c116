"""The metadata benchmark runs (quick mode) and reports every contender with sane figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_saml_metadata.py"


def test_quick_run_reports_all_contenders() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "aggregate: 300 entities" in out
    rows = {}
    for line in out.splitlines():
        match = re.match(
            r"^(floor|authkit|python3-saml|authkit-signed)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", line
        )
        if match:
            rows[match.group(1)] = tuple(float(x) for x in match.groups()[1:])
    assert set(rows) == {"floor", "authkit", "python3-saml", "authkit-signed"}
    assert rows["floor"][1] == 1.0
    authkit_extra_mb = rows["authkit"][2]
    python3_saml_extra_mb = rows["python3-saml"][2]
    # Streaming keeps authkit's memory flat; python3-saml holds the whole tree.
    assert authkit_extra_mb < 10
    assert authkit_extra_mb < python3_saml_extra_mb
    assert "authkit vs floor:" in out
