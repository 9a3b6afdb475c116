"""The Response benchmark runs (quick mode) and reports every contender with sane figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_saml_response.py"


def test_quick_run_reports_every_scenario_and_contender() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows: dict[tuple[str, str], float] = {}
    pattern = (
        r"^(signed assertion|both signed|encrypted)\s+"
        r"(floor|floor-cert|authkit|python3-saml)\s+(\d+)us\s+(\d+)us\s+([\d.]+)x$"
    )
    for line in result.stdout.splitlines():
        match = re.match(pattern, line)
        if match:
            rows[(match.group(1), match.group(2))] = float(match.group(5))
    assert len(rows) == 12, result.stdout
    for scenario in ("signed assertion", "both signed", "encrypted"):
        assert rows[(scenario, "floor")] == 1.0
        # Even in a short, noisy run authkit stays far ahead of python3-saml.
        assert rows[(scenario, "authkit")] < rows[(scenario, "python3-saml")]
    assert "authkit/floor" in result.stdout
