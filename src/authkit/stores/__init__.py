"""Stores: short-lived shared state, and accounts.

- The state store (:class:`StateStore`): OAuth state, SAML request IDs, replay cache, caches.
  :class:`MemoryStateStore` by default; the Redis store (``authkit[redis]``) for many workers.
- The accounts store (:class:`AccountsStore`): users, identities, remote accounts and tokens,
  personal access tokens. :class:`MemoryAccountsStore` by default; the SQL store
  (``authkit[sql]``: SQLite embedded, PostgreSQL) for persistence.

:class:`SQLAccountsStore` and :class:`RedisStateStore` are imported on first use, so this package
imports without their extras installed; using one without its extra raises
:class:`ModuleNotFoundError` naming the extra to install.
"""

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from authkit.stores._redis import RedisStateStore
    from authkit.stores._sql import SQLAccountsStore, StatementCounter

__all__ = [
    "AccountsStore",
    "AccountsTransaction",
    "Identity",
    "MemoryAccountsStore",
    "MemoryStateStore",
    "PersonalAccessTokenRecord",
    "RedisStateStore",
    "RemoteAccount",
    "RemoteToken",
    "SQLAccountsStore",
    "StateStore",
    "StatementCounter",
    "User",
    "new_user_id",
]

# name -> (private module, extra that provides its dependency)
_LAZY = {
    "RedisStateStore": ("authkit.stores._redis", "redis"),
    "SQLAccountsStore": ("authkit.stores._sql", "sql"),
    "StatementCounter": ("authkit.stores._sql", "sql"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, extra = _LAZY[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"authkit.stores.{name} needs the {extra!r} extra: pip install 'authkit[{extra}]' "
            f"({exc})",
            name=exc.name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
