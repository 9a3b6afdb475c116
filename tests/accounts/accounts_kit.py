"""Helpers shared by the account tests: providers, flows, and store snapshots."""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa

from authkit.accounts import (
    AccountEvent,
    AccountFlow,
    AccountInfo,
    SignupPolicy,
    TokenCipher,
)
from authkit.config import RemoteApp, SignupOptions
from authkit.oauth import TokenSet
from authkit.stores import AccountsStore, MemoryAccountsStore, MemoryStateStore, SQLAccountsStore

KEY = TokenCipher.generate_key()

KEYCLOAK = RemoteApp(
    name="keycloak",
    title="Institute",
    protocol="oidc",
    kind="keycloak",
    precedence_mask={"email": True, "profile": {"username": False, "full_name": False}},
    signup_options=SignupOptions(auto_confirm=True, send_register_msg=False),
)
ORCID = RemoteApp(
    name="orcid",
    title="ORCID",
    kind="orcid",
    precedence_mask={"email": False},
    signup_options=SignupOptions(auto_confirm=False, send_register_msg=True),
)
GITHUB = RemoteApp(
    name="github", title="GitHub", kind="github", username_claim="preferred_username"
)
SOCIAL = RemoteApp(name="social", title="Social", protocol="oidc")  # does not verify e-mail


def info(provider: str, sub: str, **claims: Any) -> AccountInfo:
    """Account information from OIDC claims."""
    username_claim = claims.pop("_username_claim", "preferred_username")
    return AccountInfo.from_claims(
        {"sub": sub, **claims}, provider=provider, username_claim=username_claim
    )


def jane(**overrides: Any) -> AccountInfo:
    claims: dict[str, Any] = {
        "email": "jane@example.org",
        "email_verified": True,
        "name": "Jane Doe",
        "preferred_username": "jdoe",
    }
    claims.update(overrides)
    return info("keycloak", "kc-jane", **claims)


def tokens(access: str = "access-1", refresh: str | None = "refresh-1") -> TokenSet:
    return TokenSet(access_token=access, refresh_token=refresh, expires_at=1_800_000_000.0)


class Recorder:
    """Collects every event of a flow."""

    def __init__(self, flow: AccountFlow) -> None:
        self.events: list[AccountEvent] = []
        flow.events.subscribe(None, self.events.append)

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def make_flow(
    *,
    store: AccountsStore | None = None,
    state: MemoryStateStore | None = None,
    providers: Any = None,
    clock: Any = None,
    keys: tuple[str, ...] = (KEY,),
    **options: Any,
) -> AccountFlow:
    clock_kwargs = {"clock": clock} if clock is not None else {}
    return AccountFlow(
        accounts=store if store is not None else MemoryAccountsStore(),
        state=state if state is not None else MemoryStateStore(**clock_kwargs),
        providers=providers if providers is not None else [KEYCLOAK, ORCID, GITHUB, SOCIAL],
        cipher=TokenCipher(list(keys)),
        signup=options.pop("signup", SignupPolicy()),
        **clock_kwargs,
        **options,
    )


def snapshot(store: AccountsStore) -> dict[str, list[Any]]:
    """Everything a store holds, comparable with ``==`` (to assert that nothing changed)."""
    if isinstance(store, MemoryAccountsStore):
        data = store._data  # test-only look inside the memory store
        return {
            name: sorted((attrs.asdict(v) for v in getattr(data, name).values()), key=repr)
            for name in ("users", "identities", "remote_accounts", "remote_tokens", "pats")
        }
    assert isinstance(store, SQLAccountsStore)
    result: dict[str, list[Any]] = {}
    with store.engine.connect() as conn:
        for name in ("users", "identities", "remote_accounts", "remote_tokens", "pats"):
            table = sa.table(f"{store.table_prefix}{name}")
            rows = conn.execute(sa.select(sa.text("*")).select_from(table)).mappings().all()
            result[name] = sorted((dict(r) for r in rows), key=repr)
    return result


def count(store: AccountsStore, table: str) -> int:
    return len(snapshot(store)[table])
