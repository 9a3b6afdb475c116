"""A remote groups source: an HTTP endpoint called with the person's access token, cached.

Theory of operation. Each resolution of a person (``subject``) at a provider:

1. reads the cached entry for (provider, endpoint, subject) from the state store; when it is
   younger than ``refresh_interval`` its names are used and no request is made (``cached``);
2. otherwise sends ``GET url`` with ``Authorization: Bearer <access token>`` through the
   transport, with the source's connect/read timeouts, and reads the names from the JSON answer
   (``ok``); the entry is stored again with ``fetched_at = now`` and kept for ``keep_for``
   seconds, so that it can stand in for a later failed fetch;
3. when the fetch fails (timeout, unreachable, error status, malformed answer) the error goes to
   the resolver, which applies the provider's failure policy: ``deny`` re-raises it,
   ``keep_cached`` uses the last entry (``kept_cached``, with its old ``fetched_at``) and
   ``continue`` goes on without this source (``skipped``).

The cache key hashes the subject, so store keys carry no personal data. Without a subject
nothing is cached. Time comes from the resolver (``now``); the store's own TTL uses the store's
clock, so give both the same clock in tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs

from authkit.config import _validators as v
from authkit.errors import InvalidSettingError, ProviderResponseError, RequestError
from authkit.groups._sources import Collected, SourceContext, handler_names
from authkit.groups._values import MISSING, lookup_path, parse_path
from authkit.transport import HTTPRequest, Timeout

__all__ = ["RemoteSource"]

_CACHE_PREFIX = "authkit:groups:"


def _headers(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _header_map(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(val, str) for k, val in value.items()
    ):
        raise InvalidSettingError(
            f"expected a mapping of header names to strings, got {value!r}",
            key="RemoteSource.headers",
        )
    if any(k.lower() == "authorization" for k in value):
        raise InvalidSettingError(
            "must not set Authorization: the person's access token is sent as a Bearer token",
            key="RemoteSource.headers",
        )


def _timeout(value: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return Timeout(**value)
        except (TypeError, ValueError):
            raise InvalidSettingError(
                f"expected connect and read seconds greater than 0, got {dict(value)!r}",
                key="RemoteSource.timeout",
            ) from None
    return value


def _is_timeout(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Timeout):
        raise InvalidSettingError(
            f"expected a Timeout or a mapping with connect/read seconds, got {value!r}",
            key="RemoteSource.timeout",
        )


@attrs.frozen(kw_only=True)
class RemoteSource:
    """Groups fetched from an HTTP endpoint with the person's access token, cached.

    The answer is JSON: an array of names, or of group objects (the ``item_key`` of each, by
    default ``id`` then ``name``), either at the top level or under ``path`` (dotted, escapes as
    for claims).

    Args:
        url: The groups endpoint.
        path: Where in the JSON answer the array is (``None``: the answer is the array).
        item_key: For arrays of objects, the key holding the name (``"path"`` for Keycloak
            group objects); by default ``id``, then ``name``.
        timeout: Connect and read timeouts (a :class:`~authkit.transport.Timeout` or a mapping).
        refresh_interval: Seconds a fetched answer is used without asking again.
        keep_for: Seconds the last answer is kept to stand in for a failed fetch
            (``keep_cached`` policy); at least ``refresh_interval``.
        headers: Extra request headers (not ``Authorization``).
        retry: Let the transport retry a timeout or a 5xx answer. Off by default: the request
            is on the sign-in path, and the failure policy already says what a failure means.

    Raises:
        InvalidSettingError: A value of the wrong type or range.
    """

    url: str = attrs.field(validator=v.url)
    path: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    item_key: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    timeout: Timeout = attrs.field(
        factory=lambda: Timeout(connect=2.0, read=5.0), converter=_timeout, validator=_is_timeout
    )
    refresh_interval: float = attrs.field(default=300.0, validator=v.positive)
    keep_for: float = attrs.field(default=7 * 24 * 3600.0, validator=v.positive)
    headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=_headers, validator=_header_map
    )
    retry: bool = attrs.field(default=False, validator=v.is_bool)
    _keys: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.keep_for < self.refresh_interval:
            raise InvalidSettingError(
                f"expected at least refresh_interval ({self.refresh_interval:g}s), "
                f"got {self.keep_for:g}s",
                key="RemoteSource.keep_for",
            )
        keys = parse_path(self.path, key="RemoteSource.path") if self.path is not None else ()
        object.__setattr__(self, "_keys", keys)

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        return f"remote:{self.url}"

    def cache_key(self, provider: str | None, subject: str) -> str:
        """The state-store key of a person's cached groups (the subject is hashed)."""
        digest = hashlib.sha256(f"{self.url}\0{subject}".encode()).hexdigest()
        return f"{_CACHE_PREFIX}{provider or '-'}:{digest}"

    def _collect(self, ctx: SourceContext) -> Collected:
        cached = self._last_known(ctx)
        if cached is not None and ctx.now - cached.fetched_at < self.refresh_interval:
            return Collected("cached", cached.names, cached.fetched_at)
        if not ctx.access_token:
            raise RequestError(
                f"{self.label} needs the person's access token and none was given",
                code="groups.access_token_missing",
                hint="pass access_token= (or token= with an access_token) to resolve()",
            )
        request = HTTPRequest(
            method="GET",
            url=self.url,
            headers={
                "Accept": "application/json",
                **self.headers,
                "Authorization": f"Bearer {ctx.access_token}",
            },
            timeout=self.timeout,
            idempotent=self.retry,
            provider=ctx.provider,
        )
        transport, store = ctx.io()
        response = transport.send(request)
        response.raise_for_status(provider=ctx.provider)
        names = self._names(response.json(provider=ctx.provider), ctx)
        if ctx.subject:
            store.put(
                self.cache_key(ctx.provider, ctx.subject),
                {"names": list(names), "fetched_at": ctx.now},
                ttl=self.keep_for,
            )
        return Collected("ok", names, ctx.now)

    def _last_known(self, ctx: SourceContext) -> Collected | None:
        """The last fetched answer still kept, whatever its age; ``None`` when there is none."""
        if not ctx.subject:
            return None
        entry = ctx.io()[1].get(self.cache_key(ctx.provider, ctx.subject))
        if not entry:
            return None
        names, fetched_at = entry.get("names"), entry.get("fetched_at")
        if (
            not isinstance(names, list)
            or not all(isinstance(n, str) for n in names)
            or isinstance(fetched_at, bool)
            or not isinstance(fetched_at, int | float)
        ):
            return None  # an entry written by something else: fetch again
        return Collected("cached", tuple(names), float(fetched_at))

    def _names(self, body: Any, ctx: SourceContext) -> tuple[str, ...]:
        value = body
        if self._keys:
            if not isinstance(body, Mapping):
                raise ProviderResponseError(
                    f"{self.label} answered with a JSON {type(body).__name__}, "
                    f"expected an object with {self.path!r}",
                    provider=ctx.provider,
                    code="groups.malformed_value",
                )
            value = lookup_path(body, self._keys, label=self.label)
            if value is MISSING:
                raise ProviderResponseError(
                    f"{self.label} answered without {self.path!r}",
                    provider=ctx.provider,
                    code="groups.malformed_value",
                )
        if not isinstance(value, list):
            raise ProviderResponseError(
                f"{self.label} answered with a JSON {type(value).__name__}, expected an array",
                provider=ctx.provider,
                code="groups.malformed_value",
            )
        if self.item_key is not None:
            picked: list[Any] = []
            for item in value:
                if not isinstance(item, Mapping) or not isinstance(item.get(self.item_key), str):
                    raise ProviderResponseError(
                        f"{self.label}: expected objects with a string {self.item_key!r}",
                        provider=ctx.provider,
                        code="groups.malformed_value",
                    )
                picked.append(item[self.item_key])
            value = picked
        return handler_names(value, label=self.label)
