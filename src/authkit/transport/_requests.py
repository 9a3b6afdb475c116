"""The default transport, built on ``requests``."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from authkit.errors import ProviderTimeoutError, ProviderUnreachableError
from authkit.transport._base import HTTPRequest, HTTPResponse

__all__ = ["RequestsTransport"]

#: Largest response body accepted, so a hostile provider cannot exhaust memory.
MAX_BODY = 5 * 1024 * 1024


class RequestsTransport:
    """Send requests with ``requests``, explicit timeouts and bounded retries.

    Only requests marked retryable (``GET`` by default: discovery, JWKS, metadata) are retried,
    on connection failures, timeouts and 5xx answers, with exponential backoff.

    Args:
        session: A ``requests.Session`` to reuse connections; one is created when omitted.
        retries: How many times a retryable request is tried again.
        backoff: Seconds before the first retry; doubles each time.
        sleep: Called to wait between retries (tests pass a function that records instead).
        max_body: Largest body accepted, in bytes.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        retries: int = 2,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        max_body: int = MAX_BODY,
    ) -> None:
        self.session = session or requests.Session()
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.max_body = max_body

    def send(self, request: HTTPRequest) -> HTTPResponse:
        attempts = 1 + (self.retries if request.retryable else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._send_once(request)
            except (ProviderTimeoutError, ProviderUnreachableError):
                if last:
                    raise
            else:
                if response.status < 500 or last:
                    return response
            self.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, request: HTTPRequest) -> HTTPResponse:
        try:
            with self.session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=(request.timeout.connect, request.timeout.read),
                allow_redirects=False,
                stream=True,
            ) as raw:
                body = raw.raw.read(self.max_body + 1, decode_content=True)
                if len(body) > self.max_body:
                    raise ProviderUnreachableError(
                        f"{request.who} sent a response larger than {self.max_body} bytes",
                        provider=request.provider,
                        code="provider.response_too_large",
                    )
                return HTTPResponse(
                    status=raw.status_code, headers=dict(raw.headers), body=body, url=request.url
                )
        except requests.Timeout as exc:
            raise ProviderTimeoutError(
                f"{request.who} did not answer within the timeout "
                f"(connect {request.timeout.connect:g}s, read {request.timeout.read:g}s)",
                provider=request.provider,
                hint="raise the provider's connect/read timeout if it is just slow",
            ) from exc
        except requests.RequestException as exc:
            raise ProviderUnreachableError(
                f"{request.who} could not be reached: {type(exc).__name__}",
                provider=request.provider,
            ) from exc
