"""From provider sign-ins to local accounts: sign-up, registration, confirmation, linking, denial.

Run it: ``python examples/accounts_flow.py``. It starts three real OpenID providers on
127.0.0.1 — an institute (verified e-mail addresses), an ORCID look-alike (no e-mail at all) and
a social login (addresses it does not verify) — signs people in through the whole OAuth flow,
and hands each result to an :class:`authkit.accounts.AccountFlow`:

1. Alice signs in at the institute: her account is created (``Registered``).
2. Josiah signs in with ORCID: no e-mail, so ``RegistrationRequired``; he types one.
3. Alice signs in with the social login, which does not verify e-mail addresses: the flow
   will not link it to her account silently (``ConfirmLinkRequired``); she proves she owns the
   account by signing in at the institute, then the link is confirmed (``Linked``).
4. Alice, signed in, connects her ORCID iD (``Linked``), then disconnects it again: the
   identity is removed and the ORCID tokens are revoked at the provider.
5. Mallory signs in with the social login from a domain the site does not accept (``Denied``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from authkit.accounts import (
    AccountFlow,
    EmailDomainPolicy,
    SignupPolicy,
    TokenCipher,
    account_info_from_sign_in,
)
from authkit.config import RemoteApp, SignupOptions
from authkit.oauth import OAuthClient
from authkit.providers import oauth_client
from authkit.stores import MemoryAccountsStore, MemoryStateStore
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser

SITE = "http://127.0.0.1:8000"


def callback_url(name: str) -> str:
    return f"{SITE}/oauth/authorized/{name}/"


def registration(name: str) -> OIDCClient:
    return OIDCClient(
        client_id="site", client_secret="site-secret", redirect_uris=[callback_url(name)]
    )


def sign_in(client: OAuthClient, session: str) -> Any:
    """What the browser and the callback view do: authorize, come back, complete."""
    redirect = client.authorization_redirect(session_id=session)
    answer = requests.get(redirect.url, allow_redirects=False, timeout=5)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    return client.handle_callback(params, session_id=session)


def main() -> None:
    alice = OIDCUser(
        sub="alice",
        claims={
            "email": "alice@example.org",
            "email_verified": True,
            "name": "Alice Liddell",
            "preferred_username": "alice",
        },
    )
    alice_social = OIDCUser(
        sub="social-alice",
        claims={"email": "alice@example.org", "email_verified": False, "name": "Alice"},
    )
    mallory = OIDCUser(
        sub="social-mallory",
        claims={"email": "mallory@mail.invalid.test", "email_verified": True, "name": "M"},
    )
    josiah = OIDCUser(sub="0000-0002-1825-0097", claims={"name": "Josiah Carberry"})
    alice_orcid = OIDCUser(sub="0000-0001-5109-3700", claims={"name": "Alice Liddell"})

    with (
        OIDCProvider(
            users=[alice], clients=[registration("institute")], auto_login="alice"
        ) as inst,
        OIDCProvider(
            shape="orcid",
            users=[josiah, alice_orcid],
            clients=[registration("orcid")],
            auto_login=josiah.sub,
        ) as orcid_op,
        OIDCProvider(
            users=[alice_social, mallory],
            clients=[registration("social")],
            auto_login="social-alice",
        ) as social_op,
    ):
        institute = RemoteApp(
            name="institute",
            title="Institute",
            protocol="oidc",
            issuer=inst.issuer,
            client_id="site",
            client_secret="site-secret",
            scope="openid email profile",
            precedence_mask={"email": True, "profile": {"username": False, "full_name": "force"}},
        )
        orcid = RemoteApp(
            name="orcid",
            title="ORCID",
            kind="orcid",
            authorize_url=orcid_op.authorize_url,
            token_url=orcid_op.token_url,
            revocation_url=orcid_op.revocation_url,
            client_id="site",
            client_secret="site-secret",
            scope="/authenticate",
            precedence_mask={"email": False},
            signup_options=SignupOptions(auto_confirm=False, send_register_msg=True),
        )
        social = RemoteApp(
            name="social",
            title="Social login",
            protocol="oidc",
            issuer=social_op.issuer,
            client_id="site",
            client_secret="site-secret",
            scope="openid email profile",
        )
        clients = {
            app.name: oauth_client(app, public_url=SITE) for app in (institute, orcid, social)
        }

        flow = AccountFlow(
            accounts=MemoryAccountsStore(),
            state=MemoryStateStore(),
            providers=[institute, orcid, social],
            cipher=TokenCipher([TokenCipher.generate_key()]),
            signup=SignupPolicy(),
            login_policies=[EmailDomainPolicy(allow=["example.org"], providers=["social"])],
        )
        flow.events.subscribe(
            "registered",
            lambda e: print(
                f"  event registered: {e.user.email if e.user else '?'} "
                f"(send e-mail: {e.data['send_register_msg']})"
            ),
        )

        def callback(name: str, session: str, current_user_id: str | None = None) -> Any:
            client = clients[name]
            result = sign_in(client, session)
            info = account_info_from_sign_in(client.app, result, client=client)
            return flow.callback(
                name,
                info,
                tokens=result.tokens,
                current_user_id=current_user_id,
                session_id=session,
            )

        # 1. sign-up
        outcome = callback("institute", "alice-browser")
        alice_id = outcome.user.id
        print(f"1. institute, alice: {outcome.kind} as {outcome.user.username!r}")

        # 2. ORCID gives no e-mail: registration form
        outcome = callback("orcid", "josiah-browser")
        print(
            f"2. orcid, josiah: {outcome.kind}, missing {list(outcome.missing)}, "
            f"prefilled {outcome.prefill}"
        )
        outcome = flow.complete_registration(
            outcome.token, {"email": "josiah@example.org"}, session_id="josiah-browser"
        )
        print(
            f"   completed: {outcome.kind}, confirmation required: {outcome.confirmation_required}"
        )

        # 3. unverified e-mail of an existing account: confirm first
        outcome = callback("social", "alice-browser-2")
        print(f"3. social, alice: {outcome.kind} for the account of {outcome.email}")
        proof = callback("institute", "alice-browser-2")  # she signs in to her account
        linked = flow.confirm_link(
            outcome.token, user_id=proof.user.id, session_id="alice-browser-2"
        )
        print(
            f"   after signing in at the institute: {linked.kind} "
            f"({linked.provider} -> {linked.user.username})"
        )

        # 4. signed in, Alice connects ORCID, then disconnects it
        orcid_op.login_as(alice_orcid.sub)
        outcome = callback("orcid", "alice-browser", current_user_id=alice_id)
        print(f"4. orcid while signed in: {outcome.kind} ({outcome.external_id})")
        access = flow.provider_tokens(alice_id, "orcid").access_token
        gone = flow.disconnect(alice_id, "orcid", revoke=clients["orcid"].revoke)
        print(
            f"   disconnected {list(gone.external_ids)}; revoked: {gone.revoked}, "
            f"token still active at ORCID: {orcid_op.is_token_active(access)}"
        )

        # 5. a domain the site does not accept
        social_op.login_as("social-mallory")
        outcome = callback("social", "mallory-browser")
        print(f"5. social, mallory: {outcome.kind}: {outcome.reason}")


if __name__ == "__main__":
    main()
