"""The one seam through which authkit talks HTTP.

Protocol code never opens a connection: it describes an :class:`HTTPRequest` and hands it to a
:class:`Transport`, whose single method ``send`` returns an :class:`HTTPResponse`. The default
transport uses ``requests``; :class:`MockTransport` answers from a function, for users' tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from authkit.errors import ProviderHTTPError, ProviderResponseError

__all__ = ["HTTPRequest", "HTTPResponse", "Timeout", "Transport"]


@attrs.frozen(kw_only=True)
class Timeout:
    """Connect and read timeouts, in seconds (Opal configures them per provider).

    Args:
        connect: Seconds allowed to establish the connection.
        read: Seconds allowed between bytes of the answer.
    """

    connect: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    read: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))


def _freeze_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


@attrs.frozen(kw_only=True)
class HTTPRequest:
    """A request described as data.

    Args:
        method: ``"GET"`` or ``"POST"`` (any verb is passed through).
        url: Absolute URL.
        headers: Request headers (names are case-insensitive).
        body: Raw body bytes, or ``None``.
        timeout: Connect and read timeouts.
        idempotent: Whether the transport may retry the request on a transient failure.
            Defaults to ``True`` for ``GET`` only.
        provider: Name of the provider this request is for, used in error messages.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_headers)
    body: bytes | None = None
    timeout: Timeout = attrs.field(factory=Timeout)
    idempotent: bool | None = None
    provider: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether a transient failure may be retried."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() == "GET"

    @property
    def who(self) -> str:
        """The provider name or, failing that, the URL (for messages)."""
        return self.provider or self.url


@attrs.frozen(kw_only=True)
class HTTPResponse:
    """A response received.

    Args:
        status: HTTP status code.
        headers: Response headers with lower-cased names.
        body: Raw body.
        url: The URL that answered.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_headers)
    body: bytes = b""
    url: str = ""

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def json(self, *, provider: str | None = None) -> Any:
        """Decode the body as JSON.

        Raises:
            ProviderResponseError: The body is not valid JSON (``provider.malformed_response``).
        """
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderResponseError(
                f"{provider or self.url} answered with a body that is not valid JSON",
                provider=provider,
            ) from exc

    def json_object(self, *, provider: str | None = None) -> dict[str, Any]:
        """Decode the body as a JSON object, refusing any other JSON value."""
        data = self.json(provider=provider)
        if not isinstance(data, dict):
            raise ProviderResponseError(
                f"{provider or self.url} answered with JSON that is not an object",
                provider=provider,
            )
        return data

    def raise_for_status(self, *, provider: str | None = None) -> None:
        """Raise :class:`ProviderHTTPError` for a non-2xx answer, keeping the OAuth error body."""
        if self.ok:
            return
        error = description = None
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("error"), str):
                error = data["error"]
            if isinstance(data.get("error_description"), str):
                description = data["error_description"]
        who = provider or self.url
        detail = f": {error}" if error else ""
        raise ProviderHTTPError(
            f"{who} answered with HTTP {self.status}{detail}",
            status=self.status,
            body=self.body,
            error=error,
            error_description=description,
            provider=provider,
        )


@runtime_checkable
class Transport(Protocol):
    """Sends one HTTP request and returns the response.

    Implementations map network failures to :class:`~authkit.errors.ProviderUnreachableError`
    and :class:`~authkit.errors.ProviderTimeoutError`; they return error statuses as responses
    (callers decide what an error status means).
    """

    def send(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` and return the response."""
        ...
