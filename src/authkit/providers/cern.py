"""CERN: Invenio's CERN OpenID preset (``invenio_oauthclient.contrib.cern_openid`` values).

CERN's single sign-on is the Keycloak realm ``cern`` at ``https://auth.cern.ch/auth/realms/cern``;
authkit validates its ID tokens like any OpenID provider's (``protocol="oidc"``). Invenio writes
these dictionaries by hand, without a settings helper, so there is none here either. The
recipe in Invenio's documentation uses the REST dictionary for both settings::

    OAUTHCLIENT_REMOTE_APPS = {"cern_openid": cern.REMOTE_REST_APP}
    OAUTHCLIENT_REST_REMOTE_APPS = {"cern_openid": cern.REMOTE_REST_APP}
    CERN_APP_OPENID_CREDENTIALS = {"consumer_key": "…", "consumer_secret": "…"}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authkit.config import RemoteApp, from_invenio
from authkit.config._invenio import copy_tree, rest_part

__all__ = [
    "BASE_APP",
    "OAUTHCLIENT_CERN_OPENID_USERINFO_URL",
    "REALM_URL",
    "REMOTE_APP",
    "REMOTE_REST_APP",
    "remote_app",
]

#: The CERN realm; also the issuer of its ID tokens.
REALM_URL = "https://auth.cern.ch/auth/realms/cern"
_OIDC = f"{REALM_URL}/protocol/openid-connect"
_CONTRIB = "invenio_oauthclient.contrib.cern_openid"

OAUTHCLIENT_CERN_OPENID_USERINFO_URL = f"{_OIDC}/userinfo"

BASE_APP: dict[str, Any] = {
    "title": "CERN",
    "description": "Connecting to CERN Organization.",
    "icon": "",
    "logout_url": f"{_OIDC}/logout",
    "signup_options": {"auto_confirm": True, "send_register_msg": False},
    "params": {
        "base_url": REALM_URL,
        "request_token_url": None,
        "access_token_url": f"{_OIDC}/token",
        "access_token_method": "POST",
        "authorize_url": f"{_OIDC}/auth",
        "app_key": "CERN_APP_OPENID_CREDENTIALS",
        "content_type": "application/json",
    },
}

REMOTE_APP: dict[str, Any] = {
    **copy_tree(BASE_APP),
    "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
    "disconnect_handler": f"{_CONTRIB}:disconnect_handler",
    "signup_handler": {
        "info": f"{_CONTRIB}:account_info",
        "setup": f"{_CONTRIB}:account_setup",
        "view": "invenio_oauthclient.handlers:signup_handler",
    },
}
"""CERN OpenID remote app."""

REMOTE_REST_APP: dict[str, Any] = {
    **copy_tree(BASE_APP),
    "authorized_handler": "invenio_oauthclient.handlers.rest:authorized_signup_handler",
    "disconnect_handler": f"{_CONTRIB}:disconnect_rest_handler",
    "signup_handler": {
        "info": f"{_CONTRIB}:account_info_rest",
        "setup": f"{_CONTRIB}:account_setup",
        "view": "invenio_oauthclient.handlers.rest:signup_handler",
    },
    "response_handler": "invenio_oauthclient.handlers.rest:default_remote_response_handler",
    "authorized_redirect_url": "/",
    "disconnect_redirect_url": "/",
    "signup_redirect_url": "/",
    "error_redirect_url": "/",
}
"""CERN OpenID remote app, REST variant."""


def remote_app(
    name: str = "cern_openid", *, credentials: Mapping[str, Any] | None = None
) -> RemoteApp:
    """CERN OpenID as a typed remote app (issuer, JWKS, UserInfo and logout of the realm).

    Args:
        name: The provider's name (Invenio's handlers expect ``"cern_openid"``).
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    app = from_invenio(name, REMOTE_APP, credentials=credentials)
    invenio = {**app.extra.get("invenio", {}), "rest": rest_part(REMOTE_REST_APP)}
    return app.evolve(
        extra={**app.extra, "invenio": invenio},
        discovery_url=f"{REALM_URL}/.well-known/openid-configuration",
    )
