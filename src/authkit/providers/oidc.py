"""Generic OpenID Connect providers, from a discovery document (OpenID Connect Discovery 1.0).

Any OpenID provider (Keycloak, Authentik, Auth0, Okta, Google…) publishes its endpoints in the
document at ``<issuer>/.well-known/openid-configuration`` (Discovery §4).
:func:`remote_app_from_discovery` builds a :class:`RemoteApp` from such a document *already
fetched* — fetching goes through :func:`authkit.oauth.fetch_provider_metadata` and a transport;
nothing here touches the network.

:class:`OIDCSettingsHelper` mirrors invenio-oauthclient's ``contrib.oidc`` helper (same arguments,
same defaults and fallbacks). Where Invenio fetches the document in its constructor, this one
takes it as the ``discovery`` argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authkit.config import OAuthSettingsHelper, RemoteApp
from authkit.errors import InvalidSettingError, MissingSettingError, ProviderResponseError
from authkit.oauth import ProviderMetadata, discovery_url_for, parse_provider_metadata

__all__ = ["OIDCSettingsHelper", "remote_app_from_discovery", "validate_discovery_document"]

_CONTRIB = "invenio_oauthclient.contrib.oidc"

#: Invenio's titles, icons and sign-up options for well-known issuers.
_KNOWN_ISSUERS: dict[str, dict[str, Any]] = {
    "https://discord.com": {"title": "Discord", "icon": "discord"},
    "https://github.com/login/oauth": {"title": "GitHub", "icon": "github"},
    "https://gitlab.com": {"title": "Gitlab", "icon": "gitlab"},
    "https://accounts.google.com": {"title": "Google", "icon": "google"},
    "https://orcid.org/": {
        "title": "ORCID",
        "icon": "orcid",
        "signup_options": {"auto_confirm": False, "send_register_msg": True},
    },
    "https://slack.com": {"title": "Slack", "icon": "slack"},
    "https://auth.front-matter.de/realms/main": {
        "title": "Front Matter",
        "icon": "plug",
        "signup_options": {"auto_confirm": True},
    },
}


def validate_discovery_document(
    document: Mapping[str, Any], *, expected_issuer: str | None = None, source: str = "provider"
) -> ProviderMetadata:
    """Check what a remote app needs from a discovery document and return its metadata.

    Requires ``issuer``, ``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri``, each an
    absolute ``http``/``https`` URL (Discovery §3 makes them REQUIRED for the code flow).

    Args:
        document: The decoded JSON object.
        expected_issuer: The issuer the document was fetched for (Discovery §4.3); ``None``
            skips the check (for documents the operator supplies).
        source: Name used in error messages.

    Raises:
        ProviderResponseError: ``code="oidc.discovery_invalid"`` naming the missing or malformed
            field, or ``"oidc.discovery_issuer_mismatch"``.
    """
    metadata = parse_provider_metadata(document, expected_issuer=expected_issuer, source=source)
    for field in ("token_endpoint", "jwks_uri"):
        if getattr(metadata, field) is None:
            raise ProviderResponseError(
                f"{source}: discovery document has no {field!r}", code="oidc.discovery_invalid"
            )
    return metadata


def _token_auth_method(metadata: ProviderMetadata) -> str:
    supported = metadata.token_endpoint_auth_methods_supported
    # RFC 8414 §2: absent means client_secret_basic.
    if not supported or "client_secret_basic" in supported:
        return "client_secret_basic"
    if "client_secret_post" in supported:
        return "client_secret_post"
    return "client_secret_basic"


def remote_app_from_discovery(
    name: str,
    title: str,
    document: Mapping[str, Any],
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    scope: str = "openid profile email",
    expected_issuer: str | None = None,
    discovery_url: str | None = None,
    **fields: Any,
) -> RemoteApp:
    """A generic OpenID Connect remote app from a fetched discovery document.

    Args:
        name: The provider's name.
        title: Shown on the sign-in button.
        document: The discovery document (decoded JSON).
        client_id: The client id registered at the provider.
        client_secret: Its secret.
        scope: Requested scope; must contain ``openid``.
        expected_issuer: The issuer the document was fetched for; checked when given.
        discovery_url: Where the document came from; defaults to the issuer's well-known URL.
        **fields: Any other :class:`RemoteApp` field (``description``, ``label``,
            ``groups_claim``…); they win over what the document says.

    Raises:
        ProviderResponseError: The document is not usable (see
            :func:`validate_discovery_document`).
        InvalidSettingError: A field is invalid, or ``scope`` lacks ``openid``.
    """
    metadata = validate_discovery_document(document, expected_issuer=expected_issuer, source=name)
    if "openid" not in scope.split():
        raise InvalidSettingError(
            f"an OpenID Connect scope must contain 'openid', got {scope!r}",
            key=f"RemoteApp({name!r}).scope",
        )
    values: dict[str, Any] = {
        "name": name,
        "title": title,
        "protocol": "oidc",
        "kind": "generic",
        "issuer": metadata.issuer,
        "discovery_url": discovery_url or discovery_url_for(metadata.issuer),
        "authorize_url": metadata.authorization_endpoint,
        "token_url": metadata.token_endpoint,
        "userinfo_url": metadata.userinfo_endpoint,
        "jwks_url": metadata.jwks_uri,
        "end_session_url": metadata.end_session_endpoint,
        "revocation_url": metadata.revocation_endpoint,
        "token_auth_method": _token_auth_method(metadata),
        "scope": scope,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    values.update(fields)
    return RemoteApp(**values)


class OIDCSettingsHelper(OAuthSettingsHelper):
    """Remote-app dictionaries for any OpenID provider (Invenio's ``contrib.oidc`` helper).

    Args:
        title: Defaults to Invenio's title for well-known issuers, else
            ``"OpenID Connect (OIDC)"``.
        description: Defaults to Invenio's description.
        issuer: The issuer URL (required).
        app_key: Defaults to ``"OIDC_APP_CREDENTIALS"``.
        icon: Defaults to Invenio's icon for well-known issuers, else ``"openid"``.
        access_token_url: Token endpoint; else the document's, else ``<issuer>/token``.
        authorize_url: Authorization endpoint; else the document's, else
            ``<issuer>/authorize``.
        logout_url: Logout endpoint; else the document's ``end_session_endpoint``, else
            ``<issuer>/logout``.
        precedence_mask: Defaults to the provider owning e-mail, username and full name.
        signup_options: Defaults to no auto-confirmation and no registration e-mail.
        use_discovery: Use ``discovery`` (Invenio fetches it here; authkit never does).
        use_basic_auth: Authenticate at the token endpoint with HTTP Basic
            (``client_secret_basic``) instead of the request body.
        scope: Requested scope; with a document listing ``scopes_supported``, only the
            supported ones are kept (and ``openid``), sorted, as Invenio does.
        discovery: The provider's discovery document, already fetched.

    Raises:
        MissingSettingError: No ``issuer``.
        ProviderResponseError: ``discovery`` is malformed or names another issuer.
    """

    kind: ClassVar[str] = "generic"
    contrib: ClassVar[str | None] = _CONTRIB

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        issuer: str | None = None,
        app_key: str | None = None,
        icon: str | None = None,
        access_token_url: str | None = None,
        authorize_url: str | None = None,
        logout_url: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
        signup_options: Mapping[str, Any] | None = None,
        use_discovery: bool = True,
        use_basic_auth: bool = False,
        scope: str = "openid profile email",
        *,
        discovery: Mapping[str, Any] | None = None,
    ) -> None:
        if not issuer:
            raise MissingSettingError(
                "is required for an OpenID Connect provider", key="OIDCSettingsHelper.issuer"
            )
        self.issuer = issuer
        known = _KNOWN_ISSUERS.get(issuer, {})
        title = title or known.get("title")
        icon = icon or known.get("icon")
        signup_options = signup_options or known.get("signup_options")
        parts = urlsplit(issuer)
        base_url = f"{parts.scheme}://{parts.netloc}"

        self._metadata: ProviderMetadata | None = None
        if use_discovery and discovery is not None:
            self._metadata = parse_provider_metadata(
                discovery, expected_issuer=issuer, source="OIDCSettingsHelper.discovery"
            )
            access_token_url = access_token_url or self._metadata.token_endpoint
            authorize_url = authorize_url or self._metadata.authorization_endpoint
            logout_url = logout_url or self._metadata.end_session_endpoint
            if self._metadata.scopes_supported:
                wanted = set(scope.split()) & set(self._metadata.scopes_supported)
                scope = " ".join(sorted(wanted | {"openid"}))
        endpoint_base = self._endpoint_base(issuer)
        access_token_url = access_token_url or f"{endpoint_base}/token"
        authorize_url = authorize_url or f"{endpoint_base}/authorize"
        logout_url = logout_url or f"{endpoint_base}/logout"

        extra: dict[str, Any] = {}
        if use_basic_auth:
            extra["token_endpoint_auth_method"] = "client_secret_basic"
        super().__init__(
            title or "OpenID Connect (OIDC)",
            description
            or (
                "OpenID Connect allows third-party applications to verify the identity of the "
                "end-user and to obtain basic user profile information."
            ),
            base_url=base_url,
            app_key=app_key or "OIDC_APP_CREDENTIALS",
            icon=icon or "openid",
            request_token_params={"scope": scope},
            access_token_url=access_token_url,
            authorize_url=authorize_url,
            logout_url=logout_url,
            content_type="application/json",
            precedence_mask=precedence_mask
            or {"email": True, "profile": {"username": True, "full_name": True}},
            signup_options=signup_options or {"auto_confirm": False, "send_register_msg": False},
            **extra,
        )

    @staticmethod
    def _endpoint_base(issuer: str) -> str:
        # Authentik serves every application's endpoints under /application/o/.
        if "/application/o/" in issuer:
            head, _, _ = issuer.partition("/application/o/")
            return f"{head}/application/o"
        return issuer

    @property
    def discovery_url(self) -> str:
        """The issuer's discovery document URL."""
        return discovery_url_for(self.issuer)

    @property
    def userinfo_url(self) -> str:
        """The document's UserInfo endpoint, else ``<endpoint base>/userinfo``."""
        if self._metadata and self._metadata.userinfo_endpoint:
            return self._metadata.userinfo_endpoint
        return f"{self._endpoint_base(self.issuer).rstrip('/')}/userinfo"

    @property
    def jwks_url(self) -> str:
        """The document's ``jwks_uri``, else ``<issuer>/jwks``."""
        if self._metadata and self._metadata.jwks_uri:
            return self._metadata.jwks_uri
        return f"{self.issuer.rstrip('/')}/jwks"

    def remote_app_fields(self) -> dict[str, Any]:
        """Issuer, discovery URL, UserInfo and JWKS endpoints."""
        fields: dict[str, Any] = {
            "protocol": "oidc",
            "issuer": self.issuer,
            "discovery_url": self.discovery_url,
            "userinfo_url": self.userinfo_url,
            "jwks_url": self.jwks_url,
        }
        if self._metadata:
            fields["end_session_url"] = self._metadata.end_session_endpoint
            fields["revocation_url"] = self._metadata.revocation_endpoint
        return fields
