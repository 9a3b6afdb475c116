"""SQLAccountsStore beyond the contract: schema and versions, settings, failures, counting."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from authkit.errors import InvalidSettingError, StoreError, StoreUnavailableError
from authkit.stores import (
    Identity,
    RemoteAccount,
    RemoteToken,
    SQLAccountsStore,
    User,
)


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}_"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make(url: str) -> Iterator[object]:
    """Build stores on ``url`` with fresh prefixes; drop their tables afterwards."""
    made: list[SQLAccountsStore] = []

    def build(prefix: str | None = None, **options: object) -> SQLAccountsStore:
        store = SQLAccountsStore(url, table_prefix=prefix or _prefix(), **options)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield build
    for store in made:
        store.drop_schema()
        store.close()


def _version(store: SQLAccountsStore) -> list[int]:
    with store.engine.connect() as conn:
        table = f"{store.table_prefix}schema_version"
        return [row[0] for row in conn.exec_driver_sql(f"SELECT version FROM {table}")]  # noqa: S608


def _set_version(store: SQLAccountsStore, version: int) -> None:
    with store.engine.begin() as conn:
        table = f"{store.table_prefix}schema_version"
        conn.exec_driver_sql(f"UPDATE {table} SET version = {int(version)}")  # noqa: S608


# --- schema ---------------------------------------------------------------------------------------


def test_the_schema_is_created_on_first_use_with_its_version(make: object) -> None:
    store = make()  # type: ignore[operator]
    assert not sa.inspect(store.engine).has_table(f"{store.table_prefix}users")
    with store.transaction() as tx:
        tx.create_user(User(id="u1"))
    names = set(sa.inspect(store.engine).get_table_names())
    expected = {"schema_version", "users", "identities", "remote_accounts", "remote_tokens", "pats"}
    assert {f"{store.table_prefix}{n}" for n in expected} <= names
    assert _version(store) == [SQLAccountsStore.SCHEMA_VERSION]
    store.create_schema()  # idempotent: nothing changes, nothing is lost
    store.create_schema()
    assert _version(store) == [1]
    with store.transaction() as tx:
        assert tx.get_user("u1") == User(id="u1")


def test_a_newer_schema_version_is_refused(make: object) -> None:
    first = make()  # type: ignore[operator]
    first.create_schema()
    _set_version(first, SQLAccountsStore.SCHEMA_VERSION + 1)
    later = make(first.table_prefix)  # type: ignore[operator]
    with pytest.raises(StoreError) as info, later.transaction():
        pass
    assert info.value.code == "store.schema_newer"
    assert "2" in info.value.message
    with pytest.raises(StoreError) as checked:
        make(first.table_prefix, auto_create=False).check_schema()  # type: ignore[operator]
    assert checked.value.code == "store.schema_newer"


def test_an_unknown_schema_version_is_refused(make: object) -> None:
    first = make()  # type: ignore[operator]
    first.create_schema()
    _set_version(first, 0)
    with pytest.raises(StoreError) as info:
        make(first.table_prefix).create_schema()  # type: ignore[operator]
    assert info.value.code == "store.schema_unknown"


def test_without_auto_create_a_missing_schema_is_reported(make: object) -> None:
    store = make(auto_create=False)  # type: ignore[operator]
    with pytest.raises(StoreError) as info, store.transaction():
        pass
    assert info.value.code == "store.schema_missing"
    assert not sa.inspect(store.engine).has_table(f"{store.table_prefix}users")
    store.create_schema()
    with store.transaction() as tx:
        tx.create_user(User(id="u1"))


def test_tables_dropped_behind_the_stores_back_are_reported(make: object) -> None:
    store = make()  # type: ignore[operator]
    store.create_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {store.table_prefix}pats")
    with pytest.raises(StoreError) as info, store.transaction() as tx:
        tx.get_pat("p1")
    assert info.value.code == "store.schema_missing"


def test_two_prefixes_in_one_database_are_independent(make: object) -> None:
    a, b = make(), make()  # type: ignore[operator]
    with a.transaction() as tx:
        tx.create_user(User(id="u1", email="ada@example.org"))
    with b.transaction() as tx:
        assert tx.get_user("u1") is None
        tx.create_user(User(id="u1", email="ada@example.org"))  # no conflict across prefixes


def test_a_second_store_on_the_same_database_sees_committed_data(make: object) -> None:
    first = make()  # type: ignore[operator]
    with first.transaction() as tx:
        tx.create_user(User(id="u1", username="ada"))
    first.close()
    second = make(first.table_prefix)  # type: ignore[operator]
    with second.transaction() as tx:
        assert tx.find_user_by_username("ADA") == User(id="u1", username="ada")


# --- counting statements --------------------------------------------------------------------------


def test_each_operation_is_one_statement_and_counting_records_them(make: object) -> None:
    store = make()  # type: ignore[operator]
    store.create_schema()
    before = store.statement_count
    with store.count_statements() as signup, store.transaction() as tx:
        tx.create_user(User(id="u1", email="ada@example.org"))
        tx.link_identity(Identity(provider="op", external_id="alice", user_id="u1"))
        tx.put_remote_account(RemoteAccount(user_id="u1", provider="op"))
        tx.put_remote_token(
            RemoteToken(user_id="u1", provider="op", token_type="access", ciphertext=b"c")
        )
    assert signup.count == 4
    assert store.statement_count == before + 4
    assert signup.statements[0].startswith(f"INSERT INTO {store.table_prefix}users")
    assert "ON CONFLICT" in signup.statements[2]
    with store.count_statements() as login, store.transaction() as tx:
        identity = tx.get_identity("op", "alice")
        assert identity is not None
        assert tx.get_user(identity.user_id) is not None
    assert login.count == 2
    assert all(s.startswith("SELECT") for s in login.statements)
    with store.count_statements() as disconnect, store.transaction() as tx:
        tx.delete_remote_account("u1", "op")
    assert disconnect.count == 2  # the tokens, then the account
    assert store.statement_count == before + 8


def test_the_schema_check_of_first_use_is_not_counted(make: object) -> None:
    store = make()  # type: ignore[operator]
    with store.count_statements() as counted, store.transaction() as tx:
        tx.get_user("u1")
    assert counted.count == 1


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Authkit_", "1abc_", "a-b_", "a b", "x" * 31, None])
def test_a_bad_table_prefix_is_refused(prefix: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidSettingError) as info:
        SQLAccountsStore(f"sqlite:///{tmp_path / 'a.db'}", table_prefix=prefix)  # type: ignore[arg-type]
    assert info.value.key == "SQLAccountsStore.table_prefix"
    assert info.value.code == "config.invalid_value"


def test_an_empty_table_prefix_is_allowed(tmp_path: Path) -> None:
    store = SQLAccountsStore.sqlite(tmp_path / "a.db", table_prefix="")
    try:
        with store.transaction() as tx:
            tx.create_user(User(id="u1"))
        assert sa.inspect(store.engine).has_table("users")
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    ["not a url", "sqlite://", "sqlite:///:memory:", "mssql+pyodbc://u@127.0.0.1/db"],
)
def test_a_bad_or_unsupported_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        SQLAccountsStore(url)
    assert info.value.key == "SQLAccountsStore.url_or_engine"


def test_an_engine_of_another_database_is_refused() -> None:
    engine = sa.create_engine(
        "mysql+pymysql://u@127.0.0.1/db", module=SimpleNamespace(paramstyle="pyformat")
    )
    with pytest.raises(InvalidSettingError) as info:
        SQLAccountsStore(engine)
    assert "mysql" in info.value.message


@pytest.mark.parametrize("path", [":memory:", ""])
def test_sqlite_needs_a_file(path: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        SQLAccountsStore.sqlite(path)
    assert info.value.key == "SQLAccountsStore.sqlite.path"


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SQLAccountsStore.sqlite(tmp_path / "a.db")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


@pytest.mark.services
def test_a_bare_postgresql_url_uses_psycopg_3(postgres_url: str) -> None:
    bare = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    store = SQLAccountsStore(bare, table_prefix=_prefix())
    try:
        assert store.engine.url.drivername == "postgresql+psycopg"
        with store.transaction() as tx:
            tx.create_user(User(id="u1"))
    finally:
        store.drop_schema()
        store.close()


@pytest.mark.services
def test_an_engine_of_the_application_is_used_and_left_open(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    store = SQLAccountsStore(engine, table_prefix=_prefix())
    try:
        with store.transaction() as tx:
            tx.create_user(User(id="u1"))
        store.close()  # not the store's engine: it stays usable
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        store.drop_schema()
        engine.dispose()


def test_the_repr_hides_the_password() -> None:
    store = SQLAccountsStore("postgresql+psycopg://user:s3cret@127.0.0.1:5432/db")
    assert "s3cret" not in repr(store)
    assert "127.0.0.1" in repr(store)


# --- failures -------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgresql_is_store_unavailable() -> None:
    store = SQLAccountsStore(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test")
    with pytest.raises(StoreUnavailableError) as info, store.transaction():
        pass
    assert info.value.code == "store.unavailable"
    assert info.value.status_hint == 503
    with pytest.raises(StoreUnavailableError):
        store.create_schema()


def test_an_unopenable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    store = SQLAccountsStore.sqlite(tmp_path / "missing-directory" / "accounts.db")
    with pytest.raises(StoreUnavailableError) as info, store.transaction():
        pass
    assert "unable to open" in info.value.message


@pytest.mark.services
def test_a_connection_lost_mid_transaction_is_unavailable_and_keeps_nothing(
    postgres_url: str,
) -> None:
    name = f"authkit-test-{uuid.uuid4().hex[:8]}"
    store = SQLAccountsStore(
        postgres_url,
        table_prefix=_prefix(),
        engine_options={"connect_args": {"application_name": name}},
    )
    killer = sa.create_engine(postgres_url)

    def signup_while_the_connection_dies() -> None:
        with store.transaction() as tx:
            tx.create_user(User(id="u1"))
            with killer.begin() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %(name)s",
                    {"name": name},
                )
            tx.link_identity(Identity(provider="op", external_id="x", user_id="u1"))

    try:
        store.create_schema()
        with pytest.raises(StoreUnavailableError):
            signup_while_the_connection_dies()
        with store.transaction() as tx:  # the pool recovers; nothing of the lost one was kept
            assert tx.get_user("u1") is None
    finally:
        store.drop_schema()
        store.close()
        killer.dispose()


# --- optional dependencies ------------------------------------------------------------------------

_WITHOUT_EXTRAS = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sqlalchemy", "redis", "psycopg"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
import authkit.stores
from authkit.stores import MemoryAccountsStore, MemoryStateStore
print("imported")
for name in ("SQLAccountsStore", "RedisStateStore"):
    try:
        getattr(authkit.stores, name)
    except ModuleNotFoundError as exc:
        print(exc.name, str(exc).split(" (")[0])
"""


def test_the_package_imports_without_the_sql_and_redis_extras() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "imported",
        "sqlalchemy authkit.stores.SQLAccountsStore needs the 'sql' extra: "
        "pip install 'authkit[sql]'",
        "redis authkit.stores.RedisStateStore needs the 'redis' extra: "
        "pip install 'authkit[redis]'",
    ]
