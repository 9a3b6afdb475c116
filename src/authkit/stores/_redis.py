"""The Redis state store: state shared by every worker and machine (``authkit[redis]``).

This is the only module that imports redis-py; the package exports :class:`RedisStateStore`
lazily, so ``import authkit.stores`` works without it.

Each operation is one Redis command, atomic on the server:

=========  ===========================  ===============================================
operation  command                      why it is safe with many workers
=========  ===========================  ===============================================
put        ``SET key value PX ttl``     value and expiry are written together
add        ``SET key value NX PX ttl``  only the first writer of an absent key wins
get        ``GET key``
take       ``GETDEL key``               of two workers racing, exactly one gets it
delete     ``DEL key``
=========  ===========================  ===============================================

``GETDEL`` needs Redis 6.2 or later. Values are JSON text (see :mod:`authkit.stores._state`);
keys are the caller's keys under a prefix (``authkit:`` by default), so the store can share a
Redis database with an application.

Time to live runs on the Redis server's clock, not on a ``clock`` callable: expiry cannot be
simulated in tests. authkit's tests therefore check expiry logic on
:class:`~authkit.stores.MemoryStateStore` with an injected clock, and check on Redis only that
the TTL given is the one Redis holds (``PTTL``), without sleeping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, cast

import redis
import redis.exceptions

from authkit.errors import StoreError, StoreUnavailableError
from authkit.stores._state import Value, check_ttl, encode_value

__all__ = ["RedisStateStore"]


class RedisStateStore:
    """A :class:`~authkit.stores.StateStore` on Redis, for several workers or machines.

    Args:
        client: A :class:`redis.Redis` client (its connection pool is shared by threads).
        prefix: Prepended to every key.

    Building the store does no I/O: an unreachable server shows at the first operation, as
    :class:`~authkit.errors.StoreUnavailableError`.

    Example:
        >>> store = RedisStateStore.from_url("redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> store.put("state:abc", {"nonce": "n-1"}, ttl=600)  # doctest: +SKIP
        >>> store.take("state:abc")  # doctest: +SKIP
        {'nonce': 'n-1'}
        >>> store.take("state:abc") is None  # doctest: +SKIP
        True
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "authkit:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "authkit:",
        connect_timeout: float = 5.0,
        timeout: float = 5.0,
        **options: Any,
    ) -> RedisStateStore:
        """A store on the Redis at ``url`` (``redis://host:port/db``, ``rediss://`` for TLS).

        Args:
            url: The Redis URL.
            prefix: Prepended to every key.
            connect_timeout: Seconds to wait for a connection.
            timeout: Seconds to wait for an answer.
            options: More keyword arguments for :meth:`redis.Redis.from_url`.
        """
        client = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=timeout, **options
        )
        return cls(client, prefix=prefix)

    def put(self, key: str, value: Value, *, ttl: float) -> None:
        text, ms = encode_value(value), _milliseconds(ttl)
        self._call(lambda: self.client.set(self.prefix + key, text, px=ms))

    def add(self, key: str, value: Value, *, ttl: float) -> bool:
        text, ms = encode_value(value), _milliseconds(ttl)
        return bool(self._call(lambda: self.client.set(self.prefix + key, text, px=ms, nx=True)))

    def get(self, key: str) -> dict[str, Any] | None:
        return self._decode(key, self._call(lambda: self.client.get(self.prefix + key)))

    def take(self, key: str) -> dict[str, Any] | None:
        return self._decode(key, self._call(lambda: self.client.getdel(self.prefix + key)))

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.delete(self.prefix + key))

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left to live (``PTTL``); ``None`` when it does not exist."""
        ms = int(cast(int, self._call(lambda: self.client.pttl(self.prefix + key))))
        return ms / 1000 if ms >= 0 else None

    def clear(self) -> int:
        """Delete every key under this store's prefix (``SCAN`` + ``UNLINK``); how many.

        Keys outside the prefix are left alone. Meant for tests and maintenance.
        """
        pattern = _glob_escape(self.prefix) + "*"

        def run() -> int:
            removed = 0
            batch: list[Any] = []
            for name in self.client.scan_iter(match=pattern, count=500):
                batch.append(name)
                if len(batch) >= 500:
                    removed += self.client.unlink(*batch)
                    batch = []
            if batch:
                removed += self.client.unlink(*batch)
            return removed

        return int(self._call(run))

    def _call(self, command: Callable[[], Any]) -> Any:
        try:
            return command()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailableError(f"the Redis state store is unavailable: {exc}") from exc
        except redis.exceptions.RedisError as exc:
            raise StoreError(f"Redis refused the operation: {exc}", code="store.error") from exc

    def _decode(self, key: str, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"the value under {key!r} is not JSON written by authkit",
                code="store.corrupt_value",
            ) from exc
        if not isinstance(value, dict):
            raise StoreError(
                f"the value under {key!r} is not a JSON object written by authkit",
                code="store.corrupt_value",
            )
        return value

    def __repr__(self) -> str:
        return f"RedisStateStore({self.client!r}, prefix={self.prefix!r})"


def _milliseconds(ttl: float) -> int:
    # Rounded up: a TTL is a promise that the value lives at least that long.
    return max(1, math.ceil(check_ttl(ttl) * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
