"""A complete OpenID Connect sign-in against authkit's loopback test provider.

Run it: ``python examples/oidc_sign_in.py``. It starts a real OpenID provider on 127.0.0.1,
signs Alice in through discovery, the authorization request (state, PKCE, nonce), the token
exchange, ID-token validation and UserInfo, then refreshes and revokes her tokens.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from authkit.config import RemoteApp
from authkit.providers import oauth_client
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser

SITE = "http://127.0.0.1:8000"
CALLBACK = f"{SITE}/oauth/authorized/demo-op/"


def main() -> None:
    alice = OIDCUser(
        sub="alice",
        claims={
            "email": "alice@example.org",
            "email_verified": True,
            "name": "Alice",
            "groups": ["staff"],
        },
    )
    client_registration = OIDCClient(
        client_id="site", client_secret="site-secret", redirect_uris=[CALLBACK]
    )
    with OIDCProvider(users=[alice], clients=[client_registration], auto_login="alice") as op:
        app = RemoteApp(
            name="demo-op",
            title="Demo provider",
            protocol="oidc",
            issuer=op.issuer,  # every endpoint comes from discovery
            client_id="site",
            client_secret="site-secret",
            scope="openid email profile groups",
        )
        client = oauth_client(app, public_url=SITE)

        # /oauth/login/demo-op/: send the browser to the provider.
        redirect = client.authorization_redirect(session_id="browser-session", next_url="/me")
        print("authorization request:", redirect.url.split("?")[0])

        # The browser follows; the provider approves Alice and redirects to the callback.
        answer = requests.get(redirect.url, allow_redirects=False, timeout=5)
        callback = {
            k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()
        }

        # /oauth/authorized/demo-op/: finish signing in.
        result = client.handle_callback(callback, session_id="browser-session")
        print("signed in:", result.subject, result.userinfo["email"], result.userinfo["groups"])
        print("ID token issuer:", result.id_token_claims["iss"])
        print("next:", result.next_url)

        refreshed = client.refresh(result.tokens.refresh_token or "")
        print("refreshed:", refreshed.access_token != result.tokens.access_token)
        client.revoke(refreshed.access_token)
        print("revoked:", not op.is_token_active(refreshed.access_token))


if __name__ == "__main__":
    main()
