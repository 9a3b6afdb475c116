"""The demo user and client of the ``oidc_provider`` fixture and ``authkit demo``.

Kept apart from the pytest plugin so that importing them does not import pytest.
"""

from __future__ import annotations

from authkit.testing._oidc_model import OIDCClient, OIDCUser

__all__ = [
    "DEMO_CLIENT",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "DEMO_REDIRECT_URI",
    "DEMO_USER",
]

DEMO_CLIENT_ID = "authkit-demo"
DEMO_CLIENT_SECRET = "authkit-demo-secret"
DEMO_REDIRECT_URI = "http://127.0.0.1:5000/oauth/authorized/demo/"
DEMO_PASSWORD = "alice-password"

#: The demo person: verified e-mail, groups and Keycloak-style role claims.
DEMO_USER = OIDCUser(
    sub="alice",
    password=DEMO_PASSWORD,
    claims={
        "email": "alice@example.org",
        "email_verified": True,
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "preferred_username": "alice",
        "groups": ["staff", "readers"],
        "realm_access": {"roles": ["user"]},
        "resource_access": {DEMO_CLIENT_ID: {"roles": ["curator"]}},
    },
)

#: The demo confidential client (``client_secret_basic``, PKCE required).
DEMO_CLIENT = OIDCClient(
    client_id=DEMO_CLIENT_ID,
    client_secret=DEMO_CLIENT_SECRET,
    redirect_uris=[DEMO_REDIRECT_URI],
    post_logout_redirect_uris=["http://127.0.0.1:5000/"],
)
