"""GitHub: Invenio's GitHub preset (``invenio_oauthclient.contrib.github`` values).

GitHub is plain OAuth 2.0 (no ID token). The profile comes from ``/user`` and the verified
primary e-mail from ``/user/emails`` (the ``user:email`` scope), which authkit's GitHub profile
fetcher reads for ``kind="github"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config import OAuthSettingsHelper, RemoteApp

__all__ = ["BASE_APP", "REMOTE_APP", "REMOTE_REST_APP", "GitHubOAuthSettingsHelper", "remote_app"]

_CONTRIB = "invenio_oauthclient.contrib.github"


class GitHubOAuthSettingsHelper(OAuthSettingsHelper):
    """GitHub's remote-app dictionaries (Invenio-compatible signature and defaults).

    Args:
        title: Defaults to ``"GitHub"``.
        description: Defaults to ``"Software collaboration platform."``.
        base_url: API base URL; defaults to ``https://api.github.com/`` (set it for GitHub
            Enterprise).
        app_key: Defaults to ``"GITHUB_APP_CREDENTIALS"``.
        icon: Defaults to ``"fa fa-github"``.
        precedence_mask: Defaults to Invenio's default mask.
        signup_options: Defaults to Invenio's default options.
    """

    kind: ClassVar[str] = "github"
    contrib: ClassVar[str | None] = _CONTRIB

    def __init__(
        self,
        title: str | None = None,
        description: str | None = None,
        base_url: str | None = None,
        app_key: str | None = None,
        icon: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
        signup_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            title or "GitHub",
            description or "Software collaboration platform.",
            base_url or "https://api.github.com/",
            app_key or "GITHUB_APP_CREDENTIALS",
            icon=icon or "fa fa-github",
            request_token_params={"scope": "user,user:email"},
            access_token_url="https://github.com/login/oauth/access_token",
            authorize_url="https://github.com/login/oauth/authorize",
            precedence_mask=precedence_mask,
            signup_options=signup_options,
        )

    def remote_app_fields(self) -> dict[str, Any]:
        """GitHub's user endpoint."""
        return {"userinfo_url": f"{self.base_url}user"}


_github = GitHubOAuthSettingsHelper()

BASE_APP = _github.base_app
REMOTE_APP = _github.remote_app
"""GitHub remote app."""
REMOTE_REST_APP = _github.remote_rest_app
"""GitHub remote app, REST variant."""


def remote_app(name: str = "github", *, credentials: Mapping[str, Any] | None = None) -> RemoteApp:
    """GitHub as a typed remote app (``userinfo_url`` is ``https://api.github.com/user``).

    Args:
        name: The provider's name.
        credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.
    """
    return _github.to_remote_app(name, credentials=credentials)
