"""The account decision of a login: an existing user signs in again, on SQLite and PostgreSQL.

Every sign-in through a provider ends in :meth:`authkit.accounts.AccountFlow.callback`, so its
cost is on the hot path of every login. One *login* here is the whole callback-to-account
decision for a person who already has an account: the OIDC claims become an
:class:`~authkit.accounts.AccountInfo`, the flow finds the identity and the user, syncs the
mask's fields (a Keycloak-style mask with one ``"force"`` field that did not change), checks a
login policy (an e-mail domain allow list), encrypts the new access and refresh tokens with
Fernet and stores them, and checks the remote account — all in one transaction.

Contenders, per database:

- ``authkit``: the flow described above, on :class:`~authkit.stores.SQLAccountsStore`;
- ``bare``: the least an application does on the same tables and connection pool — one
  ``SELECT`` of the user joined through the identity and one ``UPDATE`` of the access token,
  stored in the clear, in one transaction, with no policy, no sync and no encryption.

The in-memory store runs too, to show the cost of the flow without a database.

Each round times every contender over the same number of logins (order rotated, garbage
collector off); best and median per-login times are reported, the ratio uses the best. The
number of SQL statements one login makes is counted with
:meth:`SQLAccountsStore.count_statements` (``BEGIN``/``COMMIT`` excluded).

Run: ``python benchmarks/bench_accounts.py`` (``--quick`` for a smoke run; ``--postgres URL``,
default ``$AUTHKIT_TEST_POSTGRES`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _timing import measure  # benchmarks/_timing.py, beside this script

DEFAULT_POSTGRES = os.environ.get(
    "AUTHKIT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

CLAIMS = {
    "sub": "f3b1c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
    "email": "jane.doe@example.org",
    "email_verified": True,
    "name": "Jane Doe",
    "given_name": "Jane",
    "family_name": "Doe",
    "preferred_username": "jdoe",
    "groups": ["staff", "readers"],
}


def _reachable(url: str) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1.0):
            return True
    except OSError:
        return False


def build(store: Any) -> tuple[Callable[[], Any], Callable[[], Any] | None]:
    """The authkit login and the bare login (SQL stores only) on ``store``."""
    import sqlalchemy as sa

    from authkit.accounts import (
        AccountFlow,
        AccountInfo,
        EmailDomainPolicy,
        Registered,
        SignedIn,
        TokenCipher,
    )
    from authkit.config import RemoteApp
    from authkit.oauth import TokenSet
    from authkit.stores import MemoryStateStore, SQLAccountsStore

    app = RemoteApp(
        name="keycloak",
        title="Institute",
        protocol="oidc",
        precedence_mask={
            "email": True,
            "profile": {"username": False, "full_name": "force"},
        },
    )
    flow = AccountFlow(
        accounts=store,
        state=MemoryStateStore(),
        providers=[app],
        cipher=TokenCipher([TokenCipher.generate_key()]),
        login_policies=[EmailDomainPolicy(allow=["example.org"])],
    )
    first = flow.callback(
        "keycloak",
        AccountInfo.from_claims(CLAIMS, provider="keycloak"),
        tokens=TokenSet(access_token="at-0", refresh_token="rt-0", expires_at=2e9),
    )
    if not isinstance(first, Registered):
        raise SystemExit(f"setup failed: {first!r}")
    counter = [0]

    def login() -> Any:
        counter[0] += 1
        outcome = flow.callback(
            "keycloak",
            AccountInfo.from_claims(CLAIMS, provider="keycloak"),
            tokens=TokenSet(
                access_token=f"at-{counter[0]}", refresh_token=f"rt-{counter[0]}", expires_at=2e9
            ),
        )
        if not isinstance(outcome, SignedIn):
            raise SystemExit(f"unexpected outcome: {outcome!r}")
        return outcome

    if not isinstance(store, SQLAccountsStore):
        return login, None

    prefix = store.table_prefix
    identities = sa.table(
        f"{prefix}identities", sa.column("provider"), sa.column("external_id"), sa.column("user_id")
    )
    users = sa.table(f"{prefix}users", sa.column("id"), sa.column("email"), sa.column("username"))
    remote_tokens = sa.table(
        f"{prefix}remote_tokens",
        sa.column("user_id"),
        sa.column("provider"),
        sa.column("token_type"),
        sa.column("ciphertext"),
    )
    select = (
        sa.select(users.c.id, users.c.email, users.c.username)
        .select_from(identities.join(users, users.c.id == identities.c.user_id))
        .where(identities.c.provider == sa.bindparam("provider"))
        .where(identities.c.external_id == sa.bindparam("external_id"))
    )
    update = (
        sa.update(remote_tokens)
        .where(remote_tokens.c.user_id == sa.bindparam("user"))
        .where(remote_tokens.c.provider == sa.bindparam("p"))
        .where(remote_tokens.c.token_type == "access")
        .values(ciphertext=sa.bindparam("value"))
    )
    engine = store.engine

    def bare() -> Any:
        counter[0] += 1
        with engine.begin() as conn:
            row = (
                conn.execute(select, {"provider": "keycloak", "external_id": CLAIMS["sub"]})
                .mappings()
                .one()
            )
            conn.execute(
                update,
                {"value": f"at-{counter[0]}".encode(), "user": row["id"], "p": "keycloak"},
            )
        return row

    return login, bare


def statements_per_login(store: Any, login: Callable[[], Any]) -> int | None:
    from authkit.stores import SQLAccountsStore

    if not isinstance(store, SQLAccountsStore):
        return None
    with store.count_statements() as counted:
        login()
    return counted.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few logins, for tests")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7; quick 2)")
    parser.add_argument("--calls", type=int, default=None, help="logins per round (300; 20)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 7)
    calls = args.calls or (20 if args.quick else 300)

    from authkit.stores import MemoryAccountsStore, SQLAccountsStore

    folder = tempfile.mkdtemp(prefix="authkit-bench-")
    stores: list[tuple[str, Any]] = [
        ("memory", MemoryAccountsStore()),
        ("sqlite", SQLAccountsStore.sqlite(Path(folder) / "accounts.db")),
    ]
    pg: SQLAccountsStore | None = None
    if _reachable(args.postgres):
        pg = SQLAccountsStore(args.postgres, table_prefix=f"bench{uuid.uuid4().hex[:8]}_")
        pg.create_schema()
        stores.append(("postgresql", pg))

    print(f"accounts: existing user signs in again; {rounds} rounds x {calls} logins")
    print(f"{'store':<11} {'contender':<9} {'best':>10} {'median':>10} {'statements':>11}")
    try:
        for name, store in stores:
            login, bare = build(store)
            contenders: dict[str, Callable[[], Any]] = {"authkit": login}
            if bare is not None:
                contenders["bare"] = bare
            times = measure(contenders, rounds, calls)
            best = {k: min(v) for k, v in times.items()}
            median = {k: statistics.median(v) for k, v in times.items()}
            count = statements_per_login(store, login)
            for contender in contenders:
                shown = "-" if count is None else str(count if contender == "authkit" else 2)
                print(
                    f"{name:<11} {contender:<9} {best[contender] * 1e6:>8.0f}us "
                    f"{median[contender] * 1e6:>8.0f}us {shown:>11}"
                )
            if bare is not None:
                print(f"ratio authkit/bare {name}: {best['authkit'] / best['bare']:.1f}")
        if pg is None:
            print(f"postgresql: not reachable at {args.postgres}, skipped")
    finally:
        if pg is not None:
            pg.drop_schema()
        for _, store in stores:
            if isinstance(store, SQLAccountsStore):
                store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
