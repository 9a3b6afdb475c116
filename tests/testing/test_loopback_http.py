"""LoopbackHTTPServer, the base of the test providers, over real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from authkit.errors import ConfigurationError
from authkit.testing._http import (
    DropConnection,
    LoopbackHTTPServer,
    ServerRequest,
    ServerResponse,
)


class Recorder:
    """A handler that keeps what it received and answers from a table."""

    def __init__(self) -> None:
        self.seen: list[ServerRequest] = []
        self.server: LoopbackHTTPServer | None = None

    def __call__(self, request: ServerRequest) -> ServerResponse:
        self.seen.append(request)
        if request.path == "/boom":
            raise RuntimeError("a bug in the handler")
        if request.path == "/drop":
            raise DropConnection
        if request.path == "/stall":
            assert self.server is not None
            self.server.wait(60)
        if request.path == "/redirect":
            return ServerResponse.redirect("http://127.0.0.1/elsewhere")
        if request.path == "/page":
            return ServerResponse.html("<p>hi</p>", status=201)
        return ServerResponse.json({"path": request.path, "form": request.form()})


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder()
    server = LoopbackHTTPServer(handler, name="test-loopback")
    handler.server = server
    with server:
        yield handler


def url(recorder: Recorder, path: str) -> str:
    assert recorder.server is not None
    return recorder.server.base_url + path


def test_handler_sees_the_request_as_values(recorder: Recorder) -> None:
    response = requests.post(
        url(recorder, "/token?a=1&a=2&empty="),
        data={"grant_type": "x", "scope": ""},
        headers={"X-Custom": "yes"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Connection"] == "close"
    assert response.json() == {"path": "/token", "form": {"grant_type": ["x"], "scope": [""]}}
    [seen] = recorder.seen
    assert seen.method == "POST"
    assert seen.query == {"a": ("1", "2"), "empty": ("",)}
    assert seen.headers["x-custom"] == "yes"
    assert seen.content_type == "application/x-www-form-urlencoded"
    assert seen.body == b"grant_type=x&scope="


def test_form_is_empty_for_other_content_types(recorder: Recorder) -> None:
    response = requests.post(url(recorder, "/json"), json={"a": 1}, timeout=5)
    assert response.json()["form"] == {}
    assert recorder.seen[0].body == b'{"a": 1}'


def test_response_helpers(recorder: Recorder) -> None:
    redirect = requests.get(url(recorder, "/redirect"), allow_redirects=False, timeout=5)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "http://127.0.0.1/elsewhere"
    page = requests.get(url(recorder, "/page"), timeout=5)
    assert page.status_code == 201
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    head = requests.head(url(recorder, "/page"), timeout=5)
    assert head.status_code == 201
    assert head.content == b""


def test_handler_bug_is_a_500_and_is_recorded(recorder: Recorder) -> None:
    response = requests.get(url(recorder, "/boom"), timeout=5)
    assert response.status_code == 500
    assert recorder.server is not None
    [error] = recorder.server.errors
    assert isinstance(error, RuntimeError)


def test_drop_connection_answers_nothing(recorder: Recorder) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(url(recorder, "/drop"), timeout=5)
    assert recorder.server is not None
    assert recorder.server.errors == []


@pytest.mark.parametrize("length", [b"-5", b"abc", b"99999999"])
def test_bad_content_length_is_400(recorder: Recorder, length: bytes) -> None:
    assert recorder.server is not None
    with socket.create_connection(("127.0.0.1", recorder.server.port), timeout=5) as conn:
        conn.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
        answer = conn.recv(1024)
    assert answer.startswith(b"HTTP/1.0 400")
    assert recorder.seen == []


def test_stop_ends_a_stalled_handler_at_once() -> None:
    handler = Recorder()
    server = LoopbackHTTPServer(handler)
    handler.server = server
    before = set(threading.enumerate())
    server.start()
    failures: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(server.base_url + "/stall", timeout=30)
        except requests.RequestException as exc:
            failures.append(exc)

    client = threading.Thread(target=call)
    client.start()
    for _ in range(500):
        if handler.seen:
            break
        time.sleep(0.01)
    assert server.running
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    client.join(5)
    assert isinstance(failures[0], requests.ConnectionError)
    assert server.stopping
    assert not server.running
    assert set(threading.enumerate()) == before


def test_port_and_start_misuse() -> None:
    server = LoopbackHTTPServer(Recorder())
    with pytest.raises(ConfigurationError) as caught:
        _ = server.port
    assert caught.value.code == "testing.not_started"
    with server:
        port = server.port
        assert server.base_url == f"http://127.0.0.1:{port}"
        with pytest.raises(ConfigurationError) as again:
            server.start()
        assert again.value.code == "testing.already_started"
    assert server.port == port  # still known, for "unreachable" tests
    server.stop()


def test_binding_a_taken_port_fails_loudly() -> None:
    with LoopbackHTTPServer(Recorder()) as first:
        second = LoopbackHTTPServer(Recorder(), port=first.port)
        with pytest.raises(OSError, match="in use"):
            second.start()
        assert not second.running
