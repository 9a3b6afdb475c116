"""ORCID: Invenio's ORCID presets (public and member API, production and sandbox).

The dictionaries are invenio-oauthclient's ``invenio_oauthclient.contrib.orcid`` values, so an
``invenio.cfg`` reads the same with ``from authkit.providers import orcid``::

    OAUTHCLIENT_REMOTE_APPS = {"orcid": orcid.REMOTE_APP}
    ORCID_APP_CREDENTIALS = {"consumer_key": "APP-…", "consumer_secret": "…"}

ORCID signs people in with the ``/authenticate`` scope; the ORCID iD and the name come with the
token response and ORCID gives no e-mail, hence the precedence mask ``{"email": False}`` and the
sign-up options (no auto-confirmation, registration e-mail sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper, RemoteApp

__all__ = [
    "BASE_APP",
    "REMOTE_APP",
    "REMOTE_MEMBER_APP",
    "REMOTE_REST_APP",
    "REMOTE_SANDBOX_APP",
    "REMOTE_SANDBOX_MEMBER_APP",
    "REMOTE_SANDBOX_REST_APP",
    "ORCIDOAuthSettingsHelper",
    "remote_app",
]

_CONTRIB = "invenio_oauthclient.contrib.orcid"


class ORCIDOAuthSettingsHelper(OAuthSettingsHelper):
    """ORCID's remote-app dictionaries (Invenio-compatible signature and defaults).

    Args:
        title: Defaults to ``"ORCID"``.
        description: Defaults to ``"Connecting Research and Researchers."``.
        base_url: API base URL; defaults to the public API ``https://pub.orcid.org/v1.2/``.
        app_key: Defaults to ``"ORCID_APP_CREDENTIALS"``.
        access_token_url: Defaults to ``https://orcid.org/oauth/token``.
        authorize_url: Defaults to ``https://orcid.org/oauth/authorize``.
        precedence_mask: Defaults to ``{"email": False}``.
        signup_options: Defaults to no auto-confirmation and a registration e-mail.
    """

    kind: ClassVar[str] = "orcid"
    contrib: ClassVar[str | None] = _CONTRIB

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        base_url: str | None = None,
        app_key: str | None = None,
        access_token_url: str | None = None,
        authorize_url: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
        signup_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            title or "ORCID",
            description or "Connecting Research and Researchers.",
            base_url or "https://pub.orcid.org/v1.2/",
            app_key or "ORCID_APP_CREDENTIALS",
            request_token_params={"scope": "/authenticate", "show_login": "true"},
            access_token_url=access_token_url or "https://orcid.org/oauth/token",
            authorize_url=authorize_url or "https://orcid.org/oauth/authorize",
            content_type="application/json",
            precedence_mask=precedence_mask or {"email": False},
            signup_options=signup_options or {"auto_confirm": False, "send_register_msg": True},
        )


_SANDBOX_TOKEN = "https://sandbox.orcid.org/oauth/token"
_SANDBOX_AUTHORIZE = "https://sandbox.orcid.org/oauth/authorize#show_login"


def _helper(*, member: bool, sandbox: bool) -> ORCIDOAuthSettingsHelper:
    if sandbox:
        return ORCIDOAuthSettingsHelper(
            base_url="https://api.sandbox.orcid.org/"
            if member
            else "https://pub.sandbox.orcid.org/",
            access_token_url=_SANDBOX_TOKEN,
            authorize_url=_SANDBOX_AUTHORIZE,
        )
    if member:
        return ORCIDOAuthSettingsHelper(
            base_url="https://api.orcid.org/", access_token_url="https://orcid.org/oauth/token"
        )
    return ORCIDOAuthSettingsHelper()


_public = _helper(member=False, sandbox=False)
_sandbox = _helper(member=False, sandbox=True)

BASE_APP = _public.base_app
REMOTE_APP = _public.remote_app
"""ORCID public API."""
REMOTE_REST_APP = _public.remote_rest_app
"""ORCID public API, REST variant."""
REMOTE_MEMBER_APP = _helper(member=True, sandbox=False).remote_app
"""ORCID member API."""
REMOTE_SANDBOX_APP = _sandbox.remote_app
"""ORCID sandbox, public API."""
REMOTE_SANDBOX_REST_APP = _sandbox.remote_rest_app
"""ORCID sandbox, public API, REST variant."""
REMOTE_SANDBOX_MEMBER_APP = _helper(member=True, sandbox=True).remote_app
"""ORCID sandbox, member API."""


def remote_app(
    name: str = "orcid",
    *,
    member: bool = False,
    sandbox: bool = False,
    credentials: Mapping[str, Any] | None = None,
) -> RemoteApp:
    """ORCID as a typed remote app.

    Args:
        name: The provider's name.
        member: Use the member API (``api.orcid.org``) instead of the public one.
        sandbox: Use ORCID's sandbox (``sandbox.orcid.org``).
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    return _helper(member=member, sandbox=sandbox).to_remote_app(name, credentials=credentials)
