"""The WSGI adapter passes the application's own requests through untouched."""

from __future__ import annotations

from typing import Any

import requests
from tests.web.site_kit import make_routes, serve

from authkit.config import RemoteApp
from authkit.web import SESSION_USER

APP = RemoteApp(name="op", title="OP", authorize_url="https://op.example/authorize",
                token_url="https://op.example/token", client_id="c", client_secret="s")  # fmt: skip


def test_the_application_receives_its_own_large_post_bodies() -> None:
    routes = make_routes("http://127.0.0.1", [APP])
    with serve(routes) as base:
        body = b"x" * (2 * 1024 * 1024)
        answer = requests.post(
            f"{base}/upload", data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10,
        )  # fmt: skip
    assert answer.status_code == 200
    assert answer.text == "user=None groups="  # the site kit's page: reached, not refused


def test_per_request_values_in_environ() -> None:
    seen: dict[str, Any] = {}
    from authkit.adapters.wsgi import AuthkitMiddleware
    from authkit.web import SignedCookieCodec

    codec = SignedCookieCodec(["k" * 32])

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update({k: v for k, v in environ.items() if k.startswith("authkit.")})
        environ["authkit.session"]["visits"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    routes = make_routes("http://127.0.0.1", [APP])
    middleware = AuthkitMiddleware(routes, app, codec=codec)
    cookie = codec.dumps({SESSION_USER: "u1", "authkit.groups": ["staff"]})
    headers: list[Any] = []
    body = middleware(
        {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_COOKIE": f"authkit_session={cookie}"},
        lambda status, h, *exc: headers.extend(h),
    )
    assert b"".join(body) == b"ok"
    assert seen["authkit.user"] == "u1"
    assert seen["authkit.groups"] == ["staff"]
    assert seen["authkit.routes"] is routes
    set_cookie = dict(headers)["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    value = set_cookie.split(";")[0].split("=", 1)[1]
    assert codec.loads(value)["visits"] == 1
