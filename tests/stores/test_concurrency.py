"""Races, with real concurrency against the real stores.

- PostgreSQL: N workers, each in its own transaction, create a user and link the same new
  identity (two callbacks for one new account). Exactly one commits; the others get
  ConflictError(what="identity") and leave nothing behind.
- Redis: N workers race to take one state key (a replayed callback): exactly one gets it; and
  race to add one replay-cache key: exactly one wins.
- SQLite: concurrent writers queue on the write lock (BEGIN IMMEDIATE + busy timeout) instead
  of failing with "database is locked".
- Every store: a read-modify-write transaction does not lose a concurrent update (a login that
  syncs the profile does not undo an administrator's deactivation committed meanwhile).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

from authkit.errors import ConflictError
from authkit.stores import (
    AccountsStore,
    Identity,
    MemoryAccountsStore,
    RedisStateStore,
    SQLAccountsStore,
    User,
)

WORKERS = 8
T = TypeVar("T")


def _race(worker: Callable[[int, threading.Barrier], T]) -> list[T | BaseException]:
    """Run ``worker(i, barrier)`` in WORKERS threads; each result or the exception it raised."""
    barrier = threading.Barrier(WORKERS, timeout=30)

    def run(i: int) -> T | BaseException:
        try:
            return worker(i, barrier)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[SQLAccountsStore]:
    store = SQLAccountsStore(
        postgres_url,
        table_prefix=f"t{uuid.uuid4().hex[:12]}_",
        engine_options={"pool_size": WORKERS, "max_overflow": 2},
    )
    store.create_schema()
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()


@pytest.mark.services
def test_postgresql_two_callbacks_for_one_new_identity_make_one_account(
    pg_store: SQLAccountsStore,
) -> None:
    def callback(i: int, barrier: threading.Barrier) -> str:
        with pg_store.transaction() as tx:
            assert tx.get_identity("orcid", "0000-0002-1825-0097") is None  # all see "new"
            tx.create_user(User(id=f"user-{i}", username=f"ada{i}"))
            barrier.wait()  # every worker holds an open transaction with its user written
            tx.link_identity(
                Identity(provider="orcid", external_id="0000-0002-1825-0097", user_id=f"user-{i}")
            )
        return f"user-{i}"

    results = _race(callback)

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1, results
    assert len(losers) == WORKERS - 1
    assert all(isinstance(e, ConflictError) and e.what == "identity" for e in losers), losers
    with pg_store.transaction() as tx:
        identity = tx.get_identity("orcid", "0000-0002-1825-0097")
        assert identity is not None
        assert identity.user_id == winners[0]
        users = [tx.get_user(f"user-{i}") for i in range(WORKERS)]
    assert [u.id for u in users if u is not None] == winners  # the losers' users rolled back
    with pg_store.engine.connect() as conn:
        t = pg_store.table_prefix
        counts = [
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}{name}").scalar()  # noqa: S608
            for name in ("users", "identities")
        ]
    assert counts == [1, 1]


@pytest.mark.services
def test_postgresql_two_signups_with_one_email_make_one_account(
    pg_store: SQLAccountsStore,
) -> None:
    def signup(i: int, barrier: threading.Barrier) -> str:
        barrier.wait()
        with pg_store.transaction() as tx:
            tx.create_user(
                User(id=f"user-{i}", email="Ada@Example.org" if i % 2 else "ada@example.ORG")
            )
            tx.link_identity(Identity(provider="op", external_id=f"sub-{i}", user_id=f"user-{i}"))
        return f"user-{i}"

    results = _race(signup)

    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    assert all(
        isinstance(r, ConflictError) and r.what == "email" for r in results if r not in winners
    )
    with pg_store.transaction() as tx:
        assert [i.external_id for i in tx.identities_of(winners[0])] == [
            winners[0].replace("user-", "sub-")
        ]
        assert tx.find_user_by_email("ADA@EXAMPLE.ORG").id == winners[0]  # type: ignore[union-attr]


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStateStore]:
    store = RedisStateStore.from_url(redis_url, prefix=f"authkit-test:{uuid.uuid4().hex}:")
    try:
        yield store
    finally:
        store.clear()
        store.client.close()


@pytest.mark.services
def test_redis_a_state_is_taken_once_when_workers_race(
    redis_store: RedisStateStore, redis_url: str
) -> None:
    # Each worker has its own client and connections, as separate processes would.
    workers = [
        RedisStateStore.from_url(redis_url, prefix=redis_store.prefix) for _ in range(WORKERS)
    ]
    try:
        for round_ in range(20):
            key = f"state:{round_}"
            redis_store.put(key, {"nonce": f"n-{round_}"}, ttl=60)

            def take(i: int, barrier: threading.Barrier, key: str = key) -> Any:
                barrier.wait()
                return workers[i].take(key)

            results = _race(take)
            assert [r for r in results if r is not None] == [{"nonce": f"n-{round_}"}], results
    finally:
        for worker in workers:
            worker.client.close()


@pytest.mark.services
def test_redis_a_replay_is_recorded_once_when_workers_race(redis_store: RedisStateStore) -> None:
    def add(i: int, barrier: threading.Barrier) -> bool:
        barrier.wait()
        return redis_store.add("replay:assertion-1", {"worker": i}, ttl=60)

    results = _race(add)
    assert results.count(True) == 1, results
    assert results.count(False) == WORKERS - 1
    winner = results.index(True)
    assert redis_store.get("replay:assertion-1") == {"worker": winner}


def test_sqlite_concurrent_writers_wait_for_each_other(tmp_path: Path) -> None:
    store = SQLAccountsStore.sqlite(tmp_path / "accounts.db", busy_timeout=30)
    store.create_schema()

    def signup(i: int, barrier: threading.Barrier) -> str:
        barrier.wait()
        with store.transaction() as tx:
            # read, then write: the pattern that fails with SQLITE_BUSY under a deferred BEGIN
            assert tx.find_user_by_email(f"user{i}@example.org") is None
            tx.create_user(User(id=f"user-{i}", email=f"user{i}@example.org"))
            tx.link_identity(Identity(provider="op", external_id=f"s{i}", user_id=f"user-{i}"))
        return f"user-{i}"

    try:
        results = _race(signup)
        assert results == [f"user-{i}" for i in range(WORKERS)]
        with store.transaction() as tx:
            assert all(tx.get_identity("op", f"s{i}") is not None for i in range(WORKERS))
    finally:
        store.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def accounts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccountsStore]:
    if request.param == "memory":
        yield MemoryAccountsStore()
        return
    if request.param == "sqlite":
        store = SQLAccountsStore.sqlite(tmp_path / "accounts.db")
    else:
        url = request.getfixturevalue("postgres_url")
        store = SQLAccountsStore(url, table_prefix=f"t{uuid.uuid4().hex[:12]}_")
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()


def test_a_read_modify_write_does_not_lose_a_concurrent_update(accounts: AccountsStore) -> None:
    with accounts.transaction() as tx:
        tx.create_user(User(id="u1", profile={"name": "Ada"}))
    read_done, go = threading.Event(), threading.Event()

    def login_sync() -> None:
        with accounts.transaction() as tx:
            user = tx.get_user("u1")
            assert user is not None
            read_done.set()
            assert go.wait(30)
            tx.update_user(attrs.evolve(user, profile={"name": "Ada Lovelace"}))

    def deactivate() -> None:
        with accounts.transaction() as tx:
            user = tx.get_user("u1")
            assert user is not None
            tx.update_user(attrs.evolve(user, active=False))

    syncer = threading.Thread(target=login_sync)
    syncer.start()
    assert read_done.wait(30)
    admin = threading.Thread(target=deactivate)
    admin.start()
    # Without serialisation the deactivation commits now and the sync then overwrites it; a
    # store that serialises makes it wait for the sync instead.
    admin.join(0.5)
    go.set()
    syncer.join(30)
    admin.join(30)
    assert not syncer.is_alive()
    assert not admin.is_alive()
    with accounts.transaction() as tx:
        user = tx.get_user("u1")
    assert user is not None
    assert user.active is False
    assert user.profile == {"name": "Ada Lovelace"}
