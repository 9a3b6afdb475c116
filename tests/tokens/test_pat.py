"""Personal access tokens against the real accounts stores: memory, SQLite, PostgreSQL.

Every failure reason is provoked by sending the bad input and checking the error's class and
code; time moves with the ``clock`` fixture, never by sleeping.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from authkit.errors import (
    ConflictError,
    InvalidSettingError,
    RequestError,
    VerificationError,
)
from authkit.stores import AccountsStore, AccountsTransaction, MemoryAccountsStore, User
from authkit.tokens import (
    OPAL_TOKEN_SCOPES,
    PersonalAccessTokenPolicy,
    PersonalAccessTokens,
    _pat,
)
from authkit.tokens._format import TokenFormat

DAY = 86_400.0


class CountingStore:
    """A real store that counts the transactions opened through it."""

    def __init__(self, inner: AccountsStore) -> None:
        self.inner = inner
        self.transactions = 0

    def transaction(self) -> AbstractContextManager[AccountsTransaction]:
        self.transactions += 1
        return self.inner.transaction()


def _nothing() -> None:
    pass


def _sql_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[AccountsStore, Callable[[], None]]:
    from authkit.stores import SQLAccountsStore

    if kind == "sqlite":
        sqlite = SQLAccountsStore.sqlite(tmp_path / "accounts.db")
        return sqlite, sqlite.close
    url = request.getfixturevalue("postgres_url")
    postgres = SQLAccountsStore(url, table_prefix=f"pat{uuid.uuid4().hex[:12]}_")

    def drop() -> None:
        postgres.drop_schema()
        postgres.close()

    return postgres, drop


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingStore]:
    """The real stores: memory, SQLite in a file, PostgreSQL (own tables, dropped after)."""
    inner: AccountsStore
    if request.param == "memory":
        inner, cleanup = MemoryAccountsStore(), _nothing
    else:
        inner, cleanup = _sql_store(request.param, request, tmp_path)
    try:
        with inner.transaction() as tx:
            tx.create_user(User(id="alice", email="alice@example.org"))
            tx.create_user(User(id="bob", email="bob@example.org"))
        yield CountingStore(inner)
    finally:
        cleanup()


@pytest.fixture
def make(store: CountingStore, clock: Any) -> Callable[..., PersonalAccessTokens]:
    def build(**options: Any) -> PersonalAccessTokens:
        return PersonalAccessTokens(store, clock=clock, **options)

    return build


@pytest.fixture
def tokens(make: Callable[..., PersonalAccessTokens]) -> PersonalAccessTokens:
    return make()


def _records(store: CountingStore, user_id: str = "alice") -> list[Any]:
    with store.inner.transaction() as tx:
        return tx.pats_of(user_id)


def _record(store: CountingStore, lookup_id: str) -> Any:
    with store.inner.transaction() as tx:
        return tx.get_pat(lookup_id)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _verify_error(tokens: PersonalAccessTokens, token: object, **kw: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        tokens.verify(token, **kw)  # type: ignore[arg-type]
    return info.value


# --- create and verify ---------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_stores_only_a_hash(
    tokens: PersonalAccessTokens, store: CountingStore, clock: Any
) -> None:
    created = tokens.create("alice", "  laptop   backup ", scopes=["read", "write"])

    assert TokenFormat("ak_").pattern.fullmatch(created.secret)
    assert created.secret.startswith(f"ak_pat_{created.token.id}_")
    assert created.secret not in repr(created)
    assert created.token.name == "laptop backup"
    assert created.token.scopes == ("read", "write")
    assert created.token.created_at == clock.now
    assert created.token.status == "active"

    (record,) = _records(store)
    secret_part = created.secret.rsplit("_", 1)[1]
    assert record.lookup_id == created.token.id
    assert len(record.secret_hash) == 32
    assert secret_part.encode() not in record.secret_hash
    assert secret_part not in repr(record)
    assert all(secret_part not in str(v) for v in attrs.asdict(record).values())

    principal = tokens.verify(created.secret, required_scopes=["read"])
    assert principal.user_id == "alice"
    assert principal.token_id == created.token.id
    assert principal.name == "laptop backup"
    assert principal.scopes == {"read", "write"}
    assert principal.projects is None
    assert principal.has_scope("write")
    assert not principal.has_scope("admin")
    assert principal.allows_project("anything")


def test_each_token_is_different(tokens: PersonalAccessTokens) -> None:
    first = tokens.create("alice", "one")
    second = tokens.create("alice", "two")
    assert first.secret != second.secret
    assert first.token.id != second.token.id
    assert tokens.verify(second.secret).token_id == second.token.id


def test_a_token_in_text_is_found_by_the_pattern(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "ci")
    log = f'curl -H "Authorization: Bearer {created.secret}" https://example.org\n'
    assert tokens.pattern.findall(log) == [created.secret]
    assert tokens.pattern.findall("xak_pat_" + created.secret[7:]) == []


def test_surrounding_whitespace_is_ignored(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "ci")
    assert tokens.verify(created.secret + "\n").user_id == "alice"


def test_last_used_is_recorded_at_most_once_per_touch_interval(
    make: Callable[..., PersonalAccessTokens], store: CountingStore, clock: Any
) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(touch_interval=60))
    created = tokens.create("alice", "ci")
    assert _record(store, created.token.id).last_used_at is None

    tokens.verify(created.secret)
    first_use = clock.now
    assert _as_utc(_record(store, created.token.id).last_used_at) == first_use

    clock.advance(59)
    tokens.verify(created.secret)
    assert _as_utc(_record(store, created.token.id).last_used_at) == first_use

    clock.advance(1)
    tokens.verify(created.secret)
    assert _as_utc(_record(store, created.token.id).last_used_at) == clock.now
    assert tokens.tokens_of("alice")[0].last_used_at == clock.now


def test_touch_interval_zero_writes_on_every_use(
    make: Callable[..., PersonalAccessTokens], store: CountingStore, clock: Any
) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(touch_interval=0))
    created = tokens.create("alice", "ci")
    tokens.verify(created.secret)
    clock.advance(0.5)
    tokens.verify(created.secret)
    assert _as_utc(_record(store, created.token.id).last_used_at) == clock.now


# --- every reason a verification fails ---------------------------------------------------------


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "ak_pat_",
        "not a token at all",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "ak_pat_0123456789abcdef_0123456789abcdef0123456789abcdef01234",  # one short
        "ak_pat_0123456789abcdef_0123456789abcdef0123456789abcdef0123456",  # one long
        "ak_pat_0123456789abcdef-0123456789abcdef0123456789abcdef012345",
        "ak_pat_0123456789abcde!_0123456789abcdef0123456789abcdef012345",
        "AK_PAT_0123456789abcdef_0123456789abcdef0123456789abcdef012345",
        "ak_pat_" + "a" * 10_000,
        None,
        b"ak_pat_0123456789abcdef_0123456789abcdef0123456789abcdef012345",
        42,
    ],
)
def test_malformed_tokens_are_refused_without_touching_the_store(
    tokens: PersonalAccessTokens, store: CountingStore, presented: object
) -> None:
    before = store.transactions
    error = _verify_error(tokens, presented)
    assert error.code == "pat.malformed"
    assert store.transactions == before
    if isinstance(presented, str) and len(presented) > len("ak_pat_"):
        assert presented not in error.message  # never echoes the input


def test_another_sites_prefix_is_malformed(
    make: Callable[..., PersonalAccessTokens],
) -> None:
    ours = make()
    theirs = make(prefix="opal_")
    created = theirs.create("alice", "r")
    assert created.secret.startswith("opal_pat_")
    assert theirs.verify(created.secret).user_id == "alice"
    assert _verify_error(ours, created.secret).code == "pat.malformed"


def test_a_mistyped_token_fails_its_checksum_without_touching_the_store(
    tokens: PersonalAccessTokens, store: CountingStore
) -> None:
    created = tokens.create("alice", "ci")
    secret = created.secret

    def swap(position: int) -> str:
        replacement = "A" if secret[position] != "A" else "B"
        return secret[:position] + replacement + secret[position + 1 :]

    before = store.transactions
    for position in (10, 30, len(secret) - 1):  # in the id, the secret, the checksum
        assert _verify_error(tokens, swap(position)).code == "pat.checksum_invalid"
    start = len("ak_pat_") + 17  # two neighbours in the secret, transposed
    neighbours = next(i for i in range(start, start + 31) if secret[i] != secret[i + 1])
    transposed = (
        secret[:neighbours] + secret[neighbours + 1] + secret[neighbours] + secret[neighbours + 2 :]
    )
    assert _verify_error(tokens, transposed).code == "pat.checksum_invalid"
    assert store.transactions == before


def test_an_unknown_token_is_unknown(tokens: PersonalAccessTokens) -> None:
    made_up = TokenFormat("ak_").format(TokenFormat.new_lookup_id(), TokenFormat.new_secret())
    error = _verify_error(tokens, made_up)
    assert error.code == "pat.unknown"
    assert error.status_hint == 401


def test_a_wrong_secret_for_a_known_id_is_unknown_too(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "ci")
    forged = TokenFormat("ak_").format(created.token.id, TokenFormat.new_secret())
    assert _verify_error(tokens, forged).code == "pat.unknown"


def test_revoked(tokens: PersonalAccessTokens, clock: Any) -> None:
    created = tokens.create("alice", "ci")
    tokens.revoke(created.token.id, user_id="alice")
    error = _verify_error(tokens, created.secret)
    assert error.code == "pat.revoked"


def test_expired_at_its_expiry_time(tokens: PersonalAccessTokens, clock: Any) -> None:
    created = tokens.create("alice", "ci", expires_in=timedelta(days=30))
    assert created.token.expires_at == clock.now + timedelta(days=30)
    clock.advance(30 * DAY - 1)
    assert tokens.verify(created.secret).user_id == "alice"
    clock.advance(1)
    assert _verify_error(tokens, created.secret).code == "pat.expired"


def test_inactive_when_unused_longer_than_its_inactivity_period(
    tokens: PersonalAccessTokens, clock: Any
) -> None:
    created = tokens.create("alice", "ci", inactivity=timedelta(days=7))
    assert created.token.inactive_at == clock.now + timedelta(days=7)
    clock.advance(7 * DAY - 1)
    tokens.verify(created.secret)  # a use restarts the period
    clock.advance(7 * DAY - 1)
    tokens.verify(created.secret)
    clock.advance(7 * DAY)
    assert _verify_error(tokens, created.secret).code == "pat.inactive"
    assert tokens.tokens_of("alice")[0].status == "inactive"


def test_failures_after_the_secret_only_show_once_it_is_proven(
    tokens: PersonalAccessTokens, clock: Any
) -> None:
    revoked = tokens.create("alice", "revoked")
    tokens.revoke(revoked.token.id, user_id="alice")
    expired = tokens.create("alice", "expired", expires_in=60)
    clock.advance(61)
    for created in (revoked, expired):
        forged = TokenFormat("ak_").format(created.token.id, TokenFormat.new_secret())
        assert _verify_error(tokens, forged).code == "pat.unknown"


def test_a_disabled_owner_makes_the_token_fail(
    tokens: PersonalAccessTokens, store: CountingStore
) -> None:
    created = tokens.create("alice", "ci")
    with store.inner.transaction() as tx:
        alice = tx.get_user("alice")
        assert alice is not None
        tx.update_user(attrs.evolve(alice, active=False))
    assert _verify_error(tokens, created.secret).code == "pat.user_inactive"


def test_missing_scopes_are_named(tokens: PersonalAccessTokens, store: CountingStore) -> None:
    created = tokens.create("alice", "ci", scopes="read")
    error = _verify_error(tokens, created.secret, required_scopes=["read", "write", "admin"])
    assert error.code == "pat.scope_missing"
    assert "admin, write" in error.message
    assert _verify_error(tokens, created.secret, required_scopes="read write").code == (
        "pat.scope_missing"
    )
    assert tokens.verify(created.secret, required_scopes="read").scopes == {"read"}


def test_a_failed_verification_writes_nothing(
    tokens: PersonalAccessTokens, store: CountingStore
) -> None:
    created = tokens.create("alice", "ci", scopes=["read"])
    _verify_error(tokens, created.secret, required_scopes=["write"])
    assert _record(store, created.token.id).last_used_at is None


def test_required_scopes_must_be_names(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "ci")
    with pytest.raises(InvalidSettingError) as info:
        tokens.verify(created.secret, required_scopes=[None])  # type: ignore[list-item]
    assert info.value.key == "PersonalAccessTokens.verify.required_scopes"


def test_project_restriction(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "cnsim", scopes=["useR"], projects=["CNSIM", "DASIM"])
    assert created.token.projects == frozenset({"CNSIM", "DASIM"})
    assert created.token.scopes == ("useR",)
    principal = tokens.verify(created.secret, project="CNSIM")
    assert principal.projects == frozenset({"CNSIM", "DASIM"})
    assert principal.scopes == {"useR"}
    assert not principal.allows_project("OTHER")
    error = _verify_error(tokens, created.secret, project="OTHER")
    assert error.code == "pat.project_not_allowed"
    assert "OTHER" not in error.message

    everywhere = tokens.create("alice", "all projects")
    assert tokens.verify(everywhere.secret, project="OTHER").projects is None


# --- the compare happens whatever the lookup found -----------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.digests = 0
        self.compares = 0


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    digest, compare = _pat._digest, hmac.compare_digest

    def counting_digest(key: bytes, lookup_id: str, secret: str) -> bytes:
        counter.digests += 1
        return digest(key, lookup_id, secret)

    def counting_compare(a: bytes, b: bytes) -> bool:
        counter.compares += 1
        return compare(a, b)

    monkeypatch.setattr(_pat, "_digest", counting_digest)
    monkeypatch.setattr(_pat, "compare_digest", counting_compare)
    return counter


@pytest.mark.parametrize("old_peppers", [0, 2])
def test_every_verification_hashes_and_compares_the_same_number_of_times(
    make: Callable[..., PersonalAccessTokens], counted: Counter, old_peppers: int
) -> None:
    tokens = make(
        pepper=secrets.token_bytes(32),
        previous_peppers=[secrets.token_bytes(32) for _ in range(old_peppers)],
    )
    created = tokens.create("alice", "ci")
    fmt = TokenFormat("ak_")
    presented = {
        "unknown id": fmt.format(fmt.new_lookup_id(), fmt.new_secret()),
        "wrong secret": fmt.format(created.token.id, fmt.new_secret()),
        "right secret": created.secret,
    }
    work = {}
    for case, token in presented.items():
        counted.digests = counted.compares = 0
        if case == "right secret":
            assert tokens.verify(token).token_id == created.token.id
        else:
            assert _verify_error(tokens, token).code == "pat.unknown"
        work[case] = (counted.digests, counted.compares)
    assert set(work.values()) == {(1 + old_peppers, 1 + old_peppers)}


def test_malformed_tokens_are_not_hashed(tokens: PersonalAccessTokens, counted: Counter) -> None:
    _verify_error(tokens, "ak_pat_nope")
    assert (counted.digests, counted.compares) == (0, 0)


# --- peppers -------------------------------------------------------------------------------------


def test_a_pepper_is_needed_to_verify_a_peppered_token(
    make: Callable[..., PersonalAccessTokens],
) -> None:
    pepper = secrets.token_bytes(32)
    created = make(pepper=pepper).create("alice", "ci")
    assert make(pepper=pepper).verify(created.secret).user_id == "alice"
    assert _verify_error(make(), created.secret).code == "pat.unknown"
    assert _verify_error(make(pepper=secrets.token_bytes(32)), created.secret).code == (
        "pat.unknown"
    )


def test_rotating_the_pepper_rehashes_tokens_as_they_are_used(
    make: Callable[..., PersonalAccessTokens], store: CountingStore
) -> None:
    created = make().create("alice", "from before the pepper")
    old_hash = _record(store, created.token.id).secret_hash
    new = secrets.token_bytes(32)

    assert make(pepper=new, previous_peppers=[None]).verify(created.secret).user_id == "alice"
    assert _record(store, created.token.id).secret_hash != old_hash
    # the old key is no longer needed for this token
    assert make(pepper=new).verify(created.secret).user_id == "alice"
    assert _verify_error(make(), created.secret).code == "pat.unknown"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("pepper", b"short"),
        ("pepper", "a string, not bytes, of more than 32 characters"),
        ("previous_peppers", [b"x" * 31]),
        ("prefix", "AK_"),
        ("prefix", "ak"),
        ("prefix", "a-k_"),
        ("prefix", ""),
        ("prefix", "averyveryverylongprefix_"),
        ("policy", {"max_lifetime": 30}),
        ("store", {"not": "a store"}),
        ("clock", 1_800_000_000.0),
    ],
)
def test_bad_service_settings_are_refused(
    store: CountingStore, clock: Any, option: str, value: object
) -> None:
    options: dict[str, Any] = {"store": store, "clock": clock, option: value}
    with pytest.raises(InvalidSettingError) as info:
        PersonalAccessTokens(**options)
    assert info.value.code == "config.invalid_value"
    assert info.value.key is not None
    assert info.value.key.startswith(f"PersonalAccessTokens.{option}")


# --- create: validation ------------------------------------------------------------------------


def _create_error(
    tokens: PersonalAccessTokens, error: type[Exception], *args: Any, **kw: Any
) -> Any:
    with pytest.raises(error) as info:
        tokens.create(*args, **kw)
    return info.value


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 101, "tab\x00name", "bell\x07"])
def test_invalid_names(tokens: PersonalAccessTokens, store: CountingStore, name: object) -> None:
    error = _create_error(tokens, RequestError, "alice", name)
    assert error.code == "pat.name_invalid"
    assert _records(store) == []


def test_names_are_unique_per_user_among_usable_tokens(
    tokens: PersonalAccessTokens, store: CountingStore, clock: Any
) -> None:
    first = tokens.create("alice", "Backup")
    error = _create_error(tokens, ConflictError, "alice", "backup")
    assert (error.code, error.what, error.status_hint) == ("pat.name_taken", "name", 409)
    assert len(_records(store)) == 1
    assert tokens.create("bob", "backup").token.user_id == "bob"  # per user

    tokens.revoke(first.token.id, user_id="alice")
    again = tokens.create("alice", "backup", expires_in=60)
    clock.advance(60)
    status = {t.id: t.status for t in tokens.tokens_of("alice")}
    assert status == {first.token.id: "revoked", again.token.id: "expired"}
    third = tokens.create("alice", "BACKUP")
    assert {t.id for t in tokens.tokens_of("alice")} == {
        first.token.id,
        again.token.id,
        third.token.id,
    }


def test_an_inactive_token_still_holds_its_name(tokens: PersonalAccessTokens, clock: Any) -> None:
    tokens.create("alice", "ci", inactivity=60)
    clock.advance(120)
    assert _create_error(tokens, ConflictError, "alice", "ci").code == "pat.name_taken"


@pytest.mark.parametrize(
    ("scopes", "code"),
    [
        (["read", "has space"], "pat.scope_invalid"),
        (["@project:x"], "pat.scope_invalid"),
        ([""], "pat.scope_invalid"),
        ([42], "pat.scope_invalid"),
        (42, "pat.scope_invalid"),
        (["useR", "launchMissiles"], "pat.scope_not_allowed"),
    ],
)
def test_invalid_scopes(
    make: Callable[..., PersonalAccessTokens], store: CountingStore, scopes: Any, code: str
) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(allowed_scopes=OPAL_TOKEN_SCOPES))
    error = _create_error(tokens, RequestError, "alice", "ci", scopes=scopes)
    assert error.code == code
    assert _records(store) == []


def test_allowed_scopes_are_accepted(make: Callable[..., PersonalAccessTokens]) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(allowed_scopes=OPAL_TOKEN_SCOPES))
    created = tokens.create("alice", "r", scopes=["useR", "access:READ", "command:export", "useR"])
    assert created.token.scopes == ("access:READ", "command:export", "useR")


@pytest.mark.parametrize("projects", [[], ["has space"], ["@x"], [None], 42])
def test_invalid_projects(
    tokens: PersonalAccessTokens, store: CountingStore, projects: Any
) -> None:
    error = _create_error(tokens, RequestError, "alice", "ci", projects=projects)
    assert error.code == "pat.project_invalid"
    assert _records(store) == []


def test_invalid_expiries(tokens: PersonalAccessTokens, store: CountingStore, clock: Any) -> None:
    cases: list[dict[str, Any]] = [
        {"expires_in": 0},
        {"expires_in": -5},
        {"expires_in": "tomorrow"},
        {"expires_in": True},
        {"expires_in": float("inf")},
        {"expires_in": float("nan")},
        {"expires_in": 1e20},
        {"expires_in": timedelta.max},
        {"expires_in": timedelta(days=36_526)},
        {"expires_at": datetime.max.replace(tzinfo=UTC)},
        {"expires_at": clock.now},
        {"expires_at": clock.now - timedelta(days=1)},
        {"expires_at": clock.now.replace(tzinfo=None) + timedelta(days=1)},
        {"expires_at": "2030-01-01"},
        {"expires_at": clock.now + timedelta(days=1), "expires_in": 60},
    ]
    for case in cases:
        assert _create_error(tokens, RequestError, "alice", "ci", **case).code == (
            "pat.expiry_invalid"
        ), case
    assert _records(store) == []


def test_expires_at_is_kept(tokens: PersonalAccessTokens, clock: Any) -> None:
    when = (clock.now + timedelta(days=90)).astimezone(timezone(timedelta(hours=2)))
    created = tokens.create("alice", "ci", expires_at=when)
    assert created.token.expires_at == when
    assert tokens.tokens_of("alice")[0].expires_at == when


def test_max_lifetime(
    make: Callable[..., PersonalAccessTokens], store: CountingStore, clock: Any
) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(max_lifetime=timedelta(days=90)))
    for case in (
        {"expires_in": None},
        {"expires_in": timedelta(days=91)},
        {"expires_at": clock.now + timedelta(days=90, seconds=1)},
        {},
    ):
        error = _create_error(tokens, RequestError, "alice", "ci", **case)
        assert error.code == "pat.lifetime_too_long", case
    assert _records(store) == []
    assert tokens.create("alice", "ci", expires_in=90 * DAY).token.expires_at == (
        clock.now + timedelta(days=90)
    )


def test_policy_defaults_apply_when_not_given(
    make: Callable[..., PersonalAccessTokens], clock: Any
) -> None:
    tokens = make(
        policy=PersonalAccessTokenPolicy(
            default_lifetime=timedelta(days=30), default_inactivity=timedelta(days=7)
        )
    )
    default = tokens.create("alice", "default")
    assert default.token.expires_at == clock.now + timedelta(days=30)
    assert default.token.inactivity == timedelta(days=7)
    explicit = tokens.create("alice", "explicit", expires_in=None, inactivity=None)
    assert explicit.token.expires_at is None
    assert explicit.token.inactivity is None
    assert explicit.token.inactive_at is None


def test_inactivity_limits(make: Callable[..., PersonalAccessTokens], store: CountingStore) -> None:
    tokens = make(policy=PersonalAccessTokenPolicy(max_inactivity=timedelta(days=30)))
    for value, code in (
        (None, "pat.inactivity_too_long"),
        (timedelta(days=31), "pat.inactivity_too_long"),
        (0, "pat.inactivity_invalid"),
        (-1, "pat.inactivity_invalid"),
        ("a week", "pat.inactivity_invalid"),
    ):
        error = _create_error(tokens, RequestError, "alice", "ci", inactivity=value)
        assert error.code == code, value
    unlimited = make()
    huge: tuple[Any, ...] = (timedelta.max, float("inf"), 1e20, timedelta(days=36_526))
    for value in huge:
        error = _create_error(unlimited, RequestError, "alice", "ci", inactivity=value)
        assert error.code == "pat.inactivity_invalid", value
    error = _create_error(tokens, RequestError, "alice", "ci")  # no default to fall back on
    assert error.code == "pat.inactivity_too_long"
    assert _records(store) == []
    assert tokens.create("alice", "ci", inactivity=30 * DAY).token.inactivity == timedelta(days=30)


def test_the_owner_must_exist_and_be_active(
    tokens: PersonalAccessTokens, store: CountingStore
) -> None:
    assert _create_error(tokens, RequestError, "nobody", "ci").code == "pat.user_unknown"
    with store.inner.transaction() as tx:
        bob = tx.get_user("bob")
        assert bob is not None
        tx.update_user(attrs.evolve(bob, active=False))
    assert _create_error(tokens, RequestError, "bob", "ci").code == "pat.user_inactive"
    assert _records(store, "bob") == []
    assert _records(store, "nobody") == []


def test_a_lookup_id_collision_draws_again(
    tokens: PersonalAccessTokens, store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tokens.create("alice", "first")
    drawn = iter([existing.token.id, existing.token.id, "Fresh0000000000x"])
    monkeypatch.setattr(TokenFormat, "new_lookup_id", staticmethod(lambda: next(drawn)))
    second = tokens.create("alice", "second")
    assert second.token.id == "Fresh0000000000x"
    assert tokens.verify(second.secret).name == "second"
    assert tokens.verify(existing.secret).name == "first"


def test_endless_collisions_give_up_with_a_conflict(
    tokens: PersonalAccessTokens, store: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tokens.create("alice", "first")
    monkeypatch.setattr(TokenFormat, "new_lookup_id", staticmethod(lambda: existing.token.id))
    error = _create_error(tokens, ConflictError, "alice", "second")
    assert error.what == "pat"
    assert [r.name for r in _records(store)] == ["first"]


# --- list, get, revoke, renew --------------------------------------------------------------------


def test_list_shows_everything_but_the_secret(tokens: PersonalAccessTokens, clock: Any) -> None:
    first = tokens.create("alice", "first", scopes=["read"], inactivity=DAY)
    clock.advance(10)
    second = tokens.create("alice", "second", projects=["CNSIM"], expires_in=DAY)
    clock.advance(10)
    revoked = tokens.create("alice", "third")
    tokens.revoke(revoked.token.id, user_id="alice")
    tokens.create("bob", "not alice's")

    listed = tokens.tokens_of("alice")
    assert [t.name for t in listed] == ["first", "second", "third"]
    assert [t.status for t in listed] == ["active", "active", "revoked"]
    assert listed[0].inactive_at == first.token.created_at + timedelta(days=1)  # type: ignore[operator]
    assert listed[1].projects == frozenset({"CNSIM"})
    assert listed[2].revoked_at == clock.now
    document = json.dumps([t.to_dict() for t in listed])
    for created in (first, second, revoked):
        assert created.secret not in document
        assert created.secret.rsplit("_", 1)[1] not in repr(listed)
    assert json.loads(document)[1]["projects"] == ["CNSIM"]
    assert json.loads(document)[0]["inactivity"] == DAY
    assert tokens.tokens_of("nobody") == []


def test_get_is_for_the_owner_or_an_admin(tokens: PersonalAccessTokens) -> None:
    created = tokens.create("alice", "ci")
    assert tokens.get(created.token.id, user_id="alice").name == "ci"
    assert tokens.get(created.token.id, user_id="bob", admin=True).name == "ci"
    for token_id, user in ((created.token.id, "bob"), ("unknown", "alice")):
        with pytest.raises(RequestError) as info:
            tokens.get(token_id, user_id=user)
        assert info.value.code == "pat.not_found"


def test_revoke_is_idempotent_and_for_the_owner_or_an_admin(
    tokens: PersonalAccessTokens, clock: Any
) -> None:
    created = tokens.create("alice", "ci")
    with pytest.raises(RequestError) as info:
        tokens.revoke(created.token.id, user_id="bob")
    assert info.value.code == "pat.not_found"
    assert tokens.verify(created.secret).user_id == "alice"  # still works

    revoked_at = clock.now
    assert tokens.revoke(created.token.id, user_id="alice").revoked_at == revoked_at
    clock.advance(100)
    again = tokens.revoke(created.token.id, user_id="alice")
    assert again.revoked_at == revoked_at
    assert again.status == "revoked"

    other = tokens.create("bob", "ci")
    assert tokens.revoke(other.token.id, user_id="alice", admin=True).status == "revoked"
    assert _verify_error(tokens, other.secret).code == "pat.revoked"

    with pytest.raises(RequestError) as unknown:
        tokens.revoke("0123456789abcdef", user_id="alice")
    assert unknown.value.code == "pat.not_found"


def test_renew_restarts_the_inactivity_period(tokens: PersonalAccessTokens, clock: Any) -> None:
    created = tokens.create("alice", "ci", inactivity=DAY, expires_in=10 * DAY)
    clock.advance(2 * DAY)
    assert _verify_error(tokens, created.secret).code == "pat.inactive"
    renewed = tokens.renew(created.token.id, user_id="alice")
    assert renewed.status == "active"
    assert renewed.inactive_at == clock.now + timedelta(days=1)
    assert tokens.verify(created.secret).user_id == "alice"

    clock.advance(8 * DAY)
    with pytest.raises(RequestError) as expired:
        tokens.renew(created.token.id, user_id="alice")
    assert expired.value.code == "pat.expired"

    other = tokens.create("alice", "other")
    tokens.revoke(other.token.id, user_id="alice")
    with pytest.raises(RequestError) as revoked:
        tokens.renew(other.token.id, user_id="alice")
    assert revoked.value.code == "pat.revoked"
    with pytest.raises(RequestError) as foreign:
        tokens.renew(created.token.id, user_id="bob")
    assert foreign.value.code == "pat.not_found"


# --- policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"max_lifetime": 0}, "max_lifetime"),
        ({"max_lifetime": -1}, "max_lifetime"),
        ({"default_lifetime": "30 days"}, "default_lifetime"),
        ({"default_inactivity": timedelta(0)}, "default_inactivity"),
        ({"touch_interval": -1}, "touch_interval"),
        ({"touch_interval": None}, "touch_interval"),
        ({"max_lifetime": float("inf")}, "max_lifetime"),
        ({"max_inactivity": timedelta.max}, "max_inactivity"),
        ({"allowed_scopes": "useR"}, "allowed_scopes"),
        ({"allowed_scopes": ["has space"]}, "allowed_scopes"),
        ({"allowed_scopes": 42}, "allowed_scopes"),
        ({"default_lifetime": 91 * DAY, "max_lifetime": 90 * DAY}, "default_lifetime"),
        ({"default_inactivity": 31 * DAY, "max_inactivity": 30 * DAY}, "default_inactivity"),
    ],
)
def test_bad_policies_are_refused(options: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        PersonalAccessTokenPolicy(**options)
    assert info.value.key == f"PersonalAccessTokenPolicy.{key}"


def test_policy_accepts_seconds_and_collections() -> None:
    policy = PersonalAccessTokenPolicy(
        allowed_scopes=["read", "write"], max_lifetime=3600, touch_interval=0
    )
    assert policy.allowed_scopes == frozenset({"read", "write"})
    assert policy.max_lifetime == timedelta(hours=1)
    assert policy.touch_interval == timedelta(0)


# --- concurrency ---------------------------------------------------------------------------------


class PausingStore:
    """A real store whose next ``get_pat`` (in the thread that arms it) pauses after reading."""

    def __init__(self, inner: AccountsStore) -> None:
        self.inner = inner
        self.armed: int | None = None
        self.read_done = threading.Event()
        self.go = threading.Event()

    @contextmanager
    def transaction(self) -> Iterator[AccountsTransaction]:
        with self.inner.transaction() as tx:
            if self.armed == threading.get_ident():
                self.armed = None
                yield _PausingTransaction(tx, self)
            else:
                yield tx


class _PausingTransaction:
    def __init__(self, tx: AccountsTransaction, owner: PausingStore) -> None:
        self._tx = tx
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def get_pat(self, lookup_id: str) -> Any:
        record = self._tx.get_pat(lookup_id)
        self._owner.read_done.set()
        assert self._owner.go.wait(30)
        return record


def test_a_revocation_during_a_verification_is_not_lost(
    store: CountingStore, clock: Any, request: pytest.FixtureRequest
) -> None:
    """verify() reads, a revoke commits, verify() records the use: the token stays revoked."""
    pausing = PausingStore(store.inner)
    tokens = PersonalAccessTokens(pausing, clock=clock)
    created = tokens.create("alice", "ci")
    outcome: dict[str, Any] = {}

    def verify() -> None:
        pausing.armed = threading.get_ident()
        outcome["principal"] = tokens.verify(created.secret)

    def revoke() -> None:
        outcome["revoked"] = tokens.revoke(created.token.id, user_id="alice")

    verifier = threading.Thread(target=verify)
    verifier.start()
    assert pausing.read_done.wait(30)
    revoker = threading.Thread(target=revoke)
    revoker.start()
    revoker.join(0.5)  # a store that locks the row makes the revoke wait for the verification
    pausing.go.set()
    verifier.join(30)
    revoker.join(30)

    assert outcome["principal"].user_id == "alice"  # it was valid when it was read
    assert outcome["revoked"].status == "revoked"
    assert _verify_error(tokens, created.secret).code == "pat.revoked"
