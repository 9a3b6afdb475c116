"""Shared fixtures: the real services (PostgreSQL, Redis) and a controllable clock.

Tests that need a service skip with the reason when it is not reachable, except when
``AUTHKIT_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing service fails the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

POSTGRES_URL = os.environ.get(
    "AUTHKIT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHKIT_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    reason = f"{service} is not reachable on {host}:{port}"
    if os.environ.get("AUTHKIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} and AUTHKIT_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL database."""
    _need("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis database (db 15, flushed by the tests that use it)."""
    _need("Redis", "127.0.0.1", 6379)
    return REDIS_URL


class Clock:
    """A clock the test moves by hand: no test sleeps to let time pass."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Iterator[Clock]:
    return Clock()
