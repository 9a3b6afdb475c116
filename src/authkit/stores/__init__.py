"""Stores: short-lived shared state, and accounts.

- The state store (:class:`StateStore`): OAuth state, SAML request IDs, replay cache, caches.
  :class:`MemoryStateStore` by default; the Redis store (``authkit[redis]``) for many workers.
- The accounts store (:class:`AccountsStore`): users, identities, remote accounts and tokens,
  personal access tokens. :class:`MemoryAccountsStore` by default; the SQL store
  (``authkit[sql]``: SQLite embedded, PostgreSQL) for persistence.
"""

from authkit.stores._accounts import (
    AccountsStore,
    AccountsTransaction,
    Identity,
    MemoryAccountsStore,
    PersonalAccessTokenRecord,
    RemoteAccount,
    RemoteToken,
    User,
    new_user_id,
)
from authkit.stores._state import MemoryStateStore, StateStore

__all__ = [
    "AccountsStore",
    "AccountsTransaction",
    "Identity",
    "MemoryAccountsStore",
    "MemoryStateStore",
    "PersonalAccessTokenRecord",
    "RemoteAccount",
    "RemoteToken",
    "StateStore",
    "User",
    "new_user_id",
]
