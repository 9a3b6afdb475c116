"""The accounts store contract: one suite, run against every implementation.

Memory, SQLite (a file under tmp_path) and PostgreSQL (a table prefix of its own per test,
dropped afterwards, so parallel and earlier runs never collide) must behave identically.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from authkit.errors import ConflictError, StoreError
from authkit.stores import (
    AccountsStore,
    Identity,
    MemoryAccountsStore,
    PersonalAccessTokenRecord,
    RemoteAccount,
    RemoteToken,
    SQLAccountsStore,
    User,
)

T0 = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
CEST = timezone(timedelta(hours=2))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccountsStore]:
    if request.param == "memory":
        yield MemoryAccountsStore()
        return
    if request.param == "sqlite":
        sql = SQLAccountsStore.sqlite(tmp_path / "accounts.db")
    else:
        url = request.getfixturevalue("postgres_url")
        sql = SQLAccountsStore(url, table_prefix=f"t{uuid.uuid4().hex[:12]}_")
    try:
        yield sql
    finally:
        sql.drop_schema()
        sql.close()


def _user(user_id: str = "u1", **fields: object) -> User:
    return User(id=user_id, **fields)  # type: ignore[arg-type]


def _seed(store: AccountsStore, *users: User) -> None:
    with store.transaction() as tx:
        for user in users:
            tx.create_user(user)


def _conflict(store: AccountsStore, action: object) -> ConflictError:
    with pytest.raises(ConflictError) as info, store.transaction() as tx:
        action(tx)  # type: ignore[operator]
    assert info.value.code == "store.conflict"
    return info.value


def _store_error(store: AccountsStore, action: object) -> StoreError:
    with pytest.raises(StoreError) as info, store.transaction() as tx:
        action(tx)  # type: ignore[operator]
    return info.value


# --- users ----------------------------------------------------------------------------------------


def test_a_user_round_trips_with_every_field(store: AccountsStore) -> None:
    user = User(
        id="u1",
        email="Ada.Lovelace@Example.org",
        email_verified=True,
        username="Ada",
        active=False,
        has_password=True,
        profile={"full_name": "Ada Lovelace", "affiliations": ["CERN", "ünï"], "n": {"x": 1.5}},
        prefs={"visibility": "restricted", "notify": False, "none": None},
        created_at=T0,
        confirmed_at=T0 + timedelta(minutes=5),
    )
    with store.transaction() as tx:
        assert tx.create_user(user) == user
        assert tx.get_user("u1") == user  # visible inside its own transaction
    with store.transaction() as tx:
        assert tx.get_user("u1") == user
        assert tx.get_user("nobody") is None


def test_datetimes_come_back_aware_and_in_utc(store: AccountsStore) -> None:
    local = datetime(2026, 1, 15, 14, 30, 0, 500, tzinfo=CEST)
    _seed(store, _user(created_at=local))
    with store.transaction() as tx:
        created = tx.get_user("u1").created_at  # type: ignore[union-attr]
    assert created == local
    assert created is not None
    assert created.utcoffset() == timedelta(0)
    assert created.hour == 12
    assert created.microsecond == 500


def test_a_naive_datetime_is_refused_before_it_reaches_a_store() -> None:
    with pytest.raises(StoreError) as info:
        User(id="u1", created_at=datetime(2026, 1, 15, 12, 0))
    assert info.value.code == "store.naive_datetime"
    with pytest.raises(StoreError) as token:
        RemoteToken(
            user_id="u1",
            provider="op",
            token_type="access",
            ciphertext=b"x",
            expires_at=datetime(2026, 1, 15),
        )
    assert token.value.code == "store.naive_datetime"


def test_users_are_found_by_email_and_username_whatever_the_case(store: AccountsStore) -> None:
    _seed(store, _user(email="Ada@Example.ORG", username="AdaL"), _user("u2", email="bob@x.org"))
    with store.transaction() as tx:
        assert tx.find_user_by_email("ada@example.org").id == "u1"  # type: ignore[union-attr]
        assert tx.find_user_by_email("ADA@EXAMPLE.ORG").id == "u1"  # type: ignore[union-attr]
        assert tx.find_user_by_username("adal").id == "u1"  # type: ignore[union-attr]
        assert tx.find_user_by_username("ADAL").email == "Ada@Example.ORG"  # type: ignore[union-attr]
        assert tx.find_user_by_email("nobody@example.org") is None
        assert tx.find_user_by_username("nobody") is None


def test_duplicate_user_id_email_and_username_conflict(store: AccountsStore) -> None:
    _seed(store, _user(email="ada@example.org", username="ada"))
    same_id = _conflict(store, lambda tx: tx.create_user(_user("u1")))
    assert same_id.what == "user"
    email = _conflict(store, lambda tx: tx.create_user(_user("u2", email="ADA@example.org")))
    assert email.what == "email"
    username = _conflict(store, lambda tx: tx.create_user(_user("u3", username="Ada")))
    assert username.what == "username"
    with store.transaction() as tx:
        assert [tx.get_user(u) for u in ("u2", "u3")] == [None, None]


def test_users_without_email_or_username_do_not_collide(store: AccountsStore) -> None:
    _seed(store, _user("u1"), _user("u2"), _user("u3", email="a@x.org"))
    with store.transaction() as tx:
        assert all(tx.get_user(u) is not None for u in ("u1", "u2", "u3"))


def test_update_user_replaces_the_user_and_its_lookups(store: AccountsStore) -> None:
    _seed(store, _user(email="old@example.org", username="old", profile={"a": 1}))
    new = _user(
        email="New@Example.org",
        username="New",
        email_verified=True,
        profile={"b": [2]},
        confirmed_at=T0,
    )
    with store.transaction() as tx:
        assert tx.update_user(new) == new
    with store.transaction() as tx:
        assert tx.get_user("u1") == new
        assert tx.find_user_by_email("old@example.org") is None
        assert tx.find_user_by_username("old") is None
        assert tx.find_user_by_email("new@example.org") == new
        # changing only the case of one's own address is not a conflict
        tx.update_user(_user(email="NEW@example.org", username="new"))
    with store.transaction() as tx:
        assert tx.get_user("u1").email == "NEW@example.org"  # type: ignore[union-attr]


def test_update_user_conflicts_and_missing_users(store: AccountsStore) -> None:
    _seed(store, _user("u1", email="a@x.org", username="a"), _user("u2", email="b@x.org"))
    email = _conflict(store, lambda tx: tx.update_user(_user("u2", email="A@X.org")))
    assert email.what == "email"
    username = _conflict(store, lambda tx: tx.update_user(_user("u2", username="A")))
    assert username.what == "username"
    missing = _store_error(store, lambda tx: tx.update_user(_user("nobody")))
    assert missing.code == "store.not_found"
    with store.transaction() as tx:
        assert tx.get_user("u2") == _user("u2", email="b@x.org")
        assert tx.get_user("nobody") is None


@pytest.mark.parametrize(
    "write",
    [
        lambda tx: tx.create_user(User(id="u2", profile={"when": T0})),
        lambda tx: tx.create_user(User(id="u2", prefs={"tags": {"a"}})),
        lambda tx: tx.update_user(User(id="u1", profile={"x": float("nan")})),
        lambda tx: tx.put_remote_account(
            RemoteAccount(user_id="u1", provider="op", extra_data={"raw": b"bytes"})
        ),
    ],
    ids=["profile-datetime", "prefs-set", "profile-nan", "extra-data-bytes"],
)
def test_json_fields_must_hold_json_data(store: AccountsStore, write: object) -> None:
    _seed(store, _user("u1", profile={"kept": True}))
    assert _store_error(store, write).code == "store.invalid_value"
    with store.transaction() as tx:
        assert tx.get_user("u2") is None
        assert tx.get_user("u1") == _user("u1", profile={"kept": True})
        assert tx.get_remote_account("u1", "op") is None


# --- identities -----------------------------------------------------------------------------------


def test_identities_link_list_and_unlink(store: AccountsStore) -> None:
    _seed(store, _user("u1"), _user("u2"))
    orcid = Identity(provider="orcid", external_id="0000-0001", user_id="u1", created_at=T0)
    github = Identity(provider="github", external_id="42", user_id="u1")
    other = Identity(provider="github", external_id="7", user_id="u2")
    with store.transaction() as tx:
        assert tx.link_identity(orcid) == orcid
        tx.link_identity(github)
        tx.link_identity(other)
    with store.transaction() as tx:
        assert tx.get_identity("orcid", "0000-0001") == orcid
        assert tx.get_identity("orcid", "0000-0002") is None
        assert tx.get_identity("github", "0000-0001") is None
        assert tx.identities_of("u1") == [github, orcid]  # sorted by (provider, external_id)
        assert tx.identities_of("nobody") == []
        assert tx.unlink_identity("github", "42") is True
        assert tx.unlink_identity("github", "42") is False
    with store.transaction() as tx:
        assert tx.identities_of("u1") == [orcid]
        assert tx.identities_of("u2") == [other]


def test_an_identity_links_to_one_user_only(store: AccountsStore) -> None:
    _seed(store, _user("u1"), _user("u2"))
    with store.transaction() as tx:
        tx.link_identity(Identity(provider="op", external_id="alice", user_id="u1"))
    taken = _conflict(
        store,
        lambda tx: tx.link_identity(Identity(provider="op", external_id="alice", user_id="u2")),
    )
    assert taken.what == "identity"
    with store.transaction() as tx:
        assert tx.get_identity("op", "alice").user_id == "u1"  # type: ignore[union-attr]
        assert tx.identities_of("u2") == []


def test_external_ids_are_case_sensitive(store: AccountsStore) -> None:
    _seed(store, _user("u1"), _user("u2"))
    with store.transaction() as tx:
        tx.link_identity(Identity(provider="op", external_id="Alice", user_id="u1"))
        tx.link_identity(Identity(provider="op", external_id="alice", user_id="u2"))
    with store.transaction() as tx:
        assert tx.get_identity("op", "Alice").user_id == "u1"  # type: ignore[union-attr]
        assert tx.get_identity("op", "alice").user_id == "u2"  # type: ignore[union-attr]


def test_rows_of_a_missing_user_are_refused(store: AccountsStore) -> None:
    writes = [
        lambda tx: tx.link_identity(Identity(provider="op", external_id="x", user_id="ghost")),
        lambda tx: tx.put_remote_account(RemoteAccount(user_id="ghost", provider="op")),
        lambda tx: tx.put_remote_token(
            RemoteToken(user_id="ghost", provider="op", token_type="access", ciphertext=b"c")
        ),
        lambda tx: tx.create_pat(
            PersonalAccessTokenRecord(lookup_id="p", user_id="ghost", name="n", secret_hash=b"h")
        ),
    ]
    for write in writes:
        assert _store_error(store, write).code == "store.not_found"
    with store.transaction() as tx:
        assert tx.get_identity("op", "x") is None
        assert tx.get_remote_account("ghost", "op") is None
        assert tx.get_pat("p") is None


# --- remote accounts and tokens -------------------------------------------------------------------


def test_remote_accounts_are_upserted_and_deleted_with_their_tokens(store: AccountsStore) -> None:
    _seed(store, _user("u1"))
    first = RemoteAccount(user_id="u1", provider="orcid", extra_data={"orcid": "0000-0001"})
    second = RemoteAccount(user_id="u1", provider="orcid", extra_data={"orcid": "x", "n": [1]})
    with store.transaction() as tx:
        assert tx.get_remote_account("u1", "orcid") is None
        assert tx.put_remote_account(first) == first
        tx.put_remote_account(second)
        tx.put_remote_account(RemoteAccount(user_id="u1", provider="github"))
        for kind in ("access", "refresh"):
            tx.put_remote_token(
                RemoteToken(user_id="u1", provider="orcid", token_type=kind, ciphertext=b"c")
            )
        tx.put_remote_token(
            RemoteToken(user_id="u1", provider="github", token_type="access", ciphertext=b"g")
        )
    with store.transaction() as tx:
        assert tx.get_remote_account("u1", "orcid") == second
        assert tx.get_remote_account("u1", "github") == RemoteAccount(
            user_id="u1", provider="github"
        )
        tx.delete_remote_account("u1", "orcid")
        tx.delete_remote_account("u1", "never-linked")  # absent: nothing to do
    with store.transaction() as tx:
        assert tx.get_remote_account("u1", "orcid") is None
        assert tx.remote_tokens_of("u1", "orcid") == []
        assert [t.ciphertext for t in tx.remote_tokens_of("u1", "github")] == [b"g"]


def test_remote_tokens_keep_bytes_and_expiry_and_are_replaced(store: AccountsStore) -> None:
    _seed(store, _user("u1"))
    cipher = bytes(range(256))  # every byte value, NUL and invalid UTF-8 included
    access = RemoteToken(
        user_id="u1", provider="op", token_type="access", ciphertext=cipher, expires_at=T0
    )
    refresh = RemoteToken(user_id="u1", provider="op", token_type="refresh", ciphertext=b"\x00r")
    with store.transaction() as tx:
        tx.put_remote_token(refresh)
        tx.put_remote_token(access)
    with store.transaction() as tx:
        assert tx.get_remote_token("u1", "op", "access") == access
        assert tx.get_remote_token("u1", "op", "id") is None
        assert tx.remote_tokens_of("u1", "op") == [access, refresh]  # sorted by token_type
        assert tx.remote_tokens_of("u1", "other") == []
        rotated = RemoteToken(
            user_id="u1",
            provider="op",
            token_type="access",
            ciphertext=b"new",
            expires_at=T0 + timedelta(hours=1),
        )
        tx.put_remote_token(rotated)
    with store.transaction() as tx:
        assert tx.get_remote_token("u1", "op", "access") == rotated


# --- personal access tokens -----------------------------------------------------------------------


def _pat(lookup_id: str = "p1", user_id: str = "u1", **fields: object) -> PersonalAccessTokenRecord:
    return PersonalAccessTokenRecord(
        lookup_id=lookup_id,
        user_id=user_id,
        name=f"token {lookup_id}",
        secret_hash=b"\x00\xff" + lookup_id.encode(),
        **fields,  # type: ignore[arg-type]
    )


def test_personal_access_tokens_round_trip_list_and_update(store: AccountsStore) -> None:
    _seed(store, _user("u1"), _user("u2"))
    full = _pat(
        "p2",
        scopes=["deposit:write", "user:read"],
        created_at=T0,
        expires_at=T0 + timedelta(days=30),
        inactivity_seconds=86400.5,
    )
    with store.transaction() as tx:
        tx.create_pat(full)
        tx.create_pat(_pat("p1"))
        tx.create_pat(_pat("p3", user_id="u2"))
    with store.transaction() as tx:
        got = tx.get_pat("p2")
        assert got == full
        assert got is not None
        assert got.scopes == ("deposit:write", "user:read")
        assert tx.get_pat("nope") is None
        assert [p.lookup_id for p in tx.pats_of("u1")] == ["p1", "p2"]
        assert tx.pats_of("nobody") == []
        used = _pat(
            "p2",
            scopes=("deposit:write",),
            created_at=T0,
            last_used_at=T0 + timedelta(hours=1),
            revoked_at=T0 + timedelta(hours=2),
        )
        tx.update_pat(used)
    with store.transaction() as tx:
        assert tx.get_pat("p2") == used


def test_personal_access_token_conflicts_and_missing_records(store: AccountsStore) -> None:
    _seed(store, _user("u1"))
    with store.transaction() as tx:
        tx.create_pat(_pat("p1"))
    assert _conflict(store, lambda tx: tx.create_pat(_pat("p1"))).what == "pat"
    missing = _store_error(store, lambda tx: tx.update_pat(_pat("nope")))
    assert missing.code == "store.not_found"
    with store.transaction() as tx:
        assert tx.get_pat("nope") is None
        assert tx.get_pat("p1") == _pat("p1")


# --- transactions ---------------------------------------------------------------------------------


def test_an_exception_rolls_back_everything_the_transaction_wrote(store: AccountsStore) -> None:
    _seed(store, _user("u0", email="kept@example.org"))

    def signup() -> None:
        with store.transaction() as tx:
            tx.create_user(_user("u1", email="ada@example.org", username="ada"))
            tx.link_identity(Identity(provider="op", external_id="alice", user_id="u1"))
            tx.put_remote_account(RemoteAccount(user_id="u1", provider="op"))
            tx.put_remote_token(
                RemoteToken(user_id="u1", provider="op", token_type="access", ciphertext=b"c")
            )
            tx.create_pat(_pat("p1"))
            tx.update_user(_user("u0", email="changed@example.org"))
            raise RuntimeError("the last step failed")

    with pytest.raises(RuntimeError, match="last step"):
        signup()
    with store.transaction() as tx:
        assert tx.get_user("u1") is None
        assert tx.find_user_by_email("ada@example.org") is None
        assert tx.get_identity("op", "alice") is None
        assert tx.get_remote_account("u1", "op") is None
        assert tx.get_remote_token("u1", "op", "access") is None
        assert tx.get_pat("p1") is None
        assert tx.get_user("u0") == _user("u0", email="kept@example.org")
    # the failed names are free again
    _seed(store, _user("u1", email="ada@example.org", username="ada"))


def test_a_conflict_ends_the_transaction_even_when_caught(store: AccountsStore) -> None:
    _seed(store, _user("u0"))
    with store.transaction() as tx:
        tx.link_identity(Identity(provider="op", external_id="alice", user_id="u0"))
    with store.transaction() as tx:
        tx.create_user(_user("u1"))
        with pytest.raises(ConflictError):
            tx.link_identity(Identity(provider="op", external_id="alice", user_id="u1"))
        with pytest.raises(StoreError) as after:
            tx.get_user("u0")
        assert after.value.code == "store.transaction_aborted"
    # the block ended without an exception, yet nothing of it was kept
    with store.transaction() as tx:
        assert tx.get_user("u1") is None


def test_a_transaction_cannot_be_used_after_its_block(store: AccountsStore) -> None:
    with store.transaction() as tx:
        tx.create_user(_user("u1"))
    with pytest.raises(StoreError) as info:
        tx.get_user("u1")
    assert info.value.code == "store.transaction_aborted"


def test_a_store_satisfies_the_protocol(store: AccountsStore) -> None:
    from authkit.stores import AccountsTransaction

    assert isinstance(store, AccountsStore)
    with store.transaction() as tx:
        assert isinstance(tx, AccountsTransaction)
