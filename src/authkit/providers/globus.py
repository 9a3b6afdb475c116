"""Globus: Invenio's Globus preset (``invenio_oauthclient.contrib.globus`` values).

Globus Auth answers ``/v2/oauth2/userinfo`` with the person's identity; Invenio then looks up
the Globus identity id at ``/v2/api/identities``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper, RemoteApp

__all__ = [
    "BASE_APP",
    "GLOBUS_EXTERNAL_METHOD",
    "GLOBUS_USER_ID_URL",
    "GLOBUS_USER_INFO_URL",
    "REMOTE_APP",
    "REMOTE_REST_APP",
    "GlobusOAuthSettingsHelper",
    "remote_app",
]

_CONTRIB = "invenio_oauthclient.contrib.globus"


class GlobusOAuthSettingsHelper(OAuthSettingsHelper):
    """Globus's remote-app dictionaries (Invenio-compatible signature and defaults).

    Args:
        title: Defaults to ``"Globus"``.
        description: Defaults to ``"Research data management simplified."``.
        base_url: Defaults to ``https://auth.globus.org/v2/`` (the token and authorization
            endpoints are ``<base_url>oauth2/token`` and ``<base_url>oauth2/authorize``).
        app_key: Defaults to ``"GLOBUS_APP_CREDENTIALS"``.
        precedence_mask: Defaults to Invenio's default mask.
        signup_options: Defaults to Invenio's default options.
    """

    kind: ClassVar[str] = "globus"
    contrib: ClassVar[str | None] = _CONTRIB

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        base_url: str | None = None,
        app_key: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
        signup_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            title or "Globus",
            description or "Research data management simplified.",
            base_url or "https://auth.globus.org/v2/",
            app_key or "GLOBUS_APP_CREDENTIALS",
            request_token_params={"scope": "openid email profile"},
            precedence_mask=precedence_mask,
            signup_options=signup_options,
        )

    @property
    def user_info_url(self) -> str:
        """The UserInfo endpoint."""
        return f"{self.base_url}oauth2/userinfo"

    @property
    def user_identity_url(self) -> str:
        """The identities endpoint."""
        return f"{self.base_url}api/identities"

    def remote_app_fields(self) -> dict[str, Any]:
        """Globus's UserInfo and identities endpoints."""
        return {
            "userinfo_url": self.user_info_url,
            "extra": {"identities_url": self.user_identity_url},
        }


_globus = GlobusOAuthSettingsHelper()

BASE_APP = _globus.base_app
GLOBUS_USER_INFO_URL = _globus.user_info_url
GLOBUS_USER_ID_URL = _globus.user_identity_url
GLOBUS_EXTERNAL_METHOD = "globus"
REMOTE_APP = _globus.remote_app
"""Globus remote app."""
REMOTE_REST_APP = _globus.remote_rest_app
"""Globus remote app, REST variant."""


def remote_app(name: str = "globus", *, credentials: Mapping[str, Any] | None = None) -> RemoteApp:
    """Globus as a typed remote app.

    Args:
        name: The provider's name.
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    return _globus.to_remote_app(name, credentials=credentials)
