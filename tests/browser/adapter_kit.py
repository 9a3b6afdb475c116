"""What every adapter's example app must do in a real browser: OIDC and SAML sign-in.

The providers run on 127.0.0.1 and the example site answers at ``localhost``: two sites for
the browser, so the IdP's POST to the ACS is cross-site, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from tests.browser.conftest import shot

from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
)

ALICE = OIDCUser(
    sub="alice",
    password="alice-pw",
    claims={"email": "alice@example.org", "email_verified": True, "name": "Alice",
            "groups": ["staff"]},
)  # fmt: skip
BOB = SAMLUser(
    username="bob",
    password="bob-pw",
    name_id="bob@idp.example.org",
    attributes={"mail": ("bob@example.org",), "givenName": ("Bob",), "sn": ("Builder",),
                "eduPersonPrincipalName": ("bob@idp.example.org",)},
)  # fmt: skip


@contextmanager
def providers() -> Iterator[tuple[OIDCProvider, SAMLIdentityProvider]]:
    with OIDCProvider(users=[ALICE]) as oidc, SAMLIdentityProvider(users=[BOB]) as idp:
        yield oidc, idp


def register(oidc: OIDCProvider, idp: SAMLIdentityProvider, site: str, *, oidc_name: str,
             saml_name: str) -> None:  # fmt: skip
    """Register the running example site at both providers (its SP metadata over HTTP)."""
    oidc.add_client(
        OIDCClient(client_id="site", client_secret="site-secret",
                   redirect_uris=[f"{site}/oauth/authorized/{oidc_name}/"])
    )  # fmt: skip
    metadata = requests.get(f"{site}/saml/metadata/{saml_name}/", timeout=10)
    metadata.raise_for_status()
    idp.add_relying_party(SAMLRelyingParty.from_metadata(metadata.content), replace=True)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_wsgi(app: Callable[..., Any], port: int) -> Iterator[None]:
    server = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sign_in_with(page: Any, site: str, button: str, username: str, password: str) -> None:
    page.goto(f"{site}/login/")
    page.click(f"text={button}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")


def oidc_then_saml(page: Any, site: str, *, name: str, signed_in: str, home: str = "/") -> None:
    """Sign in with the OpenID provider, sign out, then sign in with the SAML IdP."""
    sign_in_with(page, site, "Sign in with OpenID provider", "alice", "alice-pw")
    page.wait_for_url(f"{site}{home}**")
    page.wait_for_selector(f"text={signed_in}")
    shot(page, f"{name}-oidc-signed-in")
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    sign_in_with(page, site, "Sign in with SAML IdP", "bob", "bob-pw")
    page.wait_for_url(f"{site}{home}**")
    page.wait_for_selector(f"text={signed_in}")
    shot(page, f"{name}-saml-signed-in")
