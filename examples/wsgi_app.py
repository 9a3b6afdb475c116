"""A minimal WSGI site that signs people in with authkit — no framework.

Run it against any OpenID provider and SAML IdP:

    python examples/wsgi_app.py --port 8000 \\
        --oidc-issuer https://sso.example.org/realms/research \\
        --client-id site --client-secret ... \\
        --saml-idp-metadata https://idp.example.org/metadata

"""

from __future__ import annotations

import argparse
import html
import sys
from typing import Any
from wsgiref.simple_server import make_server

from authkit.accounts import AccountFlow, ProviderSettings, TokenCipher
from authkit.adapters.wsgi import AuthkitMiddleware
from authkit.config import ProviderRegistry, RemoteApp
from authkit.saml import (
    MemoryReplayCache,
    SAMLSettings,
    ServiceProvider,
    parse_idp_metadata,
)
from authkit.stores import MemoryAccountsStore, MemoryStateStore
from authkit.web import AuthRoutes, SAMLProvider, SignedCookieCodec, csrf_token, page


def home(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The application: who is signed in, their groups, and a sign-out button."""
    user = environ["authkit.user"]
    if user is None:
        body = '<h1>Welcome</h1><p><a class="button" href="/login/">Sign in</a></p>'
    else:
        token = html.escape(csrf_token(environ["authkit.session"]))
        body = (
            f"<h1>Hello</h1><p id=user>Signed in as <code>{html.escape(user)}</code></p>"
            f"<p id=groups>{html.escape(', '.join(environ['authkit.groups']))}</p>"
            '<form method="post" action="/logout/"><input type="hidden" name="csrf_token" '
            f'value="{token}"><button type="submit">Sign out</button></form>'
        )
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [page("authkit WSGI example", body).encode()]


def create_app(
    *,
    public_url: str,
    oidc_issuer: str | None = None,
    client_id: str = "",
    client_secret: str = "",
    saml_idp_metadata: bytes | None = None,
    secret_key: str = "change-me-to-a-long-random-secret-key!!",
) -> AuthkitMiddleware:
    """The example site: an OpenID provider and/or a SAML IdP, accounts in memory."""
    apps = []
    if oidc_issuer:
        apps.append(
            RemoteApp(
                name="oidc",
                title="OpenID provider",
                protocol="oidc",
                issuer=oidc_issuer,
                client_id=client_id,
                client_secret=client_secret,
                scope="openid email profile groups",
                groups_claim="groups",
            )
        )
    registry = ProviderRegistry(apps)
    state = MemoryStateStore()
    saml = []
    if saml_idp_metadata is not None:
        idp = parse_idp_metadata(saml_idp_metadata)
        settings = SAMLSettings.from_dict(
            {
                "sp": {
                    "entityId": f"{public_url}/saml/metadata/idp/",
                    "assertionConsumerService": {"url": f"{public_url}/saml/acs/idp/"},
                    "singleLogoutService": {"url": f"{public_url}/saml/sls/idp/"},
                },
                "idp": idp.to_settings_dict(),
            }
        )
        saml.append(
            SAMLProvider(
                name="idp",
                title="SAML IdP",
                sp=ServiceProvider(settings, replay_cache=MemoryReplayCache()),
                settings=ProviderSettings(name="idp", email_trusted=True),
            )
        )
    flow = AccountFlow(
        accounts=MemoryAccountsStore(),
        state=state,
        providers=[registry, *(p.account_settings for p in saml)],
        cipher=TokenCipher([TokenCipher.generate_key()]),
    )
    routes = AuthRoutes(public_url=public_url, registry=registry, flow=flow, state=state, saml=saml)
    return AuthkitMiddleware(routes, home, codec=SignedCookieCodec([secret_key]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="authkit's WSGI example site")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--oidc-issuer")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--saml-idp-metadata", help="a file with the IdP's metadata")
    args = parser.parse_args(argv)
    metadata = None
    if args.saml_idp_metadata:
        with open(args.saml_idp_metadata, "rb") as file:
            metadata = file.read()
    public_url = f"http://127.0.0.1:{args.port}"
    app = create_app(
        public_url=public_url,
        oidc_issuer=args.oidc_issuer,
        client_id=args.client_id,
        client_secret=args.client_secret,
        saml_idp_metadata=metadata,
    )
    with make_server("127.0.0.1", args.port, app) as server:
        print(f"serving on {public_url}/", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
