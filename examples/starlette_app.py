"""A small Starlette site that signs people in with authkit (OpenID Connect and SAML).

Run it with authkit's loopback test providers (an OpenID provider and a SAML IdP)::

    pip install 'authkit[starlette]' uvicorn
    python examples/starlette_app.py --test-providers --port 8000

then open the URL it prints and sign in as ``alice`` / ``alice-pw`` (OpenID Connect) or ``bob``
/ ``bob-pw`` (SAML). ``--auto-login`` approves sign-ins at the test providers without their
login forms; ``--port 0`` picks a free port. (The test providers always run: ``--test-providers``
is accepted so that every adapter's example starts the same way.)

The home page links to the sign-in page; ``/account`` shows the account id and groups, with a
button that signs out (through SAML single logout after a SAML sign-in); ``/api/me`` is the same
as JSON, or a 401.

The site itself is :func:`create_app`: authkit's middleware in front of three small pages. The
rest of the file only stands up the test providers, as real ones would already exist.
"""

from __future__ import annotations

import argparse
import html
import secrets
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from authkit.accounts import AccountFlow, ProviderSettings, TokenCipher
from authkit.adapters.starlette import AuthkitMiddleware, current_identity, require_identity
from authkit.config import ProviderRegistry, RemoteApp
from authkit.groups import GroupResolver
from authkit.saml import SAMLSettings, ServiceProvider
from authkit.stores import MemoryAccountsStore, MemoryStateStore
from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
)
from authkit.web import AuthRoutes, SAMLProvider, SignedCookieCodec, csrf_token, page

#: Builds the ASGI site from authkit's routes and a session key (this file's, the FastAPI one's).
SiteFactory = Callable[..., Callable[..., Any]]
ALICE = OIDCUser(
    sub="alice",
    password="alice-pw",
    claims={"email": "alice@example.org", "email_verified": True, "name": "Alice Liddell",
            "groups": ["staff", "readers"]},
)  # fmt: skip
BOB = SAMLUser(
    username="bob",
    password="bob-pw",
    attributes={"mail": "bob@example.org", "givenName": "Bob", "sn": "Builder",
                "eduPersonPrincipalName": "bob@example.org", "isMemberOf": ["library"]},
)  # fmt: skip


# --- the site -------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    identity = current_identity(request)
    if identity is None:
        body = '<h1>Welcome</h1><p><a class="button" href="/login/?next=/account">Sign in</a></p>'
    else:
        body = (
            f"<h1>Welcome back</h1><p>Signed in as <code>{html.escape(identity.account_id)}</code>."
            ' <a href="/account">Your account</a></p>'
        )
    return HTMLResponse(page("Example site", body))


async def account(request: Request) -> Response:
    identity = current_identity(request)
    if identity is None:
        return RedirectResponse("/login/?next=/account", status_code=303)
    groups = "".join(f"<li>{html.escape(g)}</li>" for g in sorted(identity.groups))
    token = html.escape(csrf_token(request.scope["authkit"]["session"]))
    body = (
        "<h1>Your account</h1>"
        f'<p>Account id: <code id="account-id">{html.escape(identity.account_id)}</code></p>'
        f"<p>Signed in with: {html.escape(identity.provider or '-')}</p>"
        f'<h2>Groups</h2><ul id="groups">{groups or "<li>none</li>"}</ul>'
        '<form method="post" action="/logout/">'
        f'<input type="hidden" name="csrf_token" value="{token}">'
        '<button type="submit">Sign out</button></form>'
    )
    return HTMLResponse(page("Your account", body))


async def me(request: Request) -> Response:
    identity = require_identity(request)  # 401 when nobody is signed in
    return JSONResponse({"account_id": identity.account_id, "groups": sorted(identity.groups)})


def create_app(routes: AuthRoutes, *, secret_key: str) -> Starlette:
    """The site: authkit's routes (middleware) in front of the home, account and API pages.

    ``secret_key`` signs the session cookie: a long random value kept in the site's settings.
    """
    return Starlette(
        routes=[Route("/", home), Route("/account", account), Route("/api/me", me)],
        middleware=[
            Middleware(AuthkitMiddleware, routes=routes, codec=SignedCookieCodec([secret_key]))
        ],
    )


# --- the providers (real ones would already exist) -----------------------------------------------


def build_routes(public_url: str, oidc: OIDCProvider, idp: SAMLIdentityProvider) -> AuthRoutes:
    """authkit's routes for the site at ``public_url``, signing in with both test providers."""
    oidc.add_client(
        OIDCClient(
            client_id="example-site",
            client_secret="example-site-secret",
            redirect_uris=[f"{public_url}/oauth/authorized/oidc/"],
        )
    )
    app = RemoteApp(
        name="oidc",
        title="the test OpenID provider",
        protocol="oidc",
        issuer=oidc.issuer,
        client_id="example-site",
        client_secret="example-site-secret",
        scope="openid email profile groups",
        groups_claim="groups",
    )
    sp = ServiceProvider(
        SAMLSettings.from_dict(
            {
                "strict": True,
                "sp": {
                    "entityId": f"{public_url}/saml/metadata/idp/",
                    "assertionConsumerService": {"url": f"{public_url}/saml/acs/idp/"},
                    "singleLogoutService": {"url": f"{public_url}/saml/sls/idp/"},
                },
                "idp": idp.idp_settings(),
            }
        )
    )
    idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()), replace=True)
    saml = SAMLProvider(
        name="idp",
        title="the test SAML IdP",
        sp=sp,
        settings=ProviderSettings(name="idp", email_trusted=True),
        groups=GroupResolver(saml_attributes="isMemberOf"),
    )
    registry = ProviderRegistry([app])
    state = MemoryStateStore()
    flow = AccountFlow(
        accounts=MemoryAccountsStore(),
        state=state,
        providers=[app, saml.account_settings],
        cipher=TokenCipher([TokenCipher.generate_key()]),
    )
    return AuthRoutes(
        public_url=public_url,
        registry=registry,
        flow=flow,
        state=state,
        saml=[saml],
        after_login="/account",
    )


@contextmanager
def running_providers(*, auto_login: bool) -> Iterator[tuple[OIDCProvider, SAMLIdentityProvider]]:
    """The test OpenID provider (Alice) and SAML IdP (Bob), on 127.0.0.1."""
    with (
        OIDCProvider(users=[ALICE], auto_login="alice" if auto_login else None) as oidc,
        SAMLIdentityProvider(users=[BOB], auto_login="bob" if auto_login else None) as idp,
    ):
        yield oidc, idp


def listen(port: int) -> socket.socket:
    """Bind the site's port first: the providers need its URL before it serves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def main(
    argv: list[str] | None = None, *, create: SiteFactory = create_app, name: str = "Starlette"
) -> int:
    """Start the test providers and serve the site made by ``create`` until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1; 0 picks one")
    parser.add_argument(
        "--test-providers",
        action="store_true",
        help="start authkit's loopback OpenID provider and SAML IdP (always)",
    )
    parser.add_argument("--auto-login", action="store_true",
                        help="the test providers approve sign-ins without a form")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        sock = listen(args.port)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with running_providers(auto_login=args.auto_login) as (oidc, idp):
        # A key per run is enough here: the test providers forget everyone at exit anyway.
        app = create(build_routes(url, oidc, idp), secret_key=secrets.token_urlsafe(32))
        print(f"authkit {name} example on {url}", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        with suppress(KeyboardInterrupt):  # uvicorn shuts down cleanly, then passes Ctrl-C on
            server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
