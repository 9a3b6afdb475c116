"""The demo site: every part of authkit working together on 127.0.0.1.

:class:`DemoSite` starts a standard OpenID provider, an ORCID-like provider (which withholds
the e-mail address, so new people meet the registration form), a SAML identity provider, and a
small WSGI site through :class:`~authkit.adapters.wsgi.AuthkitMiddleware`, with accounts in
SQLite in a temporary directory. People can sign in with any provider, see their account, the
merged profile, their groups and needs, connect another provider and sign out (with SAML single
logout).
"""

from __future__ import annotations

import html
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from authkit.accounts import AccountFlow, EmailDomainPolicy, ProviderSettings, TokenCipher
from authkit.adapters.wsgi import AuthkitMiddleware
from authkit.config import ProviderRegistry, RemoteApp
from authkit.errors import ConfigurationError
from authkit.groups import GroupResolver, identity_from
from authkit.saml import SAMLSettings, ServiceProvider, StateStoreReplayCache
from authkit.stores import AccountsStore, MemoryStateStore, StateStore
from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
)
from authkit.testing._saml_builder import generate_key_pair
from authkit.transport import Timeout
from authkit.web import AuthRoutes, SAMLProvider, SignedCookieCodec, csrf_token, page

__all__ = ["DEMO_PEOPLE", "DemoSite"]

CLIENT_ID = "authkit-demo"
CLIENT_SECRET = "authkit-demo-secret"  # a loopback demo credential, not a secret

#: Who can sign in where (username, password, provider, what is special about them).
DEMO_PEOPLE = (
    ("alice", "alice-pw", "demo-oidc", "verified e-mail, groups staff and readers"),
    ("josiah", "josiah-pw", "demo-orcid", "no e-mail: the registration form asks for one"),
    ("bob", "bob-pw", "demo-saml", "SAML attributes and an entitlement group"),
    ("mallory", "mallory-pw", "demo-oidc", "e-mail at a denied domain: sign-in refused"),
)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 drops concurrent sign-ins


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class DemoSite:
    """The demo site and its providers, on 127.0.0.1.

    Args:
        port: The site's port (0 picks a free one).
        hostname: The host name in the site's public URL (it always listens on 127.0.0.1):
            ``localhost`` puts the site and the providers on different sites, as in real life,
            so the IdP's POST to the ACS is cross-site for the browser.
        auto_login: Approve sign-ins at the providers without their login forms (for the
            smoke test); otherwise people type the demo passwords.
        accounts: The accounts store (SQLite in a temporary directory by default).
        state: The state store (memory by default; a Redis store for several workers).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        hostname: str = "127.0.0.1",
        auto_login: bool = False,
        accounts: AccountsStore | None = None,
        state: StateStore | None = None,
    ) -> None:
        self._port = port
        self.hostname = hostname
        self.auto_login = auto_login
        self._tmp = tempfile.TemporaryDirectory(prefix="authkit-demo-")
        if accounts is None:
            try:
                from authkit.stores import SQLAccountsStore
            except ModuleNotFoundError as exc:
                self._tmp.cleanup()
                raise ConfigurationError(
                    "the demo keeps its accounts in SQLite, which needs the 'sql' extra",
                    key="demo",
                    code="config.extra_missing",
                    hint="pip install 'authkit[sql]'",
                ) from exc
            accounts = SQLAccountsStore.sqlite(Path(self._tmp.name) / "accounts.db")
        self.accounts = accounts
        self.state: StateStore = state if state is not None else MemoryStateStore()
        self.oidc = OIDCProvider(
            users=[
                OIDCUser(sub="alice", password="alice-pw", claims={
                    "email": "alice@example.org", "email_verified": True,
                    "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
                    "preferred_username": "alice", "groups": ["staff", "readers"]}),
                OIDCUser(sub="mallory", password="mallory-pw", claims={
                    "email": "mallory@blocked.example", "email_verified": True,
                    "name": "Mallory", "preferred_username": "mallory"}),
            ],
            auto_login="alice" if auto_login else None,
        )  # fmt: skip
        self.orcid = OIDCProvider(
            shape="orcid",
            users=[
                OIDCUser(sub="0000-0002-1825-0097", password="josiah-pw",
                         claims={"name": "Josiah Carberry", "preferred_username": "josiah"})
            ],
            auto_login="0000-0002-1825-0097" if auto_login else None,
        )  # fmt: skip
        self.saml_idp = SAMLIdentityProvider(
            users=[
                SAMLUser(
                    username="bob",
                    password="bob-pw",
                    name_id="bob@idp.example.org",
                    attributes={
                        "mail": ("bob@example.org",),
                        "givenName": ("Bob",),
                        "sn": ("Builder",),
                        "eduPersonPrincipalName": ("bob@idp.example.org",),
                        "eduPersonEntitlement": ("urn:mace:example.org:group:physics",),
                    },
                )
            ],
            auto_login="bob" if auto_login else None,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.routes: AuthRoutes | None = None

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The site's base URL."""
        if self._server is None:
            raise RuntimeError("the demo site is not running")
        return f"http://{self.hostname}:{self._server.server_port}"

    def start(self) -> DemoSite:
        """Start the providers and the site."""
        self.oidc.start()
        self.orcid.start()
        self.saml_idp.start()
        # The routes need the site's URL, known once the server is bound: bind, then set the app.
        self._server = make_server(
            "127.0.0.1", self._port, self._pages, server_class=_Server, handler_class=_QuietHandler
        )
        self.routes = self._build_routes(self.url)
        self._server.set_app(
            AuthkitMiddleware(self.routes, self._pages, codec=SignedCookieCodec(["demo-site-" * 4]))
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="authkit-demo-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the site and the providers; remove the temporary directory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(5)
            self._server = None
        for provider in (self.oidc, self.orcid, self.saml_idp):
            provider.stop()
        engine = getattr(self.accounts, "engine", None)  # an SQL store: close its connections
        if engine is not None:
            engine.dispose()
        self._tmp.cleanup()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted."""
        if self._thread is not None:
            self._thread.join()

    # --- composition ---------------------------------------------------------------------------

    def _build_routes(self, base: str) -> AuthRoutes:
        callback = base + "/oauth/authorized/{}/"
        self.oidc.add_client(
            OIDCClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       redirect_uris=[callback.format("demo-oidc")],
                       post_logout_redirect_uris=[base + "/"])
        )  # fmt: skip
        self.orcid.add_client(
            OIDCClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                       redirect_uris=[callback.format("demo-orcid")])
        )  # fmt: skip
        timeout = Timeout(connect=2, read=10)
        registry = ProviderRegistry(
            [
                RemoteApp(
                    name="demo-oidc",
                    title="Demo OpenID provider",
                    description="alice / alice-pw",
                    protocol="oidc",
                    issuer=self.oidc.issuer,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    scope="openid email profile groups",
                    groups_claim="groups",
                    precedence_mask={"email": True, "profile": {"full_name": "force"}},
                    timeout=timeout,
                ),
                RemoteApp(
                    name="demo-orcid",
                    title="ORCID (demo)",
                    description="josiah / josiah-pw — no e-mail",
                    kind="orcid",
                    authorize_url=self.orcid.authorize_url,
                    token_url=self.orcid.token_url,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    scope="/authenticate",
                    precedence_mask={"email": False, "profile": {"full_name": True}},
                    timeout=timeout,
                ),
            ]
        )
        saml = self._saml_provider(base)
        flow = AccountFlow(
            accounts=self.accounts,
            state=self.state,
            providers=[registry, saml.account_settings],
            cipher=TokenCipher([TokenCipher.generate_key()]),
            login_policies=[EmailDomainPolicy(deny=("blocked.example",))],
        )
        return AuthRoutes(
            public_url=base,
            registry=registry,
            flow=flow,
            state=self.state,
            saml=[saml],
            after_login="/account",
            provider_logout=True,
        )

    def _saml_provider(self, base: str) -> SAMLProvider:
        keys = generate_key_pair(now=datetime.now(UTC), common_name="authkit demo SP")
        entity_id = base + "/saml/metadata/demo-saml/"
        settings = SAMLSettings.from_dict(
            {
                "strict": True,
                "sp": {
                    "entityId": entity_id,
                    "assertionConsumerService": {"url": base + "/saml/acs/demo-saml/"},
                    "singleLogoutService": {"url": base + "/saml/sls/demo-saml/"},
                    "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                    "x509cert": keys.cert_pem.decode(),
                    "privateKey": keys.key_pem.decode(),
                },
                "idp": self.saml_idp.idp_settings(),
                "security": {"wantAssertionsSigned": True},
            }
        )
        self.saml_idp.add_relying_party(
            SAMLRelyingParty(
                entity_id=entity_id,
                acs_url=base + "/saml/acs/demo-saml/",
                slo_url=base + "/saml/sls/demo-saml/",
                certificate=keys.cert_pem.decode(),
            )
        )
        return SAMLProvider(
            name="demo-saml",
            title="Demo SAML IdP",
            description="bob / bob-pw",
            sp=ServiceProvider(settings, replay_cache=StateStoreReplayCache(self.state)),
            settings=ProviderSettings(name="demo-saml", email_trusted=True),
            groups=GroupResolver(
                saml_attributes="eduPersonEntitlement",
                urn_prefixes="urn:mace:example.org:group:",
            ),
        )

    # --- the site's own pages --------------------------------------------------------------------

    def _pages(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        path = environ.get("PATH_INFO", "/")
        user_id = environ.get("authkit.user")
        if path == "/":
            target = "/account" if user_id else "/login/"
            start_response("302 Found", [("Location", target)])
            return iter([b""])
        if path != "/account":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return iter([b"Not Found"])
        if not user_id:
            start_response("302 Found", [("Location", "/login/?next=/account")])
            return iter([b""])
        body = self._account_page(environ, user_id).encode("utf-8")
        start_response(
            "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        )
        return iter([body])

    def _account_page(self, environ: dict[str, Any], user_id: str) -> str:
        session = environ["authkit.session"]
        groups: list[str] = environ.get("authkit.groups", [])
        with self.accounts.transaction() as tx:
            user = tx.get_user(user_id)
            identities = tx.identities_of(user_id)
        if user is None:
            return page("Account", "<p>This account no longer exists.</p>")
        linked = {i.provider for i in identities}
        assert self.routes is not None
        providers = [(a.name, a.title, "oauth/login") for a in self.routes.registry] + [
            (name, p.title, "saml/sso") for name, p in self.routes.saml.items()
        ]
        profile_rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in sorted(
                {"email": user.email, "email verified": user.email_verified,
                 "username": user.username, **dict(user.profile)}.items()
            )
            if v not in (None, "", ())
        )  # fmt: skip
        connected = "".join(
            f"<li>{html.escape(i.provider)}: <code>{html.escape(i.external_id)}</code></li>"
            for i in identities
        )
        connect = "".join(
            f'<li><a class="button" href="/{route}/{name}/?next=/account">'
            f"Connect {html.escape(title)}</a></li>"
            for name, title, route in providers
            if name not in linked
        )
        needs = identity_from(user_id, groups, system_roles=("authenticated_user",)).provides
        needs_list = ", ".join(html.escape(f"{n.method}:{n.value}") for n in sorted(needs, key=str))
        token = html.escape(csrf_token(session))
        return page(
            "Your account",
            f"<h1>Signed in</h1><p>Account <code>{html.escape(user_id)}</code> via "
            f"{html.escape(str(session.get('authkit.provider')))}</p>"
            f"<h2>Profile</h2><table id=profile>{profile_rows}</table>"
            f"<h2>Groups</h2><p id=groups>{html.escape(', '.join(groups)) or 'none'}</p>"
            f"<h2>Needs</h2><p id=needs>{needs_list}</p>"
            f"<h2>Connected providers</h2><ul id=identities>{connected}</ul>"
            f"<ul id=connect>{connect}</ul>"
            f'<form method="post" action="/logout/"><input type="hidden" name="csrf_token" '
            f'value="{token}"><button type="submit" id="logout">Sign out</button></form>',
        )
