"""Runs benchmarks/bench_groups.py --quick and checks its report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_groups.py"


def test_bench_groups_quick_reports_times_and_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("groups: 50 in the user info, 49 resolved; 3 rounds x 50 calls")
    rows = {
        label: float(best)
        for label, best in re.findall(r"^(authkit[^\n]*?|bare[^\n]*?)\s+([\d.]+)us", out, re.M)
    }
    assert len(rows) == 3
    assert all(value > 0 for value in rows.values())
    ratio = re.search(r"^ratio authkit/bare: ([\d.]+)$", out, re.M)
    assert ratio is not None
    assert float(ratio.group(1)) > 1.0  # the resolver does more than one dict lookup
    assert re.search(r"^ratio authkit-claim/bare: [\d.]+$", out, re.M)
    assert result.stderr == ""
