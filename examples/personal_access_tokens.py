"""Personal access tokens for a script: create one, use it against an API, watch it stop working.

Run it: ``python examples/personal_access_tokens.py``. It starts a small JSON API on 127.0.0.1
(the standard library's WSGI server) whose endpoints accept ``Authorization: Bearer ak_pat_…``,
creates a token for Alice the way Opal does (R use, read access, one project, an expiry and an
inactivity timeout), calls the API with it as a script would, then shows each reason a token is
refused. Time is moved by hand (the ``clock``), so nothing waits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

from authkit.errors import RequestError, VerificationError
from authkit.stores import MemoryAccountsStore, User
from authkit.tokens import OPAL_TOKEN_SCOPES, PersonalAccessTokenPolicy, PersonalAccessTokens

DAY = 86_400


class Clock:
    """The site's clock, moved by hand in this demonstration."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def api(tokens: PersonalAccessTokens) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: ``GET /projects/<name>/r`` needs ``useR``; ``GET /admin`` needs ``sysAdmin``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        parts = path.strip("/").split("/")
        if parts[0] == "admin":
            scopes, project = ["sysAdmin"], None
        elif len(parts) == 3 and parts[0] == "projects" and parts[2] == "r":
            scopes, project = ["useR"], parts[1]
        else:
            return answer(start_response, 404, {"code": "not_found"})
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return answer(start_response, 401, {"code": "pat.missing"})
        try:
            principal = tokens.verify(token, required_scopes=scopes, project=project)
        except VerificationError as error:
            # RFC 6750: a genuine token without the right permission is 403 insufficient_scope
            forbidden = error.code in ("pat.scope_missing", "pat.project_not_allowed")
            return answer(start_response, 403 if forbidden else 401, error.to_dict())
        return answer(start_response, 200, {"user": principal.user_id, "token": principal.name})

    return app


def answer(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    reasons = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer error="invalid_token"'))
    start_response(f"{status} {reasons[status]}", headers)
    return [data]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yield its base URL."""
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def call(base: str, path: str, token: str) -> str:
    """What a script sees: the status and the user or the error code."""
    response = requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    body = response.json()
    return f"{response.status_code} {body.get('user') or body.get('code')}"


def main() -> None:
    clock = Clock()
    store = MemoryAccountsStore()
    with store.transaction() as tx:
        tx.create_user(User(id="alice", email="alice@example.org"))

    policy = PersonalAccessTokenPolicy(
        allowed_scopes=OPAL_TOKEN_SCOPES,
        max_lifetime=timedelta(days=365),
        default_inactivity=timedelta(days=30),
    )
    tokens = PersonalAccessTokens(store, policy=policy, clock=clock)

    # Alice creates a token in the web interface; the secret is shown to her once.
    created = tokens.create(
        "alice",
        "cnsim analysis",
        scopes=["useR", "access:READ"],
        projects=["CNSIM"],
        expires_in=timedelta(days=90),
    )
    secret = created.secret
    print("token looks like:", secret[:7] + "…", len(secret), "characters")
    print("found in a log line:", tokens.pattern.search(f"Bearer {secret} sent") is not None)
    token = created.token
    print("stored:", token.name, list(token.scopes), sorted(token.projects or ()), token.status)
    print("inactive after:", token.inactive_at - token.created_at)  # type: ignore[operator]

    with serve(api(tokens)) as base:
        print("R on CNSIM:", call(base, "/projects/CNSIM/r", secret))
        print("R on DASIM:", call(base, "/projects/DASIM/r", secret))
        print("admin:", call(base, "/admin", secret))
        typo = secret[:-1] + ("x" if secret[-1] != "x" else "y")
        print("mistyped:", call(base, "/projects/CNSIM/r", typo))
        print("made up:", call(base, "/projects/CNSIM/r", "ak_pat_guess"))

        last_used = tokens.tokens_of("alice")[0].last_used_at
        print("last used:", last_used.isoformat() if last_used else None)

        clock.advance(31 * DAY)  # the script did not run for a month
        print("a month later:", call(base, "/projects/CNSIM/r", secret))
        tokens.renew(token.id, user_id="alice")
        print("after renewing:", call(base, "/projects/CNSIM/r", secret))

        clock.advance(60 * DAY)
        print("past its expiry:", call(base, "/projects/CNSIM/r", secret))

        try:
            tokens.create("alice", "forever", expires_in=None)
        except RequestError as error:
            print("a token that never expires:", error.code)
        second = tokens.create(
            "alice", "nightly export", scopes=["command:export", "useR"], expires_in=7 * DAY
        )
        print("second token:", call(base, "/projects/DASIM/r", second.secret))
        tokens.revoke(second.token.id, user_id="alice")
        print("after revoking:", call(base, "/projects/DASIM/r", second.secret))

    for listed in tokens.tokens_of("alice"):
        print("listed:", listed.name, listed.status)


if __name__ == "__main__":
    main()
