"""Profile fetchers for providers whose user information is not a standard UserInfo.

Each returns OpenID-Connect-shaped claims (``sub``, ``email``, ``email_verified``, ``name``,
``preferred_username``…), so everything above the OAuth client — accounts, groups — reads one
shape whatever the provider.

- GitHub: ``/user`` gives the profile, whose ``email`` may be private or absent; the primary
  *verified* address comes from ``/user/emails``.
- ORCID: the ORCID iD and the name come with the token response (``orcid``, ``name``); ORCID
  gives no e-mail.
- GitLab: ``/api/v4/user``; the primary e-mail counts as verified once GitLab confirmed it.

OpenID providers (Keycloak, Google, CERN, OpenAIRE AAI, Globus) need no fetcher: their UserInfo
endpoint and ID token already speak this shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authkit.config import RemoteApp
from authkit.errors import ProviderResponseError
from authkit.oauth import TokenSet
from authkit.oauth._client import OAuthClient, ProfileFetcher
from authkit.transport import HTTPRequest, Transport

__all__ = ["PROFILE_FETCHERS", "github_profile", "gitlab_profile", "oauth_client", "orcid_profile"]


def _get_json(client: OAuthClient, url: str, access_token: str, accept: str) -> Any:
    app = client.app
    response = client.transport.send(
        HTTPRequest(
            method="GET",
            url=url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": accept},
            timeout=app.timeout,
            idempotent=False,
            provider=app.name,
        )
    )
    response.raise_for_status(provider=app.name)
    return response.json(provider=app.name)


def _api_base(app: RemoteApp, default: str) -> str:
    return (app.base_url or default).rstrip("/") + "/"


def github_profile(
    client: OAuthClient, tokens: TokenSet, id_token_claims: Mapping[str, Any]
) -> dict[str, Any]:
    """GitHub: ``/user`` plus the primary verified address of ``/user/emails``."""
    app = client.app
    base = _api_base(app, "https://api.github.com/")
    accept = "application/vnd.github+json"
    user = _get_json(client, base + "user", tokens.access_token, accept)
    if not isinstance(user, dict) or not isinstance(user.get("id"), int | str):
        raise ProviderResponseError(f"{app.name}'s /user answer has no 'id'", provider=app.name)
    emails = _get_json(client, base + "user/emails", tokens.access_token, accept)
    if not isinstance(emails, list):
        raise ProviderResponseError(
            f"{app.name}'s /user/emails answer is not a list", provider=app.name
        )
    verified = [
        e
        for e in emails
        if isinstance(e, dict) and e.get("verified") is True and isinstance(e.get("email"), str)
    ]
    chosen = next((e for e in verified if e.get("primary") is True), None)
    chosen = chosen or (verified[0] if verified else None)
    claims: dict[str, Any] = {
        "sub": str(user["id"]),
        "preferred_username": user.get("login"),
        "name": user.get("name"),
        "picture": user.get("avatar_url"),
        "profile": user.get("html_url"),
        "email": chosen["email"] if chosen else None,
        "email_verified": chosen is not None,
    }
    return {k: v for k, v in claims.items() if v is not None}


def orcid_profile(
    client: OAuthClient, tokens: TokenSet, id_token_claims: Mapping[str, Any]
) -> dict[str, Any]:
    """ORCID: the iD and name from the token response (or the ID token when one is issued)."""
    app = client.app
    orcid = tokens.raw.get("orcid") or id_token_claims.get("sub")
    if not isinstance(orcid, str) or not orcid:
        raise ProviderResponseError(
            f"{app.name}'s token response carries no ORCID iD", provider=app.name
        )
    claims: dict[str, Any] = {"sub": orcid, "orcid": orcid, "email_verified": False}
    name = tokens.raw.get("name") or id_token_claims.get("name")
    if isinstance(name, str) and name:
        claims["name"] = name
    for claim in ("given_name", "family_name"):
        if isinstance(id_token_claims.get(claim), str):
            claims[claim] = id_token_claims[claim]
    return claims


def gitlab_profile(
    client: OAuthClient, tokens: TokenSet, id_token_claims: Mapping[str, Any]
) -> dict[str, Any]:
    """GitLab: ``/api/v4/user``."""
    app = client.app
    base = _api_base(app, "https://gitlab.com/")
    user = _get_json(client, base + "api/v4/user", tokens.access_token, "application/json")
    if not isinstance(user, dict) or not isinstance(user.get("id"), int | str):
        raise ProviderResponseError(f"{app.name}'s user answer has no 'id'", provider=app.name)
    claims: dict[str, Any] = {
        "sub": str(user["id"]),
        "preferred_username": user.get("username"),
        "name": user.get("name"),
        "picture": user.get("avatar_url"),
        "email": user.get("email") or None,
        "email_verified": bool(user.get("email") and user.get("confirmed_at")),
    }
    return {k: v for k, v in claims.items() if v is not None}


#: The profile fetcher each contrib ``kind`` needs (kinds not listed use UserInfo / ID token).
PROFILE_FETCHERS: Mapping[str, ProfileFetcher] = {
    "github": github_profile,
    "gitlab": gitlab_profile,
    "orcid": orcid_profile,
}


def oauth_client(
    app: RemoteApp, *, transport: Transport | None = None, **options: Any
) -> OAuthClient:
    """An :class:`~authkit.oauth.OAuthClient` for ``app`` with its contrib behaviour.

    GitLab configured as an OpenID provider uses its UserInfo endpoint; configured as plain
    OAuth 2.0 (Invenio's preset) it uses the API.
    """
    fetcher = options.pop("profile", None)
    if fetcher is None and not (app.kind == "gitlab" and app.is_oidc):
        fetcher = PROFILE_FETCHERS.get(app.kind)
    return OAuthClient(app, transport=transport, profile=fetcher, **options)
