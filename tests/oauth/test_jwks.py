"""KeySet parsing and the JWKSCache, over a real loopback HTTP server serving a JWK Set we control.

Time moves with the ``clock`` fixture; requests are counted on the server to prove the cache and
the refetch rate limit.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authkit.errors import (
    InvalidSettingError,
    InvalidTokenError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnreachableError,
)
from authkit.oauth import IDTokenValidator, JWKSCache, KeySet
from authkit.oauth._jwks import b64url_decode
from authkit.stores import MemoryStateStore
from authkit.transport import RequestsTransport, Timeout

ISSUER = "https://op.example.org"
CLIENT = "client-1"


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def jwk_of(private: Any, kid: str | None = None, **extra: Any) -> dict[str, Any]:
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = dict(ECAlgorithm.to_jwk(public, as_dict=True))
    else:
        jwk = dict(OKPAlgorithm.to_jwk(public, as_dict=True))
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(extra)
    return jwk


class JWKSServer:
    """Serves ``body`` with ``status`` at any path; counts the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b'{"keys": []}'
        self.headers: dict[str, str] = {"content-type": "application/jwk-set+json"}
        self.hits = 0
        self.hold: threading.Event | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if outer.hold is not None:
                    outer.hold.wait(5)
                self.send_response(outer.status)
                for name, value in outer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def serve(self, *jwks: dict[str, Any]) -> None:
        self.status = 200
        self.body = json.dumps({"keys": list(jwks)}).encode()


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    srv = JWKSServer()
    srv.thread.start()
    yield srv
    if srv.hold is not None:
        srv.hold.set()
    srv.server.shutdown()
    srv.server.server_close()
    srv.thread.join()


def make_validator(url: str, clock: Any, **kwargs: Any) -> IDTokenValidator:
    kwargs.setdefault("transport", RequestsTransport(retries=0))
    return IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=kwargs.pop("jwks", url),
        algorithms=["RS256"],
        clock=clock,
        **kwargs,
    )


def token(clock: Any, private: Any, kid: str) -> str:
    now = int(clock())
    claims = {"iss": ISSUER, "sub": "u", "aud": CLIENT, "iat": now, "exp": now + 300}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def unknown_kid(validator: IDTokenValidator, tok: str) -> None:
    with pytest.raises(InvalidTokenError) as info:
        validator.validate(tok)
    assert info.value.code == "oidc.unknown_kid"


# --- KeySet --------------------------------------------------------------------------------------


def test_keyset_prepares_every_usable_key(rsa_keys):
    p256 = ec.generate_private_key(ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    key_set = KeySet.from_jwks(
        {
            "keys": [
                jwk_of(rsa_keys[0], "r", use="sig", alg="RS256"),
                jwk_of(rsa_keys[1], "r2", key_ops=["verify"]),
                jwk_of(p256, "e"),
                jwk_of(ed, "o"),
                jwk_of(rsa_keys[1], "enc", use="enc"),
                jwk_of(rsa_keys[1], "signer", key_ops=["sign"]),
                {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "A" * 43},
                jwk_of(p256, "mislabelled", alg="RS256"),
                {"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "AAAA"},
                jwk_of(rsa.generate_private_key(public_exponent=65537, key_size=1024), "weak"),  # noqa: S505
                jwk_of(p256, None),
            ]
        }
    )
    assert key_set.kids == {"r", "r2", "e", "o"}
    assert len(key_set) == 5
    (r,) = key_set.get("r")
    assert (r.kty, r.alg, r.algorithms) == ("RSA", "RS256", frozenset({"RS256"}))
    (r2,) = key_set.get("r2")
    assert r2.algorithms == {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    (e,) = key_set.get("e")
    assert (e.kty, e.crv, e.algorithms) == ("EC", "P-256", frozenset({"ES256"}))
    (o,) = key_set.get("o")
    assert (o.kty, o.crv, o.algorithms) == ("OKP", "Ed25519", frozenset({"EdDSA"}))
    assert set(key_set.unusable) == {"enc", "signer", "x", "mislabelled", "pq", "weak"}
    assert "2048" in key_set.unusable["weak"]
    assert key_set.get("enc") == ()
    assert key_set.sole_key("EdDSA") is o
    assert key_set.sole_key("ES256") is None  # "e" and the key without kid both fit
    assert "r" in key_set
    assert "r" in repr(key_set)


def test_same_kid_for_signing_and_encryption_keys(rsa_keys):
    key_set = KeySet.from_jwks(
        {"keys": [jwk_of(rsa_keys[0], "k", use="enc"), jwk_of(rsa_keys[1], "k", use="sig")]}
    )
    assert len(key_set.get("k")) == 1
    assert "k" not in key_set.unusable


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP", "oct"])
def test_private_or_symmetric_key_material_is_refused(rsa_keys, kty):
    private = {
        "RSA": lambda: dict(RSAAlgorithm.to_jwk(rsa_keys[0], as_dict=True)),
        "EC": lambda: dict(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), True)),
        "OKP": lambda: dict(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), True)),
        "oct": lambda: {"kty": "oct", "k": "c2VjcmV0"},
    }[kty]()
    with pytest.raises(ProviderResponseError) as info:
        KeySet.from_jwks({"keys": [jwk_of(rsa_keys[1], "fine"), private]})
    assert info.value.code == "oidc.jwks_invalid"
    assert "private" in info.value.message


def _ec_jwk() -> dict[str, Any]:
    return jwk_of(ec.generate_private_key(ec.SECP256R1()), "e")


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        {"keys": {}},
        {"keys": ["a string"]},
        {"keys": [{"kid": "k"}]},
        {"keys": [{"kty": 1}]},
        {"keys": [{"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "n": "not base64!", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "n": "AQAB=", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AA"}]},
        {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": 256}]},
        {"keys": [{**_ec_jwk(), "x": "AQAB"}]},
        {"keys": [{**_ec_jwk(), "y": _ec_jwk()["x"]}]},
        {"keys": [{**_ec_jwk(), "crv": 1}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AQAB"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "é"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": 1, "y": 2}]},
        {"keys": [{"kty": "AKP", "kid": f"k{i}"} for i in range(101)]},
    ],
)
def test_malformed_jwks(document):
    with pytest.raises(ProviderResponseError) as info:
        KeySet.from_jwks(document)
    assert info.value.code == "oidc.jwks_invalid"


def test_b64url_decode_is_strict():
    assert b64url_decode(b"") == b""
    assert b64url_decode(b"QQ") == b"A"
    assert b64url_decode(b"_-8") == bytes([0xFF, 0xEF])
    for bad in (b"QQ==", b"QR", b"Q", b"Q Q", b"+/8", b"QQ\n", b"Q=Q", b"\xff\xfe"):
        with pytest.raises(ValueError, match=r"base64|padding|canonical"):
            b64url_decode(bad)


# --- JWKSCache over HTTP -------------------------------------------------------------------------


def test_fetched_lazily_once_then_cached(server, rsa_keys, clock):
    server.serve(jwk_of(rsa_keys[0], "k1"))
    validator = make_validator(server.url, clock)
    assert server.hits == 0  # no I/O at construction
    for _ in range(3):
        assert validator.validate(token(clock, rsa_keys[0], "k1"))["sub"] == "u"
    assert server.hits == 1
    clock.advance(3600)  # the default ttl
    validator.validate(token(clock, rsa_keys[0], "k1"))
    assert server.hits == 2


def test_rotation_new_kid_refetches(server, rsa_keys, clock):
    server.serve(jwk_of(rsa_keys[0], "k1"))
    validator = make_validator(server.url, clock)
    validator.validate(token(clock, rsa_keys[0], "k1"))
    server.serve(jwk_of(rsa_keys[0], "k1"), jwk_of(rsa_keys[1], "k2"))
    clock.advance(61)
    assert validator.validate(token(clock, rsa_keys[1], "k2"))["sub"] == "u"
    assert server.hits == 2
    validator.validate(token(clock, rsa_keys[0], "k1"))
    validator.validate(token(clock, rsa_keys[1], "k2"))
    assert server.hits == 2


def test_unknown_kids_refetch_at_most_once_per_interval(server, rsa_keys, clock):
    server.serve(jwk_of(rsa_keys[0], "k1"))
    validator = make_validator(server.url, clock, min_refetch_interval=30)
    validator.validate(token(clock, rsa_keys[0], "k1"))
    assert server.hits == 1
    # Right after the first fetch: no refetch at all.
    unknown_kid(validator, token(clock, rsa_keys[1], "random-0"))
    assert server.hits == 1
    clock.advance(30)
    for i in range(1, 20):
        unknown_kid(validator, token(clock, rsa_keys[1], f"random-{i}"))
        clock.advance(1)
    assert server.hits == 2  # one refetch for nineteen random kids in 19 seconds
    clock.advance(11)
    unknown_kid(validator, token(clock, rsa_keys[1], "random-20"))
    assert server.hits == 3


def test_http_error_status_then_backoff(server, rsa_keys, clock):
    server.status, server.body = 500, b'{"error": "server_error"}'
    validator = make_validator(server.url, clock)
    tok = token(clock, rsa_keys[0], "k1")
    with pytest.raises(ProviderHTTPError) as info:
        validator.validate(tok)
    assert (info.value.code, info.value.status, info.value.error) == (
        "provider.http_error",
        500,
        "server_error",
    )
    with pytest.raises(ProviderHTTPError):
        validator.validate(tok)
    assert server.hits == 1  # the failure is not retried at every login
    server.serve(jwk_of(rsa_keys[0], "k1"))
    clock.advance(60)
    assert validator.validate(token(clock, rsa_keys[0], "k1"))["sub"] == "u"
    assert server.hits == 2


def test_get_is_retried_by_the_transport(server, clock):
    server.status = 503
    waits: list[float] = []
    cache = JWKSCache(
        server.url, transport=RequestsTransport(retries=2, sleep=waits.append), clock=clock
    )
    with pytest.raises(ProviderHTTPError):
        cache.get()
    assert server.hits == 3
    assert len(waits) == 2


def test_redirect_is_not_followed(server, clock):
    server.status, server.headers["location"] = 302, "http://127.0.0.1:1/elsewhere"
    with pytest.raises(ProviderHTTPError) as info:
        JWKSCache(server.url, transport=RequestsTransport(retries=0), clock=clock).get()
    assert info.value.status == 302


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html>not json</html>", "provider.malformed_response"),
        (b"[1, 2]", "provider.malformed_response"),
        (b'{"keys": "none"}', "oidc.jwks_invalid"),
        (b'{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}]}', "oidc.jwks_invalid"),
    ],
)
def test_malformed_answers(server, rsa_keys, clock, body, code):
    server.body = body
    validator = make_validator(server.url, clock)
    with pytest.raises(ProviderResponseError) as info:
        validator.validate(token(clock, rsa_keys[0], "k1"))
    assert info.value.code == code


def test_timeout(server, clock):
    server.hold = threading.Event()
    cache = JWKSCache(
        server.url,
        transport=RequestsTransport(retries=0),
        timeout=Timeout(connect=1, read=0.2),
        clock=clock,
    )
    with pytest.raises(ProviderTimeoutError) as info:
        cache.get()
    assert info.value.code == "provider.timeout"
    server.hold.set()


def test_unreachable(clock):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = JWKSCache(
        f"http://127.0.0.1:{port}/jwks", transport=RequestsTransport(retries=0), clock=clock
    )
    with pytest.raises(ProviderUnreachableError) as info:
        cache.get()
    assert info.value.code == "provider.unreachable"


def test_shared_through_a_state_store(server, rsa_keys, clock):
    store = MemoryStateStore(clock=clock)
    server.serve(jwk_of(rsa_keys[0], "k1"))
    worker_a = make_validator(server.url, clock, store=store)
    worker_b = make_validator(server.url, clock, store=store)
    worker_a.validate(token(clock, rsa_keys[0], "k1"))
    worker_b.validate(token(clock, rsa_keys[0], "k1"))
    assert server.hits == 1
    assert store.get(f"authkit:jwks:{server.url}")["jwks"]["keys"][0]["kid"] == "k1"

    # Rotation: A refetches on the new kid; B finds the new document in the store.
    server.serve(jwk_of(rsa_keys[0], "k1"), jwk_of(rsa_keys[1], "k2"))
    clock.advance(61)
    worker_a.validate(token(clock, rsa_keys[1], "k2"))
    worker_b.validate(token(clock, rsa_keys[1], "k2"))
    assert server.hits == 2

    # The refetch rate limit is shared: B may not refetch right after A did.
    unknown_kid(worker_b, token(clock, rsa_keys[1], "random"))
    assert server.hits == 2


def test_corrupt_store_entry_is_ignored(server, rsa_keys, clock):
    store = MemoryStateStore(clock=clock)
    store.put(f"authkit:jwks:{server.url}", {"jwks": {"keys": 1}, "fetched_at": clock()}, ttl=60)
    server.serve(jwk_of(rsa_keys[0], "k1"))
    make_validator(server.url, clock, store=store).validate(token(clock, rsa_keys[0], "k1"))
    assert server.hits == 1


def test_one_cache_shared_by_validators(server, rsa_keys, clock):
    server.serve(jwk_of(rsa_keys[0], "k1"))
    cache = JWKSCache(server.url, transport=RequestsTransport(retries=0), clock=clock)
    for _ in range(2):
        v = IDTokenValidator(
            issuer=ISSUER, client_id=CLIENT, jwks=cache, algorithms=["RS256"], clock=clock
        )
        v.validate(token(clock, rsa_keys[0], "k1"))
    assert server.hits == 1
    assert cache.refresh() is None  # the last fetch was just now
    clock.advance(60)
    assert cache.refresh().kids == {"k1"}
    assert server.hits == 2


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"uri": "ftp://example.org/jwks"}, "JWKSCache.uri"),
        ({"ttl": 0}, "JWKSCache.ttl"),
        ({"min_refetch_interval": -1}, "JWKSCache.min_refetch_interval"),
    ],
)
def test_cache_configuration(kwargs, key):
    uri = kwargs.pop("uri", "https://op.example.org/jwks")
    with pytest.raises(InvalidSettingError) as info:
        JWKSCache(uri, **kwargs)
    assert info.value.key == key


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_rotation_against_the_test_provider(clock, algorithm):
    from authkit.testing import OIDCProvider

    with OIDCProvider(algorithm=algorithm, clock=clock) as provider:
        validator = IDTokenValidator(
            issuer=provider.issuer,
            client_id=CLIENT,
            jwks=provider.jwks_url,
            algorithms=[algorithm],
            transport=RequestsTransport(retries=0),
            clock=clock,
        )

        def issue() -> str:
            now = int(clock())
            return provider.sign_jwt(
                {"iss": provider.issuer, "sub": "u", "aud": CLIENT, "iat": now, "exp": now + 60}
            )

        assert validator.validate(issue())["sub"] == "u"
        old = issue()
        provider.rotate_keys()
        clock.advance(60)
        assert validator.validate(issue())["sub"] == "u"  # new kid: one refetch
        with pytest.raises(InvalidTokenError) as info:
            validator.validate(old)  # its key left the JWK Set
        assert info.value.code == "oidc.unknown_kid"
        assert provider.request_count("jwks") == 2
