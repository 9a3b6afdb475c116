"""``authkit demo``: complete sign-ins on embedded defaults, against loopback providers.

Everything runs on 127.0.0.1: a real OpenID provider (and GitHub- and ORCID-shaped OAuth
servers) from :mod:`authkit.testing`, and authkit's own client following the real redirects
like a browser would. Each step prints what it verified; the run exits 0 only when every check
passed. The browser demo site (framework adapters, SAML sign-in, accounts) builds on this.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO
from urllib.parse import parse_qs, urlsplit

import requests

from authkit.config import RemoteApp
from authkit.errors import AuthkitError
from authkit.oauth import OAuthClient, SignInResult
from authkit.providers import oauth_client
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser
from authkit.testing._oidc_shapes import Shape
from authkit.transport import RequestsTransport, Timeout

__all__ = ["run_demo"]

SITE = "http://127.0.0.1:8000"
CLIENT_ID = "authkit-demo"
CLIENT_SECRET = "authkit-demo-secret"  # a loopback demo credential, not a secret


class _Checks:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.passed = 0
        self.failed = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"  ✓ {what}", file=self.out)

    def fail(self, what: str) -> None:
        self.failed += 1
        print(f"  ✗ {what}", file=self.out)

    def expect(self, condition: bool, what: str) -> None:
        (self.ok if condition else self.fail)(what)

    def refused(self, action: Callable[[], object], code: str, what: str) -> None:
        try:
            action()
        except AuthkitError as exc:
            self.expect(exc.code == code, f"{what} (refused: {exc.code})")
        else:
            self.fail(f"{what} (it was accepted)")


def _callback_url(name: str) -> str:
    return f"{SITE}/oauth/authorized/{name}/"


@contextmanager
def _provider(name: str, shape: Shape, user: OIDCUser) -> Iterator[OIDCProvider]:
    registration = OIDCClient(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[_callback_url(name)]
    )
    with OIDCProvider(
        users=[user], clients=[registration], shape=shape, auto_login=user.sub
    ) as provider:
        yield provider


def _follow(url: str) -> dict[str, str]:
    """What the browser does: go to the provider, come back with the callback's query."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    location = answer.headers.get("Location", "")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _sign_in(client: OAuthClient, checks: _Checks, session: str) -> SignInResult:
    redirect = client.authorization_redirect(session_id=session, next_url="/account")
    query = parse_qs(urlsplit(redirect.url).query)
    checks.expect(
        query.get("code_challenge_method") == ["S256"] and "state" in query,
        "authorization request carries state and a PKCE S256 challenge",
    )
    callback = _follow(redirect.url)
    checks.expect("code" in callback, "the provider sent the browser back with a code")
    result = client.handle_callback(callback, session_id=session)
    checks.ok("state taken once, code exchanged, tokens received")
    checks.refused(
        lambda: client.handle_callback(callback, session_id=session),
        "oauth.state_reused",
        "the same callback replayed",
    )
    return result


def _oidc(checks: _Checks, out: TextIO) -> None:
    print("OpenID Connect (standard provider, configured by its issuer only)", file=out)
    alice = OIDCUser(
        sub="alice",
        claims={
            "email": "alice@example.org",
            "email_verified": True,
            "name": "Alice Liddell",
            "preferred_username": "alice",
            "groups": ["staff", "readers"],
        },
    )
    with _provider("demo-oidc", "standard", alice) as provider:
        app = RemoteApp(
            name="demo-oidc",
            title="Demo OpenID provider",
            protocol="oidc",
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scope="openid email profile groups",
            timeout=Timeout(connect=2, read=5),
        )
        client = oauth_client(app, public_url=SITE, transport=RequestsTransport(retries=0))
        metadata = client.metadata()
        checks.expect(
            metadata is not None and metadata.issuer == provider.issuer,
            "discovery document fetched; its issuer matches",
        )
        result = _sign_in(client, checks, "browser-1")
        claims = result.id_token_claims
        checks.expect(
            claims.get("iss") == provider.issuer and claims.get("nonce") is not None,
            "ID token validated: signature, iss, aud, exp, iat, nonce, at_hash",
        )
        checks.expect(
            result.userinfo.get("sub") == result.subject == "alice",
            "UserInfo fetched; its sub equals the ID token's",
        )
        print(
            f"    signed in as {result.subject} <{result.userinfo.get('email')}>, "
            f"groups {result.userinfo.get('groups')}, next {result.next_url}",
            file=out,
        )
        with provider.fault("token", "expired"):
            checks.refused(
                lambda: _sign_in(client, _Checks(io.StringIO()), "browser-2"),
                "oidc.expired",
                "an expired ID token",
            )
        with provider.fault("token", "unknown_key"):
            checks.refused(
                lambda: _sign_in(client, _Checks(io.StringIO()), "browser-3"),
                "oidc.unknown_kid",
                "an ID token signed with a key the provider does not publish",
            )
        refresh = result.tokens.refresh_token
        if refresh:
            refreshed = client.refresh(refresh)
            checks.expect(refreshed.access_token != result.tokens.access_token, "tokens refreshed")
            client.revoke(refreshed.access_token)
            checks.expect(
                not provider.is_token_active(refreshed.access_token), "access token revoked"
            )
        else:
            checks.fail("the provider issued no refresh token")
        logout = client.logout_url(id_token_hint=result.tokens.id_token)
        checks.expect(
            bool(logout and logout.startswith(provider.end_session_url)),
            "RP-initiated logout URL built",
        )


def _github(checks: _Checks, out: TextIO) -> None:
    print("GitHub-shaped OAuth 2.0 provider (e-mail from /user/emails)", file=out)
    octo = OIDCUser(
        sub="octocat",
        claims={
            "id": 583231,
            "login": "octocat",
            "name": "The Octocat",
            "email": None,
            "emails": [
                {"email": "octo@example.org", "primary": True, "verified": True},
                {"email": "old@example.org", "primary": False, "verified": False},
            ],
        },
    )
    with _provider("demo-github", "github", octo) as provider:
        app = RemoteApp(
            name="demo-github",
            title="GitHub (demo)",
            kind="github",
            base_url=provider.base_url + "/",
            authorize_url=provider.authorize_url,
            token_url=provider.token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scope="user:email",
        )
        result = _sign_in(oauth_client(app, public_url=SITE), checks, "browser-gh")
        checks.expect(
            result.userinfo.get("email") == "octo@example.org"
            and result.userinfo.get("email_verified") is True,
            "the primary verified e-mail chosen from /user/emails",
        )
        print(f"    signed in as {result.userinfo.get('preferred_username')}", file=out)


def _orcid(checks: _Checks, out: TextIO) -> None:
    print("ORCID-shaped provider (the iD comes with the token response)", file=out)
    josiah = OIDCUser(sub="0000-0002-1825-0097", claims={"name": "Josiah Carberry"})
    with _provider("demo-orcid", "orcid", josiah) as provider:
        app = RemoteApp(
            name="demo-orcid",
            title="ORCID (demo)",
            kind="orcid",
            authorize_url=provider.authorize_url,
            token_url=provider.token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scope="/authenticate",
        )
        result = _sign_in(oauth_client(app, public_url=SITE), checks, "browser-orcid")
        checks.expect(
            result.subject == "0000-0002-1825-0097" and "email" not in result.userinfo,
            "ORCID iD and name read; no e-mail (a signup form will ask for it)",
        )
        print(f"    signed in as {result.userinfo.get('name')} ({result.subject})", file=out)


def run_demo(out: TextIO, *, smoke: bool = False) -> int:
    """Run every demo sign-in; return 0 when all checks passed, 1 otherwise."""
    checks = _Checks(out)
    mode = "smoke test" if smoke else "demo"
    print(f"authkit {mode}: sign-ins against loopback providers on 127.0.0.1\n", file=out)
    for part in (_oidc, _github, _orcid):
        try:
            part(checks, out)
        except AuthkitError as exc:
            checks.fail(f"unexpected error {exc.code}: {exc}")
        print(file=out)
    print(f"{checks.passed} passed, {checks.failed} failed", file=out)
    return 0 if checks.failed == 0 else 1
