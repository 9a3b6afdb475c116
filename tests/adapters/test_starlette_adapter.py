"""The Starlette / FastAPI adapter over real HTTP: uvicorn on 127.0.0.1, the loopback test
providers, and ``requests`` as the browser (following the real redirects and forms)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import lxml.html
import pytest
import requests
import uvicorn
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from authkit.accounts import AccountFlow, ProviderSettings, TokenCipher
from authkit.adapters.starlette import (
    AuthkitIdentity,
    AuthkitMiddleware,
    authkit_router,
    current_identity,
    require_identity,
)
from authkit.config import ProviderRegistry, RemoteApp
from authkit.errors import ConfigurationError
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
from authkit.transport import Timeout
from authkit.web import AuthRoutes, SAMLProvider, SignedCookieCodec

KEY = "k" * 32
ALICE = OIDCUser(
    sub="alice",
    claims={"email": "alice@example.org", "email_verified": True, "name": "Alice",
            "groups": ["staff"]},
)  # fmt: skip
BOB = SAMLUser(
    username="bob",
    attributes={"mail": "bob@example.org", "givenName": "Bob", "sn": "Builder",
                "eduPersonPrincipalName": "bob@example.org", "isMemberOf": ["library"]},
)  # fmt: skip


# --- the site ----------------------------------------------------------------------------------


@pytest.fixture
def oidc() -> Iterator[OIDCProvider]:
    with OIDCProvider(users=[ALICE], auto_login="alice") as provider:
        yield provider
        assert provider.server_errors == []


@pytest.fixture(scope="module")
def idp() -> Iterator[SAMLIdentityProvider]:
    with SAMLIdentityProvider(users=[BOB], auto_login="bob") as running:
        yield running
        assert running.server_errors == []


def make_routes(
    base: str,
    oidc: OIDCProvider,
    idp: SAMLIdentityProvider | None = None,
    *,
    mount: str = "",
    timeout: Timeout | None = None,
) -> AuthRoutes:
    """authkit's routes for a site at ``base``, registered at the test providers."""
    client_id = f"site-{base.rsplit(':', 1)[1]}"
    oidc.add_client(
        OIDCClient(
            client_id=client_id,
            client_secret="s3cret",
            redirect_uris=[f"{base}{mount}/oauth/authorized/op/"],
        )
    )
    app = RemoteApp(
        name="op",
        title="Test OP",
        protocol="oidc",
        issuer=oidc.issuer,
        client_id=client_id,
        client_secret="s3cret",
        scope="openid email profile groups",
        groups_claim="groups",
        **({"timeout": timeout} if timeout else {}),
    )
    saml = []
    if idp is not None:
        sp = ServiceProvider(
            SAMLSettings.from_dict(
                {
                    "strict": True,
                    "sp": {
                        "entityId": f"{base}{mount}/saml/metadata/idp/",
                        "assertionConsumerService": {"url": f"{base}{mount}/saml/acs/idp/"},
                        "singleLogoutService": {"url": f"{base}{mount}/saml/sls/idp/"},
                    },
                    "idp": idp.idp_settings(),
                }
            )
        )
        idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()), replace=True)
        saml.append(
            SAMLProvider(
                name="idp",
                title="Test IdP",
                sp=sp,
                settings=ProviderSettings(name="idp", email_trusted=True),
                groups=GroupResolver(saml_attributes="isMemberOf"),
            )
        )
    state = MemoryStateStore()
    flow = AccountFlow(
        accounts=MemoryAccountsStore(),
        state=state,
        providers=[app, *(p.account_settings for p in saml)],
        cipher=TokenCipher([TokenCipher.generate_key()]),
    )
    return AuthRoutes(
        public_url=base,
        registry=ProviderRegistry([app]),
        flow=flow,
        state=state,
        saml=saml,
        mount=mount,
    )


async def whoami(request: Request) -> Response:
    identity = current_identity(request)
    if identity is None:
        return PlainTextResponse("anonymous")
    return PlainTextResponse(
        f"user={identity.account_id} groups={','.join(sorted(identity.groups))} "
        f"provider={identity.provider}"
    )


async def private(request: Request) -> Response:
    return PlainTextResponse(require_identity(request).account_id)


async def echo(request: Request) -> Response:
    return PlainTextResponse(f"{request.method} {len(await request.body())}")


async def remember(request: Request) -> Response:
    request.scope["authkit"]["session"]["note"] = request.query_params["note"]
    return PlainTextResponse("ok")


async def recall(request: Request) -> Response:
    return PlainTextResponse(str(request.scope["authkit"]["session"].get("note")))


async def forget(request: Request) -> Response:
    request.scope["authkit"]["session"].clear()
    return PlainTextResponse("ok")


PAGES = [
    Route("/", whoami),
    Route("/whoami", whoami),
    Route("/private", private),
    Route("/submit", echo, methods=["POST"]),
    Route("/oauth/echo/{name}/", echo, methods=["POST"]),
    Route("/remember", remember),
    Route("/recall", recall),
    Route("/forget", forget),
]


def own_cookie_site(routes: AuthRoutes) -> ASGIApp:
    """Starlette with authkit's middleware and its own signed cookie session."""
    codec = SignedCookieCodec([KEY])
    return Starlette(
        routes=PAGES, middleware=[Middleware(AuthkitMiddleware, routes=routes, codec=codec)]
    )


def starlette_session_site(routes: AuthRoutes) -> ASGIApp:
    """Starlette's SessionMiddleware outside authkit's middleware: authkit uses its session."""
    return Starlette(
        routes=PAGES,
        middleware=[
            Middleware(SessionMiddleware, secret_key=KEY),
            Middleware(AuthkitMiddleware, routes=routes),
        ],
    )


def router_site(routes: AuthRoutes) -> ASGIApp:
    """authkit's routes as a router among the application's own, with Starlette's sessions."""
    return Starlette(
        routes=[*authkit_router(routes).routes, *PAGES],
        middleware=[Middleware(SessionMiddleware, secret_key=KEY)],
    )


def fastapi_site(routes: AuthRoutes) -> ASGIApp:
    """FastAPI with the middleware and the identity dependencies."""
    app = FastAPI()
    app.add_middleware(AuthkitMiddleware, routes=routes, codec=SignedCookieCodec([KEY]))
    return with_dependencies(app)


def fastapi_router_site(routes: AuthRoutes) -> ASGIApp:
    """FastAPI with authkit's router and Starlette's sessions."""
    app = FastAPI(routes=authkit_router(routes).routes)
    app.add_middleware(SessionMiddleware, secret_key=KEY)
    return with_dependencies(app)


def with_dependencies(app: FastAPI) -> FastAPI:
    """The pages of a FastAPI site, through the identity dependencies."""

    @app.get("/whoami")
    def who(identity: Annotated[AuthkitIdentity | None, Depends(current_identity)]) -> Any:
        if identity is None:
            return None
        return {"account_id": identity.account_id, "groups": sorted(identity.groups)}

    @app.get("/private")
    def only_signed_in(identity: Annotated[AuthkitIdentity, Depends(require_identity)]) -> str:
        return identity.account_id

    return app


@contextmanager
def serve(build: Callable[[str], ASGIApp]) -> Iterator[str]:
    """Serve ``build(base_url)`` with uvicorn on 127.0.0.1 (the port is bound first: the
    providers need the site's URL before it runs); yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(build(base), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for the server to start (synchronisation, not passing time)
    assert server.started, "uvicorn did not start"
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def site(
    kind: Callable[[AuthRoutes], ASGIApp],
    oidc: OIDCProvider,
    idp: SAMLIdentityProvider | None = None,
    **options: Any,
) -> Any:
    return serve(lambda base: kind(make_routes(base, oidc, idp, **options)))


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The first form of a page, read with lxml.html (independently of authkit)."""
    form = lxml.html.fromstring(page).forms[0]
    return str(form.action), {k: str(v) for k, v in form.form_values()}


# --- OpenID Connect sign-in, four ways of mounting ---------------------------------------------

SITES = {
    "middleware, own cookie": (own_cookie_site, "", "authkit_session"),
    "middleware, Starlette session": (starlette_session_site, "", "session"),
    "router under /auth": (router_site, "/auth", "session"),
    "FastAPI": (fastapi_site, "", "authkit_session"),
    "FastAPI, router under /auth": (fastapi_router_site, "/auth", "session"),
}


@pytest.mark.parametrize("name", SITES)
def test_oidc_sign_in(name: str, oidc: OIDCProvider) -> None:
    kind, mount, cookie = SITES[name]
    with site(kind, oidc, mount=mount) as base:
        browser = requests.Session()
        assert browser.get(f"{base}/private", timeout=5).status_code == 401
        page = browser.get(f"{base}{mount}/login/", timeout=5)
        assert "Sign in with Test OP" in page.text
        answer = browser.get(f"{base}{mount}/oauth/login/op/?next=/whoami", timeout=10)
        assert [r.status_code for r in answer.history] == [302, 302, 303]
        assert answer.url == f"{base}/whoami"
        account_id = browser.get(f"{base}/private", timeout=5).text.strip('"')
        assert len(account_id) >= 16
        if kind in (fastapi_site, fastapi_router_site):
            assert answer.json() == {"account_id": account_id, "groups": ["staff"]}
        else:
            assert answer.text == f"user={account_id} groups=staff provider=op"
        assert {c.name for c in browser.cookies} == {cookie}


def test_own_cookie_is_httponly_lax_and_not_secure_over_http(oidc: OIDCProvider) -> None:
    with site(own_cookie_site, oidc) as base:
        start = requests.get(f"{base}/oauth/login/op/", allow_redirects=False, timeout=5)
    assert start.status_code == 302
    cookie = start.headers["set-cookie"]
    assert cookie.startswith("authkit_session=")
    assert "; Path=/; HttpOnly; SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_own_cookie_is_secure_for_an_https_public_url(oidc: OIDCProvider) -> None:
    def https_site(base: str) -> ASGIApp:
        return own_cookie_site(make_routes(base.replace("http:", "https:"), oidc))

    with serve(https_site) as base:
        start = requests.get(f"{base}/oauth/login/op/", allow_redirects=False, timeout=5)
    assert start.headers["location"].startswith(oidc.issuer)
    assert start.headers["set-cookie"].endswith("; HttpOnly; SameSite=Lax; Secure")


def test_the_application_can_keep_values_in_authkits_session(oidc: OIDCProvider) -> None:
    with site(own_cookie_site, oidc) as base:
        browser = requests.Session()
        browser.get(f"{base}/remember?note=hello", timeout=5)
        assert browser.get(f"{base}/recall", timeout=5).text == "hello"
        unchanged = browser.get(f"{base}/recall", timeout=5)
        assert "set-cookie" not in unchanged.headers  # saved only when it changed
        forgotten = browser.get(f"{base}/forget", timeout=5)
        assert "authkit_session=; Max-Age=0" in forgotten.headers["set-cookie"]
        assert browser.get(f"{base}/recall", timeout=5).text == "None"


def test_tampered_cookie_starts_a_fresh_session(oidc: OIDCProvider) -> None:
    with site(own_cookie_site, oidc) as base:
        browser = requests.Session()
        browser.get(f"{base}/oauth/login/op/", timeout=10)
        value = browser.cookies["authkit_session"]
        browser.cookies.set("authkit_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
        assert browser.get(f"{base}/whoami", timeout=5).text == "anonymous"


# --- errors ------------------------------------------------------------------------------------


def test_errors_are_pages_or_problem_documents(oidc: OIDCProvider) -> None:
    with site(own_cookie_site, oidc) as base:
        page = requests.get(f"{base}/oauth/login/nope/", timeout=5)
        problem = requests.get(
            f"{base}/oauth/login/nope/", headers={"Accept": "application/json"}, timeout=5
        )
        redirect = requests.get(
            f"{base}/oauth/login/op/?next=https://evil.example/", allow_redirects=False, timeout=5
        )
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<code>registry.unknown</code>" in page.text
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["code"] == "registry.unknown"
    assert redirect.status_code == 400
    assert "request.redirect_not_allowed" in redirect.text


def test_a_callback_without_state_is_refused(oidc: OIDCProvider) -> None:
    with site(fastapi_site, oidc) as base:
        answer = requests.get(
            f"{base}/oauth/authorized/op/?code=x",
            headers={"Accept": "application/json"},
            timeout=5,
        )
    assert answer.status_code == 400
    assert answer.json()["code"].startswith("oauth.state")


def test_a_form_larger_than_the_limit_is_refused(oidc: OIDCProvider) -> None:
    big = {"SAMLResponse": "x" * (1024 * 1024 + 1)}
    chunks = (b"SAMLResponse=" + b"x" * 65536 for _ in range(17))  # chunked: no Content-Length
    json = {"Accept": "application/json"}
    with site(own_cookie_site, oidc) as base:
        declared = requests.post(f"{base}/saml/acs/idp/", data=big, headers=json, timeout=10)
        streamed = requests.post(
            f"{base}/saml/acs/idp/",
            data=chunks,
            headers={**json, "Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
    for answer in (declared, streamed):
        assert answer.status_code == 400
        assert answer.json()["code"] == "request.too_large"


def test_a_form_that_is_not_utf8_is_refused(oidc: OIDCProvider) -> None:
    with site(own_cookie_site, oidc) as base:
        answer = requests.post(
            f"{base}/logout/",
            data=b"csrf_token=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=5,
        )
    assert answer.status_code == 400
    assert "request.malformed" in answer.text


def test_the_applications_own_requests_and_bodies_are_untouched(oidc: OIDCProvider) -> None:
    big = {"field": "y" * (2 * 1024 * 1024)}
    with site(own_cookie_site, oidc) as base:
        own = requests.post(f"{base}/submit", data=big, timeout=10)
        # An authkit-looking path the routes decline: the body read is replayed to the app.
        declined = requests.post(f"{base}/oauth/echo/x/", data={"a": "b"}, timeout=5)
        unknown = requests.get(f"{base}/nothing-here", timeout=5)
    assert own.text == f"POST {len('field=') + 2 * 1024 * 1024}"
    assert declined.text == "POST 3"
    assert unknown.status_code == 404


def test_router_answers_404_for_a_path_the_routes_decline(oidc: OIDCProvider) -> None:
    with site(router_site, oidc, mount="/auth") as base:
        declined = requests.get(f"{base}/auth/oauth/nonsense/op/", timeout=5)
        outside = requests.get(f"{base}/login/", timeout=5)
    assert declined.status_code == 404
    assert outside.status_code == 404


def call_asgi(
    app: ASGIApp,
    path: str,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    incoming: Message | None = None,
) -> list[Message]:
    """One request through ``app`` in this thread's own event loop, for what a server cannot
    show: configuration errors (it would only log them) and a client gone mid-body."""
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming or {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "root_path": "",
             "query_string": b"", "headers": headers or [], "app": app}  # fmt: skip
    anyio.run(app, scope, receive, send)
    return sent


def test_without_any_session_the_middleware_refuses_to_run(oidc: OIDCProvider) -> None:
    routes = make_routes("http://127.0.0.1:1", oidc)
    with pytest.raises(ConfigurationError) as info:
        call_asgi(AuthkitMiddleware(Starlette(), routes=routes), "/login/")
    assert info.value.code == "config.session_missing"
    with pytest.raises(ConfigurationError) as info:
        call_asgi(authkit_router(routes), "/login/")
    assert info.value.code == "config.session_missing"


def test_a_client_gone_while_sending_its_form(oidc: OIDCProvider) -> None:
    routes = make_routes("http://127.0.0.1:1", oidc)
    app = AuthkitMiddleware(Starlette(), routes=routes, codec=SignedCookieCodec([KEY]))
    sent = call_asgi(
        app,
        "/saml/acs/idp/",
        method="POST",
        headers=[(b"content-type", b"application/x-www-form-urlencoded"),
                 (b"accept", b"application/json")],
        incoming={"type": "http.disconnect"},
    )  # fmt: skip
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["code"] == "request.disconnected"


@pytest.mark.parametrize(
    "session",
    [{}, {"authkit.user": 7}, {"authkit.user": ""}, {"authkit.user": "u", "authkit.groups": "x"}],
)
def test_current_identity_ignores_what_is_not_a_sign_in(session: dict[str, Any]) -> None:
    request = Request({"type": "http", "authkit": {"session": session}})
    identity = current_identity(request)
    if session.get("authkit.user") == "u":
        assert identity == AuthkitIdentity(account_id="u", groups=frozenset(), provider=None)
    else:
        assert identity is None
    assert current_identity(Request({"type": "http"})) is None  # no session at all


def test_require_identity_is_a_401_in_plain_starlette(oidc: OIDCProvider) -> None:
    with site(starlette_session_site, oidc) as base:
        answer = requests.get(f"{base}/private", timeout=5)
    assert answer.status_code == 401
    assert "request.not_signed_in" in answer.text


# --- SAML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [own_cookie_site, starlette_session_site])
def test_saml_sign_in_under_samesite_lax_and_single_logout(
    kind: Callable[[AuthRoutes], ASGIApp], oidc: OIDCProvider, idp: SAMLIdentityProvider
) -> None:
    with site(kind, oidc, idp) as base:
        browser = requests.Session()
        at_idp = browser.get(f"{base}/saml/sso/idp/?next=/whoami", timeout=10)
        assert at_idp.url.startswith(idp.sso_url)
        action, fields = form_of(at_idp.text)
        assert action == f"{base}/saml/acs/idp/"
        # The IdP's POST is cross-site: under SameSite=Lax the browser sends no cookie.
        bounce = requests.post(action, data=fields, timeout=10)
        assert bounce.status_code == 200
        action, fields = form_of(bounce.text)
        assert fields["authkit_resent"] == "1"
        # The same-site re-post carries the cookie, so the session (and the request ID) is found.
        signed_in = browser.post(action, data=fields, timeout=10)
        assert signed_in.url == f"{base}/whoami"
        assert signed_in.text.endswith(" groups=library provider=idp")
        # Sign out: the logout form's POST goes through the IdP's single logout and back.
        _, logout_fields = form_of(browser.get(f"{base}/logout/", timeout=5).text)
        before = len(idp.logout_requests)
        out = browser.post(f"{base}/logout/", data=logout_fields, timeout=10)
        assert out.url == f"{base}/"  # after_login
        assert out.text == "anonymous"
        assert len(idp.logout_requests) == before + 1
        assert any(r.url.startswith(f"{base}/saml/sls/idp/") for r in out.history)
        assert browser.get(f"{base}/whoami", timeout=5).text == "anonymous"


def test_saml_metadata_is_served(oidc: OIDCProvider, idp: SAMLIdentityProvider) -> None:
    with site(fastapi_site, oidc, idp) as base:
        answer = requests.get(f"{base}/saml/metadata/idp/", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/samlmetadata+xml"
    assert f'entityID="{base}/saml/metadata/idp/"'.encode() in answer.content


# --- the event loop is never blocked -----------------------------------------------------------


def test_a_slow_provider_does_not_block_other_requests(oidc: OIDCProvider) -> None:
    answers: dict[str, requests.Response] = {}
    with site(own_cookie_site, oidc, timeout=Timeout(connect=2.0, read=4.0)) as base:
        browser = requests.Session()
        oidc.faults.set("token", "delay", seconds=30)

        def sign_in() -> None:
            answers["sign-in"] = browser.get(f"{base}/oauth/login/op/", timeout=20)

        slow = threading.Thread(target=sign_in)
        slow.start()
        deadline = time.monotonic() + 10
        while oidc.request_count("token") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until the token request is stalled at the provider
        assert oidc.request_count("token") == 1
        started = time.monotonic()
        for _ in range(3):
            assert requests.get(f"{base}/whoami", timeout=5).text == "anonymous"
        assert requests.get(f"{base}/login/", timeout=5).status_code == 200
        elapsed = time.monotonic() - started
        assert "sign-in" not in answers, "the other requests waited for the slow sign-in"
        slow.join(20)
    assert elapsed < 2.0  # far below the 4 s the stalled token request takes to time out
    failed = answers["sign-in"]
    assert failed.status_code == 504
    assert "<code>provider.timeout</code>" in failed.text


# --- the documentation's snippets --------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "adapters" / "starlette.md"


def test_the_documented_apps_run_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("TOKEN_KEY", TokenCipher.generate_key())
    monkeypatch.setenv("SESSION_KEY", KEY)
    namespace: dict[str, Any] = {}
    apps = []
    for block in re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S):
        namespace.pop("app", None)
        exec(compile(block, str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
        if "app" in namespace:
            apps.append(namespace["app"])
    assert [type(app).__name__ for app in apps] == [
        "Starlette",
        "FastAPI",
        "Starlette",
        "Starlette",
    ]
    for app in apps:
        with serve(lambda _base, app=app: app) as base:
            login = requests.get(f"{base}/login/?next=/", timeout=5)
            home = requests.get(f"{base}/", allow_redirects=False, timeout=5)
            api = requests.get(f"{base}/api/me", timeout=5)
        assert "Sign in with Our Keycloak" in login.text
        if isinstance(app, FastAPI):
            assert home.json() == {"signed_in": False, "sign_in": "/login/?next=/"}
            assert api.status_code == 401
        else:
            assert home.status_code == 307
            assert home.headers["location"] == "/login/?next=/"
