"""ID token validation (OpenID Connect Core 1.0 §3.1.3.7, §3.2.2.11, §3.1.3.6; RFC 7515/7519).

An ID token is a JWS in compact serialisation (RFC 7515 §7.1) whose payload is a JWT claims set
(RFC 7519). :class:`IDTokenValidator` checks one in a fixed order, cheapest and most decisive
first, and raises :class:`~authkit.errors.InvalidTokenError` with a stable ``code`` at the first
failure:

1. size (``oidc.too_large``) before anything is parsed; three strict, unpadded base64url
   segments and a JSON-object header (``oidc.malformed``);
2. ``alg`` in the configured allow-list (``oidc.alg_not_allowed``) — ``none`` can never be
   configured, and HMAC algorithms only with an explicit ``client_secret``, which is then the
   only HMAC key: a key from the JWK Set is never used as an HMAC secret;
3. no ``crit`` header (``oidc.crit_unsupported``): authkit implements no JWS extension;
4. the key, by ``kid``, from the configured JWK Set only — the ``jku``, ``x5u``, ``jwk`` and
   ``x5c`` headers are ignored, never fetched or used — whose type and own ``alg`` must fit the
   header's ``alg``; an unknown ``kid`` causes one rate-limited JWK Set refetch (rotation);
5. the signature (``oidc.signature_invalid``), *before* the payload is decoded;
6. the claims: ``iss``, ``sub``, ``aud`` (+ trusted extra audiences), ``azp``, ``exp``,
   ``iat``, ``nbf``, ``nonce``, ``auth_time`` against ``max_age``, ``at_hash``, each of the
   type the specification gives it.

The hot path does the parsing itself — one strict base64 decode per segment, one JSON decode
for the header and one for the payload, one :mod:`cryptography` verify call with a key prepared
once per JWK Set (:class:`~authkit.oauth.KeySet`) — which is what makes it cheaper than a
general-purpose JWT library (see ``benchmarks/bench_idtoken.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import json.scanner
import math
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, NoReturn, cast

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from authkit.config import _validators as v
from authkit.errors import InvalidSettingError, InvalidTokenError, ProviderResponseError
from authkit.oauth._jwks import JWK, JWKSCache, KeySet, b64url_decode
from authkit.stores import StateStore
from authkit.transport import Timeout, Transport

__all__ = ["SUPPORTED_ALGORITHMS", "IDTokenValidator"]

_Verify = Callable[[Any, bytes, bytes], None]


def _rsa_pkcs1(hash_alg: hashes.HashAlgorithm) -> _Verify:
    pad = padding.PKCS1v15()

    def verify(key: Any, signature: bytes, data: bytes) -> None:
        key.verify(signature, data, pad, hash_alg)

    return verify


def _rsa_pss(hash_alg: hashes.HashAlgorithm) -> _Verify:
    # RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
    pad = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)

    def verify(key: Any, signature: bytes, data: bytes) -> None:
        key.verify(signature, data, pad, hash_alg)

    return verify


def _ecdsa(hash_alg: hashes.HashAlgorithm, size: int) -> _Verify:
    algorithm = ec.ECDSA(hash_alg)

    def verify(key: Any, signature: bytes, data: bytes) -> None:
        # RFC 7518 §3.4: R || S, each exactly the curve's size; cryptography wants DER.
        if len(signature) != 2 * size:
            raise InvalidSignature
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), data, algorithm)

    return verify


def _eddsa(key: Any, signature: bytes, data: bytes) -> None:
    key.verify(signature, data)


_VERIFIERS: Final[Mapping[str, _Verify]] = {
    "RS256": _rsa_pkcs1(hashes.SHA256()),
    "RS384": _rsa_pkcs1(hashes.SHA384()),
    "RS512": _rsa_pkcs1(hashes.SHA512()),
    "PS256": _rsa_pss(hashes.SHA256()),
    "PS384": _rsa_pss(hashes.SHA384()),
    "PS512": _rsa_pss(hashes.SHA512()),
    "ES256": _ecdsa(hashes.SHA256(), 32),
    "ES384": _ecdsa(hashes.SHA384(), 48),
    "ES512": _ecdsa(hashes.SHA512(), 66),
    "EdDSA": _eddsa,
}

_HMAC_DIGESTS: Final[Mapping[str, str]] = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}

#: Every algorithm ``algorithms`` may name.
SUPPORTED_ALGORITHMS: Final = frozenset(_VERIFIERS) | frozenset(_HMAC_DIGESTS)


_SHA_BY_SIZE: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "256": hashlib.sha256,
    "384": hashlib.sha384,
    "512": hashlib.sha512,
}


def _at_hash(alg: str, key: JWK | None, access_token: str) -> bytes:
    """The expected ``at_hash``: base64url of the left half of the access token's hash, the
    hash being that of the JWS ``alg`` (OIDC Core §3.1.3.6)."""
    data = access_token.encode("utf-8", "surrogatepass")
    if alg == "EdDSA":
        # OpenID Connect Core errata: SHA-512 for Ed25519, SHAKE256 (114 bytes) for Ed448.
        if key is not None and key.crv == "Ed448":
            digest = hashlib.shake_256(data).digest(114)
        else:
            digest = hashlib.sha512(data).digest()
    else:
        digest = _SHA_BY_SIZE[alg[2:]](data).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _no_constant(name: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


_DECODER: Final = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)
# The decoder's own C scanner (typeshed does not declare JSONDecoder.scan_once).
_scan_json: Final = json.scanner.make_scanner(cast(Any, _DECODER))


def _decode_json(text: str) -> Any:
    """Decode one JSON text (RFC 8259), refusing NaN, Infinity and overflowing numbers.

    The common case — no white space around the value — goes straight to the C scanner,
    skipping :meth:`json.JSONDecoder.decode`'s two white-space regex matches.
    """
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return _DECODER.decode(text)  # leading white space, or not JSON: raises ValueError
    if end != len(text):
        return _DECODER.decode(text)  # trailing white space, or extra data: raises ValueError
    return value


_NUMBER: Final = (int, float)  # checked with type(x) in _NUMBER: bool is not a number here


def _fail(code: str, message: str) -> NoReturn:
    raise InvalidTokenError(message, code=code)


def _claim_type(name: str, expected: str) -> NoReturn:
    _fail("oidc.claim_invalid", f"the {name!r} claim must be {expected}")


def _claim_missing(name: str) -> NoReturn:
    _fail("oidc.claim_missing", f"the required {name!r} claim is missing")


def _nonempty_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.is_str(inst, attribute, value)
    if not value:
        raise InvalidSettingError(
            "expected a non-empty string", key=f"{type(inst).__name__}.{attribute.name}"
        )


def _tuple(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _check_algorithms(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.str_tuple(inst, attribute, value)
    key = f"{type(inst).__name__}.algorithms"
    if not value:
        raise InvalidSettingError("expected at least one algorithm", key=key)
    for alg in value:
        if alg.lower() == "none":
            raise InvalidSettingError(
                "'none' is never accepted: an unsigned ID token proves nothing", key=key
            )
        if alg not in SUPPORTED_ALGORITHMS:
            raise InvalidSettingError(
                f"unsupported algorithm {alg!r}; expected some of "
                + ", ".join(sorted(SUPPORTED_ALGORITHMS)),
                key=key,
            )


def _check_leeway(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise InvalidSettingError(
            f"expected a number of seconds between 0 and 3600, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


def _check_max_bytes(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 256 <= value <= 1024 * 1024:
        raise InvalidSettingError(
            f"expected a number of bytes between 256 and 1048576, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


def _check_jwks(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, str):
        expected = v.check_url(value)
        if expected:
            raise InvalidSettingError(
                f"expected {expected}, got {value!r}", key=f"{type(inst).__name__}.jwks"
            )
    elif not isinstance(value, Mapping | KeySet | JWKSCache):
        raise InvalidSettingError(
            f"expected a JWK Set (dict), a jwks_uri, a KeySet or a JWKSCache, "
            f"got {type(value).__name__}",
            key=f"{type(inst).__name__}.jwks",
        )


@attrs.frozen(kw_only=True, eq=False)
class IDTokenValidator:
    """Validates the ID tokens of one OpenID provider for one client.

    Example::

        v = IDTokenValidator(
            issuer="https://id.example.org",
            client_id="my-client",
            jwks="https://id.example.org/jwks",   # or a JWK Set dict, a KeySet, a JWKSCache
            algorithms=["RS256"],
            leeway=60,
        )
        claims = v.validate(id_token, nonce=expected_nonce, access_token=access_token)

    Args:
        issuer: Expected ``iss``, compared as an exact string.
        client_id: This client's id: must be in ``aud`` (and be ``azp`` when present).
        jwks: The provider's public keys: a JWK Set ``dict`` (parsed now), a ``jwks_uri``
            (fetched on first use and cached, see :class:`~authkit.oauth.JWKSCache`), a prepared
            :class:`~authkit.oauth.KeySet`, or a :class:`~authkit.oauth.JWKSCache` to share.
        algorithms: The JWS algorithms accepted (from configuration or discovery's
            ``id_token_signing_alg_values_supported``, never from the token). ``none`` is
            refused; ``HS256``/``HS384``/``HS512`` need ``client_secret``.
        leeway: Seconds of clock skew tolerated on ``exp``, ``iat``, ``nbf`` and ``auth_time``.
        audience: Extra audiences trusted besides ``client_id`` (a string or several; the
            :class:`~authkit.config.RemoteApp` field of the same name). ``client_id`` must
            always be in ``aud``; any other ``aud`` value not listed here makes the token
            invalid (OIDC Core §3.1.3.7 step 3).
        client_secret: The HMAC key for ``HS*`` algorithms (OIDC Core §10.1); never shown.
        verify_exp: Check ``exp`` (Invenio's option; turning it off is rarely wise).
        verify_aud: Check ``aud`` and ``azp``.
        max_token_bytes: Longer tokens are refused before any parsing.
        transport: For fetching a ``jwks_uri``.
        store: Shares a fetched JWK Set between workers.
        timeout: Connect and read timeouts of the JWK Set request.
        jwks_ttl: Seconds a fetched JWK Set is kept.
        min_refetch_interval: Least seconds between two JWK Set fetches caused by unknown kids.
        provider: Name of the provider, for messages.
        clock: Current time in epoch seconds, when :meth:`validate` gets no ``now``.
    """

    issuer: str = attrs.field(validator=_nonempty_str)
    client_id: str = attrs.field(validator=_nonempty_str)
    jwks: Mapping[str, Any] | str | KeySet | JWKSCache = attrs.field(
        validator=_check_jwks, repr=False
    )
    algorithms: tuple[str, ...] = attrs.field(converter=_tuple, validator=_check_algorithms)
    leeway: float = attrs.field(default=60, validator=_check_leeway)
    audience: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=v.str_tuple)
    client_secret: str | None = attrs.field(
        default=None, validator=v.optional(v.is_str), repr=False
    )
    verify_exp: bool = attrs.field(default=True, validator=v.is_bool)
    verify_aud: bool = attrs.field(default=True, validator=v.is_bool)
    max_token_bytes: int = attrs.field(default=16 * 1024, validator=_check_max_bytes)
    transport: Transport | None = attrs.field(default=None, repr=False)
    store: StateStore | None = attrs.field(default=None, repr=False)
    timeout: Timeout = attrs.field(factory=Timeout, repr=False)
    jwks_ttl: float = attrs.field(default=3600.0, validator=v.positive, repr=False)
    min_refetch_interval: float = attrs.field(default=60.0, validator=v.positive, repr=False)
    provider: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    clock: Callable[[], float] = attrs.field(default=time.time, repr=False)

    _allowed: frozenset[str] = attrs.field(init=False, repr=False)
    _keys: KeySet | None = attrs.field(init=False, repr=False)
    _cache: JWKSCache | None = attrs.field(init=False, repr=False)
    _hmac_key: bytes | None = attrs.field(init=False, repr=False)
    _audiences: frozenset[str] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        hmac_algs = [alg for alg in self.algorithms if alg in _HMAC_DIGESTS]
        hmac_key: bytes | None = None
        if hmac_algs:
            if not self.client_secret:
                raise InvalidSettingError(
                    "HS256/HS384/HS512 need client_secret: the HMAC key is the client secret, "
                    "never a key of the provider's JWK Set",
                    key="IDTokenValidator.algorithms",
                )
            hmac_key = self.client_secret.encode("utf-8")
            needed = max(int(alg[2:]) // 8 for alg in hmac_algs)
            if len(hmac_key) < needed:
                raise InvalidSettingError(
                    f"a client_secret of at least {needed} bytes is needed for "
                    f"{', '.join(hmac_algs)} (RFC 7518 §3.2)",
                    key="IDTokenValidator.client_secret",
                )
        keys: KeySet | None = None
        cache: JWKSCache | None = None
        if isinstance(self.jwks, KeySet):
            keys = self.jwks
        elif isinstance(self.jwks, JWKSCache):
            cache = self.jwks
        elif isinstance(self.jwks, str):
            cache = JWKSCache(
                self.jwks,
                transport=self.transport,
                store=self.store,
                ttl=self.jwks_ttl,
                min_refetch_interval=self.min_refetch_interval,
                timeout=self.timeout,
                provider=self.provider,
                clock=self.clock,
            )
        else:
            try:
                keys = KeySet.from_jwks(self.jwks, provider=self.provider)
            except ProviderResponseError as exc:
                raise InvalidSettingError(exc.message, key="IDTokenValidator.jwks") from None
        object.__setattr__(self, "_allowed", frozenset(self.algorithms))
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_cache", cache)
        object.__setattr__(self, "_hmac_key", hmac_key)
        object.__setattr__(self, "_audiences", frozenset(self.audience))

    def validate(
        self,
        token: str | bytes,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        now: datetime | None = None,
        max_age: float | None = None,
        require_at_hash: bool = False,
    ) -> dict[str, Any]:
        """Validate an ID token and return its claims.

        Args:
            token: The compact-serialised ID token.
            nonce: The nonce sent in the authorization request; when given, the token must carry
                the same one.
            access_token: The access token issued with the ID token; when given and the token
                has ``at_hash``, they must match.
            now: Current time, an aware ``datetime`` (the clock's when omitted).
            max_age: The ``max_age`` of the authorization request, in seconds: ``auth_time``
                is then required and must be recent enough.
            require_at_hash: Require ``at_hash`` when ``access_token`` is given — pass ``True``
                for ID tokens from the authorization endpoint of the implicit or hybrid flows
                (OIDC Core §3.2.2.10, §3.3.2.11); in the code flow it is optional.

        Returns:
            The claims (a new ``dict`` per call).

        Raises:
            InvalidTokenError: The token is invalid; ``code`` names the failed check.
            ProviderError: The provider's JWK Set could not be fetched.
        """
        if isinstance(token, str):
            if len(token) > self.max_token_bytes:
                _fail("oidc.too_large", f"the token is longer than {self.max_token_bytes} bytes")
            try:
                raw = token.encode("ascii")
            except UnicodeEncodeError:
                _fail("oidc.malformed", "the token is not ASCII base64url text")
        elif isinstance(token, bytes):
            if len(token) > self.max_token_bytes:
                _fail("oidc.too_large", f"the token is longer than {self.max_token_bytes} bytes")
            raw = token
        else:
            _fail("oidc.malformed", "the token must be a string")
        if now is None:
            ts = self.clock()
        elif now.tzinfo is None:
            raise InvalidSettingError("expected an aware datetime, got a naive one", key="now")
        else:
            ts = now.timestamp()

        # --- header ------------------------------------------------------------------------
        parts = raw.split(b".")
        if len(parts) != 3:
            _fail(
                "oidc.malformed",
                "expected a signed JWT: three base64url segments separated by dots",
            )
        header_b64, payload_b64, signature_b64 = parts
        try:
            header = _decode_json(b64url_decode(header_b64).decode("utf-8"))
            signature = b64url_decode(signature_b64)
        except (ValueError, RecursionError):
            _fail("oidc.malformed", "the header or signature is not base64url, or not JSON")
        if type(header) is not dict:
            _fail("oidc.malformed", "the header is not a JSON object")
        alg = header.get("alg")
        if type(alg) is not str or alg not in self._allowed:
            _fail("oidc.alg_not_allowed", f"alg must be one of {', '.join(self.algorithms)}")
        if "crit" in header:
            _fail("oidc.crit_unsupported", "the header has 'crit': no JWS extension is supported")
        kid = header.get("kid")
        if kid is not None and type(kid) is not str:
            _fail("oidc.malformed", "the header's 'kid' is not a string")

        # --- signature ---------------------------------------------------------------------
        signing_input = raw[: len(header_b64) + 1 + len(payload_b64)]
        key: JWK | None = None
        hmac_key = self._hmac_key
        if hmac_key is not None and alg in _HMAC_DIGESTS:
            expected = hmac.digest(hmac_key, signing_input, _HMAC_DIGESTS[alg])
            if not hmac.compare_digest(expected, signature):
                _fail("oidc.signature_invalid", "the signature does not verify")
        else:
            verify = _VERIFIERS[alg]
            for key in self._keys_for(kid, alg, ts):
                try:
                    verify(key.public_key, signature, signing_input)
                    break
                except (InvalidSignature, ValueError):
                    pass
            else:
                _fail("oidc.signature_invalid", "the signature does not verify")

        # --- claims ------------------------------------------------------------------------
        try:
            text = b64url_decode(payload_b64).decode("utf-8")
            claims = _decode_json(text)
            if "\\ud" in text or "\\uD" in text:
                # An escaped lone surrogate is valid JSON but no Unicode text (RFC 8259 §8.2).
                json.dumps(claims, ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError):
            _fail("oidc.malformed", "the payload is not base64url JSON text in UTF-8")
        if type(claims) is not dict:
            _fail("oidc.malformed", "the payload is not a JSON object")

        iss = claims.get("iss")
        if iss != self.issuer:
            if iss is None:
                _claim_missing("iss")
            _fail("oidc.issuer_mismatch", f"iss must be {self.issuer!r}")
        sub = claims.get("sub")
        if type(sub) is not str or not sub:
            if sub is None:
                _claim_missing("sub")
            _claim_type("sub", "a non-empty string")

        if self.verify_aud:
            self._check_audience(claims)

        leeway = self.leeway
        exp: Any = claims.get("exp")
        if type(exp) in _NUMBER:
            if self.verify_exp and exp <= ts - leeway:
                _fail("oidc.expired", f"the token has expired (leeway {leeway:g}s)")
        elif exp is not None:
            _claim_type("exp", "a number of seconds")
        elif self.verify_exp:
            _claim_missing("exp")
        iat: Any = claims.get("iat")
        if type(iat) in _NUMBER:
            if iat > ts + leeway:
                _fail("oidc.issued_in_future", f"iat is in the future (leeway {leeway:g}s)")
        elif iat is None:
            _claim_missing("iat")
        else:
            _claim_type("iat", "a number of seconds")
        nbf: Any = claims.get("nbf")
        if nbf is not None:
            if type(nbf) not in _NUMBER:
                _claim_type("nbf", "a number of seconds")
            if nbf > ts + leeway:
                _fail("oidc.not_yet_valid", f"nbf is in the future (leeway {leeway:g}s)")

        if nonce is not None:
            token_nonce = claims.get("nonce")
            if token_nonce is None:
                _fail("oidc.nonce_missing", "the token has no nonce but one was sent")
            if type(token_nonce) is not str or not hmac.compare_digest(
                token_nonce.encode("utf-8"), nonce.encode("utf-8", "surrogatepass")
            ):
                _fail("oidc.nonce_mismatch", "the nonce differs from the one sent")

        if max_age is not None:
            auth_time: Any = claims.get("auth_time")
            if auth_time is None:
                _claim_missing("auth_time")
            if type(auth_time) not in _NUMBER:
                _claim_type("auth_time", "a number of seconds")
            if auth_time + max_age < ts - leeway:
                _fail(
                    "oidc.max_age_exceeded",
                    f"the authentication is older than max_age {max_age:g}s",
                )

        if access_token is not None:
            at_hash = claims.get("at_hash")
            if at_hash is None:
                if require_at_hash:
                    _fail("oidc.at_hash_missing", "the token has no at_hash")
            else:
                expected_hash = _at_hash(alg, key, access_token)
                if type(at_hash) is not str or not hmac.compare_digest(
                    at_hash.encode("utf-8"), expected_hash
                ):
                    _fail("oidc.at_hash_mismatch", "at_hash does not match the access token")
        return claims

    def _keys_for(self, kid: str | None, alg: str, ts: float) -> tuple[JWK, ...]:
        """The JWK Set keys (almost always one) that may have signed a token with this ``kid``
        and ``alg``; raises when there is none."""
        cache = self._cache
        keys = self._keys if cache is None else cache.get(now=ts)
        assert keys is not None
        if kid is None:
            key = keys.sole_key(alg)
            if key is None:
                _fail(
                    "oidc.unknown_kid",
                    f"the token names no kid and not exactly one key of the JWK Set fits {alg}",
                )
            return (key,)
        candidates = keys.get(kid)
        if not candidates:
            if kid in keys.unusable:
                _fail(
                    "oidc.key_unusable",
                    f"the JWK Set key named by kid is not usable: {keys.unusable[kid]}",
                )
            fresh = cache.refresh(now=ts, seen=keys) if cache is not None else None
            if fresh is not None:
                candidates = fresh.get(kid)
            if not candidates:
                _fail("oidc.unknown_kid", "no key of the provider's JWK Set has the token's kid")
        if len(candidates) == 1:
            if alg in candidates[0].algorithms:
                return candidates
        else:
            # A provider that reuses a kid (it should not): any of its fitting keys may verify.
            fitting = tuple(key for key in candidates if alg in key.algorithms)
            if fitting:
                return fitting
        _fail(
            "oidc.alg_not_allowed",
            f"the key named by kid ({candidates[0].kty}) cannot verify {alg}",
        )

    def _check_audience(self, claims: dict[str, Any]) -> None:
        client_id = self.client_id
        aud = claims.get("aud")
        if type(aud) is str:
            if aud != client_id:
                _fail("oidc.audience_mismatch", f"aud must contain {client_id!r}")
            several = False
        elif type(aud) is list and aud and all(type(a) is str for a in aud):
            if client_id not in aud:
                _fail("oidc.audience_mismatch", f"aud must contain {client_id!r}")
            trusted = self._audiences
            for audience in aud:
                if audience != client_id and audience not in trusted:
                    _fail(
                        "oidc.audience_mismatch",
                        "aud lists an audience that is neither client_id nor a trusted "
                        "extra audience",
                    )
            several = len(aud) > 1
        elif aud is None:
            _claim_missing("aud")
        else:
            _claim_type("aud", "a string or a non-empty list of strings")
        azp = claims.get("azp")
        if azp is None:
            if several:
                _fail("oidc.azp_mismatch", f"azp is required with several audiences: {client_id!r}")
        elif azp != client_id:
            _fail("oidc.azp_mismatch", f"azp must be {client_id!r}")
