"""The assertion replay cache: each assertion ID is accepted once, until it expires.

A bearer assertion is a bearer token: whoever presents it again (a browser's back button, a
stolen form post, a log file) would log in again. SAML profiles §4.1.4.5 asks the SP to keep the
IDs of the assertions it accepted until they expire and to refuse them a second time.

The cache sits on the :class:`~authkit.stores.StateStore` protocol, so the memory store serves
one process and a Redis store serves many workers; ``StateStore.add`` is atomic, so of two
workers receiving the same assertion at once exactly one accepts it.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Protocol, runtime_checkable

from authkit.stores import MemoryStateStore, StateStore

__all__ = ["MemoryReplayCache", "ReplayCache", "StateStoreReplayCache"]


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers accepted assertion IDs until they expire."""

    def check_and_store(
        self, assertion_id: str, *, issuer: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Record ``assertion_id`` from ``issuer``; return ``False`` if it was already recorded.

        Args:
            assertion_id: The Assertion's ``ID``.
            issuer: The IdP's entityID (IDs are unique per issuer only).
            expires_at: When the assertion stops being acceptable anyway; the ID may be
                forgotten after that.
            now: The current time, as the caller validated the assertion with it.
        """
        ...


class StateStoreReplayCache:
    """A :class:`ReplayCache` on any :class:`~authkit.stores.StateStore` (memory, Redis...).

    Args:
        store: Where the IDs are kept; keys are ``saml.replay:<sha256(issuer, id)>``.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def check_and_store(
        self, assertion_id: str, *, issuer: str, expires_at: datetime, now: datetime
    ) -> bool:
        digest = hashlib.sha256(f"{issuer}\0{assertion_id}".encode()).hexdigest()
        ttl = max(1, math.ceil((expires_at - now).total_seconds()))
        return self._store.add(f"saml.replay:{digest}", {"seen": True}, ttl=ttl)


class MemoryReplayCache(StateStoreReplayCache):
    """The in-process replay cache (the default; one process only).

    Several web workers need a shared store instead:
    ``StateStoreReplayCache(RedisStateStore(...))``.

    Args:
        store: A memory state store to use (for its clock or size bound); a new one by default.
    """

    def __init__(self, store: MemoryStateStore | None = None) -> None:
        super().__init__(store if store is not None else MemoryStateStore())
