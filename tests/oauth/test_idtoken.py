"""IDTokenValidator: a valid token is accepted, and every forged token of the corpus is refused.

Tokens are made with PyJWT (an independent implementation) and cryptography-generated keys; the
forgeries PyJWT refuses to produce (alg none, HMAC keyed with an RSA public key, bad encodings)
are assembled by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from authkit.errors import InvalidSettingError, InvalidTokenError
from authkit.oauth import IDTokenValidator, KeySet

ISSUER = "https://op.example.org/realms/r"
CLIENT = "my-client"
NONCE = "n-0S6_WzA2Mj"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seg(obj: Any) -> str:
    return b64(json.dumps(obj).encode())


def public_jwk(private: Any, kid: str | None, alg: str | None = None) -> dict[str, Any]:
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    jwk = dict(jwk)
    jwk["use"] = "sig"
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "attacker": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "ed448": ed448.Ed448PrivateKey.generate(),
    }


@pytest.fixture(scope="module")
def jwks(keys: dict[str, Any]) -> dict[str, Any]:
    return {
        "keys": [
            public_jwk(keys["rsa"], "rsa-1", "RS256"),
            public_jwk(keys["rsa"], "rsa-any"),
            public_jwk(keys["p256"], "ec-256"),
            public_jwk(keys["p384"], "ec-384"),
            public_jwk(keys["p521"], "ec-521"),
            public_jwk(keys["ed25519"], "ed-25519"),
            public_jwk(keys["ed448"], "ed-448"),
        ]
    }


ALL_ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
ALL_ASYMMETRIC += ["ES512", "EdDSA"]


@pytest.fixture
def validator(jwks: dict[str, Any], clock: Any) -> IDTokenValidator:
    return IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256"],
        leeway=60,
        clock=clock,
    )


@pytest.fixture
def claims(clock: Any) -> dict[str, Any]:
    now = int(clock())
    return {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "jane@example.org",
    }


def sign(key: Any, claims: dict[str, Any], alg: str = "RS256", **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def refused(validator: IDTokenValidator, token: Any, code: str, **kwargs: Any) -> InvalidTokenError:
    kwargs.setdefault("nonce", NONCE)
    with pytest.raises(InvalidTokenError) as info:
        validator.validate(token, **kwargs)
    assert info.value.code == code, info.value
    return info.value


# --- accepted ------------------------------------------------------------------------------------


def test_valid_token_is_accepted(validator, keys, claims, clock):
    token = sign(keys["rsa"], claims, kid="rsa-1")
    assert validator.validate(token, nonce=NONCE) == claims
    assert validator.validate(token.encode(), nonce=NONCE, now=clock.now) == claims
    # Without an expected nonce, the token's nonce is not checked.
    assert validator.validate(token)["sub"] == claims["sub"]


@pytest.mark.parametrize(
    ("alg", "key", "kid"),
    [
        ("RS256", "rsa", "rsa-any"),
        ("RS384", "rsa", "rsa-any"),
        ("RS512", "rsa", "rsa-any"),
        ("PS256", "rsa", "rsa-any"),
        ("PS384", "rsa", "rsa-any"),
        ("PS512", "rsa", "rsa-any"),
        ("ES256", "p256", "ec-256"),
        ("ES384", "p384", "ec-384"),
        ("ES512", "p521", "ec-521"),
        ("EdDSA", "ed25519", "ed-25519"),
        ("EdDSA", "ed448", "ed-448"),
    ],
)
def test_every_supported_algorithm_when_allowed(jwks, keys, claims, clock, alg, key, kid):
    v = IDTokenValidator(issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=[alg], clock=clock)
    token = sign(keys[key], claims, alg, kid=kid)
    assert v.validate(token, nonce=NONCE) == claims
    # The same token is refused when its algorithm is not in the allow-list.
    other = "ES256" if alg != "ES256" else "RS256"
    refused(
        IDTokenValidator(issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=[other]),
        token,
        "oidc.alg_not_allowed",
        now=clock.now,
    )


def test_escaped_astral_characters_are_accepted(validator, keys, claims):
    claims["name"] = "Zoë \U0001f600"  # PyJWT escapes it as a surrogate pair
    token = sign(keys["rsa"], claims, kid="rsa-1")
    assert "\\ud83d" in base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
    assert validator.validate(token, nonce=NONCE) == claims


def test_token_without_kid_uses_the_only_fitting_key(keys, claims, clock):
    jwks = {"keys": [public_jwk(keys["rsa"], None), public_jwk(keys["p256"], None)]}
    v = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["RS256", "ES256"], clock=clock
    )
    assert v.validate(sign(keys["rsa"], claims), nonce=NONCE) == claims
    assert v.validate(sign(keys["p256"], claims, "ES256"), nonce=NONCE) == claims


def test_token_without_kid_refused_when_several_keys_fit(keys, jwks, claims, validator):
    refused(validator, sign(keys["rsa"], claims), "oidc.unknown_kid")


def test_trusted_extra_audience_with_azp(jwks, keys, claims, clock):
    v = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256"],
        audience="https://api.example.org",
        clock=clock,
    )
    claims.update(aud=[CLIENT, "https://api.example.org"], azp=CLIENT)
    assert v.validate(sign(keys["rsa"], claims, kid="rsa-1"), nonce=NONCE) == claims


def test_leeway_boundaries(validator, keys, claims, clock):
    now = int(clock())
    claims.update(exp=now - 59, iat=now + 59, nbf=now + 59)
    assert validator.validate(sign(keys["rsa"], claims, kid="rsa-1"), nonce=NONCE) == claims
    claims.update(exp=now - 60)
    refused(validator, sign(keys["rsa"], claims, kid="rsa-1"), "oidc.expired")


def test_verify_exp_and_verify_aud_switches(jwks, keys, claims, clock):
    v = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256"],
        verify_exp=False,
        verify_aud=False,
        clock=clock,
    )
    claims.update(exp=int(clock()) - 3600, aud="someone-else")
    assert v.validate(sign(keys["rsa"], claims, kid="rsa-1"), nonce=NONCE) == claims
    del claims["exp"]
    assert v.validate(sign(keys["rsa"], claims, kid="rsa-1"), nonce=NONCE) == claims


def test_at_hash_checked_when_access_token_given(validator, keys, claims):
    access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    claims["at_hash"] = b64(hashlib.sha256(access_token.encode()).digest()[:16])
    token = sign(keys["rsa"], claims, kid="rsa-1")
    assert validator.validate(token, nonce=NONCE, access_token=access_token) == claims
    refused(validator, token, "oidc.at_hash_mismatch", access_token=access_token + "x")


def test_at_hash_example_of_the_specification(validator, keys, claims):
    # OIDC Core §A.3: this access token has at_hash "77QmUPtjPfzWtF2AnpK9RQ" with RS256.
    claims["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ"
    token = sign(keys["rsa"], claims, kid="rsa-1")
    access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    assert validator.validate(token, nonce=NONCE, access_token=access_token) == claims
    refused(validator, token, "oidc.at_hash_mismatch", access_token=access_token[:-1])


@pytest.mark.parametrize(
    ("alg", "key", "kid", "digest"),
    [
        ("ES384", "p384", "ec-384", lambda d: hashlib.sha384(d).digest()),
        ("EdDSA", "ed25519", "ed-25519", lambda d: hashlib.sha512(d).digest()),
        ("EdDSA", "ed448", "ed-448", lambda d: hashlib.shake_256(d).digest(114)),
    ],
)
def test_at_hash_uses_the_hash_of_the_algorithm(jwks, keys, claims, clock, alg, key, kid, digest):
    v = IDTokenValidator(issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=[alg], clock=clock)
    full = digest(b"the-access-token")
    claims["at_hash"] = b64(full[: len(full) // 2])
    token = sign(keys[key], claims, alg, kid=kid)
    assert v.validate(token, nonce=NONCE, access_token="the-access-token") == claims
    refused(v, token, "oidc.at_hash_mismatch", access_token="another-token")


def test_at_hash_optional_in_code_flow_required_when_asked(validator, keys, claims):
    token = sign(keys["rsa"], claims, kid="rsa-1")
    assert validator.validate(token, nonce=NONCE, access_token="at") == claims
    refused(validator, token, "oidc.at_hash_missing", access_token="at", require_at_hash=True)


def test_max_age(validator, keys, claims, clock):
    claims["auth_time"] = int(clock()) - 600
    token = sign(keys["rsa"], claims, kid="rsa-1")
    assert validator.validate(token, nonce=NONCE, max_age=600) == claims
    refused(validator, token, "oidc.max_age_exceeded", max_age=500)
    del claims["auth_time"]
    refused(validator, sign(keys["rsa"], claims, kid="rsa-1"), "oidc.claim_missing", max_age=60)


def test_hmac_with_client_secret(keys, claims, clock):
    secret = "s3cr3t-of-the-client-at-least-32-bytes"
    v = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks={"keys": []},
        algorithms=["HS256"],
        client_secret=secret,
        clock=clock,
    )
    assert v.validate(jwt.encode(claims, secret, algorithm="HS256"), nonce=NONCE) == claims
    refused(v, jwt.encode(claims, secret + "x", algorithm="HS256"), "oidc.signature_invalid")


# --- the forged-token corpus -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe", ""])
def test_alg_none_in_any_capitalisation(validator, claims, alg):
    for signature in ("", b64(b"x")):
        token = f"{seg({'alg': alg, 'typ': 'JWT', 'kid': 'rsa-1'})}.{seg(claims)}.{signature}"
        refused(validator, token, "oidc.alg_not_allowed")
    refused(validator, f"{seg({'typ': 'JWT'})}.{seg(claims)}.", "oidc.alg_not_allowed")
    refused(validator, f"{seg({'alg': ['RS256']})}.{seg(claims)}.", "oidc.alg_not_allowed")


def _hs256_with_public_pem(private: Any, claims: dict[str, Any], kid: str) -> str:
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{seg({'alg': 'HS256', 'kid': kid})}.{seg(claims)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def test_key_confusion_hs256_signed_with_the_rsa_public_key(validator, jwks, keys, claims, clock):
    token = _hs256_with_public_pem(keys["rsa"], claims, "rsa-1")
    refused(validator, token, "oidc.alg_not_allowed")
    # Even with HS256 allowed, the HMAC key is the client secret, never a JWKS key.
    both = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256", "HS256"],
        client_secret="a-client-secret-that-is-long-enough!",
        clock=clock,
    )
    refused(both, token, "oidc.signature_invalid")


@pytest.fixture
def fetch_counter():
    """A loopback server counting the requests that jku/x5u URLs would cause."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"keys": []}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


def _self_signed_x5c(private: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "op.example.org")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(private, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.mark.parametrize("kid", ["rsa-1", None, "attacker-kid"])
def test_header_key_injection_is_never_used(validator, keys, claims, fetch_counter, kid):
    base_url, hits = fetch_counter
    attacker = keys["attacker"]
    headers: dict[str, Any] = {
        "jwk": public_jwk(attacker, kid),
        "jku": f"{base_url}/jwks.json",
        "x5u": f"{base_url}/cert.pem",
        "x5c": [_self_signed_x5c(attacker)],
    }
    if kid is not None:
        headers["kid"] = kid
    expected = "oidc.unknown_kid" if kid != "rsa-1" else "oidc.signature_invalid"
    for name in ("jwk", "jku", "x5u", "x5c"):
        one = {name: headers[name]} if kid is None else {name: headers[name], "kid": kid}
        refused(validator, sign(attacker, claims, **one), expected)
    refused(validator, sign(attacker, claims, **headers), expected)
    assert hits == []  # nothing was fetched from jku / x5u


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"iss": "https://evil.example/realms/r"}, "oidc.issuer_mismatch"),
        ({"iss": ISSUER + "/"}, "oidc.issuer_mismatch"),
        ({"iss": ["https://op.example.org/realms/r"]}, "oidc.issuer_mismatch"),
        ({"iss": None}, "oidc.claim_missing"),
        ({"sub": None}, "oidc.claim_missing"),
        ({"sub": ""}, "oidc.claim_invalid"),
        ({"sub": 42}, "oidc.claim_invalid"),
        ({"aud": "other-client"}, "oidc.audience_mismatch"),
        ({"aud": ["other-client"]}, "oidc.audience_mismatch"),
        ({"aud": [CLIENT, "untrusted"], "azp": CLIENT}, "oidc.audience_mismatch"),
        ({"aud": None}, "oidc.claim_missing"),
        ({"aud": []}, "oidc.claim_invalid"),
        ({"aud": 7}, "oidc.claim_invalid"),
        ({"aud": [CLIENT, 7]}, "oidc.claim_invalid"),
        ({"aud": [CLIENT, CLIENT]}, "oidc.azp_mismatch"),
        ({"azp": "other-client"}, "oidc.azp_mismatch"),
        ({"exp": -300}, "oidc.expired"),
        ({"exp": -61}, "oidc.expired"),
        ({"exp": None}, "oidc.claim_missing"),
        ({"exp": "9999999999"}, "oidc.claim_invalid"),
        ({"exp": True}, "oidc.claim_invalid"),
        ({"iat": 61}, "oidc.issued_in_future"),
        ({"iat": None}, "oidc.claim_missing"),
        ({"iat": "0"}, "oidc.claim_invalid"),
        ({"iat": False}, "oidc.claim_invalid"),
        ({"nbf": 61}, "oidc.not_yet_valid"),
        ({"nbf": "0"}, "oidc.claim_invalid"),
        ({"nonce": None}, "oidc.nonce_missing"),
        ({"nonce": "another-nonce"}, "oidc.nonce_mismatch"),
        ({"nonce": NONCE + "x"}, "oidc.nonce_mismatch"),
        ({"nonce": 12}, "oidc.nonce_mismatch"),
        ({"nonce": [NONCE]}, "oidc.nonce_mismatch"),
    ],
)
def test_claims(validator, keys, claims, clock, change, code):
    now = int(clock())
    for name, value in change.items():
        if value is None:
            del claims[name]
        elif name in ("exp", "iat", "nbf") and type(value) is int:
            claims[name] = now + value
        else:
            claims[name] = value
    # Signed by hand: PyJWT would refuse to produce some of these claims sets.
    token = _resign(keys["rsa"], seg({"alg": "RS256", "kid": "rsa-1"}), seg(claims))
    refused(validator, token, code)


def test_several_audiences_need_azp(jwks, keys, claims, clock):
    v = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256"],
        audience=["https://api.example.org"],
        clock=clock,
    )
    claims["aud"] = [CLIENT, "https://api.example.org"]
    refused(v, sign(keys["rsa"], claims, kid="rsa-1"), "oidc.azp_mismatch")
    claims["azp"] = "https://api.example.org"
    refused(v, sign(keys["rsa"], claims, kid="rsa-1"), "oidc.azp_mismatch")


def test_unknown_kid(validator, keys, claims):
    refused(validator, sign(keys["rsa"], claims, kid="rotated-away"), "oidc.unknown_kid")


def test_kid_naming_a_key_of_another_type(jwks, keys, claims, clock):
    v = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["RS256", "ES256"], clock=clock
    )
    # An RS256 token pointing at the EC key, and an ES256 token pointing at the RSA key.
    refused(v, sign(keys["rsa"], claims, kid="ec-256"), "oidc.alg_not_allowed")
    refused(v, sign(keys["p256"], claims, "ES256", kid="rsa-1"), "oidc.alg_not_allowed")
    # A key whose own "alg" is RS256 does not verify RS512 even though it is RSA.
    v512 = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["RS512"], clock=clock
    )
    refused(v512, sign(keys["rsa"], claims, "RS512", kid="rsa-1"), "oidc.alg_not_allowed")


def test_kid_reused_by_two_keys(keys, claims, clock):
    jwks = {
        "keys": [
            public_jwk(keys["p256"], "dup"),
            public_jwk(keys["attacker"], "dup"),
            public_jwk(keys["rsa"], "dup"),
        ]
    }
    v = IDTokenValidator(issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["RS256"])
    token = sign(keys["rsa"], claims, kid="dup")
    assert v.validate(token, nonce=NONCE, now=clock.now) == claims
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(v, sign(other, claims, kid="dup"), "oidc.signature_invalid", now=clock.now)


def test_signature_by_an_unknown_key_with_a_known_kid(validator, keys, claims):
    refused(validator, sign(keys["attacker"], claims, kid="rsa-1"), "oidc.signature_invalid")


def test_tampered_payload(validator, keys, claims):
    header, _, signature = sign(keys["rsa"], claims, kid="rsa-1").split(".")
    tampered = f"{header}.{seg({**claims, 'sub': 'admin'})}.{signature}"
    refused(validator, tampered, "oidc.signature_invalid")
    tampered_header = f"{seg({'alg': 'RS256', 'kid': 'rsa-any'})}.{seg(claims)}.{signature}"
    refused(validator, tampered_header, "oidc.signature_invalid")


def test_truncated_or_bit_flipped_signatures(jwks, keys, claims, clock):
    v = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["ES256", "EdDSA"], clock=clock
    )
    for key, alg, kid in (("p256", "ES256", "ec-256"), ("ed25519", "EdDSA", "ed-25519")):
        header, payload, signature = sign(keys[key], claims, alg, kid=kid).split(".")
        raw = base64.urlsafe_b64decode(signature + "==")
        # ... including the all-zero "psychic signature" (r = s = 0, CVE-2022-21449).
        for bad in (raw[:-1], raw + b"\0", bytes([raw[0] ^ 1]) + raw[1:], b"", bytes(len(raw))):
            refused(v, f"{header}.{payload}.{b64(bad)}", "oidc.signature_invalid")


def test_ecdsa_signature_must_have_the_exact_size(jwks, keys, claims, clock):
    # R and S each left-padded with a zero byte are the same numbers: still refused (JWS
    # signatures have one encoding, RFC 7518 §3.4).
    v = IDTokenValidator(issuer=ISSUER, client_id=CLIENT, jwks=jwks, algorithms=["ES256"])
    header, payload, signature = sign(keys["p256"], claims, "ES256", kid="ec-256").split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    for padded in (b"\0" + raw[:32] + b"\0" + raw[32:], raw[:32] + b"\0" + raw[32:]):
        refused(v, f"{header}.{payload}.{b64(padded)}", "oidc.signature_invalid", now=clock.now)
    assert v.validate(f"{header}.{payload}.{signature}", nonce=NONCE, now=clock.now) == claims


def test_oversized_tokens_are_refused_before_parsing(validator, keys, claims):
    refused(validator, "x" * (16 * 1024 + 1), "oidc.too_large")
    refused(validator, b"." * (16 * 1024 + 1), "oidc.too_large")
    claims["padding"] = "a" * 16 * 1024
    refused(validator, sign(keys["rsa"], claims, kid="rsa-1"), "oidc.too_large")


def test_oversized_limit_is_configurable(jwks, keys, claims, clock):
    claims["padding"] = "a" * 20 * 1024
    token = sign(keys["rsa"], claims, kid="rsa-1")
    v = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks=jwks,
        algorithms=["RS256"],
        max_token_bytes=64 * 1024,
        clock=clock,
    )
    assert v.validate(token, nonce=NONCE) == claims


def _resign(private: Any, header_segment: str, payload_segment: str) -> str:
    signing_input = f"{header_segment}.{payload_segment}".encode()
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header_segment}.{payload_segment}.{b64(signature)}"


def test_malformed_encodings(validator, keys, claims):
    token = sign(keys["rsa"], claims, kid="rsa-1")
    header, payload, signature = token.split(".")
    cases = [
        "",
        "abc",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.",
        f"{header}.{payload}.{signature}.{signature}.{signature}",  # a JWE has five parts
        f"{header}=.{payload}.{signature}",  # padding
        f"{header}.{payload}.{signature}==",
        f"{header}.{payload}.{signature[:-1]}",  # 4n+1 characters / non-canonical tail
        f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}+",
        f" {token}",
        f"{token}\n",
        f"{header}.{payload}.{signature[:10]}é{signature[11:]}",
        f"{b64(b'not json')}.{payload}.{signature}",
        f"{b64(b'[1, 2]')}.{payload}.{signature}",
        b64(b'"RS256"') + f".{payload}.{signature}",
        f"{b64(bytes([0xFF, 0xFE]))}.{payload}.{signature}",
        f"{b64(b'[' * 5000 + b']' * 5000)}.{payload}.{signature}",
        f"{seg({'alg': 'RS256', 'kid': 7})}.{payload}.{signature}",
    ]
    for case in cases:
        refused(validator, case, "oidc.malformed")
    refused(validator, 12345, "oidc.malformed")
    refused(validator, None, "oidc.malformed")


def test_non_canonical_base64_tail_is_refused(validator, keys, claims):
    header, payload, signature = sign(keys["rsa"], claims, kid="rsa-1").split(".")
    # The 256-byte RSA signature leaves 4 spare bits in its last character: set one.
    assert len(signature) % 4 == 2
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(signature[-1]) | 1]
    refused(validator, f"{header}.{payload}.{signature[:-1]}{last}", "oidc.malformed")


@pytest.mark.parametrize(
    "payload",
    [
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"not json",
        b'{"exp": NaN}',
        b'{"exp": Infinity}',
        b'{"exp": 1e400}',
        b"\xff\xfe{}",
        b'{"iss": "https://op.example.org/realms/r", "name": "\\ud800"}',
    ],
)
def test_signed_non_object_or_invalid_payload(validator, keys, payload):
    token = _resign(keys["rsa"], seg({"alg": "RS256", "kid": "rsa-1"}), b64(payload))
    refused(validator, token, "oidc.malformed")


def test_crit_header_is_refused(validator, keys, claims):
    refused(
        validator, sign(keys["rsa"], claims, kid="rsa-1", crit=["exp"]), "oidc.crit_unsupported"
    )
    refused(validator, sign(keys["rsa"], claims, kid="rsa-1", crit=[]), "oidc.crit_unsupported")
    token = _resign(
        keys["rsa"],
        seg({"alg": "RS256", "kid": "rsa-1", "b64": False, "crit": ["b64"]}),
        seg(claims),
    )
    refused(validator, token, "oidc.crit_unsupported")


def test_unusable_key_named_by_kid(keys, claims, clock):
    enc = public_jwk(keys["rsa"], "enc-1")
    enc["use"] = "enc"
    v = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks={"keys": [enc]}, algorithms=["RS256"], clock=clock
    )
    refused(v, sign(keys["rsa"], claims, kid="enc-1"), "oidc.key_unusable")


def test_messages_never_echo_the_token(validator, keys, claims):
    marker = "ATTACKER<script>"
    cases = {
        "iss": f"https://{marker}",
        "aud": marker,
        "azp": marker,
        "nonce": marker,
    }
    for name, value in cases.items():
        error = refused(
            validator, sign(keys["rsa"], {**claims, name: value}, kid="rsa-1"), error_code(name)
        )
        assert marker not in str(error)
        assert marker not in repr(error)
    error = refused(validator, sign(keys["rsa"], claims, kid=marker), "oidc.unknown_kid")
    assert marker not in str(error)
    error = refused(validator, f"{seg({'alg': marker})}.{seg(claims)}.", "oidc.alg_not_allowed")
    assert marker not in str(error)


def error_code(claim: str) -> str:
    return {
        "iss": "oidc.issuer_mismatch",
        "aud": "oidc.audience_mismatch",
        "azp": "oidc.azp_mismatch",
        "nonce": "oidc.nonce_mismatch",
    }[claim]


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"algorithms": []}, "IDTokenValidator.algorithms"),
        ({"algorithms": ["none"]}, "IDTokenValidator.algorithms"),
        ({"algorithms": ["RS256", "None"]}, "IDTokenValidator.algorithms"),
        ({"algorithms": ["RS1"]}, "IDTokenValidator.algorithms"),
        ({"algorithms": [256]}, "IDTokenValidator.algorithms"),
        ({"algorithms": ["HS256"]}, "IDTokenValidator.algorithms"),
        ({"algorithms": ["HS512"], "client_secret": "x" * 32}, "IDTokenValidator.client_secret"),
        ({"issuer": ""}, "IDTokenValidator.issuer"),
        ({"client_id": None}, "IDTokenValidator.client_id"),
        ({"leeway": -1}, "IDTokenValidator.leeway"),
        ({"leeway": "60"}, "IDTokenValidator.leeway"),
        ({"max_token_bytes": 10}, "IDTokenValidator.max_token_bytes"),
        ({"jwks": 42}, "IDTokenValidator.jwks"),
        ({"jwks": "not a url"}, "IDTokenValidator.jwks"),
        ({"jwks": {"keys": "nope"}}, "IDTokenValidator.jwks"),
        ({"verify_exp": "false"}, "IDTokenValidator.verify_exp"),
    ],
)
def test_bad_configuration(jwks, changes, key):
    config: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "jwks": jwks,
        "algorithms": ["RS256"],
        **changes,
    }
    with pytest.raises(InvalidSettingError) as info:
        IDTokenValidator(**config)
    assert info.value.key == key


def test_static_jwks_with_private_key_refused(keys):
    private = RSAAlgorithm.to_jwk(keys["rsa"], as_dict=True)
    with pytest.raises(InvalidSettingError) as info:
        IDTokenValidator(
            issuer=ISSUER, client_id=CLIENT, jwks={"keys": [private]}, algorithms=["RS256"]
        )
    assert "private" in info.value.message


def test_naive_now_is_refused(validator, keys, claims, clock):
    with pytest.raises(InvalidSettingError):
        validator.validate(
            sign(keys["rsa"], claims, kid="rsa-1"), now=clock.now.replace(tzinfo=None)
        )


def test_keyset_can_be_shared(jwks, keys, claims, clock):
    key_set = KeySet.from_jwks(jwks)
    v = IDTokenValidator(
        issuer=ISSUER, client_id=CLIENT, jwks=key_set, algorithms=["RS256"], clock=clock
    )
    assert v.validate(sign(keys["rsa"], claims, kid="rsa-1"), nonce=NONCE) == claims
    assert "secret" not in repr(
        IDTokenValidator(
            issuer=ISSUER,
            client_id=CLIENT,
            jwks=key_set,
            algorithms=["HS256"],
            client_secret="secret" * 6,
        )
    )
