"""WSGI adapter: authkit's routes as middleware in front of any WSGI application.

Requests under the mount point that match one of authkit's routes are answered by
:class:`~authkit.web.AuthRoutes`; everything else goes to the wrapped application, with
per-request values in ``environ``:

- ``authkit.session``: the session (a dict; changes are saved after the response),
- ``authkit.user``: the signed-in account's id, or ``None``,
- ``authkit.groups``: the person's groups from their last sign-in,
- ``authkit.routes``: the :class:`~authkit.web.AuthRoutes`.

Without a session of the application's own, the session is a signed cookie
(:class:`~authkit.web.SignedCookieCodec`): ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when
the public URL is ``https``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from authkit.errors import RequestError
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

__all__ = ["AuthkitMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {200: "OK", 302: "Found", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip


def _not_found(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Not Found"]


class AuthkitMiddleware:
    """Serve authkit's routes in front of a WSGI application.

    Args:
        routes: The shared route handlers.
        app: The application behind (a 404 responder when omitted).
        codec: Signs the session cookie.
        mount: The path prefix of authkit's routes (``""`` or ``/auth``).
        cookie_name: The session cookie's name.
        secure: Mark the cookie ``Secure``; by default when the public URL is ``https``.
    """

    def __init__(
        self,
        routes: AuthRoutes,
        app: WSGIApp | None = None,
        *,
        codec: SignedCookieCodec,
        mount: str = "",
        cookie_name: str = "authkit_session",
        secure: bool | None = None,
    ) -> None:
        self.routes = routes
        self.app = app or _not_found
        self.codec = codec
        self.mount = mount.rstrip("/")
        self.cookie_name = cookie_name
        self.secure = routes.public_url.startswith("https:") if secure is None else secure

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        session = self._load_session(environ)
        before = dict(session)
        path = environ.get("PATH_INFO", "") or "/"
        response: WebResponse | None = None
        # Only authkit's own routes are read here: any other request, its body included,
        # reaches the application untouched.
        if path.startswith(self.mount + "/") and self.routes.handles(path[len(self.mount) :]):
            try:
                request = self._request(environ, path[len(self.mount) :], session)
            except RequestError as error:
                response = WebResponse.problem(error, as_json=False)
            else:
                response = self.routes.dispatch(request)
        if response is not None:
            headers = list(response.headers) + self._cookie(session, before)
            start_response(_status(response.status), headers)
            return [response.body]
        identity = signed_in(session)
        environ["authkit.session"] = session
        environ["authkit.user"] = identity.user_id if identity else None
        environ["authkit.groups"] = list(identity.groups) if identity else []
        environ["authkit.routes"] = self.routes

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, headers + self._cookie(session, before), *exc_info)

        return _closing(self.app(environ, start))

    # --- translation ----------------------------------------------------------------------------

    def _request(self, environ: dict[str, Any], path: str, session: dict[str, Any]) -> WebRequest:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        form: dict[str, tuple[str, ...]] = {}
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_FORM_BYTES:
                raise RequestError("the form is too large", code="request.too_large")
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            form = dict(parse_form(body, headers.get("content-type", "")))
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return WebRequest(
            method=method,
            path=path,
            query={k: tuple(v) for k, v in query.items()},
            form=form,
            headers=headers,
            session=session,
            script_root=self.mount,
        )

    def _load_session(self, environ: dict[str, Any]) -> dict[str, Any]:
        cookie = SimpleCookie()
        try:
            cookie.load(environ.get("HTTP_COOKIE", ""))
        except Exception:
            return {}
        morsel = cookie.get(self.cookie_name)
        return self.codec.loads(morsel.value if morsel else None)

    def _cookie(self, session: dict[str, Any], before: dict[str, Any]) -> list[tuple[str, str]]:
        if session == before:
            return []
        value = self.codec.dumps(session) if session else None
        return [("Set-Cookie", cookie_header(self.cookie_name, value, secure=self.secure))]


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown')}"


def _closing(body: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
