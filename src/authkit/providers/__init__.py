"""Contrib providers: one module per provider, with Invenio's presets as data.

Each module exposes invenio-oauthclient's dictionaries under Invenio's names (``REMOTE_APP``,
``REMOTE_REST_APP``, ``REMOTE_SANDBOX_APP``…), its settings helper class where Invenio has one,
and ``remote_app(...)`` returning the typed :class:`~authkit.config.RemoteApp`:

- :mod:`authkit.providers.keycloak` — :class:`KeycloakSettingsHelper`
- :mod:`authkit.providers.orcid` — public and member API, production and sandbox
- :mod:`authkit.providers.github`
- :mod:`authkit.providers.gitlab`
- :mod:`authkit.providers.globus`
- :mod:`authkit.providers.openaire_aai` — production and sandbox
- :mod:`authkit.providers.cern` — CERN OpenID
- :mod:`authkit.providers.google`
- :mod:`authkit.providers.oidc` — any OpenID provider, from its discovery document

It also holds the profile fetchers of providers whose user information is not a standard
UserInfo (GitHub, GitLab, ORCID) and :func:`oauth_client`, which builds an OAuth client with
the right fetcher for a remote app's ``kind``.
"""

from authkit.providers._profiles import (
    PROFILE_FETCHERS,
    github_profile,
    gitlab_profile,
    oauth_client,
    orcid_profile,
)
from authkit.providers.github import GitHubOAuthSettingsHelper
from authkit.providers.gitlab import GitlabOAuthSettingsHelper
from authkit.providers.globus import GlobusOAuthSettingsHelper
from authkit.providers.keycloak import KeycloakSettingsHelper
from authkit.providers.oidc import (
    OIDCSettingsHelper,
    remote_app_from_discovery,
    validate_discovery_document,
)
from authkit.providers.openaire_aai import OpenAIREAuthSettingsHelper
from authkit.providers.orcid import ORCIDOAuthSettingsHelper

__all__ = [
    "PROFILE_FETCHERS",
    "GitHubOAuthSettingsHelper",
    "GitlabOAuthSettingsHelper",
    "GlobusOAuthSettingsHelper",
    "KeycloakSettingsHelper",
    "OIDCSettingsHelper",
    "ORCIDOAuthSettingsHelper",
    "OpenAIREAuthSettingsHelper",
    "github_profile",
    "gitlab_profile",
    "oauth_client",
    "orcid_profile",
    "remote_app_from_discovery",
    "validate_discovery_document",
]
