"""AccountFlow on the SQL store (SQLite and PostgreSQL): the whole flow, the queries a login
makes, atomicity with a failure injected between the steps of a sign-up, and races between
real threads on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from accounts_kit import ORCID, info, jane, make_flow, snapshot, tokens

from authkit.accounts import (
    ConfirmLinkRequired,
    Linked,
    Registered,
    RegistrationRequired,
    SignedIn,
)
from authkit.config import Hooks
from authkit.errors import AuthkitError, StoreUnavailableError
from authkit.stores import AccountsTransaction, MemoryStateStore, RedisStateStore, SQLAccountsStore

WORKERS = 8


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLAccountsStore]:
    store = SQLAccountsStore.sqlite(tmp_path / "accounts.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[SQLAccountsStore]:
    store = SQLAccountsStore(
        postgres_url,
        table_prefix=f"acc{uuid.uuid4().hex[:10]}_",
        engine_options={"pool_size": WORKERS, "max_overflow": 4},
    )
    store.create_schema()
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()


@pytest.fixture
def redis_state(redis_url: str) -> Iterator[RedisStateStore]:
    state = RedisStateStore.from_url(redis_url, prefix=f"authkit-acc-test:{uuid.uuid4().hex}:")
    try:
        yield state
    finally:
        state.clear()
        state.client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest) -> SQLAccountsStore:
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    store: SQLAccountsStore = request.getfixturevalue(name)
    return store


def test_whole_flow_on_sql(sql_store: SQLAccountsStore) -> None:
    flow = make_flow(store=sql_store)
    signup = flow.callback("keycloak", jane(), tokens=tokens("at-1", "rt-1"))
    assert isinstance(signup, Registered)
    user = signup.user
    again = flow.callback("keycloak", jane(), tokens=tokens("at-2", None))
    assert isinstance(again, SignedIn)
    assert again.user == user  # what the database returns equals what was written
    pending = flow.callback("orcid", info("orcid", "0000-0001", name="J. Doe"))
    assert isinstance(pending, RegistrationRequired)
    confirm = flow.complete_registration(pending.token, {"email": "JANE@example.org"})
    assert isinstance(confirm, ConfirmLinkRequired)
    assert isinstance(flow.confirm_link(confirm.token, user_id=user.id), Linked)
    stored = flow.provider_tokens(user.id, "keycloak")
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("at-2", "rt-1")
    disconnected = flow.disconnect(user.id, "orcid")
    assert disconnected.external_ids == ("0000-0001",)
    data = snapshot(sql_store)
    assert len(data["users"]) == 1
    assert [(r["provider"], r["external_id"]) for r in data["identities"]] == [
        ("keycloak", "kc-jane")
    ]
    assert all(b"at-2" not in bytes(r["ciphertext"]) for r in data["remote_tokens"])


def test_existing_user_login_makes_five_queries(sql_store: SQLAccountsStore) -> None:
    flow = make_flow(store=sql_store)
    assert isinstance(flow.callback("keycloak", jane(), tokens=tokens()), Registered)
    with sql_store.count_statements() as counted:
        outcome = flow.callback("keycloak", jane(), tokens=tokens("at-2", "rt-2"))
    assert isinstance(outcome, SignedIn)
    # identity, user, access token, refresh token, remote account (setup done?)
    assert counted.count == 5, counted.statements
    assert counted.statements[0].lstrip().upper().startswith("SELECT")


# --- atomicity: a failure between any two steps of a sign-up leaves nothing -----------------------


class _FailingTransaction:
    """Passes calls to the real transaction, and fails the ``nth`` call of ``method``."""

    def __init__(self, tx: AccountsTransaction, plan: _FailurePlan) -> None:
        self._tx = tx
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._tx, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._plan.calls.append(name)
            if name == self._plan.method and self._plan.calls.count(name) == self._plan.nth:
                raise StoreUnavailableError("injected: the database went away")
            return real(*args, **kwargs)

        return call


class _FailurePlan:
    def __init__(self, method: str, nth: int) -> None:
        self.method = method
        self.nth = nth
        self.calls: list[str] = []


class FailingStore:
    """The real store, with one operation of a transaction failing."""

    def __init__(self, store: SQLAccountsStore, method: str, nth: int = 1) -> None:
        self.store = store
        self.plan = _FailurePlan(method, nth)

    @contextmanager
    def transaction(self) -> Iterator[AccountsTransaction]:
        with self.store.transaction() as tx:
            yield _FailingTransaction(tx, self.plan)  # type: ignore[misc]


SIGNUP_STEPS = [
    ("create_user", 1),
    ("link_identity", 1),
    ("put_remote_token", 1),
    ("put_remote_token", 2),
    ("get_remote_account", 1),
    ("put_remote_account", 1),
]


@pytest.mark.parametrize(("method", "nth"), SIGNUP_STEPS)
def test_signup_failure_at_any_step_leaves_nothing_on_postgresql(
    pg_store: SQLAccountsStore, method: str, nth: int
) -> None:
    failing = FailingStore(pg_store, method, nth)
    flow = make_flow(store=failing)
    before = snapshot(pg_store)
    with pytest.raises(StoreUnavailableError):
        flow.callback("keycloak", jane(), tokens=tokens())
    assert method in failing.plan.calls  # the step was reached, the ones before it ran
    assert snapshot(pg_store) == before
    assert all(not rows for rows in before.values())
    # and the same sign-up succeeds once the database is back
    assert isinstance(make_flow(store=pg_store).callback("keycloak", jane()), Registered)


@pytest.mark.parametrize(("method", "nth"), SIGNUP_STEPS[:3])
def test_registration_completion_failure_leaves_nothing_and_keeps_the_form(
    pg_store: SQLAccountsStore, method: str, nth: int
) -> None:
    state = MemoryStateStore()
    failing = FailingStore(pg_store, method, nth)
    flow = make_flow(store=failing, state=state)
    pending = flow.callback("orcid", info("orcid", "0000-0003", name="X"), tokens=tokens())
    assert isinstance(pending, RegistrationRequired)
    failing.plan.calls.clear()
    with pytest.raises(StoreUnavailableError):
        flow.complete_registration(pending.token, {"email": "x@example.org"})
    assert all(not rows for rows in snapshot(pg_store).values())
    healthy = make_flow(store=pg_store, state=state)
    done = healthy.complete_registration(pending.token, {"email": "x@example.org"})
    assert isinstance(done, Registered)


def test_failing_setup_hook_on_postgresql_leaves_nothing(pg_store: SQLAccountsStore) -> None:
    def setup(provider: Any, account: Any, resp: Any) -> None:
        raise RuntimeError("boom")

    flow = make_flow(store=pg_store, providers=[ORCID.evolve(hooks=Hooks(setup=setup))])
    pending = flow.callback("orcid", info("orcid", "0000-0004"), tokens=tokens())
    assert isinstance(pending, RegistrationRequired)
    with pytest.raises(AuthkitError) as caught:
        flow.complete_registration(pending.token, {"email": "y@example.org"})
    assert caught.value.code == "accounts.setup_hook_failed"
    assert all(not rows for rows in snapshot(pg_store).values())


# --- races ----------------------------------------------------------------------------------------


class _BarrierStore:
    """Holds every worker's first transaction after its identity lookup until all have looked:
    each sees "new identity" before any commits — the race at its worst."""

    def __init__(self, store: SQLAccountsStore, barrier: threading.Barrier) -> None:
        self.store = store
        self.barrier = barrier
        self.waited: set[int] = set()
        self.lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[AccountsTransaction]:
        with self.store.transaction() as tx:
            yield _BarrierTransaction(tx, self)  # type: ignore[misc]


class _BarrierTransaction:
    def __init__(self, tx: AccountsTransaction, owner: _BarrierStore) -> None:
        self._tx = tx
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def get_identity(self, provider: str, external_id: str) -> Any:
        found = self._tx.get_identity(provider, external_id)
        me = threading.get_ident()
        with self._owner.lock:
            first = me not in self._owner.waited
            self._owner.waited.add(me)
        if first:
            assert found is None
            self._owner.barrier.wait()
        return found


def test_concurrent_callbacks_for_one_new_identity_make_one_account(
    pg_store: SQLAccountsStore,
) -> None:
    barrier = threading.Barrier(WORKERS, timeout=30)
    racing = _BarrierStore(pg_store, barrier)

    def worker(i: int) -> Any:
        flow = make_flow(store=racing)  # one flow per worker, like separate processes
        return flow.callback("keycloak", jane(), tokens=tokens(f"at-{i}"))

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(worker, range(WORKERS)))
    kinds = sorted(type(o).__name__ for o in outcomes)
    assert kinds == ["Registered"] + ["SignedIn"] * (WORKERS - 1), outcomes
    assert len({o.user.id for o in outcomes}) == 1
    data = snapshot(pg_store)
    assert len(data["users"]) == 1
    assert len(data["identities"]) == 1
    assert len(data["remote_accounts"]) == 1


def test_double_submitted_registration_creates_one_account(pg_store: SQLAccountsStore) -> None:
    flow = make_flow(store=pg_store)
    pending = flow.callback("orcid", info("orcid", "0000-0005"))
    assert isinstance(pending, RegistrationRequired)
    start = threading.Barrier(WORKERS, timeout=30)

    def submit(i: int) -> Any:
        start.wait()
        try:
            return flow.complete_registration(pending.token, {"email": "z@example.org"})
        except AuthkitError as exc:  # pending_unknown, or already linked: typed either way
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(submit, range(WORKERS)))
    winners = [r for r in results if isinstance(r, Registered)]
    losers = [r for r in results if isinstance(r, AuthkitError)]
    assert len(winners) == 1
    assert len(losers) == WORKERS - 1
    assert {e.code for e in losers} <= {
        "accounts.pending_unknown",
        "accounts.identity_linked_elsewhere",
    }
    assert len(snapshot(pg_store)["users"]) == 1


def test_workers_share_pending_registrations_through_redis(
    pg_store: SQLAccountsStore, redis_state: RedisStateStore
) -> None:
    """Worker A answers the callback, worker B receives the form: PostgreSQL + Redis."""
    worker_a = make_flow(store=pg_store, state=redis_state)
    worker_b = make_flow(store=pg_store, state=redis_state)
    pending = worker_a.callback("orcid", info("orcid", "0000-0006", name="R"), tokens=tokens())
    assert isinstance(pending, RegistrationRequired)
    assert worker_b.registration(pending.token).missing == ("email",)
    start = threading.Barrier(2, timeout=30)

    def submit(flow: Any) -> Any:
        start.wait()
        try:
            return flow.complete_registration(pending.token, {"email": "r@example.org"})
        except AuthkitError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(submit, [worker_a, worker_b]))
    assert sorted(type(r).__name__ for r in results) in (
        ["ConflictError", "Registered"],
        ["Registered", "RequestError"],
    )
    assert len(snapshot(pg_store)["users"]) == 1
    stored = worker_b.provider_tokens(snapshot(pg_store)["users"][0]["id"], "orcid")
    assert stored is not None
    assert stored.access_token == "access-1"
