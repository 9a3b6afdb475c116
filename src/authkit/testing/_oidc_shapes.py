"""Provider shapes: where the endpoints of each emulated provider live, and its quirks.

- ``standard``: a plain OpenID provider at the server root (``/authorize``, ``/token``…).
- ``keycloak``: Keycloak's realm URLs, ``/realms/<realm>/protocol/openid-connect/{auth,token,
  userinfo,certs,logout,revoke}`` (under ``/auth`` with ``legacy_url_path``, as Keycloak before
  version 17 served them); issuer ``<base>/realms/<realm>``; the ``roles`` scope (which
  releases ``realm_access`` / ``resource_access``) is granted without being asked for, as in a
  default Keycloak realm.
- ``github``: plain OAuth 2.0 as GitHub serves it (``/login/oauth/authorize``,
  ``/login/oauth/access_token``, the REST API's ``/user`` and ``/user/emails``): no
  ``response_type`` or ``grant_type`` needed; scopes separated by spaces or commas, unknown ones
  ignored; no discovery, no ID token, no refresh token, no ``iss`` in the authorization response;
  the token endpoint answers ``application/x-www-form-urlencoded`` unless asked for JSON, and
  reports errors with status ``200``, as GitHub does.
- ``orcid``: ORCID's ``/oauth/…`` endpoints; scopes ``/authenticate``, ``/read-limited``…
  besides ``openid``; the token response carries ``orcid`` and ``name``; the ID token and
  UserInfo never carry an e-mail address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from authkit.testing._oidc_model import STANDARD_SCOPE_CLAIMS

__all__ = ["SHAPES", "ProviderShape", "Shape", "build_shape"]

Shape = Literal["standard", "keycloak", "github", "orcid"]
SHAPES: tuple[Shape, ...] = ("standard", "keycloak", "github", "orcid")

_ORCID_SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "openid": ("name", "given_name", "family_name"),
    "/authenticate": (),
    "/read-limited": (),
    "/read-public": (),
    "/activities/update": (),
    "/person/update": (),
}


@attrs.frozen(kw_only=True)
class ProviderShape:
    """The endpoint layout and behaviour switches of one provider shape.

    Args:
        name: The shape's name.
        issuer_path: The issuer's path below the server's base URL (``""`` for the root).
        paths: Endpoint name → absolute path on the server.
        scope_claims: Scope → claims it releases.
        openid: Serves discovery and JWKS and issues ID tokens (for the ``openid`` scope).
        iss_parameter: Adds ``iss`` to authorization responses (RFC 9207).
        refresh_tokens: Issues refresh tokens.
        accept_any_scope: Ignores unknown scopes instead of refusing them (GitHub).
        response_type_optional: Takes a missing ``response_type`` as ``code`` (GitHub).
        grant_type_optional: Takes a missing ``grant_type`` as ``authorization_code`` (GitHub).
        implicit_scopes: Granted even when not requested.
        withheld_claims: Never released, whatever the scope.
    """

    name: Shape
    issuer_path: str
    paths: Mapping[str, str]
    scope_claims: Mapping[str, tuple[str, ...]]
    openid: bool = True
    iss_parameter: bool = True
    refresh_tokens: bool = True
    accept_any_scope: bool = False
    response_type_optional: bool = False
    grant_type_optional: bool = False
    implicit_scopes: frozenset[str] = frozenset()
    withheld_claims: frozenset[str] = frozenset()

    @property
    def endpoints(self) -> frozenset[str]:
        """The endpoint names this shape serves."""
        return frozenset(self.paths)


def build_shape(
    shape: Shape,
    *,
    realm: str,
    legacy_url_path: bool,
    scope_claims: Mapping[str, tuple[str, ...]] | None,
) -> ProviderShape:
    """The :class:`ProviderShape` for ``shape``; ``scope_claims`` extend its defaults."""
    if shape == "keycloak":
        prefix = f"{'/auth' if legacy_url_path else ''}/realms/{realm}"
        oc = f"{prefix}/protocol/openid-connect"
        return ProviderShape(
            name=shape,
            issuer_path=prefix,
            paths={
                "discovery": f"{prefix}/.well-known/openid-configuration",
                "authorize": f"{oc}/auth",
                "login": f"{prefix}/login-actions/authenticate",
                "token": f"{oc}/token",
                "userinfo": f"{oc}/userinfo",
                "jwks": f"{oc}/certs",
                "revocation": f"{oc}/revoke",
                "end_session": f"{oc}/logout",
            },
            scope_claims={**STANDARD_SCOPE_CLAIMS, **(scope_claims or {})},
            implicit_scopes=frozenset({"profile", "email", "roles"}),
        )
    if shape == "github":
        return ProviderShape(
            name=shape,
            issuer_path="",
            paths={
                "authorize": "/login/oauth/authorize",
                "login": "/session",
                "token": "/login/oauth/access_token",
                "userinfo": "/user",
                "emails": "/user/emails",
            },
            scope_claims=dict(scope_claims or {}),
            openid=False,
            iss_parameter=False,
            refresh_tokens=False,
            accept_any_scope=True,
            response_type_optional=True,
            grant_type_optional=True,
        )
    if shape == "orcid":
        return ProviderShape(
            name=shape,
            issuer_path="",
            paths={
                "discovery": "/.well-known/openid-configuration",
                "authorize": "/oauth/authorize",
                "login": "/signin",
                "token": "/oauth/token",
                "userinfo": "/oauth/userinfo",
                "jwks": "/oauth/jwks",
                "revocation": "/oauth/revoke",
            },
            scope_claims={**_ORCID_SCOPE_CLAIMS, **(scope_claims or {})},
            withheld_claims=frozenset({"email", "email_verified"}),
        )
    return ProviderShape(
        name="standard",
        issuer_path="",
        paths={
            "discovery": "/.well-known/openid-configuration",
            "authorize": "/authorize",
            "login": "/authorize/login",
            "token": "/token",
            "userinfo": "/userinfo",
            "jwks": "/jwks",
            "revocation": "/revoke",
            "end_session": "/logout",
        },
        scope_claims={**STANDARD_SCOPE_CLAIMS, **(scope_claims or {})},
    )
