"""Runs examples/stores.py (SQLite + memory; then PostgreSQL + Redis) and checks its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores.py"


def _accounts(name: str) -> list[str]:
    return [
        f"{name}: signed in ada <Ada@Example.org> in 2 statements",
        f"{name}: e-mail lookup ignores case: True",
        f"{name}: refused: store.conflict what=email (another account has this e-mail address)",
        f"{name}: refused: store.conflict what=identity (this identity is already linked to an"
        " account)",
        f"{name}: signup failed half-way: the welcome e-mail could not be queued",
        f"{name}: kept of the refused and failed signups: [], identity: None",
    ]


def _state(name: str) -> list[str]:
    return [
        f"{name}: first take {{'nonce': 'n-0S6_WzA2Mj', 'provider': 'orcid'}}, second take None",
        f"{name}: replay cache add -> [True, False]",
    ]


def _run(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_stores_example_runs_on_sqlite_and_memory() -> None:
    assert _run() == [*_accounts("sqlite"), "sqlite: schema version 1", *_state("memory")]


@pytest.mark.services
def test_stores_example_runs_on_postgresql_and_redis(postgres_url: str, redis_url: str) -> None:
    assert _run("--postgres", postgres_url, "--redis", redis_url) == [
        *_accounts("sqlite"),
        "sqlite: schema version 1",
        *_accounts("postgresql"),
        *_state("memory"),
        *_state("redis"),
    ]
