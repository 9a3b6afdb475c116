"""HTTP transport: the single place where authkit performs network I/O."""

from authkit.transport._base import HTTPRequest, HTTPResponse, Timeout, Transport
from authkit.transport._mock import MockTransport
from authkit.transport._requests import RequestsTransport

__all__ = [
    "HTTPRequest",
    "HTTPResponse",
    "MockTransport",
    "RequestsTransport",
    "Timeout",
    "Transport",
]
