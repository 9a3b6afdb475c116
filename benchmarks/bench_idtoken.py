"""ID-token validation: authkit vs PyJWT's bare decode vs Authlib vs a raw RSA verify, one run.

All contenders get the same RS256 token (RSA-2048, a typical OIDC claims set) and warm keys:

- ``floor``: one ``cryptography`` RSA-2048 PKCS#1 v1.5 verify of the signing input with an
  already-decoded signature — the least work any validator must do;
- ``authkit``: :meth:`authkit.oauth.IDTokenValidator.validate` with every check (size, strict
  base64url, header, alg allow-list, kid lookup in a warm :class:`~authkit.oauth.JWKSCache`,
  signature, iss, sub, aud, azp, exp, iat, nbf, nonce, at_hash);
- ``pyjwt``: ``jwt.decode(token, key, algorithms=["RS256"], audience=..., issuer=...)`` on a
  pre-loaded public key (no nonce, no at_hash);
- ``authlib``: ``authlib.jose.JsonWebToken(["RS256"]).decode(token, key, claims_options=...)``
  followed by ``claims.validate()`` on a pre-imported key (iss, aud, nonce as essential values).

Each round times every contender over the same number of calls (order rotated, garbage
collector off, like :mod:`timeit`); the best and the median per-call time over the rounds are
reported, and the ratios are computed from the best times (the least noisy estimate on a
shared machine).

Run: ``python benchmarks/bench_idtoken.py`` (``--quick`` for a smoke run; ``--check`` exits 1
when the goals are not met). Goals (issue 3): authkit at most 0.6x PyJWT's bare decode and
below Authlib.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from _timing import measure  # benchmarks/_timing.py, beside this script

ISSUER = "https://id.example.org/realms/main"
CLIENT = "portal"
NONCE = "Yc5iZ2u0aX3Bq7Vd9Lk1Qw"
ACCESS_TOKEN = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJSUzI1NiJ9.c2FtcGxlIGFjY2VzcyB0b2tlbg.sig"

GOAL_PYJWT = 0.6
GOAL_AUTHLIB = 1.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def setup() -> tuple[dict[str, Callable[[], Any]], str]:
    """Build the token, the keys and one zero-argument callable per contender."""
    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from jwt.algorithms import RSAAlgorithm

    from authkit.oauth import IDTokenValidator
    from authkit.transport import HTTPRequest, HTTPResponse, MockTransport

    # authlib.jose announces its move to joserfc with a warning it forces on: record, not show.
    with warnings.catch_warnings(record=True):
        from authlib.jose import JsonWebKey, JsonWebToken

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    jwk = dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    jwk.update(kid="2024-06-rsa", use="sig", alg="RS256")
    jwks = {"keys": [jwk]}

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "f3b1c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "aud": CLIENT,
        "azp": CLIENT,
        "exp": now + 300,
        "iat": now,
        "auth_time": now - 5,
        "nonce": NONCE,
        "at_hash": _b64(hashlib.sha256(ACCESS_TOKEN.encode()).digest()[:16]),
        "sid": "a8c9e2f0-1b3d-4e5f-8a7b-6c5d4e3f2a1b",
        "email": "jane.doe@example.org",
        "email_verified": True,
        "name": "Jane Doe",
        "preferred_username": "jdoe",
        "groups": ["staff", "researchers"],
    }
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": jwk["kid"]})

    def answer(request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse(status=200, body=json.dumps(jwks).encode(), url=request.url)

    validator = IDTokenValidator(
        issuer=ISSUER,
        client_id=CLIENT,
        jwks="https://id.example.org/realms/main/certs",
        algorithms=["RS256"],
        leeway=60,
        transport=MockTransport(answer),
    )

    header_b64, payload_b64, signature_b64 = token.split(".")
    signing_input = f"{header_b64}.{payload_b64}".encode()
    signature = base64.urlsafe_b64decode(signature_b64 + "==")
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    authlib_jwt = JsonWebToken(["RS256"])
    authlib_key = JsonWebKey.import_key(jwk)
    authlib_options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": CLIENT},
        "nonce": {"essential": True, "value": NONCE},
    }

    def run_authkit() -> Any:
        return validator.validate(token, nonce=NONCE, access_token=ACCESS_TOKEN)

    def run_pyjwt() -> Any:
        return jwt.decode(token, public, algorithms=["RS256"], audience=CLIENT, issuer=ISSUER)

    def run_authlib() -> Any:
        decoded = authlib_jwt.decode(token, authlib_key, claims_options=authlib_options)
        decoded.validate(leeway=60)
        return dict(decoded)

    def run_floor() -> Any:
        public.verify(signature, signing_input, pkcs1, sha256)

    # Warm up (fills authkit's JWKS cache) and check every contender accepts the token.
    for contender in (run_authkit, run_pyjwt, run_authlib):
        if contender() != claims:
            raise SystemExit(f"{contender.__name__} did not return the token's claims")
    run_floor()
    contenders = {
        "authkit": run_authkit,
        "pyjwt": run_pyjwt,
        "authlib": run_authlib,
        "floor": run_floor,
    }
    return contenders, token


LABELS = {
    "authkit": "authkit IDTokenValidator.validate (all checks, warm JWKS)",
    "pyjwt": "PyJWT jwt.decode (bare, pre-loaded key)",
    "authlib": "Authlib JsonWebToken.decode + claims.validate",
    "floor": "floor: cryptography RSA-2048 verify",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few calls, for tests")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 9; quick 3)")
    parser.add_argument("--calls", type=int, default=None, help="calls per round (2000; 50)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    calls = args.calls or (50 if args.quick else 2000)

    contenders, token = setup()
    times = measure(contenders, rounds, calls)
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}

    print(f"ID token: RS256, RSA-2048, {len(token)} bytes; {rounds} rounds x {calls} calls")
    print(f"{'contender':<60} {'best':>10} {'median':>10} {'x floor':>8}")
    for name, label in LABELS.items():
        print(
            f"{label:<60} {best[name] * 1e6:>8.1f}us {median[name] * 1e6:>8.1f}us "
            f"{best[name] / best['floor']:>7.2f}x"
        )
    to_pyjwt = best["authkit"] / best["pyjwt"]
    to_authlib = best["authkit"] / best["authlib"]
    print(f"ratio authkit/pyjwt: {to_pyjwt:.2f} (goal <= {GOAL_PYJWT})")
    print(f"ratio authkit/authlib: {to_authlib:.2f} (goal < {GOAL_AUTHLIB})")
    for name in ("authkit", "pyjwt", "authlib"):
        print(f"ratio {name}/floor: {best[name] / best['floor']:.2f}")
    met = to_pyjwt <= GOAL_PYJWT and to_authlib < GOAL_AUTHLIB
    print("goals: met" if met else "goals: NOT met")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
