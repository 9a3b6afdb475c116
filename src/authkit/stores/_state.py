"""The state store: short-lived values shared between web workers.

OAuth ``state`` with its nonce and PKCE verifier, SAML request IDs, the assertion replay cache,
the JWKS and discovery caches, cached groups and pending registrations all go through this small
protocol. Values are JSON-compatible mappings; every value has a time to live.

``take`` is atomic: of two workers racing for the same key, exactly one gets the value. ``add``
is atomic too: it stores only when the key is absent, which is what a replay cache needs.

Every implementation keeps values as JSON, the memory store included, so a value that would not
survive Redis (a datetime, a set, bytes, NaN) fails on the developer's machine already, with
``StoreError`` (``store.invalid_value``), and what comes back is always fresh ``dict``/``list``
data (a tuple comes back as a list). A time to live must be a finite number of seconds greater
than zero (``store.invalid_ttl``; a TTL computed from an expiry that has already passed is a
caller's error worth seeing).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from authkit.errors import StoreError

__all__ = ["MemoryStateStore", "StateStore"]

Value = Mapping[str, Any]


def encode_value(value: Value) -> str:
    """The JSON text of a state value; ``store.invalid_value`` when it is not JSON data."""
    if not isinstance(value, Mapping):
        raise StoreError(
            f"a state value must be a mapping, got {type(value).__name__}",
            code="store.invalid_value",
        )
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"a state value must be JSON data (str, number, bool, None, list, dict): {exc}",
            code="store.invalid_value",
        ) from exc


def check_ttl(ttl: float) -> float:
    """``ttl`` itself when it is a finite number of seconds above zero."""
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
        raise StoreError(f"ttl must be a number of seconds, got {ttl!r}", code="store.invalid_ttl")
    if ttl <= 0:
        raise StoreError(f"ttl must be greater than 0, got {ttl!r}", code="store.invalid_ttl")
    return float(ttl)


@runtime_checkable
class StateStore(Protocol):
    """Short-lived key/value storage with a TTL and atomic take-once."""

    def put(self, key: str, value: Value, *, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any previous value.

        Raises:
            StoreError: ``store.invalid_value`` (not JSON data), ``store.invalid_ttl``.
            StoreUnavailableError: The store cannot be reached.
        """
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
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: Value, *, ttl: float) -> None:
        text, ttl = encode_value(value), check_ttl(ttl)
        with self._lock:
            self._store(key, text, ttl)

    def add(self, key: str, value: Value, *, ttl: float) -> bool:
        text, ttl = encode_value(value), check_ttl(ttl)
        with self._lock:
            if self._live(key) is not None:
                return False
            self._store(key, text, ttl)
            return True

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            text = self._live(key)
        return _decode(text) if text is not None else None

    def take(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            text = self._live(key)
            self._data.pop(key, None)
        return _decode(text) if text is not None else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._data)

    def _live(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._data[key]
            return None
        return value

    def _store(self, key: str, text: str, ttl: float) -> None:
        if len(self._data) >= self._max and key not in self._data:
            self._purge()
            while len(self._data) >= self._max:
                self._data.pop(next(iter(self._data)))
        self._data[key] = (self._clock() + ttl, text)

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, (exp, _) in self._data.items() if exp <= now]:
            del self._data[key]


def _decode(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
