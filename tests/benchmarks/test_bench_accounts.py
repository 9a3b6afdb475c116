"""Runs benchmarks/bench_accounts.py --quick against SQLite and PostgreSQL and checks its report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_accounts.py"


def test_bench_accounts_quick_reports_time_and_statements_per_login(postgres_url: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--postgres", postgres_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("accounts: existing user signs in again; 2 rounds x 20 logins")
    rows = {
        (store, contender): (float(best), statements)
        for store, contender, best, statements in re.findall(
            r"^(memory|sqlite|postgresql)\s+(authkit|bare)\s+([\d.]+)us\s+[\d.]+us\s+(\S+)$",
            out,
            re.M,
        )
    }
    assert set(rows) == {
        ("memory", "authkit"),
        ("sqlite", "authkit"),
        ("sqlite", "bare"),
        ("postgresql", "authkit"),
        ("postgresql", "bare"),
    }
    assert all(best > 0 for best, _ in rows.values())
    # identity, user, access token, refresh token, remote account
    assert rows[("sqlite", "authkit")][1] == "5"
    assert rows[("postgresql", "authkit")][1] == "5"
    assert rows[("memory", "authkit")][1] == "-"
    for store in ("sqlite", "postgresql"):
        ratio = re.search(rf"^ratio authkit/bare {store}: ([\d.]+)$", out, re.M)
        assert ratio is not None
        assert float(ratio.group(1)) > 1.0  # the flow does more than one SELECT and UPDATE
    assert "skipped" not in out
    assert result.stderr == ""
