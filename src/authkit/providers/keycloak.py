"""Keycloak: Invenio's ``KeycloakSettingsHelper``, with every OpenID endpoint of the realm.

Keycloak serves each realm under one URL scheme: ``<base>/auth/realms/<realm>`` up to Keycloak 17
(``legacy_url_path=True``, Invenio's default) and ``<base>/realms/<realm>`` since, with the OpenID
endpoints under ``<realm URL>/protocol/openid-connect/`` (``auth``, ``token``, ``userinfo``,
``certs`` for the JWKS, ``logout`` for RP-initiated logout). The realm URL is also the issuer.

Several Keycloak providers live side by side under different names and ``app_key`` values::

    staff = KeycloakSettingsHelper(title="Staff", description="Staff SSO",
                                   base_url="https://sso.example.org", realm="staff",
                                   app_key="STAFF_APP_CREDENTIALS", legacy_url_path=False)
    OAUTHCLIENT_REMOTE_APPS = {"staff": staff.remote_app, ...}
"""

from __future__ import annotations

from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper

__all__ = ["KeycloakSettingsHelper"]

_HANDLERS = "invenio_oauthclient.contrib.keycloak.handlers"


class KeycloakSettingsHelper(OAuthSettingsHelper):
    """Remote-app dictionaries for a Keycloak realm (Invenio-compatible signature).

    Args:
        title: Shown on the sign-in button.
        description: Shown under "Linked accounts".
        base_url: Where Keycloak runs (``"https://sso.example.org"``).
        realm: The realm holding the client.
        app_key: Credentials setting; defaults to ``"KEYCLOAK_APP_CREDENTIALS"``. Give each
            Keycloak provider its own.
        icon: CSS class of an icon.
        scopes: Requested scope (``"openid"``).
        legacy_url_path: Keycloak up to 17 serves realms under ``/auth/realms/``; newer ones
            under ``/realms/``.
        **kwargs: Any other :class:`~authkit.config.OAuthSettingsHelper` argument
            (``precedence_mask``, ``signup_options``, ``hide_when``…).
    """

    kind: ClassVar[str] = "keycloak"

    def __init__(
        self,
        title: str,
        description: str,
        base_url: str,
        realm: str,
        app_key: str | None = None,
        icon: str | None = None,
        scopes: str = "openid",
        legacy_url_path: bool = True,
        **kwargs: Any,
    ) -> None:
        app_key = app_key or "KEYCLOAK_APP_CREDENTIALS"
        base_url = "{}/".format(str(base_url).rstrip("/"))
        realms_part = "auth/realms" if legacy_url_path else "realms"
        self._realm_url = f"{base_url}{realms_part}/{realm}"
        self._user_info_url = self.make_url(self._realm_url, "userinfo")
        super().__init__(
            title,
            description,
            base_url,
            app_key,
            icon=icon,
            request_token_params={"scope": scopes},
            access_token_url=self.make_url(self._realm_url, "token"),
            authorize_url=self.make_url(self._realm_url, "auth"),
            **kwargs,
        )
        self._handlers: dict[str, Any] = {
            "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
            "disconnect_handler": f"{_HANDLERS}:disconnect_handler",
            "signup_handler": {
                "info": f"{_HANDLERS}:info_handler",
                "info_serializer": f"{_HANDLERS}:info_serializer_handler",
                "setup": f"{_HANDLERS}:setup_handler",
                "view": "invenio_oauthclient.handlers:signup_handler",
            },
        }
        self._rest_handlers: dict[str, Any] = {
            "authorized_handler": "invenio_oauthclient.handlers.rest:authorized_signup_handler",
            "disconnect_handler": f"{_HANDLERS}:disconnect_rest_handler",
            "signup_handler": {
                "info": f"{_HANDLERS}:info_handler",
                "info_serializer": f"{_HANDLERS}:info_serializer_handler",
                "setup": f"{_HANDLERS}:setup_handler",
                "view": "invenio_oauthclient.handlers.rest:signup_handler",
            },
            "response_handler": (
                "invenio_oauthclient.handlers.rest:default_remote_response_handler"
            ),
            "authorized_redirect_url": "/",
            "disconnect_redirect_url": "/",
            "signup_redirect_url": "/",
            "error_redirect_url": "/",
        }

    @staticmethod
    def make_url(realm_url: str, endpoint: str) -> str:
        """An endpoint of the realm: ``<realm_url>/protocol/openid-connect/<endpoint>``."""
        return f"{realm_url}/protocol/openid-connect/{endpoint}"

    @property
    def realm_url(self) -> str:
        """The realm's URL (Invenio's ``OAUTHCLIENT_<NAME>_REALM_URL``)."""
        return self._realm_url

    @property
    def user_info_url(self) -> str:
        """The UserInfo endpoint (Invenio's ``OAUTHCLIENT_<NAME>_USER_INFO_URL``)."""
        return self._user_info_url

    @property
    def issuer(self) -> str:
        """The ``iss`` of the realm's ID tokens: the realm URL."""
        return self._realm_url

    @property
    def authorize_url(self) -> str:
        """The authorization endpoint."""
        return self.make_url(self._realm_url, "auth")

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return self.make_url(self._realm_url, "token")

    @property
    def jwks_url(self) -> str:
        """The realm's signing keys (JWKS)."""
        return self.make_url(self._realm_url, "certs")

    @property
    def end_session_url(self) -> str:
        """RP-initiated logout."""
        return self.make_url(self._realm_url, "logout")

    @property
    def discovery_url(self) -> str:
        """The realm's OpenID discovery document."""
        return f"{self._realm_url}/.well-known/openid-configuration"

    def get_handlers(self) -> dict[str, Any]:
        """Invenio's Keycloak handlers."""
        return self._handlers

    def get_rest_handlers(self) -> dict[str, Any]:
        """Invenio's Keycloak REST handlers and redirect URLs."""
        return self._rest_handlers

    def remote_app_fields(self) -> dict[str, Any]:
        """The realm's OpenID endpoints and issuer."""
        return {
            "protocol": "oidc",
            "issuer": self.issuer,
            "userinfo_url": self.user_info_url,
            "jwks_url": self.jwks_url,
            "end_session_url": self.end_session_url,
            "discovery_url": self.discovery_url,
        }

    def invenio_settings(self, name: str) -> dict[str, Any]:
        """The per-provider settings Invenio's Keycloak handlers read, for provider ``name``.

        Returns:
            ``OAUTHCLIENT_<NAME>_REALM_URL`` and ``OAUTHCLIENT_<NAME>_USER_INFO_URL``.
        """
        prefix = f"OAUTHCLIENT_{name.upper()}_"
        return {prefix + "REALM_URL": self.realm_url, prefix + "USER_INFO_URL": self.user_info_url}
