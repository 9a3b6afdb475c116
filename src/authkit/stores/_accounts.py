"""The accounts store: users, their linked identities, remote accounts, remote tokens and
personal access tokens.

Every read and write happens inside a transaction (:meth:`AccountsStore.transaction`): a
context manager whose body either commits as a whole or, when it raises, leaves nothing behind.
That is how a signup creates a user, an identity, a remote account and its tokens without ever
leaving half of them.

Uniqueness is the store's job, so that two workers racing to create the same account cannot
both succeed: an identity ``(provider, external_id)``, a user's e-mail and username (both
compared case-insensitively), a remote account ``(user, provider)`` and a personal access token's
``lookup_id`` are unique. A duplicate raises :class:`~authkit.errors.ConflictError` (its
``what`` says which), and the transaction rolls back.

Once an operation has raised a :class:`~authkit.errors.StoreError` (a conflict, a missing user,
an unavailable database), the transaction is over, in every store alike: it rolls back when the
``with`` block ends, even when the caller caught the error, and any further call in it raises
``StoreError`` (``store.transaction_aborted``). (PostgreSQL works that way anyway; the other
stores follow so that code tested on memory behaves the same on PostgreSQL.) Retry by starting
a new transaction.

A record read in a transaction may be written back in it without losing a concurrent update:
a store runs such read-modify-write transactions one after the other for the same record
(memory: one transaction at a time; SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: single-record reads
lock the row until the transaction ends). Lists (``identities_of``…) take no lock.

Identities, remote accounts, remote tokens and personal access tokens belong to a user: writing
one for a user that does not exist raises ``StoreError`` (``store.not_found``).

``profile``, ``prefs`` and ``extra_data`` hold JSON data; anything else (a datetime, a set,
NaN) is refused with ``StoreError`` (``store.invalid_value``) by every store.

Datetimes are aware: the models refuse a naive datetime (``store.naive_datetime``) and keep
every datetime in UTC, so what a store returns compares equal to what was written.

Remote tokens are stored as ciphertext: encryption happens above the store (see
:mod:`authkit.accounts`), so a store never sees a provider token in the clear.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, runtime_checkable

import attrs

from authkit.errors import ConflictError, StoreError

__all__ = [
    "AccountsStore",
    "AccountsTransaction",
    "Identity",
    "MemoryAccountsStore",
    "PersonalAccessTokenRecord",
    "RemoteAccount",
    "RemoteToken",
    "User",
    "new_user_id",
]


def new_user_id() -> str:
    """A new opaque user id."""
    return uuid.uuid4().hex


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if value is not None else {}


def _utc(value: datetime | None) -> datetime | None:
    """Aware datetimes in UTC; a naive one is refused (whose local time would it be?)."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"expected an aware datetime (with tzinfo), got {value!r}", code="store.naive_datetime"
        )
    return value.astimezone(UTC)


def check_json(field: str, value: Mapping[str, Any]) -> None:
    """Refuse what a SQL store could not keep: ``field`` must hold JSON data."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"{field} must be JSON data (str, number, bool, None, list, dict): {exc}",
            code="store.invalid_value",
        ) from exc


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class User:
    """A local account.

    Attributes:
        id: Opaque, stable identifier.
        email: E-mail address (unique, case-insensitive), if known.
        email_verified: Whether the address was confirmed (by a provider that vouches for it,
            or by the site).
        username: Username (unique, case-insensitive), if any.
        active: Whether the account may sign in.
        has_password: Whether the account can also sign in locally (with a password the site
            manages); decides whether disconnecting the last provider is allowed.
        profile: Profile fields (``full_name``, ``given_name``, ``family_name``,
            ``affiliations``…), JSON-compatible.
        prefs: Preferences, JSON-compatible.
        created_at: When the account was created.
        confirmed_at: When the e-mail was confirmed, if it was.
    """

    id: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    active: bool = True
    has_password: bool = False
    profile: Mapping[str, Any] = attrs.field(factory=dict, converter=_dict)
    prefs: Mapping[str, Any] = attrs.field(factory=dict, converter=_dict)
    created_at: datetime | None = attrs.field(default=None, converter=_utc)
    confirmed_at: datetime | None = attrs.field(default=None, converter=_utc)


@attrs.frozen(kw_only=True)
class Identity:
    """The link between a person at a provider and a local user (Invenio's ``UserIdentity``)."""

    provider: str
    external_id: str
    user_id: str
    created_at: datetime | None = attrs.field(default=None, converter=_utc)


@attrs.frozen(kw_only=True)
class RemoteAccount:
    """A user's account at a provider, with provider-specific ``extra_data``."""

    user_id: str
    provider: str
    extra_data: Mapping[str, Any] = attrs.field(factory=dict, converter=_dict)


@attrs.frozen(kw_only=True)
class RemoteToken:
    """A provider token of a user, encrypted (``token_type``: ``access``, ``refresh``, ``id``)."""

    user_id: str
    provider: str
    token_type: str
    ciphertext: bytes = attrs.field(repr=False)
    expires_at: datetime | None = attrs.field(default=None, converter=_utc)


@attrs.frozen(kw_only=True)
class PersonalAccessTokenRecord:
    """What the store keeps of a personal access token: never the secret, only its hash."""

    lookup_id: str
    user_id: str
    name: str
    secret_hash: bytes = attrs.field(repr=False)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    created_at: datetime | None = attrs.field(default=None, converter=_utc)
    expires_at: datetime | None = attrs.field(default=None, converter=_utc)
    inactivity_seconds: float | None = None
    last_used_at: datetime | None = attrs.field(default=None, converter=_utc)
    revoked_at: datetime | None = attrs.field(default=None, converter=_utc)


@runtime_checkable
class AccountsTransaction(Protocol):
    """The operations available inside one transaction."""

    # users
    def create_user(self, user: User) -> User:
        """Insert ``user``. Raises ConflictError (``email`` / ``username``) on duplicates."""
        ...

    def get_user(self, user_id: str) -> User | None: ...

    def find_user_by_email(self, email: str) -> User | None:
        """Case-insensitive lookup."""
        ...

    def find_user_by_username(self, username: str) -> User | None:
        """Case-insensitive lookup."""
        ...

    def update_user(self, user: User) -> User:
        """Replace the stored user with the same id. Raises ConflictError on duplicates and
        StoreError (``store.not_found``) when there is no such user."""
        ...

    # identities
    def link_identity(self, identity: Identity) -> Identity:
        """Insert ``identity``. Raises ConflictError (``identity``) when already linked."""
        ...

    def get_identity(self, provider: str, external_id: str) -> Identity | None: ...

    def identities_of(self, user_id: str) -> list[Identity]:
        """The user's identities, sorted by ``(provider, external_id)``."""
        ...

    def unlink_identity(self, provider: str, external_id: str) -> bool:
        """Remove the identity; whether it existed."""
        ...

    # remote accounts and tokens
    def get_remote_account(self, user_id: str, provider: str) -> RemoteAccount | None: ...

    def put_remote_account(self, account: RemoteAccount) -> RemoteAccount:
        """Insert or replace the remote account of ``(user_id, provider)``."""
        ...

    def delete_remote_account(self, user_id: str, provider: str) -> None:
        """Remove the remote account and its tokens."""
        ...

    def put_remote_token(self, token: RemoteToken) -> None:
        """Insert or replace the token of ``(user_id, provider, token_type)``."""
        ...

    def get_remote_token(
        self, user_id: str, provider: str, token_type: str
    ) -> RemoteToken | None: ...

    def remote_tokens_of(self, user_id: str, provider: str) -> list[RemoteToken]:
        """The user's tokens at ``provider``, sorted by ``token_type``."""
        ...

    # personal access tokens
    def create_pat(self, record: PersonalAccessTokenRecord) -> None:
        """Insert. Raises ConflictError (``pat``) on a duplicate ``lookup_id``."""
        ...

    def get_pat(self, lookup_id: str) -> PersonalAccessTokenRecord | None: ...

    def pats_of(self, user_id: str) -> list[PersonalAccessTokenRecord]:
        """The user's personal access tokens, sorted by ``lookup_id``."""
        ...

    def update_pat(self, record: PersonalAccessTokenRecord) -> None:
        """Replace the stored record with the same ``lookup_id`` (``store.not_found`` if none)."""
        ...


@runtime_checkable
class AccountsStore(Protocol):
    """Where accounts live. ``transaction()`` commits on success and rolls back on error."""

    def transaction(self) -> AbstractContextManager[AccountsTransaction]: ...


class _MemoryData:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.identities: dict[tuple[str, str], Identity] = {}
        self.remote_accounts: dict[tuple[str, str], RemoteAccount] = {}
        self.remote_tokens: dict[tuple[str, str, str], RemoteToken] = {}
        self.pats: dict[str, PersonalAccessTokenRecord] = {}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(
    method: Callable[Concatenate[_MemoryTransaction, _P], _R],
) -> Callable[Concatenate[_MemoryTransaction, _P], _R]:
    """Refuse calls on a finished transaction; a StoreError finishes it (see the module doc)."""

    @functools.wraps(method)
    def call(self: _MemoryTransaction, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self.state != "open":
            raise StoreError(
                "this transaction is over (an operation in it failed, or its block ended); "
                "start a new one",
                code="store.transaction_aborted",
            )
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            self.state = "aborted"
            raise

    return call


class _MemoryTransaction:
    def __init__(self, data: _MemoryData) -> None:
        self.data = data
        self.state = "open"

    def _require_user(self, user_id: str) -> None:
        if user_id not in self.data.users:
            raise StoreError("no such user", code="store.not_found")

    def _check_unique(self, user: User) -> None:
        check_json("User.profile", user.profile)
        check_json("User.prefs", user.prefs)
        for other in self.data.users.values():
            if other.id == user.id:
                continue
            if user.email and other.email and other.email.lower() == user.email.lower():
                raise ConflictError("another account has this e-mail address", what="email")
            if user.username and other.username and other.username.lower() == user.username.lower():
                raise ConflictError("another account has this username", what="username")

    @_guarded
    def create_user(self, user: User) -> User:
        if user.id in self.data.users:
            raise ConflictError("a user with this id exists", what="user")
        self._check_unique(user)
        self.data.users[user.id] = user
        return user

    @_guarded
    def get_user(self, user_id: str) -> User | None:
        return self.data.users.get(user_id)

    @_guarded
    def find_user_by_email(self, email: str) -> User | None:
        wanted = email.lower()
        return next(
            (u for u in self.data.users.values() if u.email and u.email.lower() == wanted), None
        )

    @_guarded
    def find_user_by_username(self, username: str) -> User | None:
        wanted = username.lower()
        return next(
            (u for u in self.data.users.values() if u.username and u.username.lower() == wanted),
            None,
        )

    @_guarded
    def update_user(self, user: User) -> User:
        if user.id not in self.data.users:
            raise StoreError("no such user", code="store.not_found")
        self._check_unique(user)
        self.data.users[user.id] = user
        return user

    @_guarded
    def link_identity(self, identity: Identity) -> Identity:
        key = (identity.provider, identity.external_id)
        if key in self.data.identities:
            raise ConflictError("this identity is already linked to an account", what="identity")
        self._require_user(identity.user_id)
        self.data.identities[key] = identity
        return identity

    @_guarded
    def get_identity(self, provider: str, external_id: str) -> Identity | None:
        return self.data.identities.get((provider, external_id))

    @_guarded
    def identities_of(self, user_id: str) -> list[Identity]:
        found = [i for i in self.data.identities.values() if i.user_id == user_id]
        return sorted(found, key=lambda i: (i.provider, i.external_id))

    @_guarded
    def unlink_identity(self, provider: str, external_id: str) -> bool:
        return self.data.identities.pop((provider, external_id), None) is not None

    @_guarded
    def get_remote_account(self, user_id: str, provider: str) -> RemoteAccount | None:
        return self.data.remote_accounts.get((user_id, provider))

    @_guarded
    def put_remote_account(self, account: RemoteAccount) -> RemoteAccount:
        check_json("RemoteAccount.extra_data", account.extra_data)
        self._require_user(account.user_id)
        self.data.remote_accounts[(account.user_id, account.provider)] = account
        return account

    @_guarded
    def delete_remote_account(self, user_id: str, provider: str) -> None:
        self.data.remote_accounts.pop((user_id, provider), None)
        for key in [k for k in self.data.remote_tokens if k[:2] == (user_id, provider)]:
            del self.data.remote_tokens[key]

    @_guarded
    def put_remote_token(self, token: RemoteToken) -> None:
        self._require_user(token.user_id)
        self.data.remote_tokens[(token.user_id, token.provider, token.token_type)] = token

    @_guarded
    def get_remote_token(self, user_id: str, provider: str, token_type: str) -> RemoteToken | None:
        return self.data.remote_tokens.get((user_id, provider, token_type))

    @_guarded
    def remote_tokens_of(self, user_id: str, provider: str) -> list[RemoteToken]:
        found = [t for k, t in self.data.remote_tokens.items() if k[:2] == (user_id, provider)]
        return sorted(found, key=lambda t: t.token_type)

    @_guarded
    def create_pat(self, record: PersonalAccessTokenRecord) -> None:
        if record.lookup_id in self.data.pats:
            raise ConflictError("a token with this id exists", what="pat")
        self._require_user(record.user_id)
        self.data.pats[record.lookup_id] = record

    @_guarded
    def get_pat(self, lookup_id: str) -> PersonalAccessTokenRecord | None:
        return self.data.pats.get(lookup_id)

    @_guarded
    def pats_of(self, user_id: str) -> list[PersonalAccessTokenRecord]:
        return sorted(
            (p for p in self.data.pats.values() if p.user_id == user_id), key=lambda p: p.lookup_id
        )

    @_guarded
    def update_pat(self, record: PersonalAccessTokenRecord) -> None:
        if record.lookup_id not in self.data.pats:
            raise StoreError("no such personal access token", code="store.not_found")
        self._require_user(record.user_id)
        self.data.pats[record.lookup_id] = record


class MemoryAccountsStore:
    """Accounts in process memory (the default; tests and single-process demos).

    Transactions are serialised by a lock and work on a copy that replaces the data only on
    commit, so a failing transaction leaves nothing behind.

    Example:
        >>> store = MemoryAccountsStore()
        >>> with store.transaction() as tx:
        ...     _ = tx.create_user(User(id="u1", email="Ada@example.org"))
        >>> with store.transaction() as tx:
        ...     tx.find_user_by_email("ada@EXAMPLE.org").id
        'u1'
    """

    def __init__(self) -> None:
        self._data = _MemoryData()
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[AccountsTransaction]:
        with self._lock:
            working = copy.copy(self._data)
            for name in ("users", "identities", "remote_accounts", "remote_tokens", "pats"):
                setattr(working, name, dict(getattr(self._data, name)))
            tx = _MemoryTransaction(working)
            try:
                yield tx
                if tx.state == "open":
                    self._data = working
            finally:
                tx.state = "closed"
