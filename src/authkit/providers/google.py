"""Google: an OpenID provider at ``https://accounts.google.com``.

invenio-oauthclient has no Google module; its generic OIDC helper recognises Google's issuer
(title "Google", icon "google"), and that is what these dictionaries are, with Google's own
endpoints written in (Google's token endpoint is not under its issuer, so the helper's
fallback paths would be wrong). The typed remote app adds the issuer, JWKS, UserInfo and
revocation endpoints of Google's discovery document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authkit.config import RemoteApp
from authkit.providers.oidc import OIDCSettingsHelper

__all__ = [
    "AUTHORIZE_URL",
    "BASE_APP",
    "ISSUER",
    "JWKS_URL",
    "REMOTE_APP",
    "REMOTE_REST_APP",
    "REVOCATION_URL",
    "TOKEN_URL",
    "USERINFO_URL",
    "remote_app",
    "settings_helper",
]

ISSUER = "https://accounts.google.com"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo"
JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
REVOCATION_URL = "https://oauth2.googleapis.com/revoke"


def settings_helper(
    title: str | None = None,
    description: str | None = None,
    app_key: str | None = "GOOGLE_APP_CREDENTIALS",
    **kwargs: Any,
) -> OIDCSettingsHelper:
    """An :class:`~authkit.providers.oidc.OIDCSettingsHelper` for Google.

    Args:
        title: Defaults to ``"Google"``.
        description: Defaults to the generic OIDC description.
        app_key: Credentials setting; defaults to ``"GOOGLE_APP_CREDENTIALS"``.
        **kwargs: Other :class:`OIDCSettingsHelper` arguments (``scope``, ``precedence_mask``…).
    """
    return OIDCSettingsHelper(
        title=title,
        description=description,
        issuer=ISSUER,
        app_key=app_key,
        access_token_url=TOKEN_URL,
        authorize_url=AUTHORIZE_URL,
        use_discovery=False,
        **kwargs,
    )


_google = settings_helper()

BASE_APP = _google.base_app
REMOTE_APP = _google.remote_app
"""Google remote app."""
REMOTE_REST_APP = _google.remote_rest_app
"""Google remote app, REST variant."""


def remote_app(name: str = "google", *, credentials: Mapping[str, Any] | None = None) -> RemoteApp:
    """Google as a typed OpenID Connect remote app.

    Args:
        name: The provider's name.
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    app = _google.to_remote_app(name, credentials=credentials)
    return app.evolve(
        kind="google",
        userinfo_url=USERINFO_URL,
        jwks_url=JWKS_URL,
        revocation_url=REVOCATION_URL,
        end_session_url=None,
    )
