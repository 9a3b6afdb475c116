"""200 concurrent sign-ins on the demo site with Redis state and PostgreSQL accounts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_concurrent_signins.py"


def test_two_hundred_concurrent_sign_ins(
    postgres_url: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("bench_concurrent_signins", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    status = module.main(
        ["--signins", "200", "--people", "50", "--threads", "24",
         "--postgres", postgres_url, "--redis", redis_url]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "succeeded:               200/200" in out
    assert "accounts:                50 for 50 people (50 identities)" in out
    assert "replayed states accepted: 0" in out
    assert "sign-ins per second:" in out
    assert "ratio authkit / providers:" in out
