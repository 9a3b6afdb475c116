"""GitLab: Invenio's GitLab preset (``invenio_oauthclient.contrib.gitlab`` values).

The profile comes from ``<base_url>/user`` (``/api/v4/user``) with the ``read_user`` scope. For a
self-managed GitLab, pass its URLs to :class:`GitlabOAuthSettingsHelper`.

Invenio's module names its handlers as function objects; here they are the equivalent import
strings (``"invenio_oauthclient.contrib.gitlab:gitlab_account_info"``…), which read the same in
Invenio and serialise as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper, RemoteApp

__all__ = ["BASE_APP", "REMOTE_APP", "REMOTE_REST_APP", "GitlabOAuthSettingsHelper", "remote_app"]

_CONTRIB = "invenio_oauthclient.contrib.gitlab"
_GITLAB = "https://gitlab.com"


class GitlabOAuthSettingsHelper(OAuthSettingsHelper):
    """GitLab's remote-app dictionaries (Invenio-compatible signature and defaults).

    Args:
        title: Defaults to ``"Gitlab"``.
        description: Defaults to ``"Gitlab/OAuth server instance"``.
        base_url: API base URL; defaults to ``https://gitlab.com/api/v4``.
        app_key: Defaults to ``"GITLAB_APP_CREDENTIALS"``.
        icon: Defaults to ``"fa fa-gitlab"``.
        access_token_url: Defaults to ``https://gitlab.com/oauth/token``.
        authorize_url: Defaults to ``https://gitlab.com/oauth/authorize``.
        access_token_method: Accepted for compatibility; Invenio always uses ``"POST"``.
        request_token_params: Defaults to ``{"scope": "read_user"}``.
        request_token_url: OAuth 1 request-token URL (``None``).
        precedence_mask: Defaults to ``{"email": True}``.
    """

    kind: ClassVar[str] = "gitlab"

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        base_url: str | None = None,
        app_key: str | None = None,
        icon: str | None = None,
        access_token_url: str | None = None,
        authorize_url: str | None = None,
        access_token_method: str = "POST",
        request_token_params: Mapping[str, Any] | None = None,
        request_token_url: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            title=title or "Gitlab",
            description=description or "Gitlab/OAuth server instance",
            base_url=base_url or f"{_GITLAB}/api/v4",
            app_key=app_key or "GITLAB_APP_CREDENTIALS",
            icon=icon or "fa fa-gitlab",
            access_token_url=access_token_url or f"{_GITLAB}/oauth/token",
            authorize_url=authorize_url or f"{_GITLAB}/oauth/authorize",
            access_token_method="POST",
            request_token_params=request_token_params or {"scope": "read_user"},
            request_token_url=request_token_url,
            precedence_mask=precedence_mask or {"email": True},
        )

    def get_handlers(self) -> dict[str, Any]:
        """Invenio's GitLab handlers."""
        return {
            "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
            "disconnect_handler": f"{_CONTRIB}:gitlab_disconnect_handler",
            "signup_handler": {
                "info": f"{_CONTRIB}:gitlab_account_info",
                "setup": f"{_CONTRIB}:gitlab_account_setup",
                "view": "invenio_oauthclient.handlers:signup_handler",
            },
        }

    def get_rest_handlers(self) -> dict[str, Any]:
        """Invenio's GitLab REST handlers and redirect URLs."""
        return {
            "authorized_handler": "invenio_oauthclient.handlers.rest:authorized_signup_handler",
            "disconnect_handler": f"{_CONTRIB}:gitlab_disconnect_handler",
            "signup_handler": {
                "info": f"{_CONTRIB}:gitlab_account_info",
                "setup": f"{_CONTRIB}:gitlab_account_setup",
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

    def remote_app_fields(self) -> dict[str, Any]:
        """GitLab's user endpoint."""
        return {"userinfo_url": f"{self.base_url}user"}


_gitlab = GitlabOAuthSettingsHelper()

BASE_APP = _gitlab.base_app
REMOTE_APP = _gitlab.remote_app
"""GitLab.com remote app."""
REMOTE_REST_APP = _gitlab.remote_rest_app
"""GitLab.com remote app, REST variant."""


def remote_app(name: str = "gitlab", *, credentials: Mapping[str, Any] | None = None) -> RemoteApp:
    """GitLab.com as a typed remote app (``userinfo_url`` is ``…/api/v4/user``).

    Args:
        name: The provider's name.
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    return _gitlab.to_remote_app(name, credentials=credentials)
