"""The state store: short-lived values shared between web workers.

OAuth ``state`` with its nonce and PKCE verifier, SAML request IDs, the assertion replay cache,
the JWKS and discovery caches, cached groups and pending registrations all go through this small
protocol. Values are JSON-compatible mappings; every value has a time to live.

``take`` is atomic: of two workers racing for the same key, exactly one gets the value. ``add``
is atomic too: it stores only when the key is absent, which is what a replay cache needs.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryStateStore", "StateStore"]

Value = Mapping[str, Any]


@runtime_checkable
class StateStore(Protocol):
    """Short-lived key/value storage with a TTL and atomic take-once."""

    def put(self, key: str, value: Value, *, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any previous value."""
        ...

    def add(self, key: str, value: Value, *, ttl: float) -> bool:
        """Store ``value`` only if ``key`` is absent (or expired). Returns whether it stored."""
        ...

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the value under ``key``, or ``None`` when absent or expired."""
        ...

    def take(self, key: str) -> dict[str, Any] | None:
        """Remove and return the value under ``key`` atomically; ``None`` when absent/expired."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        ...


class MemoryStateStore:
    """A thread-safe, in-process state store (the default; one process only).

    Args:
        clock: Returns the current time in seconds (``time.time`` by default); tests pass
            their own to move time without sleeping.
        max_entries: Upper bound on stored entries; expired ones are purged first, then the
            oldest, so a flood of login attempts cannot exhaust memory.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.time, max_entries: int = 100_000
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: Value, *, ttl: float) -> None:
        with self._lock:
            self._store(key, value, ttl)

    def add(self, key: str, value: Value, *, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._store(key, value, ttl)
            return True

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._live(key)
            return copy.deepcopy(value) if value is not None else None

    def take(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._live(key)
            self._data.pop(key, None)
            return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._data)

    def _live(self, key: str) -> dict[str, Any] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._data[key]
            return None
        return value

    def _store(self, key: str, value: Value, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        if len(self._data) >= self._max and key not in self._data:
            self._purge()
            while len(self._data) >= self._max:
                self._data.pop(next(iter(self._data)))
        self._data[key] = (self._clock() + ttl, copy.deepcopy(dict(value)))

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, (exp, _) in self._data.items() if exp <= now]:
            del self._data[key]
