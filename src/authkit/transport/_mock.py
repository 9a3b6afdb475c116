"""A transport that answers from a function, for tests of code that uses authkit."""

from __future__ import annotations

from collections.abc import Callable

from authkit.transport._base import HTTPRequest, HTTPResponse

__all__ = ["MockTransport"]


class MockTransport:
    """Answer every request by calling ``handler(request)``; records what was sent.

    Args:
        handler: Returns the response for a request (or raises an authkit error).

    Attributes:
        requests: Every request sent, in order.
    """

    def __init__(self, handler: Callable[[HTTPRequest], HTTPResponse]) -> None:
        self.handler = handler
        self.requests: list[HTTPRequest] = []

    def send(self, request: HTTPRequest) -> HTTPResponse:
        self.requests.append(request)
        return self.handler(request)
