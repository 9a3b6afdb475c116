"""authkit's loopback OpenID provider on its own, driven by plain ``requests``.

Run it: ``python examples/oidc_provider_standalone.py``. It starts a real OpenID provider on
127.0.0.1 and a free port, performs one authorization code flow with PKCE by hand (discovery,
authorization request, token request), verifies the ID token with PyJWT against the provider's
JWKS, prints its claims, and stops the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import requests

from authkit.testing import OIDCClient, OIDCProvider, OIDCUser

REDIRECT_URI = "http://127.0.0.1:8000/callback"


def main() -> None:
    alice = OIDCUser(
        sub="alice",
        password="wonderland",
        claims={
            "email": "alice@example.org",
            "email_verified": True,
            "name": "Alice Liddell",
            "groups": ["staff"],
        },
    )
    client = OIDCClient(client_id="demo", client_secret="demo-secret", redirect_uris=[REDIRECT_URI])

    with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as provider:
        print("issuer:", provider.issuer)
        metadata = requests.get(provider.metadata_url, timeout=5).json()

        # The authorization request, with PKCE (S256) and a nonce.
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        answer = requests.get(
            metadata["authorization_endpoint"],
            params={
                "client_id": "demo",
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid email profile groups",
                "state": "xyz",
                "nonce": "n-0S6",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
            timeout=5,
        )
        callback = {
            k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()
        }
        assert callback["state"] == "xyz"
        assert callback["iss"] == provider.issuer  # RFC 9207
        print("callback parameters:", sorted(callback))

        # The token request (client_secret_basic).
        tokens = requests.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=("demo", "demo-secret"),
            timeout=5,
        ).json()

        # Verify the ID token against the JWKS.
        jwks = jwt.PyJWKClient(metadata["jwks_uri"])
        key = jwks.get_signing_key_from_jwt(tokens["id_token"])
        claims = jwt.decode(
            tokens["id_token"],
            key.key,
            algorithms=metadata["id_token_signing_alg_values_supported"],
            audience="demo",
            issuer=provider.issuer,
        )
        assert claims["nonce"] == "n-0S6"
        print("ID token claims:")
        print(json.dumps(claims, indent=2, sort_keys=True))
    print("provider stopped:", not provider.running)


if __name__ == "__main__":
    main()
