"""Keep accounts in SQLite (or PostgreSQL) and short-lived state in memory (or Redis).

Run it: ``python examples/stores.py``. It creates a SQLite accounts database in a temporary
directory, signs a person up (user, identity, remote account and token in one transaction),
signs her in again (two statements), and shows what the store refuses: a second account with
the same e-mail address in another case, an identity already linked to someone else, and a
signup that fails half-way (nothing of it is kept). Then it keeps an OAuth state in a state
store and takes it exactly once.

``--postgres URL`` runs the accounts part on PostgreSQL too (in tables of a unique prefix,
dropped at the end), ``--redis URL`` the state part on Redis (under a unique key prefix, cleared
at the end). Both need ``authkit[sql]`` / ``authkit[redis]``.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from authkit.errors import ConflictError
from authkit.stores import (
    AccountsStore,
    Identity,
    MemoryStateStore,
    RedisStateStore,
    RemoteAccount,
    RemoteToken,
    SQLAccountsStore,
    StateStore,
    User,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ORCID_ID = "0000-0002-1825-0097"


def sign_up(store: AccountsStore) -> None:
    """What a first sign-in through ORCID writes, as one transaction."""
    with store.transaction() as tx:
        tx.create_user(
            User(
                id="ada",
                email="Ada@Example.org",
                email_verified=True,
                username="ada",
                profile={"full_name": "Ada Lovelace"},
                created_at=NOW,
            )
        )
        tx.link_identity(Identity(provider="orcid", external_id=ORCID_ID, user_id="ada"))
        tx.put_remote_account(
            RemoteAccount(user_id="ada", provider="orcid", extra_data={"orcid": ORCID_ID})
        )
        # Provider tokens reach the store already encrypted (authkit.accounts does that).
        tx.put_remote_token(
            RemoteToken(
                user_id="ada", provider="orcid", token_type="access", ciphertext=b"\x80ciphertext"
            )
        )


def show_accounts(name: str, store: SQLAccountsStore) -> None:
    sign_up(store)

    with store.count_statements() as counted, store.transaction() as tx:
        identity = tx.get_identity("orcid", ORCID_ID)
        user = tx.get_user(identity.user_id) if identity else None
    assert user is not None
    print(f"{name}: signed in {user.username} <{user.email}> in {counted.count} statements")

    with store.transaction() as tx:
        found = tx.find_user_by_email("ADA@example.ORG")
    print(f"{name}: e-mail lookup ignores case: {found is not None and found.id == 'ada'}")

    try:
        with store.transaction() as tx:
            tx.create_user(User(id="impostor", email="ada@EXAMPLE.org"))
    except ConflictError as exc:
        print(f"{name}: refused: {exc.code} what={exc.what} ({exc.message})")

    try:
        with store.transaction() as tx:
            tx.create_user(User(id="bob", email="bob@example.org"))
            tx.link_identity(Identity(provider="orcid", external_id=ORCID_ID, user_id="bob"))
    except ConflictError as exc:
        print(f"{name}: refused: {exc.code} what={exc.what} ({exc.message})")

    try:
        with store.transaction() as tx:
            tx.create_user(User(id="carol", email="carol@example.org"))
            tx.link_identity(Identity(provider="github", external_id="1234", user_id="carol"))
            raise RuntimeError("the welcome e-mail could not be queued")
    except RuntimeError as exc:
        print(f"{name}: signup failed half-way: {exc}")

    with store.transaction() as tx:
        left = [u for u in ("bob", "carol") if tx.get_user(u) is not None]
        linked = tx.get_identity("github", "1234")
    print(f"{name}: kept of the refused and failed signups: {left}, identity: {linked}")


def show_state(name: str, store: StateStore) -> None:
    store.put("oauth.state:xyz", {"nonce": "n-0S6_WzA2Mj", "provider": "orcid"}, ttl=600)
    first, second = store.take("oauth.state:xyz"), store.take("oauth.state:xyz")
    print(f"{name}: first take {first}, second take {second}")
    seen = [store.add("saml.replay:_a1b2", {"seen": True}, ttl=300) for _ in range(2)]
    print(f"{name}: replay cache add -> {seen}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL database")
    parser.add_argument("--redis", metavar="URL", help="also run the state store on this Redis")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        sqlite = SQLAccountsStore.sqlite(Path(folder) / "accounts.db")
        try:
            show_accounts("sqlite", sqlite)
            print(f"sqlite: schema version {sqlite.SCHEMA_VERSION}")
        finally:
            sqlite.close()

    if args.postgres:
        postgres = SQLAccountsStore(args.postgres, table_prefix=f"demo_{uuid.uuid4().hex[:8]}_")
        try:
            show_accounts("postgresql", postgres)
        finally:
            postgres.drop_schema()
            postgres.close()

    show_state("memory", MemoryStateStore())
    if args.redis:
        redis_store = RedisStateStore.from_url(args.redis, prefix=f"demo:{uuid.uuid4().hex}:")
        try:
            show_state("redis", redis_store)
        finally:
            redis_store.clear()
            redis_store.client.close()


if __name__ == "__main__":
    main()
