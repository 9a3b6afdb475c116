"""The SQL accounts store: SQLAlchemy 2 Core on SQLite (embedded) and PostgreSQL.

Install with ``authkit[sql]``. This is the only module that imports SQLAlchemy; the package
exports :class:`SQLAccountsStore` lazily, so ``import authkit.stores`` works without it.

How it keeps the protocol's promises:

- **Atomicity.** One :meth:`SQLAccountsStore.transaction` is one database transaction on one
  pooled connection; it commits when the block ends normally and rolls back on any exception.
  On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (writers queue on the busy timeout
  instead of failing half-way when a read must become a write); the database runs in WAL mode
  so readers never wait for a writer.
- **Uniqueness.** The database enforces it, so two workers racing cannot both win: primary
  keys, and unique indexes on lower-cased copies of the e-mail address and the username. A
  violation becomes :class:`~authkit.errors.ConflictError`, whose ``what`` is read from the
  constraint name (PostgreSQL) or the columns SQLite names. Foreign keys tie every row to its
  user (``store.not_found`` when the user does not exist).
- **No lost updates.** A transaction that reads a record and writes it back (verify a token
  and record its use; sync a profile on login) must not overwrite what another transaction
  committed in between. On SQLite, ``BEGIN IMMEDIATE`` runs writing transactions one at a time;
  on PostgreSQL every single-record read (``get_user``, ``find_user_by_*``, ``get_identity``,
  ``get_remote_account``, ``get_remote_token``, ``get_pat``) is ``SELECT … FOR UPDATE``: a
  second transaction reading the same record waits until the first ends, then sees its write.
- **Failures.** A database that cannot be reached or is locked beyond the busy timeout raises
  :class:`~authkit.errors.StoreUnavailableError`; any other driver error is a
  :class:`~authkit.errors.StoreError`. No SQLAlchemy or driver exception escapes.
- **Schema.** The store creates its tables (prefixed, ``authkit_`` by default, so they can live
  in an application's database) on first use or through :meth:`SQLAccountsStore.create_schema`,
  records :attr:`SQLAccountsStore.SCHEMA_VERSION` in ``<prefix>schema_version``, and refuses a
  database whose version it does not know (``store.schema_newer`` / ``store.schema_unknown``).
- **Cost.** Each protocol call is one statement (``delete_remote_account`` is two); upserts use
  ``INSERT … ON CONFLICT``. :attr:`SQLAccountsStore.statement_count` and
  :meth:`SQLAccountsStore.count_statements` count them, for benchmarks and for tests that pin
  the number of queries of a login.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from authkit.errors import (
    ConflictError,
    InvalidSettingError,
    StoreError,
    StoreUnavailableError,
)
from authkit.stores._accounts import (
    AccountsTransaction,
    Identity,
    PersonalAccessTokenRecord,
    RemoteAccount,
    RemoteToken,
    User,
    check_json,
)

__all__ = ["SQLAccountsStore", "StatementCounter"]

_Statement = sa.Select[Any] | sa.Insert | sa.Update | sa.Delete

_PREFIX = re.compile(r"(?:[a-z][a-z0-9_]{0,29})?\Z")

# What each unique constraint protects, by name suffix (the table prefix comes first).
_CONFLICTS: dict[str, tuple[str, str]] = {
    "users_pk": ("user", "a user with this id exists"),
    "users_email_uq": ("email", "another account has this e-mail address"),
    "users_username_uq": ("username", "another account has this username"),
    "identities_pk": ("identity", "this identity is already linked to an account"),
    "remote_accounts_pk": ("remote_account", "this remote account exists"),
    "remote_tokens_pk": ("remote_token", "this remote token exists"),
    "pats_pk": ("pat", "a token with this id exists"),
}


class _UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps them as naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)  # the models refuse naive datetimes already
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_JSON = sa.JSON().with_variant(pg_dialect.JSONB(), "postgresql")


class _Tables:
    """The schema, under a table prefix."""

    def __init__(self, prefix: str) -> None:
        self.metadata = md = sa.MetaData()
        p = prefix
        self.version = sa.Table(
            f"{p}schema_version",
            md,
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"{p}schema_version_pk"),
        )
        self.users = sa.Table(
            f"{p}users",
            md,
            sa.Column("id", sa.Text, nullable=False),
            sa.Column("email", sa.Text),
            sa.Column("email_lower", sa.Text),
            sa.Column("email_verified", sa.Boolean, nullable=False),
            sa.Column("username", sa.Text),
            sa.Column("username_lower", sa.Text),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("has_password", sa.Boolean, nullable=False),
            sa.Column("profile", _JSON, nullable=False),
            sa.Column("prefs", _JSON, nullable=False),
            sa.Column("created_at", _UTCDateTime),
            sa.Column("confirmed_at", _UTCDateTime),
            sa.PrimaryKeyConstraint("id", name=f"{p}users_pk"),
            sa.UniqueConstraint("email_lower", name=f"{p}users_email_uq"),
            sa.UniqueConstraint("username_lower", name=f"{p}users_username_uq"),
        )

        def user_fk() -> sa.ForeignKeyConstraint:
            return sa.ForeignKeyConstraint(["user_id"], [self.users.c.id], ondelete="CASCADE")

        self.identities = sa.Table(
            f"{p}identities",
            md,
            sa.Column("provider", sa.Text, nullable=False),
            sa.Column("external_id", sa.Text, nullable=False),
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("created_at", _UTCDateTime),
            sa.PrimaryKeyConstraint("provider", "external_id", name=f"{p}identities_pk"),
            user_fk(),
            sa.Index(f"{p}identities_user_ix", "user_id"),
        )
        self.remote_accounts = sa.Table(
            f"{p}remote_accounts",
            md,
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("provider", sa.Text, nullable=False),
            sa.Column("extra_data", _JSON, nullable=False),
            sa.PrimaryKeyConstraint("user_id", "provider", name=f"{p}remote_accounts_pk"),
            user_fk(),
        )
        self.remote_tokens = sa.Table(
            f"{p}remote_tokens",
            md,
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("provider", sa.Text, nullable=False),
            sa.Column("token_type", sa.Text, nullable=False),
            sa.Column("ciphertext", sa.LargeBinary, nullable=False),
            sa.Column("expires_at", _UTCDateTime),
            sa.PrimaryKeyConstraint(
                "user_id", "provider", "token_type", name=f"{p}remote_tokens_pk"
            ),
            user_fk(),
        )
        self.pats = sa.Table(
            f"{p}pats",
            md,
            sa.Column("lookup_id", sa.Text, nullable=False),
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("secret_hash", sa.LargeBinary, nullable=False),
            sa.Column("scopes", _JSON, nullable=False),
            sa.Column("created_at", _UTCDateTime),
            sa.Column("expires_at", _UTCDateTime),
            sa.Column("inactivity_seconds", sa.Float),
            sa.Column("last_used_at", _UTCDateTime),
            sa.Column("revoked_at", _UTCDateTime),
            sa.PrimaryKeyConstraint("lookup_id", name=f"{p}pats_pk"),
            user_fk(),
            sa.Index(f"{p}pats_user_ix", "user_id"),
        )
        # SQLite names the columns of a violated unique constraint, PostgreSQL its name.
        self.conflicts_by_name = {f"{p}{suffix}": entry for suffix, entry in _CONFLICTS.items()}
        self.conflicts_by_columns: dict[frozenset[str], tuple[str, str]] = {}
        for table in md.tables.values():
            for constraint in table.constraints:
                if isinstance(constraint, sa.PrimaryKeyConstraint | sa.UniqueConstraint):
                    entry = self.conflicts_by_name.get(str(constraint.name))
                    if entry is not None:
                        cols = frozenset(f"{table.name}.{c.name}" for c in constraint.columns)
                        self.conflicts_by_columns[cols] = entry


class StatementCounter:
    """The statements a store ran while a :meth:`SQLAccountsStore.count_statements` block was
    open (from every thread using that store).

    Attributes:
        statements: The SQL text of each statement on one line, in order (parameters are not
            included).
    """

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        """How many statements ran."""
        return len(self.statements)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(
    method: Callable[Concatenate[_SQLTransaction, _P], _R],
) -> Callable[Concatenate[_SQLTransaction, _P], _R]:
    """Refuse calls on a finished transaction; a StoreError finishes it."""

    @functools.wraps(method)
    def call(self: _SQLTransaction, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
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


class SQLAccountsStore:
    """The accounts store on SQLite or PostgreSQL (SQLAlchemy 2 Core; ``authkit[sql]``).

    Building the store does no I/O. The schema is created (idempotently) by the first
    transaction, or explicitly by :meth:`create_schema`.

    Args:
        url_or_engine: A database URL (``sqlite:///path/accounts.db``,
            ``postgresql+psycopg://user@host/db``; a bare ``postgresql://`` uses psycopg 3)
            or an :class:`~sqlalchemy.engine.Engine` you configured yourself. An engine you
            pass is used as it is: for SQLite, prefer a URL or :meth:`sqlite`, which turn on
            foreign keys, WAL and ``BEGIN IMMEDIATE``.
        table_prefix: Prefix of every table and constraint name: lower-case letters, digits
            and ``_``, at most 30 characters (``""`` for none).
        auto_create: Create the schema on first use. When ``False``, the first transaction
            only checks it and raises ``store.schema_missing`` when it is absent.
        busy_timeout: SQLite only: seconds a transaction waits for another writer.
        connect_timeout: PostgreSQL only: seconds to wait for a connection.
        engine_options: Extra keyword arguments for :func:`sqlalchemy.create_engine`
            (``pool_size``, ``pool_pre_ping``…) when a URL is given.

    Raises:
        InvalidSettingError: A malformed URL, an unsupported database, a bad table prefix, or
            SQLite's ``:memory:`` (use :class:`~authkit.stores.MemoryAccountsStore`).

    Example:
        >>> import tempfile, pathlib
        >>> from authkit.stores import User
        >>> folder = tempfile.mkdtemp()
        >>> store = SQLAccountsStore.sqlite(pathlib.Path(folder) / "accounts.db")
        >>> with store.transaction() as tx:
        ...     _ = tx.create_user(User(id="u1", email="Ada@example.org"))
        >>> with store.transaction() as tx:
        ...     tx.find_user_by_email("ada@EXAMPLE.org").id
        'u1'
        >>> store.close()
    """

    SCHEMA_VERSION: ClassVar[int] = 1
    """The version of the tables this authkit creates and reads."""

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        *,
        table_prefix: str = "authkit_",
        auto_create: bool = True,
        busy_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(table_prefix, str) or not _PREFIX.match(table_prefix):
            raise InvalidSettingError(
                f"expected lower-case letters, digits and '_' (starting with a letter, at most "
                f"30 characters), got {table_prefix!r}",
                key="SQLAccountsStore.table_prefix",
            )
        if isinstance(url_or_engine, Engine):
            self._engine = url_or_engine
            self._owns_engine = False
        else:
            self._engine = _create_engine(
                url_or_engine,
                busy_timeout=busy_timeout,
                connect_timeout=connect_timeout,
                options=dict(engine_options or {}),
            )
            self._owns_engine = True
        self._dialect = self._engine.dialect.name
        if self._dialect not in ("sqlite", "postgresql"):
            raise InvalidSettingError(
                f"expected a SQLite or PostgreSQL database, got {self._dialect!r}",
                key="SQLAccountsStore.url_or_engine",
            )
        self.table_prefix = table_prefix
        self.auto_create = auto_create
        self._tables = _Tables(table_prefix)
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._statement_count = 0
        self._upserts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Statement] = {}
        self._counters: list[StatementCounter] = []

    @classmethod
    def sqlite(
        cls,
        path: str | os.PathLike[str],
        *,
        table_prefix: str = "authkit_",
        auto_create: bool = True,
        busy_timeout: float = 5.0,
    ) -> SQLAccountsStore:
        """The embedded default: a SQLite database in the file at ``path``.

        The file is created when missing (its directory must exist). Connections run with
        foreign keys on, in WAL mode, and wait up to ``busy_timeout`` seconds for a writer.
        Several processes on one machine may share the file; for several machines, use
        PostgreSQL.
        """
        target = os.fspath(path)
        if not target or target == ":memory:":
            raise InvalidSettingError(
                f"expected the path of a database file, got {target!r} (for an in-memory store "
                "use MemoryAccountsStore)",
                key="SQLAccountsStore.sqlite.path",
            )
        url = URL.create("sqlite+pysqlite", database=os.path.abspath(target))
        return cls(
            url, table_prefix=table_prefix, auto_create=auto_create, busy_timeout=busy_timeout
        )

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the store uses."""
        return self._engine

    # --- counting statements ---------------------------------------------------------------

    @property
    def statement_count(self) -> int:
        """Statements this store has run since it was built (``BEGIN``/``COMMIT`` excluded)."""
        return self._statement_count

    @contextmanager
    def count_statements(self) -> Iterator[StatementCounter]:
        """Count (and record) the statements run while the block is open.

        Example:
            >>> with store.count_statements() as counted:  # doctest: +SKIP
            ...     with store.transaction() as tx:
            ...         tx.get_identity("github", "1234")
            >>> counted.count  # doctest: +SKIP
            1
        """
        counter = StatementCounter()
        with self._count_lock:
            self._counters.append(counter)
        try:
            yield counter
        finally:
            with self._count_lock:
                self._counters.remove(counter)

    def _execute(
        self, conn: Connection, statement: _Statement, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        with self._count_lock:
            self._statement_count += 1
            if self._counters:
                text = " ".join(str(statement.compile(dialect=self._engine.dialect)).split())
                for counter in self._counters:
                    counter.statements.append(text)
        return conn.execute(statement, params) if params is not None else conn.execute(statement)

    # --- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[AccountsTransaction]:
        """One database transaction: commits when the block ends, rolls back on any exception.

        Raises:
            StoreUnavailableError: The database cannot be reached (or stays locked).
            StoreError: ``store.schema_newer`` / ``store.schema_unknown`` /
                ``store.schema_missing`` on first use; errors of the operations inside.
        """
        self._ensure_schema()
        with self._connection() as conn:
            tx = _SQLTransaction(self, conn)
            try:
                self._translated(conn.begin)
                yield tx
            except BaseException:
                tx.state = "closed"
                self._rollback(conn)
                raise
            try:
                if tx.state == "open":
                    self._translated(conn.commit)
                else:  # an operation failed and the caller caught its error: nothing is kept
                    self._rollback(conn)
            finally:
                tx.state = "closed"

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            conn = self._engine.connect()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _translate(exc, self._tables) from exc
        with conn:
            yield conn

    def _translated(self, call: Callable[[], object]) -> None:
        try:
            call()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _translate(exc, self._tables) from exc

    @staticmethod
    def _rollback(conn: Connection) -> None:
        # The database rolls back on its own when the connection is gone; do not hide the
        # original error behind a failing ROLLBACK.
        with suppress(SQLAlchemyError, sqlite3.Error):
            conn.rollback()

    # --- schema --------------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create the tables if they are missing and check the schema version (idempotent).

        Safe to run from several processes at once (PostgreSQL: an advisory lock; SQLite: the
        write lock).

        Raises:
            StoreError: ``store.schema_newer`` (the database was set up by a newer authkit) or
                ``store.schema_unknown``.
            StoreUnavailableError: The database cannot be reached.
        """
        t = self._tables
        with self._connection() as conn:
            try:
                with conn.begin():
                    if self._dialect == "postgresql":
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(self._lock_key())))
                    t.version.create(conn, checkfirst=True)
                    version = conn.execute(sa.select(t.version.c.version)).scalar()
                    if version is None:
                        t.metadata.create_all(conn, checkfirst=True)
                        conn.execute(sa.insert(t.version).values(id=1, version=self.SCHEMA_VERSION))
                    else:
                        self._check_version(version)
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise _translate(exc, t) from exc
        self._schema_ready = True

    def check_schema(self) -> None:
        """Check that the schema exists and has a version this authkit knows.

        Raises:
            StoreError: ``store.schema_missing``, ``store.schema_newer``,
                ``store.schema_unknown``.
            StoreUnavailableError: The database cannot be reached.
        """
        t = self._tables
        with self._connection() as conn:
            try:
                with conn.begin():
                    if not sa.inspect(conn).has_table(t.version.name):
                        raise StoreError(
                            f"the accounts tables ({self.table_prefix}…) do not exist",
                            code="store.schema_missing",
                            hint="call create_schema(), or build the store with auto_create=True",
                        )
                    version = conn.execute(sa.select(t.version.c.version)).scalar()
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise _translate(exc, t) from exc
        if version is None:
            raise StoreError(f"the table {t.version.name} is empty", code="store.schema_missing")
        self._check_version(version)
        self._schema_ready = True

    def drop_schema(self) -> None:
        """Drop every table of this store (all accounts are lost). For tests and teardown."""
        with self._connection() as conn:
            try:
                with conn.begin():
                    self._tables.metadata.drop_all(conn, checkfirst=True)
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise _translate(exc, self._tables) from exc
        self._schema_ready = False

    def close(self) -> None:
        """Close the pooled connections (of an engine the store created itself)."""
        if self._owns_engine:
            self._engine.dispose()

    def _check_version(self, version: int) -> None:
        if version > self.SCHEMA_VERSION:
            raise StoreError(
                f"the accounts tables ({self.table_prefix}…) have schema version {version}, "
                f"newer than this authkit knows ({self.SCHEMA_VERSION})",
                code="store.schema_newer",
                hint="upgrade authkit, or use another database or table_prefix",
            )
        if version != self.SCHEMA_VERSION:
            raise StoreError(
                f"the accounts tables ({self.table_prefix}…) have schema version {version}, "
                f"which this authkit does not know (it uses {self.SCHEMA_VERSION})",
                code="store.schema_unknown",
            )

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            if self.auto_create:
                self.create_schema()
            else:
                self.check_schema()

    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"authkit.schema:{self.table_prefix}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SQLAccountsStore({url!r}, table_prefix={self.table_prefix!r})"


class _SQLTransaction:
    """The protocol's operations on one connection inside one transaction."""

    def __init__(self, store: SQLAccountsStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self._t = store._tables
        self.state = "open"

    def _run(
        self, statement: _Statement, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        try:
            return self._store._execute(self._conn, statement, params)
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise _translate(exc, self._t) from exc
        except (TypeError, ValueError) as exc:  # a driver could not convert a parameter
            raise StoreError(
                f"a value cannot be stored: {_first_line(exc)}", code="store.invalid_value"
            ) from exc

    def _first(self, stmt: sa.Select[Any]) -> sa.RowMapping | None:
        """The one row ``stmt`` selects, locked until the transaction ends (PostgreSQL), so a
        read-modify-write in this transaction cannot lose a concurrent update. (SQLite's
        ``BEGIN IMMEDIATE`` serialises writing transactions already.)"""
        if self._store._dialect == "postgresql":
            stmt = stmt.with_for_update()
        return self._run(stmt).mappings().first()

    def _upsert(
        self, table: sa.Table, values: dict[str, Any], keys: tuple[str, ...]
    ) -> CursorResult[Any]:
        """Insert or update ``values`` in ``table`` by ``keys``. The statement is built once per
        shape and executed with parameters: building an ``ON CONFLICT`` statement costs more
        than running it."""
        shape = (table.name, tuple(values), keys)
        statement = self._store._upserts.get(shape)
        if statement is None:
            dialect = sqlite_dialect if self._store._dialect == "sqlite" else pg_dialect
            insert = dialect.insert(table)
            updates = {name: insert.excluded[name] for name in values if name not in keys}
            statement = insert.on_conflict_do_update(index_elements=list(keys), set_=updates)
            self._store._upserts[shape] = statement
        return self._run(statement, values)

    # users

    @_guarded
    def create_user(self, user: User) -> User:
        self._run(sa.insert(self._t.users).values(**_user_row(user)))
        return user

    @_guarded
    def get_user(self, user_id: str) -> User | None:
        return self._one_user(self._t.users.c.id == user_id)

    @_guarded
    def find_user_by_email(self, email: str) -> User | None:
        return self._one_user(self._t.users.c.email_lower == email.lower())

    @_guarded
    def find_user_by_username(self, username: str) -> User | None:
        return self._one_user(self._t.users.c.username_lower == username.lower())

    @_guarded
    def update_user(self, user: User) -> User:
        users = self._t.users
        row = _user_row(user)
        del row["id"]
        result = self._run(sa.update(users).where(users.c.id == user.id).values(**row))
        if result.rowcount == 0:
            raise StoreError("no such user", code="store.not_found")
        return user

    def _one_user(self, where: sa.ColumnElement[bool]) -> User | None:
        row = self._first(sa.select(self._t.users).where(where))
        return _user(row) if row is not None else None

    # identities

    @_guarded
    def link_identity(self, identity: Identity) -> Identity:
        self._run(
            sa.insert(self._t.identities).values(
                provider=identity.provider,
                external_id=identity.external_id,
                user_id=identity.user_id,
                created_at=identity.created_at,
            )
        )
        return identity

    @_guarded
    def get_identity(self, provider: str, external_id: str) -> Identity | None:
        t = self._t.identities
        row = self._first(
            sa.select(t).where(t.c.provider == provider, t.c.external_id == external_id)
        )
        return Identity(**row) if row is not None else None

    @_guarded
    def identities_of(self, user_id: str) -> list[Identity]:
        t = self._t.identities
        stmt = sa.select(t).where(t.c.user_id == user_id).order_by(t.c.provider, t.c.external_id)
        return [Identity(**row) for row in self._run(stmt).mappings()]

    @_guarded
    def unlink_identity(self, provider: str, external_id: str) -> bool:
        t = self._t.identities
        stmt = sa.delete(t).where(t.c.provider == provider, t.c.external_id == external_id)
        return self._run(stmt).rowcount > 0

    # remote accounts and tokens

    @_guarded
    def get_remote_account(self, user_id: str, provider: str) -> RemoteAccount | None:
        t = self._t.remote_accounts
        row = self._first(sa.select(t).where(t.c.user_id == user_id, t.c.provider == provider))
        return RemoteAccount(**row) if row is not None else None

    @_guarded
    def put_remote_account(self, account: RemoteAccount) -> RemoteAccount:
        check_json("RemoteAccount.extra_data", account.extra_data)
        values = {
            "user_id": account.user_id,
            "provider": account.provider,
            "extra_data": dict(account.extra_data),
        }
        self._upsert(self._t.remote_accounts, values, ("user_id", "provider"))
        return account

    @_guarded
    def delete_remote_account(self, user_id: str, provider: str) -> None:
        for t in (self._t.remote_tokens, self._t.remote_accounts):
            self._run(sa.delete(t).where(t.c.user_id == user_id, t.c.provider == provider))

    @_guarded
    def put_remote_token(self, token: RemoteToken) -> None:
        values = {
            "user_id": token.user_id,
            "provider": token.provider,
            "token_type": token.token_type,
            "ciphertext": bytes(token.ciphertext),
            "expires_at": token.expires_at,
        }
        keys = ("user_id", "provider", "token_type")
        self._upsert(self._t.remote_tokens, values, keys)

    @_guarded
    def get_remote_token(self, user_id: str, provider: str, token_type: str) -> RemoteToken | None:
        t = self._t.remote_tokens
        stmt = sa.select(t).where(
            t.c.user_id == user_id, t.c.provider == provider, t.c.token_type == token_type
        )
        row = self._first(stmt)
        return _remote_token(row) if row is not None else None

    @_guarded
    def remote_tokens_of(self, user_id: str, provider: str) -> list[RemoteToken]:
        t = self._t.remote_tokens
        stmt = (
            sa.select(t)
            .where(t.c.user_id == user_id, t.c.provider == provider)
            .order_by(t.c.token_type)
        )
        return [_remote_token(row) for row in self._run(stmt).mappings()]

    # personal access tokens

    @_guarded
    def create_pat(self, record: PersonalAccessTokenRecord) -> None:
        self._run(sa.insert(self._t.pats).values(**_pat_row(record)))

    @_guarded
    def get_pat(self, lookup_id: str) -> PersonalAccessTokenRecord | None:
        t = self._t.pats
        row = self._first(sa.select(t).where(t.c.lookup_id == lookup_id))
        return _pat(row) if row is not None else None

    @_guarded
    def pats_of(self, user_id: str) -> list[PersonalAccessTokenRecord]:
        t = self._t.pats
        stmt = sa.select(t).where(t.c.user_id == user_id).order_by(t.c.lookup_id)
        return [_pat(row) for row in self._run(stmt).mappings()]

    @_guarded
    def update_pat(self, record: PersonalAccessTokenRecord) -> None:
        t = self._t.pats
        row = _pat_row(record)
        del row["lookup_id"]
        result = self._run(sa.update(t).where(t.c.lookup_id == record.lookup_id).values(**row))
        if result.rowcount == 0:
            raise StoreError("no such personal access token", code="store.not_found")


# --- rows and models -----------------------------------------------------------------------------


def _user_row(user: User) -> dict[str, Any]:
    check_json("User.profile", user.profile)
    check_json("User.prefs", user.prefs)
    return {
        "id": user.id,
        "email": user.email,
        "email_lower": user.email.lower() if user.email else None,
        "email_verified": user.email_verified,
        "username": user.username,
        "username_lower": user.username.lower() if user.username else None,
        "active": user.active,
        "has_password": user.has_password,
        "profile": dict(user.profile),
        "prefs": dict(user.prefs),
        "created_at": user.created_at,
        "confirmed_at": user.confirmed_at,
    }


def _user(row: sa.RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        email_verified=row["email_verified"],
        username=row["username"],
        active=row["active"],
        has_password=row["has_password"],
        profile=row["profile"],
        prefs=row["prefs"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
    )


def _remote_token(row: sa.RowMapping) -> RemoteToken:
    return RemoteToken(
        user_id=row["user_id"],
        provider=row["provider"],
        token_type=row["token_type"],
        ciphertext=bytes(row["ciphertext"]),
        expires_at=row["expires_at"],
    )


def _pat_row(record: PersonalAccessTokenRecord) -> dict[str, Any]:
    return {
        "lookup_id": record.lookup_id,
        "user_id": record.user_id,
        "name": record.name,
        "secret_hash": bytes(record.secret_hash),
        "scopes": list(record.scopes),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "inactivity_seconds": record.inactivity_seconds,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
    }


def _pat(row: sa.RowMapping) -> PersonalAccessTokenRecord:
    return PersonalAccessTokenRecord(
        lookup_id=row["lookup_id"],
        user_id=row["user_id"],
        name=row["name"],
        secret_hash=bytes(row["secret_hash"]),
        scopes=row["scopes"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        inactivity_seconds=row["inactivity_seconds"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


# --- engines and errors --------------------------------------------------------------------------


def _create_engine(
    url: str | URL, *, busy_timeout: float, connect_timeout: float, options: dict[str, Any]
) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidSettingError(
            "expected a database URL such as sqlite:///accounts.db or "
            "postgresql+psycopg://user@host/db",
            key="SQLAccountsStore.url_or_engine",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what [sql] installs
    connect_args: dict[str, Any] = dict(options.pop("connect_args", {}))
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise InvalidSettingError(
                "expected the path of a database file, got an in-memory SQLite database "
                "(use MemoryAccountsStore)",
                key="SQLAccountsStore.url_or_engine",
            )
        connect_args.setdefault("timeout", busy_timeout)
    elif backend == "postgresql":
        connect_args.setdefault("connect_timeout", max(1, round(connect_timeout)))
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args, **options)
    except (ArgumentError, ImportError, TypeError) as exc:
        raise InvalidSettingError(
            f"cannot build a database engine for {parsed.drivername!r}: {exc}",
            key="SQLAccountsStore.url_or_engine",
            hint="install authkit[sql] (SQLAlchemy and psycopg 3)",
        ) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3's own transaction handling skips BEGIN before SELECT; authkit begins itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock now, so a transaction that reads and then writes waits
    # (busy timeout) for another writer instead of failing half-way with SQLITE_BUSY.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _translate(exc: BaseException, tables: _Tables) -> StoreError:
    """The authkit error for a driver or SQLAlchemy error."""
    if isinstance(exc, IntegrityError):
        return _integrity(exc, tables)
    if isinstance(exc, DBAPIError):
        if _is_missing_schema(exc):
            return StoreError(
                f"the accounts tables are missing or incomplete: {_first_line(exc.orig)}",
                code="store.schema_missing",
                hint="were they dropped? create_schema() creates them again",
            )
        if isinstance(exc, DataError):  # PostgreSQL: a NUL in text, an out-of-range number
            return StoreError(
                f"a value cannot be stored: {_first_line(exc.orig)}", code="store.invalid_value"
            )
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            return StoreUnavailableError(
                f"the accounts database is unavailable: {_first_line(exc.orig)}"
            )
        return StoreError(
            f"the accounts database refused the operation: {_first_line(exc.orig)}",
            code="store.error",
        )
    if isinstance(exc, StatementError):  # a value the column type cannot take
        return StoreError(
            f"a value cannot be stored: {_first_line(exc.orig)}", code="store.invalid_value"
        )
    if isinstance(exc, sqlite3.Error):  # raised by our own connect hook
        return StoreUnavailableError(f"the accounts database is unavailable: {_first_line(exc)}")
    return StoreError(f"the accounts store failed: {_first_line(exc)}", code="store.error")


def _integrity(exc: IntegrityError, tables: _Tables) -> StoreError:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    message = str(orig)
    if sqlstate == "23503" or message.startswith("FOREIGN KEY constraint failed"):
        return StoreError("no such user", code="store.not_found")
    entry: tuple[str, str] | None = None
    if sqlstate == "23505":
        diag = getattr(orig, "diag", None)
        entry = tables.conflicts_by_name.get(str(getattr(diag, "constraint_name", "")))
    elif message.startswith("UNIQUE constraint failed: "):
        columns = frozenset(c.strip() for c in message.split(": ", 1)[1].split(","))
        entry = tables.conflicts_by_columns.get(columns)
    else:
        return StoreError(
            f"a value violates a database constraint: {_first_line(orig)}",
            code="store.invalid_value",
        )
    what, text = entry or ("unique", "a unique value is already taken")
    return ConflictError(text, what=what)


def _is_missing_schema(exc: DBAPIError) -> bool:
    # PostgreSQL: undefined_table / undefined_column; SQLite reports them as OperationalError.
    if getattr(exc.orig, "sqlstate", None) in ("42P01", "42703"):
        return True
    message = str(exc.orig)
    return message.startswith(("no such table", "no such column")) or " has no column " in message


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
