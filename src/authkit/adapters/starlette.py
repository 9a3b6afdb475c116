"""Starlette / FastAPI adapter: authkit's routes as pure ASGI middleware, or as a router.

:class:`AuthkitMiddleware` answers authkit's routes (:class:`~authkit.web.AuthRoutes`) and passes
every other request on, with the per-request values in ``scope["authkit"]``:

- ``"session"``: the session (Starlette's when ``SessionMiddleware`` runs outside this one,
  else authkit's signed cookie, saved when the response starts),
- ``"user"``: the signed-in account's id, or ``None``,
- ``"groups"``: the person's groups from their last sign-in,
- ``"routes"``: the :class:`~authkit.web.AuthRoutes`.

:func:`authkit_router` is the alternative for applications that prefer routes to middleware;
:func:`current_identity` and :func:`require_identity` are dependencies (FastAPI's ``Depends``,
or plain calls in Starlette) that give the signed-in person as an :class:`AuthkitIdentity`.

The routes are synchronous and may block (HTTP to providers, SQL): each dispatch runs in a worker
thread (:func:`anyio.to_thread.run_sync`), never on the event loop. Only the URL-encoded POST bodies
of authkit's paths are read, up to a size limit (and replayed to the application in the rare case
the routes decline the request).
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
import attrs
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, cookie_parser
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkit.errors import ConfigurationError, RequestError
from authkit.web import (
    AuthRoutes,
    SignedCookieCodec,
    WebRequest,
    WebResponse,
    cookie_header,
    parse_form,
    signed_in,
)
from authkit.web._http import MAX_FORM_BYTES

__all__ = [
    "AuthkitIdentity",
    "AuthkitMiddleware",
    "authkit_router",
    "current_identity",
    "require_identity",
]

_FORM = "application/x-www-form-urlencoded"

#: authkit's routes in Starlette's path syntax; :meth:`AuthRoutes.dispatch` checks the details.
_PATTERNS = {
    "authkit.login": "/login/",
    "authkit.logout": "/logout/",
    "authkit.oauth": "/oauth/{action}/{name}/",
    "authkit.saml": "/saml/{action}/{name}/",
}


@attrs.frozen(kw_only=True)
class AuthkitIdentity:
    """The signed-in person, as the session knows them.

    Args:
        account_id: The account's id.
        groups: Their groups, resolved at sign-in.
        provider: The provider they signed in with.
    """

    account_id: str
    groups: frozenset[str] = frozenset()
    provider: str | None = None


def current_identity(request: HTTPConnection) -> AuthkitIdentity | None:
    """The signed-in person, or ``None`` (a FastAPI dependency: ``Depends(current_identity)``).

    Reads the session :class:`AuthkitMiddleware` put in ``scope["authkit"]``, else Starlette's
    session (with :func:`authkit_router`).
    """
    scope = request.scope
    values = scope.get("authkit")
    session = values.get("session") if isinstance(values, dict) else scope.get("session")
    if not isinstance(session, MutableMapping):
        return None
    identity = signed_in(session)
    if identity is None:
        return None
    return AuthkitIdentity(
        account_id=identity.user_id,
        groups=frozenset(identity.groups),
        provider=identity.provider,
    )


def require_identity(request: HTTPConnection) -> AuthkitIdentity:
    """The signed-in person (a FastAPI dependency: ``Depends(require_identity)``).

    Raises:
        starlette.exceptions.HTTPException: 401 when nobody is signed in (FastAPI and
            Starlette turn it into the response).
    """
    identity = current_identity(request)
    if identity is None:
        raise HTTPException(status_code=401, detail="sign in first (request.not_signed_in)")
    return identity


class _Bridge:
    """What the middleware and the router share: ASGI in, :class:`WebRequest` out, and back."""

    def __init__(
        self,
        routes: AuthRoutes,
        codec: SignedCookieCodec | None,
        *,
        cookie_name: str,
        secure: bool | None,
    ) -> None:
        self.routes = routes
        self.codec = codec
        self.cookie_name = cookie_name
        self.secure = routes.public_url.startswith("https:") if secure is None else secure

    def session(self, scope: Scope) -> tuple[MutableMapping[str, Any], bool]:
        """The request's session, and whether it is authkit's own cookie (saved by us).

        Raises:
            ConfigurationError: No ``SessionMiddleware`` runs outside and no codec was given
                (``config.session_missing``).
        """
        if "session" in scope:
            return scope["session"], False
        if self.codec is None:
            raise ConfigurationError(
                "authkit needs a session: add Starlette's SessionMiddleware outside authkit's "
                "middleware, or give AuthkitMiddleware a SignedCookieCodec",
                key="codec",
                code="config.session_missing",
            )
        cookies = cookie_parser(_header(scope, b"cookie"))
        return self.codec.loads(cookies.get(self.cookie_name)), True

    async def answer(
        self, scope: Scope, receive: Receive, path: str, session: MutableMapping[str, Any]
    ) -> tuple[WebResponse | None, list[Message]]:
        """authkit's answer (``None``: not its route) and the body messages read on the way."""
        method = scope["method"].upper()
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        request = WebRequest(
            method=method,
            path=path,
            query={k: tuple(v) for k, v in query.items()},
            headers=headers,
            session=session,
            script_root=self.routes.mount,
        )
        read: list[Message] = []
        content_type = headers.get("content-type", "")
        if method == "POST" and _FORM in content_type:
            try:
                body, read = await self._read_body(headers, receive)
                request = attrs.evolve(request, form=parse_form(body, content_type))
            except RequestError as error:
                return WebResponse.problem(error, as_json=request.wants_json), read
        # The routes block on providers and stores: keep them off the event loop.
        response = await anyio.to_thread.run_sync(self.routes.dispatch, request)
        return response, read

    async def _read_body(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[bytes, list[Message]]:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            raise RequestError("the form is too large", code="request.too_large")
        read: list[Message] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                raise RequestError("the client went away", code="request.disconnected")
            size += len(message.get("body", b""))
            if size > MAX_FORM_BYTES:
                raise RequestError("the form is too large", code="request.too_large")
            if not message.get("more_body", False):
                return b"".join(m.get("body", b"") for m in read), read

    def cookie(self, session: MutableMapping[str, Any], before: Any) -> list[tuple[bytes, bytes]]:
        """The ``Set-Cookie`` header for authkit's own session, when it changed."""
        if self.codec is None or session == before:
            return []
        value = self.codec.dumps(dict(session)) if session else None
        header = cookie_header(self.cookie_name, value, secure=bool(self.secure))
        return [(b"set-cookie", header.encode("latin-1"))]


class AuthkitMiddleware:
    """Serve authkit's routes in front of an ASGI application (Starlette, FastAPI, any).

    Add it with ``Middleware(AuthkitMiddleware, routes=..., codec=...)`` (FastAPI:
    ``app.add_middleware(...)``); to use Starlette's sessions instead of authkit's cookie, list
    ``SessionMiddleware`` before it (outside) and leave ``codec`` out. The routes answer under
    ``routes.mount`` (:class:`~authkit.web.AuthRoutes` builds every link with it).

    Args:
        app: The application behind.
        routes: The shared route handlers.
        codec: Signs authkit's own session cookie; ``None`` requires Starlette's
            ``SessionMiddleware`` outside this middleware.
        cookie_name: authkit's session cookie's name.
        secure: Mark the cookie ``Secure``; by default when the public URL is ``https``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: AuthRoutes,
        codec: SignedCookieCodec | None = None,
        cookie_name: str = "authkit_session",
        secure: bool | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.mount = routes.mount
        self._bridge = _Bridge(routes, codec, cookie_name=cookie_name, secure=secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session, own = self._bridge.session(scope)
        before = copy.deepcopy(dict(session)) if own else None
        path = _route_path(scope)
        relative = path[len(self.mount) :] if path.startswith(self.mount + "/") else ""
        if self.routes.handles(relative):
            response, read = await self._bridge.answer(scope, receive, relative, session)
            if response is not None:
                cookie = self._bridge.cookie(session, before) if own else []
                await _send(send, response, cookie)
                return
            receive = _replaying(read, receive)
        identity = signed_in(session)
        scope["authkit"] = {
            "session": session,
            "user": identity.user_id if identity else None,
            "groups": list(identity.groups) if identity else [],
            "routes": self.routes,
        }
        if not own:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = self._bridge.cookie(session, before)
                message = {**message, "headers": [*message.get("headers", []), *cookie]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def authkit_router(routes: AuthRoutes) -> Router:
    """authkit's routes as a Starlette :class:`~starlette.routing.Router`, at ``routes.mount``.

    The alternative to :class:`AuthkitMiddleware` for route-based applications: add its routes
    to yours: ``Starlette(routes=[*authkit_router(routes).routes, ...])``, or
    ``FastAPI(routes=authkit_router(routes).routes)`` (FastAPI's ``include_router`` takes only
    its own routers). The session is Starlette's: ``SessionMiddleware`` is required.
    The routes are named ``authkit.login``, ``authkit.logout``, ``authkit.oauth`` and
    ``authkit.saml`` (``request.url_for("authkit.oauth", action="login", name="orcid")``).

    Args:
        routes: The shared route handlers.
    """
    endpoint = _RouteEndpoint(_Bridge(routes, None, cookie_name="", secure=None))
    return Router(
        routes=[
            Route(routes.mount + pattern, endpoint, methods=["GET", "POST"], name=name)
            for name, pattern in _PATTERNS.items()
        ]
    )


class _RouteEndpoint:
    """The ASGI application behind each of :func:`authkit_router`'s routes (an object, so that
    Starlette's ``Route`` treats it as an application rather than a request function)."""

    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session, _ = self.bridge.session(scope)
        path = _route_path(scope)[len(self.bridge.routes.mount) :]
        response, _ = await self.bridge.answer(scope, receive, path, session)
        await _send(send, response or WebResponse(status=404, body=b"Not Found"), [])


def _route_path(scope: Scope) -> str:
    """The path below the application's root (``root_path``, a proxy prefix or a Mount)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name]
    return "; ".join(values)


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out the messages already read before asking for more."""
    pending = list(read)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _send(send: Send, response: WebResponse, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send(
        {"type": "http.response.start", "status": response.status, "headers": headers + extra}
    )
    await send({"type": "http.response.body", "body": response.body})
