"""A complete site for route tests: loopback providers, the WSGI adapter, a real HTTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from authkit.accounts import AccountFlow, TokenCipher
from authkit.adapters.wsgi import AuthkitMiddleware
from authkit.config import ProviderRegistry, RemoteApp
from authkit.stores import MemoryAccountsStore, MemoryStateStore
from authkit.web import AuthRoutes, SignedCookieCodec


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def account_page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The application behind authkit: says who is signed in."""
    user = environ.get("authkit.user")
    groups = ",".join(environ.get("authkit.groups", []))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"user={user} groups={groups}".encode()]


def free_port() -> int:
    """A port free on 127.0.0.1 now (providers need the callback URL before the site runs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(routes: AuthRoutes, port: int = 0) -> Iterator[str]:
    """Serve the routes (and the account page) on 127.0.0.1; yields the base URL."""
    app = AuthkitMiddleware(routes, account_page, codec=SignedCookieCodec(["k" * 32]))
    server = make_server("127.0.0.1", port, app, server_class=_Threading, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def make_routes(public_url: str, apps: list[RemoteApp], **options: Any) -> AuthRoutes:
    registry = ProviderRegistry(apps)
    state = MemoryStateStore()
    flow = AccountFlow(
        accounts=options.pop("accounts", MemoryAccountsStore()),
        state=state,
        providers=registry,
        cipher=TokenCipher([TokenCipher.generate_key()]),
        **options.pop("flow_options", {}),
    )
    return AuthRoutes(public_url=public_url, registry=registry, flow=flow, state=state, **options)
