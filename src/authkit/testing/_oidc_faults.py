"""Fault injection for the test provider: make one endpoint misbehave on purpose.

A test switches a fault on for an endpoint, provokes the client, and checks the typed error
it gets; then switches it off (or lets a ``with`` block or ``times=`` do it)::

    provider.faults.set("token", Fault.HTTP_500)
    with provider.fault("jwks", "delay", seconds=30):
        ...
    provider.faults.set("discovery", "malformed_json", times=1)  # the next request only

A fault is keyed by endpoint and kind; setting the same kind again replaces its options. Every
active fault of an endpoint fires on each request to that endpoint; ``times`` counts those
requests and removes the fault when it reaches zero.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs

from authkit.errors import InvalidSettingError

__all__ = ["ENDPOINTS", "Fault", "FaultInjector", "FiredFaults"]

#: Endpoint names faults (and :meth:`OIDCProvider.url_for`) use. Which exist depends on the shape.
ENDPOINTS = (
    "authorize",
    "discovery",
    "emails",
    "end_session",
    "jwks",
    "login",
    "revocation",
    "token",
    "userinfo",
)


class Fault(enum.StrEnum):
    """The faults a test can switch on, and where each applies.

    On any endpoint:

    - ``delay`` (``seconds=30.0``): stall before answering, beyond the client's read timeout. The
      stall waits on the server's stop event, so stopping the provider ends it at once.
    - ``http_500`` (``status=500``, ``body``): answer a server error instead.
    - ``malformed_json`` (``body``): answer ``200`` with a JSON content type and a body that is
      not JSON.
    - ``close_connection``: close the connection without answering.

    On ``discovery``, ``token`` and ``authorize``:

    - ``wrong_issuer`` (``issuer``): the discovery document's ``issuer``, the ID token's ``iss``
      or the authorization response's ``iss`` parameter names another issuer.

    On ``token`` (the ID token it issues):

    - ``expired`` (``by=3600``): ``exp`` lies ``by`` seconds in the past.
    - ``not_yet_valid`` (``by=3600``): ``iat`` and ``nbf`` lie ``by`` seconds in the future.
    - ``wrong_audience`` (``audience``): ``aud`` (and ``azp``) name another client.
    - ``nonce_mismatch`` (``nonce``): ``nonce`` differs from the one sent.
    - ``at_hash_mismatch``: ``at_hash`` is the hash of another access token.
    - ``unknown_key``: signed with a fresh key whose ``kid`` is not in the JWKS.
    - ``bad_signature``: the signature bytes are corrupted.
    - ``id_token_claims`` (``set={...}``, ``remove=[...]``): override claims directly.

    On ``authorize`` and ``token``:

    - ``oauth_error`` (``error``, ``description``; ``status`` on ``token``): answer an OAuth
      error (``access_denied`` on ``authorize`` and ``temporarily_unavailable`` on ``token`` by
      default).

    On ``authorize``:

    - ``omit_iss``: leave the RFC 9207 ``iss`` parameter out of the authorization response.

    Every fault also takes ``times`` (how many requests it fires on; unlimited by default).
    """

    DELAY = "delay"
    HTTP_500 = "http_500"
    MALFORMED_JSON = "malformed_json"
    CLOSE_CONNECTION = "close_connection"
    WRONG_ISSUER = "wrong_issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    NONCE_MISMATCH = "nonce_mismatch"
    AT_HASH_MISMATCH = "at_hash_mismatch"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    ID_TOKEN_CLAIMS = "id_token_claims"
    OAUTH_ERROR = "oauth_error"
    OMIT_ISS = "omit_iss"


_ANY = frozenset(ENDPOINTS)
_ID_TOKEN = frozenset({"token"})

#: Where each fault applies, and the options it takes with their defaults.
_RULES: Mapping[Fault, tuple[frozenset[str], Mapping[str, Any]]] = {
    Fault.DELAY: (_ANY, {"seconds": 30.0}),
    Fault.HTTP_500: (_ANY, {"status": 500, "body": '{"error": "server_error"}'}),
    Fault.MALFORMED_JSON: (_ANY, {"body": '{"issuer": "truncated'}),
    Fault.CLOSE_CONNECTION: (_ANY, {}),
    Fault.WRONG_ISSUER: (
        frozenset({"discovery", "token", "authorize"}),
        {"issuer": "https://issuer.invalid"},
    ),
    Fault.EXPIRED: (_ID_TOKEN, {"by": 3600}),
    Fault.NOT_YET_VALID: (_ID_TOKEN, {"by": 3600}),
    Fault.WRONG_AUDIENCE: (_ID_TOKEN, {"audience": "another-client"}),
    Fault.NONCE_MISMATCH: (_ID_TOKEN, {"nonce": "not-the-nonce-you-sent"}),
    Fault.AT_HASH_MISMATCH: (_ID_TOKEN, {}),
    Fault.UNKNOWN_KEY: (_ID_TOKEN, {}),
    Fault.BAD_SIGNATURE: (_ID_TOKEN, {}),
    Fault.ID_TOKEN_CLAIMS: (_ID_TOKEN, {"set": {}, "remove": ()}),
    Fault.OAUTH_ERROR: (
        frozenset({"authorize", "token"}),
        {"error": None, "description": None, "status": 400},
    ),
    Fault.OMIT_ISS: (frozenset({"authorize"}), {}),
}


@attrs.frozen
class FiredFaults:
    """The faults that fire on one request: kind → options (defaults filled in)."""

    faults: Mapping[Fault, Mapping[str, Any]] = attrs.field(factory=dict)

    def __contains__(self, fault: object) -> bool:
        return fault in self.faults

    def get(self, fault: Fault) -> Mapping[str, Any] | None:
        """The options of ``fault``, or ``None`` when it does not fire."""
        return self.faults.get(fault)

    def only(self, kinds: frozenset[Fault]) -> FiredFaults:
        """The fired faults among ``kinds``."""
        return FiredFaults({k: o for k, o in self.faults.items() if k in kinds})


@attrs.define
class _Active:
    options: Mapping[str, Any]
    remaining: int | None


class FaultInjector:
    """The switchboard of one provider's faults (``provider.faults``); thread-safe.

    Args:
        endpoints: The endpoint names the provider serves (faults for others are refused).
    """

    def __init__(self, endpoints: frozenset[str]) -> None:
        self._endpoints = endpoints
        self._active: dict[str, dict[Fault, _Active]] = {}
        self._lock = threading.Lock()

    def set(
        self, endpoint: str, fault: Fault | str, *, times: int | None = None, **options: Any
    ) -> None:
        """Switch ``fault`` on for ``endpoint``.

        Args:
            endpoint: ``"discovery"``, ``"jwks"``, ``"authorize"``, ``"login"``, ``"token"``,
                ``"userinfo"``, ``"emails"``, ``"revocation"`` or ``"end_session"`` (those the
                provider's shape serves).
            fault: A :class:`Fault` or its value.
            times: Fire on the next ``times`` requests only; ``None`` keeps it on until cleared.
            **options: The fault's options (see :class:`Fault`).

        Raises:
            InvalidSettingError: Unknown endpoint, unknown fault, a fault that does not apply to
                this endpoint, an unknown option or a bad ``times``.
        """
        kind = self._kind(fault)
        where, defaults = _RULES[kind]
        if endpoint not in self._endpoints:
            raise InvalidSettingError(
                f"expected one of {', '.join(sorted(self._endpoints))}, got {endpoint!r}",
                key="faults.endpoint",
            )
        if endpoint not in where:
            raise InvalidSettingError(
                f"fault {kind.value!r} applies to {', '.join(sorted(where))}, not {endpoint!r}",
                key="faults.endpoint",
            )
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            accepted = ", ".join(sorted(defaults)) or "no options"
            raise InvalidSettingError(
                f"fault {kind.value!r} takes {accepted} (and times), got {unknown!r}",
                key="faults.options",
            )
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise InvalidSettingError(f"expected a positive integer, got {times!r}", key="times")
        if times is not None and times < 1:
            raise InvalidSettingError(f"expected a positive integer, got {times!r}", key="times")
        with self._lock:
            self._active.setdefault(endpoint, {})[kind] = _Active(
                options={**defaults, **options}, remaining=times
            )

    def clear(self, endpoint: str | None = None, fault: Fault | str | None = None) -> None:
        """Switch faults off: one, all of an endpoint, or (no arguments) all of them."""
        kind = None if fault is None else self._kind(fault)
        with self._lock:
            if endpoint is None:
                self._active.clear()
            elif kind is None:
                self._active.pop(endpoint, None)
            else:
                self._active.get(endpoint, {}).pop(kind, None)

    def active(self, endpoint: str) -> dict[Fault, Mapping[str, Any]]:
        """The faults switched on for ``endpoint``, with their options."""
        with self._lock:
            return {k: dict(a.options) for k, a in self._active.get(endpoint, {}).items()}

    @contextmanager
    def applied(
        self, endpoint: str, fault: Fault | str, *, times: int | None = None, **options: Any
    ) -> Iterator[None]:
        """Switch ``fault`` on for the duration of a ``with`` block."""
        self.set(endpoint, fault, times=times, **options)
        try:
            yield
        finally:
            self.clear(endpoint, fault)

    def fire(self, endpoint: str) -> FiredFaults:
        """The faults firing on one request to ``endpoint`` (counts down ``times``)."""
        with self._lock:
            active = self._active.get(endpoint)
            if not active:
                return FiredFaults()
            fired = {kind: a.options for kind, a in active.items()}
            for kind, a in list(active.items()):
                if a.remaining is not None:
                    a.remaining -= 1
                    if a.remaining <= 0:
                        del active[kind]
            return FiredFaults(fired)

    @staticmethod
    def _kind(fault: Fault | str) -> Fault:
        try:
            return Fault(fault)
        except ValueError:
            raise InvalidSettingError(
                f"expected one of {', '.join(f.value for f in Fault)}, got {fault!r}",
                key="faults.fault",
            ) from None
