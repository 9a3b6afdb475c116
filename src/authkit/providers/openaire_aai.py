"""OpenAIRE AAI: Invenio's OpenAIRE presets (production and sandbox).

Production is OpenAIRE's OpenID Connect service at ``https://aai.openaire.eu/oidc/``; the
sandbox is a Keycloak realm (``openaire`` on ``beta.aai.openaire.eu``), which Invenio configures
with its Keycloak helper and handlers — so the sandbox's ``kind`` is ``"keycloak"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper, RemoteApp
from authkit.providers.keycloak import KeycloakSettingsHelper

__all__ = [
    "BASE_APP",
    "REMOTE_APP",
    "REMOTE_REST_APP",
    "REMOTE_SANDBOX_APP",
    "REMOTE_SANDBOX_REST_APP",
    "OpenAIREAuthSettingsHelper",
    "remote_app",
]

_CONTRIB = "invenio_oauthclient.contrib.openaire_aai"


class OpenAIREAuthSettingsHelper(OAuthSettingsHelper):
    """OpenAIRE AAI's remote-app dictionaries (Invenio-compatible signature and defaults).

    Args:
        title: Defaults to ``"OpenAIRE"``.
        description: Defaults to ``"Open Science Services."``.
        base_url: Defaults to ``https://aai.openaire.eu``; the endpoints are under ``/oidc/``.
        app_key: Defaults to ``"OPENAIRE_APP_CREDENTIALS"``.
        precedence_mask: Defaults to ``{"email": True}``.
        signup_options: Defaults to no auto-confirmation and a registration e-mail.
    """

    kind: ClassVar[str] = "openaire_aai"
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
        base_url = base_url or "https://aai.openaire.eu"
        super().__init__(
            title or "OpenAIRE",
            description or "Open Science Services.",
            base_url,
            app_key or "OPENAIRE_APP_CREDENTIALS",
            request_token_params={"scope": "openid profile email orcid"},
            access_token_url=f"{base_url}/oidc/token",
            authorize_url=f"{base_url}/oidc/authorize",
            content_type="application/json",
            precedence_mask=precedence_mask or {"email": True},
            signup_options=signup_options or {"auto_confirm": False, "send_register_msg": True},
        )

    @property
    def user_info_url(self) -> str:
        """The UserInfo endpoint.

        Invenio writes ``<base_url>/oidc/userinfo`` after a base URL that already ends in
        ``/``, giving ``//oidc``; authkit gives the URL with a single slash.
        """
        return f"{self.base_url}oidc/userinfo"

    def remote_app_fields(self) -> dict[str, Any]:
        """OpenAIRE's UserInfo endpoint and discovery document."""
        return {
            "userinfo_url": self.user_info_url,
            "discovery_url": f"{self.base_url}oidc/.well-known/openid-configuration",
        }


_production = OpenAIREAuthSettingsHelper()
_sandbox = KeycloakSettingsHelper(
    title="OpenAIRE",
    description="Open Science Services.",
    base_url="https://beta.aai.openaire.eu",
    realm="openaire",
    scopes="openid profile email eduperson_entitlement orcid",
    app_key="OPENAIRE_APP_CREDENTIALS",
)

BASE_APP = _production.base_app
REMOTE_APP = _production.remote_app
"""OpenAIRE AAI remote app."""
REMOTE_REST_APP = _production.remote_rest_app
"""OpenAIRE AAI remote app, REST variant."""
REMOTE_SANDBOX_APP = _sandbox.remote_app
"""OpenAIRE AAI sandbox (a Keycloak realm)."""
REMOTE_SANDBOX_REST_APP = _sandbox.remote_rest_app
"""OpenAIRE AAI sandbox, REST variant."""


def remote_app(
    name: str = "openaire_aai",
    *,
    sandbox: bool = False,
    credentials: Mapping[str, Any] | None = None,
) -> RemoteApp:
    """OpenAIRE AAI as a typed remote app.

    Args:
        name: The provider's name.
        sandbox: Use the sandbox realm (``kind="keycloak"``).
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    helper = _sandbox if sandbox else _production
    return helper.to_remote_app(name, credentials=credentials)
