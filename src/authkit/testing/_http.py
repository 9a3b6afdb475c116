"""A loopback HTTP server in a background thread: the base of the test providers.

The test providers (:class:`~authkit.testing.OIDCProvider`, the SAML test IdP) must be real
peers over real HTTP, yet must never outlive the test that started them. This module holds
the part they share: a :class:`LoopbackHTTPServer` that binds ``127.0.0.1`` on a free port and
hands each request, as a plain :class:`ServerRequest` value, to a handler function that returns
a :class:`ServerResponse`. The handler holds all the protocol logic; this module only moves bytes.

Theory of operation:

- :meth:`LoopbackHTTPServer.start` binds the socket and runs the accept loop
  (``ThreadingHTTPServer.serve_forever``) in a daemon thread.
- Each connection is served in its own daemon thread. The server tracks those threads and
  their sockets (the standard library forgets daemon threads), so that stopping can join them.
- Answers are HTTP/1.0 with ``Connection: close``: no idle keep-alive connection holds a
  thread between requests.
- A handler that must stall (a fault injecting a delay) calls :meth:`LoopbackHTTPServer.wait`,
  which waits on the *stopping* event rather than sleeping, and raises :class:`DropConnection`
  when it returns early, so nothing is written on a server that is going away.
- :meth:`LoopbackHTTPServer.stop` sets the stopping event, ends the accept loop, shuts down the
  sockets of connections still open (which unblocks their reads), joins every thread and closes
  the listening socket. After it returns, no thread of the server is alive and the port is free.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs

from authkit.errors import ConfigurationError

__all__ = [
    "DropConnection",
    "LoopbackHTTPServer",
    "RequestHandler",
    "ServerRequest",
    "ServerResponse",
]

log = logging.getLogger("authkit.testing")

#: Largest request body read, so a runaway client cannot exhaust memory.
MAX_REQUEST_BODY = 1024 * 1024

#: How long :meth:`LoopbackHTTPServer.stop` waits for one thread before giving up on it.
JOIN_TIMEOUT = 5.0


class DropConnection(Exception):
    """Raised by a handler to close the connection without answering anything."""


def _multi(pairs: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(values) for key, values in pairs.items()}


@attrs.frozen(kw_only=True)
class ServerRequest:
    """One request received by a :class:`LoopbackHTTPServer`.

    Args:
        method: The HTTP method, upper case.
        path: The URL path, without the query.
        query: Query parameters; every value a parameter was given, in order.
        headers: Request headers with lower-cased names.
        body: The raw body.
    """

    method: str
    path: str
    query: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type of the body, without parameters, lower case."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def form(self) -> dict[str, tuple[str, ...]]:
        """The body parsed as ``application/x-www-form-urlencoded`` (empty for other types)."""
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        text = self.body.decode("utf-8", errors="replace")
        return _multi(parse_qs(text, keep_blank_values=True))


@attrs.frozen(kw_only=True)
class ServerResponse:
    """What a handler answers.

    Args:
        status: The HTTP status code.
        headers: Response headers (``Content-Length`` is added by the server).
        body: The body bytes.
    """

    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> ServerResponse:
        """A JSON answer."""
        return cls(
            status=status,
            headers={"Content-Type": "application/json", **(headers or {})},
            body=json.dumps(data).encode(),
        )

    @classmethod
    def html(
        cls, text: str, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> ServerResponse:
        """An HTML page."""
        return cls(
            status=status,
            headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
            body=text.encode(),
        )

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> ServerResponse:
        """A redirect to ``location``."""
        return cls(status=status, headers={"Location": location, "Cache-Control": "no-store"})


#: A function from request to response: all the protocol logic of a test server.
RequestHandler = Callable[[ServerRequest], ServerResponse]


class _Handler(BaseHTTPRequestHandler):
    """Turns the raw HTTP exchange into one handler call."""

    server: _Server
    protocol_version = "HTTP/1.0"
    #: Seconds a connection may stay silent while its request is read.
    timeout = 10

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _dispatch(self) -> None:
        owner = self.server.owner
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST_BODY:
            self._write(ServerResponse(status=400, body=b"bad Content-Length"))
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = ServerRequest(
            method=self.command.upper(),
            path=parts.path or "/",
            query=_multi(parse_qs(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = owner.handler(request)
        except DropConnection:
            return
        except Exception as exc:  # a bug in a test server must show, not hang the client
            log.exception("%s failed on %s %s", owner.name, request.method, request.path)
            owner.record_error(exc)
            response = ServerResponse(status=500, body=b"internal error in the test server")
        self._write(response)

    def _write(self, response: ServerResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server.owner.name, *args)


class _Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that keeps track of its connection threads and sockets."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections under concurrent tests.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: LoopbackHTTPServer) -> None:
        self.owner = owner
        self.connections: dict[threading.Thread, socket.socket] = {}
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.owner.name}-connection",
            daemon=True,
        )
        with self.connections_lock:
            self.connections[thread] = request
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timed out, closed) is routine in fault tests, not an error.
        log.debug("%s: connection from %s ended abruptly", self.owner.name, client_address)


class LoopbackHTTPServer:
    """A threaded HTTP server on ``127.0.0.1`` that answers through one handler function.

    Use :meth:`start` and :meth:`stop`, or the server as a context manager. A server runs once:
    it cannot be started again after it stopped.

    Args:
        handler: Called with each :class:`ServerRequest`; returns a :class:`ServerResponse` or
            raises :class:`DropConnection`. It runs in the connection's thread, concurrently
            with other requests.
        host: Address to bind; loopback by default, and it should stay so in tests.
        port: Port to bind; ``0`` picks a free one.
        name: Names the threads and log lines.
    """

    def __init__(
        self,
        handler: RequestHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "authkit-loopback",
    ) -> None:
        self.handler = handler
        self.name = name
        self._address = (host, port)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._errors: list[BaseException] = []
        self._errors_lock = threading.Lock()

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the socket and start serving in a background thread.

        Raises:
            ConfigurationError: The server was already started (``testing.already_started``).
            OSError: The address cannot be bound.
        """
        if self._server is not None or self._stopping.is_set():
            raise ConfigurationError(
                f"{self.name} was already started; a test server runs once",
                code="testing.already_started",
            )
        self._server = _Server(self._address, self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-accept",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end every connection, join every thread and release the port.

        Delays in progress (:meth:`wait`) end at once. Calling ``stop`` again does nothing.
        """
        server, self._server = self._server, None
        self._stopping.set()
        if server is None:
            return
        server.shutdown()
        with server.connections_lock:
            pending = dict(server.connections)
        for sock in pending.values():
            with contextlib.suppress(OSError):  # already closed by its thread
                sock.shutdown(socket.SHUT_RDWR)
        for thread in pending:
            thread.join(JOIN_TIMEOUT)
            if thread.is_alive():  # pragma: no cover - only a handler bug gets here
                log.error("%s: connection thread did not end within %ss", self.name, JOIN_TIMEOUT)
        server.server_close()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
            self._thread = None

    def __enter__(self) -> LoopbackHTTPServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- state ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is serving requests now."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (kept after :meth:`stop`, for "provider unreachable" tests).

        Raises:
            ConfigurationError: The server was never started (``testing.not_started``).
        """
        if self._port is None:
            raise ConfigurationError(
                f"{self.name} has not been started: call start() or use it in a with-block",
                code="testing.not_started",
            )
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        host = self._address[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` has been called."""
        return self._stopping.is_set()

    def wait(self, seconds: float) -> None:
        """Stall the calling handler for ``seconds``, or until the server stops.

        Raises:
            DropConnection: The server is stopping; the handler must not answer.
        """
        if self._stopping.wait(seconds):
            raise DropConnection

    def record_error(self, exc: BaseException) -> None:
        """Keep an exception a handler raised (a bug in the test server)."""
        with self._errors_lock:
            self._errors.append(exc)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions handlers raised; a healthy test server has none."""
        with self._errors_lock:
            return list(self._errors)


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the provider received, kept for assertions.

    Args:
        endpoint: The endpoint name (``"authorize"``, ``"token"``…).
        method: The HTTP method.
        path: The URL path.
        params: Query parameters (``GET``) or form fields (``POST``); the first value of each.
        headers: Request headers, lower-cased names.
    """

    endpoint: str
    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]


class LoopbackService:
    """What every test provider shares: a :class:`LoopbackHTTPServer` in ``self._server``,
    started and stopped, usable as a context manager, and the log of the requests it received
    (``self._log``, guarded by ``self._lock``)."""

    _server: LoopbackHTTPServer
    _log: list[RecordedRequest]
    _lock: threading.RLock

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HTTP request received, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def last_request(self, endpoint: str) -> RecordedRequest | None:
        """The most recent HTTP request to ``endpoint``, or ``None``."""
        with self._lock:
            return next((r for r in reversed(self._log) if r.endpoint == endpoint), None)

    def request_count(self, endpoint: str) -> int:
        """How many HTTP requests ``endpoint`` received."""
        with self._lock:
            return sum(1 for r in self._log if r.endpoint == endpoint)

    def start(self) -> Self:
        """Bind a free port on loopback and start serving in a background thread.

        Returns:
            The service itself, so ``provider = OIDCProvider(...).start()`` reads naturally.
        """
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving: delays in progress end, threads are joined, the port is released."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the service is serving requests now."""
        return self._server.running

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (kept after :meth:`stop`)."""
        return self._server.base_url
