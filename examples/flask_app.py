"""A small Flask site that signs people in with authkit's Flask extension.

Run it with authkit's loopback test providers (an OpenID provider and a SAML IdP)::

    python examples/flask_app.py --test-providers --port 5000

then open the URL it prints and sign in as ``alice`` / ``alice-pw`` (OpenID Connect) or ``bob``
/ ``bob-pw`` (SAML). ``--auto-login`` approves sign-ins at the test providers without their
login forms; ``--port 0`` picks a free port.

Or point it at your own providers with ``FLASK_``-prefixed environment variables (Flask's
``from_prefixed_env``; values are JSON)::

    FLASK_SECRET_KEY='"a long random value"' \\
    FLASK_AUTHKIT_PUBLIC_URL='"http://127.0.0.1:5000"' \\
    FLASK_AUTHKIT_PROVIDERS='[{"name": "campus", "title": "Campus SSO", "protocol": "oidc",
        "issuer": "https://sso.example.org/realms/campus", "client_id": "...",
        "client_secret": "..."}]' \\
    python examples/flask_app.py --port 5000

The site: ``/`` has a sign-in link (or, signed in, a link to the account and a sign-out form);
``/account`` shows the signed-in account's id and groups. Tests build it with
:func:`create_app` and serve it themselves.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Config, Flask, render_template_string
from werkzeug.serving import make_server

from authkit.adapters.flask import Authkit, current_groups, current_user_id, login_required
from authkit.errors import ConfigurationError
from authkit.groups import GroupResolver
from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
)

PAGE = """<!doctype html><html lang=en><head><meta charset=utf-8><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
{% if authkit_user_id() %}
  <p>Account <code id=user>{{ authkit_user_id() }}</code></p>
  <p>Groups: <span id=groups>{{ groups | join(", ") or "none" }}</span></p>
  <p><a href="/account">Your account</a></p>
  <form method=post action="{{ authkit_url('/logout/') }}">
    <input type=hidden name=csrf_token value="{{ authkit_csrf_token() }}">
    <button id=logout type=submit>Sign out</button>
  </form>
{% else %}
  <p><a id=login href="{{ authkit_url('/login/', next='/account') }}">Sign in</a></p>
{% endif %}
</body></html>"""


def create_app(config: Mapping[str, Any]) -> Flask:
    """The site, configured by ``config`` (``SECRET_KEY`` and authkit's ``AUTHKIT_*`` keys)."""
    app = Flask(__name__)
    app.config.update(config)
    Authkit(app)

    @app.route("/")
    def home() -> str:
        groups = sorted(current_groups())
        return render_template_string(PAGE, title="authkit on Flask", groups=groups)

    @app.route("/account")
    @login_required
    def account() -> str:
        title = f"Your account ({current_user_id()})"
        return render_template_string(PAGE, title=title, groups=sorted(current_groups()))

    return app


# --- the loopback test providers -----------------------------------------------------------------


def _sp_key_pair() -> tuple[str, str]:
    """A key and self-signed certificate for the SAML SP (it signs its logout messages)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authkit Flask example SP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    return key_pem.decode("ascii"), cert_pem.decode("ascii")


@contextmanager
def loopback_providers(
    site_url: str, *, auto_login: bool
) -> Iterator[tuple[dict[str, Any], SAMLIdentityProvider]]:
    """Start the test OpenID provider and SAML IdP; yield the site's configuration for them
    (and the IdP, which learns the site's SP from its metadata once the site exists)."""
    client = OIDCClient(
        client_id="flask-example",
        client_secret=secrets.token_urlsafe(16),
        redirect_uris=[f"{site_url}/oauth/authorized/test-oidc/"],
    )
    alice = OIDCUser(
        sub="alice",
        password="alice-pw",
        claims={"email": "alice@example.org", "email_verified": True, "name": "Alice Liddell",
                "preferred_username": "alice", "groups": ["staff", "readers"]},
    )  # fmt: skip
    bob = SAMLUser(
        username="bob",
        password="bob-pw",
        attributes={"mail": "bob@example.org", "givenName": "Bob", "sn": "Builder",
                    "eduPersonPrincipalName": "bob@idp.example.org", "isMemberOf": ["physics"]},
    )  # fmt: skip
    oidc = OIDCProvider(users=[alice], clients=[client], auto_login="alice" if auto_login else None)
    saml = SAMLIdentityProvider(users=[bob], auto_login="bob" if auto_login else None)
    key_pem, cert_pem = _sp_key_pair()
    with oidc, saml:
        config = {
            "SECRET_KEY": secrets.token_urlsafe(32),
            "AUTHKIT_PUBLIC_URL": site_url,
            "AUTHKIT_PROVIDERS": [{
                "name": "test-oidc", "title": "Test OpenID provider",
                "description": "alice / alice-pw", "protocol": "oidc", "issuer": oidc.issuer,
                "client_id": client.client_id, "client_secret": client.client_secret,
                "scope": "openid email profile groups", "groups_claim": "groups",
            }],
            # invenio-saml's shape, read unchanged: the IdP section comes from its metadata.
            "SSO_SAML_IDPS": {"test-saml": {
                "title": "Test SAML IdP", "description": "bob / bob-pw",
                "settings_url": saml.metadata_url, "auto_confirm": True,
                "settings": {
                    "sp": {"x509cert": cert_pem, "privateKey": key_pem},
                    "security": {"authnRequestsSigned": True, "logoutRequestSigned": True,
                                 "logoutResponseSigned": True, "wantAssertionsSigned": True},
                },
            }},
            "AUTHKIT_GROUPS": {"test-saml": GroupResolver(saml_attributes="isMemberOf")},
        }  # fmt: skip
        yield config, saml


def _environment_config() -> dict[str, Any]:
    config = Config(".")
    config.from_prefixed_env()
    return dict(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--test-providers", action="store_true",
                        help="start authkit's loopback OpenID provider and SAML IdP")  # fmt: skip
    parser.add_argument("--auto-login", action="store_true",
                        help="the test providers approve sign-ins without a form")  # fmt: skip
    args = parser.parse_args(argv)

    site: dict[str, Flask] = {}
    server = make_server(args.host, args.port, lambda env, start: site["app"](env, start),
                         threaded=True)  # fmt: skip
    url = f"http://{args.host}:{server.server_port}"
    with ExitStack() as stack:
        if args.test_providers:
            config, idp = stack.enter_context(loopback_providers(url, auto_login=args.auto_login))
            app = site["app"] = create_app(config)
            sp = app.extensions["authkit"].routes.saml["test-saml"].sp
            idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()))
        else:
            try:
                site["app"] = create_app(_environment_config())
            except ConfigurationError as error:
                print(f"configuration error: {error} [{error.code}]", file=sys.stderr)
                return 2
        print(f"authkit Flask example on {url}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
