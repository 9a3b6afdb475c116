"""Signing keys of the test provider: generation, JWK export, JWT signing, ``at_hash``.

Keys are generated fresh for each provider (RSA-2048 for ``RS256``, P-256 for ``ES256``), so a
token from one provider never verifies against another's JWKS. The ``kid`` is the key's JWK
thumbprint (RFC 7638).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = ["SIGNING_ALGORITHMS", "SigningAlgorithm", "SigningKey", "at_hash", "generate_key"]

SigningAlgorithm = Literal["RS256", "ES256"]
SIGNING_ALGORITHMS: tuple[SigningAlgorithm, ...] = ("RS256", "ES256")

_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, sorted, without white space."""
    required = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@attrs.frozen
class SigningKey:
    """One private signing key and its public JWK."""

    algorithm: SigningAlgorithm
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = attrs.field(repr=False)
    public_jwk: Mapping[str, Any]

    @property
    def kid(self) -> str:
        """The key id (its JWK thumbprint)."""
        return str(self.public_jwk["kid"])

    def sign(self, payload: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """A compact JWS of ``payload``, with ``kid`` and ``typ: JWT`` in the header."""
        return jwt.encode(
            dict(payload),
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid, "typ": "JWT", **(headers or {})},
        )


def generate_key(algorithm: SigningAlgorithm) -> SigningKey:
    """A fresh key pair for ``algorithm``."""
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    public = {**jwk, "use": "sig", "alg": algorithm}
    public["kid"] = _thumbprint(public)
    return SigningKey(algorithm, private_key, public)


def at_hash(access_token: str, algorithm: str) -> str:
    """The ``at_hash`` of an access token (OpenID Connect Core §3.1.3.6).

    The left-most half of the hash of the token's ASCII octets, with the hash of the ID token's
    ``alg`` (SHA-256 for ``RS256`` and ``ES256``), base64url-encoded.
    """
    digest = _HASHES.get(algorithm[-3:], hashlib.sha256)(access_token.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])
