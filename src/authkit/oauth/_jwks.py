"""JSON Web Key Sets (RFC 7517): parsed once into prepared public keys, cached, rotated.

An OpenID provider publishes the public keys that sign its ID tokens as a JWK Set at its
``jwks_uri`` (OpenID Connect Discovery 1.0 §3; OpenID Connect Core 1.0 §10.1.1). Verifying a
token needs one of those keys as a ready-to-use public-key object, so this module does the
parsing exactly once per JWK Set document, and never on the hot path:

- :class:`KeySet` turns a JWK Set (a ``dict``) into :class:`JWK` values, indexed by ``kid``,
  each holding a :mod:`cryptography` public key and the set of JWS algorithms (RFC 7518 §3)
  it may verify — derived from its ``kty``/``crv`` and narrowed by its own ``alg`` member.
  Keys that are not for signatures (``use`` other than ``"sig"``, ``key_ops`` without
  ``"verify"``), of a type authkit does not verify, or too weak are *unusable*: kept aside
  with the reason, never used. Private or symmetric key material in a published JWK Set means
  the provider is misconfigured, and the whole set is refused.
- :class:`JWKSCache` fetches the set from a ``jwks_uri`` through a
  :class:`~authkit.transport.Transport`, keeps the prepared :class:`KeySet` in process memory
  for ``ttl`` seconds, optionally shares the raw document with other workers through a
  :class:`~authkit.stores.StateStore`, and refetches when a token names an unknown ``kid``
  (key rotation) — at most once per ``min_refetch_interval`` seconds, so that tokens carrying
  random ``kid`` values cannot make authkit hammer the provider.

Theory of operation of :class:`JWKSCache` (times come from ``now`` or the injected clock)::

    empty ──get()──▶ fetch ──ok──▶ fresh ──ttl passes──▶ (get() fetches again)
                        │            │
                        │            └─ unknown kid: refetch unless the last fetch attempt
                        │               was less than min_refetch_interval ago
                        └─failed──▶ the error is raised; further fetches are refused (the same
                                    error is raised again) until min_refetch_interval passed

With a state store, a worker first looks for the document under ``authkit:jwks:<uri>``
before fetching, stores what it fetched there, and takes a shared ``add``-lock
(``authkit:jwks-refetch:<uri>``) before an unknown-kid refetch, so a fleet of workers still
fetches at most once per interval.
"""

from __future__ import annotations

import binascii
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from authkit.errors import InvalidSettingError, ProviderError, ProviderResponseError
from authkit.stores import StateStore
from authkit.transport import HTTPRequest, RequestsTransport, Timeout, Transport

__all__ = ["JWK", "JWKSCache", "KeySet", "b64url_decode"]

#: JWS algorithms each kind of key can verify (RFC 7518 §3.1), keyed by ``kty`` or ``kty/crv``.
_ALGORITHMS_BY_KEY: Final[Mapping[str, frozenset[str]]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC/P-256": frozenset({"ES256"}),
    "EC/P-384": frozenset({"ES384"}),
    "EC/P-521": frozenset({"ES512"}),
    "OKP/Ed25519": frozenset({"EdDSA"}),
    "OKP/Ed448": frozenset({"EdDSA"}),
}

_EC_CURVES: Final[Mapping[str, tuple[ec.EllipticCurve, int]]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
}

#: JWK members that only private (or symmetric) keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
#: RFC 8037 §2).
_PRIVATE_MEMBERS: Final = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")

#: A JWK Set larger than this is refused: parsing keys costs CPU, and no provider needs more.
MAX_KEYS: Final = 100

# --- strict base64url (RFC 7515 §2, RFC 4648 §5: no padding, no other alphabet) ---------------

# Map the URL-safe alphabet onto the standard one, and the standard-only characters and "=" onto
# "!", which strict decoding refuses: a segment may only use A-Z a-z 0-9 - _.
_TO_STANDARD: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING: Final = (b"", b"", b"==", b"=")
# With 2 or 3 characters in the last quantum, the last character carries 4 or 2 unused bits;
# they must be zero, or the same bytes would have several encodings (signature malleability).
_CANONICAL_LAST: Final[tuple[frozenset[int], ...]] = (
    frozenset(),
    frozenset(),
    frozenset(b"AQgw"),
    frozenset(b"AEIMQUYcgkosw048"),
)


def b64url_decode(segment: bytes) -> bytes:
    """Decode unpadded base64url strictly.

    Raises:
        ValueError: ``segment`` is not the canonical unpadded base64url encoding of any bytes.
    """
    rest = len(segment) & 3
    if rest:
        if rest == 1 or segment[-1] not in _CANONICAL_LAST[rest]:
            raise ValueError("not canonical base64url")
        return binascii.a2b_base64(
            segment.translate(_TO_STANDARD) + _PADDING[rest], strict_mode=True
        )
    return binascii.a2b_base64(segment.translate(_TO_STANDARD), strict_mode=True)


# --- keys ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JWK:
    """One public signature key of a JWK Set, parsed and ready to verify.

    Attributes:
        kid: The key's ``kid`` (``None`` when the JWK has none).
        kty: ``"RSA"``, ``"EC"`` or ``"OKP"``.
        crv: The curve for ``EC`` and ``OKP`` keys, else ``None``.
        alg: The key's own ``alg`` member, when it has one.
        algorithms: The JWS algorithms this key may verify (its ``kty``/``crv`` narrowed by
            ``alg``).
        public_key: The :mod:`cryptography` public key object.
    """

    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    algorithms: frozenset[str]
    public_key: PublicKeyTypes = attrs.field(repr=False, eq=False)


def _invalid(message: str, provider: str | None) -> ProviderResponseError:
    return ProviderResponseError(message, provider=provider, code="oidc.jwks_invalid")


def _member(jwk: Mapping[str, Any], name: str, where: str, provider: str | None) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise _invalid(f"{where}: member {name!r} must be a base64url string", provider)
    try:
        return b64url_decode(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise _invalid(f"{where}: member {name!r} is not base64url", provider) from None


def _public_key(
    jwk: Mapping[str, Any], kty: str, crv: str | None, where: str, provider: str | None
) -> PublicKeyTypes:
    if kty == "RSA":
        n = int.from_bytes(_member(jwk, "n", where, provider), "big")
        e = int.from_bytes(_member(jwk, "e", where, provider), "big")
        try:
            return rsa.RSAPublicNumbers(e, n).public_key()
        except ValueError:
            raise _invalid(f"{where}: not a valid RSA public key", provider) from None
    if kty == "EC":
        curve, size = _EC_CURVES[crv or ""]
        x = _member(jwk, "x", where, provider)
        y = _member(jwk, "y", where, provider)
        if len(x) != size or len(y) != size:
            raise _invalid(f"{where}: x and y must be {size} bytes long for {crv}", provider)
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
        except ValueError:
            raise _invalid(f"{where}: the point is not on curve {crv}", provider) from None
    x = _member(jwk, "x", where, provider)
    try:
        if crv == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(x)
        return ed448.Ed448PublicKey.from_public_bytes(x)
    except ValueError:
        raise _invalid(f"{where}: not a valid {crv} public key", provider) from None


def _parse_key(
    jwk: Any, index: int, min_rsa_bits: int, provider: str | None
) -> JWK | tuple[str | None, str]:
    """Parse one JWK: a :class:`JWK`, or ``(kid, reason)`` for a key that cannot be used."""
    where = f"JWK Set key #{index}"
    if not isinstance(jwk, Mapping):
        raise _invalid(f"{where} is not a JSON object", provider)
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _invalid(f"{where}: 'kid' must be a string", provider)
    kty = jwk.get("kty")
    if not isinstance(kty, str):
        raise _invalid(f"{where}: 'kty' must be a string", provider)
    if kty == "oct" or any(name in jwk for name in _PRIVATE_MEMBERS):
        raise _invalid(
            f"{where} holds private or symmetric key material; a published JWK Set must only "
            "hold public keys (the provider is misconfigured)",
            provider,
        )
    use = jwk.get("use")
    if use is not None and use != "sig":
        return kid, "its 'use' is not 'sig'"
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return kid, "its 'key_ops' do not include 'verify'"
    crv = jwk.get("crv") if kty in ("EC", "OKP") else None
    if crv is not None and not isinstance(crv, str):
        raise _invalid(f"{where}: 'crv' must be a string", provider)
    fit = _ALGORITHMS_BY_KEY.get(f"{kty}/{crv}" if crv else kty)
    if fit is None:
        return kid, "authkit does not verify signatures with this key type or curve"
    alg = jwk.get("alg")
    if alg is not None:
        if not isinstance(alg, str):
            raise _invalid(f"{where}: 'alg' must be a string", provider)
        fit = fit & {alg}
        if not fit:
            return kid, "its 'alg' is not a signature algorithm for its key type"
    public_key = _public_key(jwk, kty, crv, where, provider)
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < min_rsa_bits:
        return kid, f"it is an RSA key shorter than {min_rsa_bits} bits"
    return JWK(kid=kid, kty=kty, crv=crv, alg=alg, algorithms=fit, public_key=public_key)


class KeySet:
    """The usable signature keys of a JWK Set, prepared once and indexed by ``kid``.

    Args:
        keys: The prepared keys.
        unusable: ``kid`` → why the JWK Set's key with that ``kid`` cannot be used.

    Use :meth:`from_jwks` to build one from a JWK Set document.
    """

    __slots__ = ("_by_kid", "_keys", "_sole", "unusable")

    def __init__(self, keys: tuple[JWK, ...] = (), unusable: Mapping[str, str] | None = None):
        self._keys = keys
        by_kid: dict[str, tuple[JWK, ...]] = {}
        for key in keys:
            if key.kid is not None:
                by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        self._by_kid = by_kid
        # For a token without "kid": the one key that fits each algorithm, if exactly one does.
        algorithms = {alg for key in keys for alg in key.algorithms}
        sole: dict[str, JWK] = {}
        for alg in algorithms:
            fitting = [key for key in keys if alg in key.algorithms]
            if len(fitting) == 1:
                sole[alg] = fitting[0]
        self._sole = sole
        self.unusable: Mapping[str, str] = dict(unusable or {})

    @classmethod
    def from_jwks(
        cls,
        document: Mapping[str, Any],
        *,
        min_rsa_bits: int = 2048,
        provider: str | None = None,
    ) -> KeySet:
        """Parse a JWK Set document (RFC 7517 §5), preparing every usable signature key.

        Args:
            document: The JWK Set: ``{"keys": [...]}``.
            min_rsa_bits: RSA keys shorter than this are unusable.
            provider: Name of the provider, for error messages.

        Raises:
            ProviderResponseError: ``oidc.jwks_invalid``: not a JWK Set, a malformed key of a
                supported type, or private/symmetric key material.
        """
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise _invalid("the JWK Set is not an object with a 'keys' array", provider)
        raw_keys: list[Any] = document["keys"]
        if len(raw_keys) > MAX_KEYS:
            raise _invalid(f"the JWK Set holds more than {MAX_KEYS} keys", provider)
        keys: list[JWK] = []
        unusable: dict[str, str] = {}
        for index, raw in enumerate(raw_keys):
            parsed = _parse_key(raw, index, min_rsa_bits, provider)
            if isinstance(parsed, JWK):
                keys.append(parsed)
            elif parsed[0] is not None:
                unusable[parsed[0]] = parsed[1]
        # A kid that also names a usable key is not "unusable" (e.g. the same kid for sig + enc).
        for key in keys:
            if key.kid is not None:
                unusable.pop(key.kid, None)
        return cls(tuple(keys), unusable)

    def get(self, kid: str) -> tuple[JWK, ...]:
        """The usable keys with this ``kid`` (usually one; empty when there is none)."""
        return self._by_kid.get(kid, ())

    def sole_key(self, algorithm: str) -> JWK | None:
        """The only key that can verify ``algorithm``, or ``None`` when zero or several can."""
        return self._sole.get(algorithm)

    @property
    def kids(self) -> frozenset[str]:
        """The ``kid`` values of the usable keys."""
        return frozenset(self._by_kid)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[JWK]:
        return iter(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def __repr__(self) -> str:
        return f"KeySet(kids={sorted(self._by_kid)!r}, keys={len(self._keys)})"


# --- the cache -----------------------------------------------------------------------------------


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidSettingError(
            f"expected a number of seconds greater than 0, got {value!r}", key=f"JWKSCache.{name}"
        )
    return value


class JWKSCache:
    """The JWK Set of one ``jwks_uri``, fetched when needed and kept prepared in memory.

    Thread-safe; several :class:`~authkit.oauth.IDTokenValidator` may share one. Nothing is
    fetched at construction.

    Args:
        uri: The provider's ``jwks_uri``.
        transport: Sends the ``GET`` (retryable); a :class:`~authkit.transport.RequestsTransport`
            when omitted.
        store: Shares the fetched document between workers (key ``authkit:jwks:<uri>``).
        ttl: Seconds a fetched JWK Set is used before it is fetched again.
        min_refetch_interval: Least number of seconds between two fetch attempts caused by an
            unknown ``kid`` or following a failed fetch.
        timeout: Connect and read timeouts of the request (the provider's).
        provider: Name of the provider, for messages.
        min_rsa_bits: RSA keys shorter than this are unusable.
        clock: Returns the current time in epoch seconds, used when a method gets no ``now``.
    """

    def __init__(
        self,
        uri: str,
        *,
        transport: Transport | None = None,
        store: StateStore | None = None,
        ttl: float = 3600.0,
        min_refetch_interval: float = 60.0,
        timeout: Timeout | None = None,
        provider: str | None = None,
        min_rsa_bits: int = 2048,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
            raise InvalidSettingError(
                f"expected an absolute http(s) URL, got {uri!r}", key="JWKSCache.uri"
            )
        self.uri = uri
        self.transport: Transport = transport if transport is not None else RequestsTransport()
        self.store = store
        self.ttl = _positive("ttl", ttl)
        self.min_refetch_interval = _positive("min_refetch_interval", min_refetch_interval)
        self.timeout = timeout if timeout is not None else Timeout()
        self.provider = provider
        self.min_rsa_bits = min_rsa_bits
        self.clock = clock
        self.store_key = f"authkit:jwks:{uri}"
        self._lock_key = f"authkit:jwks-refetch:{uri}"
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._expires = float("-inf")
        self._fetched_at = float("-inf")  # when the document in use was fetched (by anyone)
        self._attempted_at = float("-inf")  # when this process last tried to fetch
        self._error: ProviderError | None = None  # the last fetch failure, until a success

    def __repr__(self) -> str:
        return f"JWKSCache(uri={self.uri!r})"

    def get(self, *, now: float | None = None) -> KeySet:
        """The current key set, fetched (or read from the store) when absent or older than ttl.

        Args:
            now: Current time in epoch seconds (the clock's when omitted).

        Raises:
            ProviderError: The fetch failed (unreachable, timeout, HTTP error status,
                malformed JSON, ``oidc.jwks_invalid``); within ``min_refetch_interval`` of a
                failure the same error is raised again without a request.
        """
        ts = self.clock() if now is None else now
        keys = self._keys
        if keys is not None and ts < self._expires:
            return keys
        with self._lock:
            if self._keys is not None and ts < self._expires:
                return self._keys
            shared = self._from_store(ts)
            if shared is not None:
                return shared
            if self._error is not None and ts - self._attempted_at < self.min_refetch_interval:
                raise self._error
            return self._fetch(ts)

    def refresh(self, *, now: float | None = None, seen: KeySet | None = None) -> KeySet | None:
        """Fetch again because a token named a ``kid`` the current set does not hold.

        Args:
            now: Current time in epoch seconds (the clock's when omitted).
            seen: The key set the caller looked the ``kid`` up in; when the cache already holds
                a newer one (another thread refreshed meanwhile), that one is returned at once.

        Returns:
            The new key set, or ``None`` when the last fetch attempt (of this process, or of any
            worker sharing the store) was less than ``min_refetch_interval`` ago.

        Raises:
            ProviderError: The fetch failed.
        """
        ts = self.clock() if now is None else now
        with self._lock:
            if self._keys is not None and seen is not None and self._keys is not seen:
                return self._keys
            if self.store is not None:
                shared = self._from_store(ts, newer_than=self._fetched_at)
                if shared is not None:
                    return shared
            if ts - self._attempted_at < self.min_refetch_interval:
                return None
            if self.store is not None and not self.store.add(
                self._lock_key, {"at": ts}, ttl=self.min_refetch_interval
            ):
                return None
            return self._fetch(ts)

    def _from_store(self, ts: float, newer_than: float | None = None) -> KeySet | None:
        if self.store is None:
            return None
        entry = self.store.get(self.store_key)
        if entry is None:
            return None
        fetched_at = entry.get("fetched_at")
        document = entry.get("jwks")
        if (
            isinstance(fetched_at, bool)
            or not isinstance(fetched_at, int | float)
            or not isinstance(document, Mapping)
            or fetched_at + self.ttl <= ts
            or (newer_than is not None and fetched_at <= newer_than)
        ):
            return None
        try:
            keys = KeySet.from_jwks(
                document, min_rsa_bits=self.min_rsa_bits, provider=self.provider
            )
        except ProviderResponseError:
            return None  # not what a worker stores: ignore it and fetch
        self._adopt(keys, fetched_at)
        return keys

    def _fetch(self, ts: float) -> KeySet:
        self._attempted_at = ts
        request = HTTPRequest(
            method="GET",
            url=self.uri,
            headers={"accept": "application/jwk-set+json, application/json"},
            timeout=self.timeout,
            idempotent=True,
            provider=self.provider,
        )
        try:
            response = self.transport.send(request)
            response.raise_for_status(provider=self.provider)
            document = response.json_object(provider=self.provider)
            keys = KeySet.from_jwks(
                document, min_rsa_bits=self.min_rsa_bits, provider=self.provider
            )
        except ProviderError as exc:
            self._error = exc
            raise
        self._adopt(keys, ts)
        if self.store is not None:
            self.store.put(self.store_key, {"jwks": document, "fetched_at": ts}, ttl=self.ttl)
        return keys

    def _adopt(self, keys: KeySet, fetched_at: float) -> None:
        self._error = None
        self._fetched_at = fetched_at
        self._expires = fetched_at + self.ttl
        self._keys = keys
