"""Stores: the state store (short-lived shared values) and, later, the accounts store.

Memory is the default; Redis (``authkit[redis]``) serves many workers, SQL (``authkit[sql]``)
keeps accounts.
"""

from authkit.stores._state import MemoryStateStore, StateStore

__all__ = ["MemoryStateStore", "StateStore"]
