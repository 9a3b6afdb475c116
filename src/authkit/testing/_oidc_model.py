"""The people and the clients an :class:`~authkit.testing.OIDCProvider` knows.

Both are frozen, keyword-only values validated at construction, like every configuration object
in authkit: a test that registers a client with a malformed redirect URI learns it at once, not
from a puzzling ``400`` later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
import jwt

from authkit.config import _validators as v
from authkit.errors import InvalidSettingError

__all__ = [
    "CLIENT_AUTH_METHODS",
    "STANDARD_SCOPE_CLAIMS",
    "ClientAuthMethod",
    "OIDCClient",
    "OIDCUser",
]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CLIENT_AUTH_METHODS: tuple[ClientAuthMethod, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
)

#: Which claims each scope releases (OpenID Connect Core §5.4, plus ``groups`` and Keycloak's
#: ``roles``). A claim that no scope lists is released with ``openid``.
STANDARD_SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
    "groups": ("groups",),
    "roles": ("realm_access", "resource_access"),
    "offline_access": (),
}

#: Claims the provider sets itself; a user's ``claims`` cannot override them.
RESERVED_CLAIMS = frozenset(
    {"sub", "iss", "aud", "azp", "exp", "iat", "nbf", "auth_time", "nonce", "at_hash", "jti"}
)


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _claims(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.is_mapping(inst, attribute, value)
    bad = sorted(k for k in value if not isinstance(k, str) or k in RESERVED_CLAIMS)
    if bad:
        raise InvalidSettingError(
            f"expected user claims without the provider-set claims, got {bad!r}",
            key=f"OIDCUser.{attribute.name}",
            hint="the subject goes in OIDCUser.sub",
        )


def _non_empty(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise InvalidSettingError(
            f"expected a non-empty string without white space, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class OIDCUser:
    """A person who can sign in at the test provider.

    Args:
        sub: The subject identifier (``sub`` claim; the ORCID iD for the ORCID shape).
        claims: What the provider knows about the person: ``email``, ``email_verified``,
            ``name``, ``preferred_username``, ``groups``, nested ``realm_access`` /
            ``resource_access`` role claims, or anything else. Scopes decide which are released.
            For the GitHub shape, ``id`` (an integer) and ``emails`` (a list of
            ``{"email", "primary", "verified", "visibility"}``) are used when present.
        password: Password for the HTML login form; ``None`` means the form refuses the user
            (auto-approval through ``login_as`` still works).
    """

    sub: str = attrs.field(validator=_non_empty)
    claims: Mapping[str, Any] = attrs.field(factory=dict, converter=_copy, validator=_claims)
    password: str | None = attrs.field(default=None, repr=False, validator=v.optional(v.is_str))

    @property
    def username(self) -> str:
        """The name typed in the login form: ``preferred_username``, or ``sub``."""
        name = self.claims.get("preferred_username")
        return name if isinstance(name, str) and name else self.sub


def _uri_tuple(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _redirect_uris(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    key = f"OIDCClient({inst.client_id!r}).{attribute.name}"
    if not isinstance(value, tuple):
        raise InvalidSettingError(f"expected a list of URIs, got {value!r}", key=key)
    for uri in value:
        parts = urlsplit(uri) if isinstance(uri, str) else None
        # RFC 6749 §3.1.2: an absolute URI, without a fragment.
        if parts is None or not parts.scheme or parts.fragment or any(c.isspace() for c in uri):
            raise InvalidSettingError(
                f"expected absolute URIs without a fragment, got {uri!r}", key=key
            )


def _jwks(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    key = f"OIDCClient({inst.client_id!r}).{attribute.name}"
    keys = value.get("keys") if isinstance(value, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidSettingError(f'expected a JWK set {{"keys": [...]}}, got {value!r}', key=key)
    if any(not isinstance(k, Mapping) or "d" in k for k in keys):
        raise InvalidSettingError(
            "expected public keys only; the client keeps its private key", key=key
        )
    try:
        jwt.PyJWKSet.from_dict(dict(value))
    except jwt.PyJWTError as exc:
        raise InvalidSettingError(
            f"expected a usable JWK set, got one PyJWT refuses: {exc}", key=key
        ) from None


@attrs.frozen(kw_only=True)
class OIDCClient:
    """A relying party registered at the test provider.

    Args:
        client_id: The client identifier.
        client_secret: The secret, for ``client_secret_basic`` and ``client_secret_post``.
        redirect_uris: The registered redirect URIs; the authorization request's
            ``redirect_uri`` must equal one of them exactly.
        auth_method: How the client must authenticate at the token and revocation endpoints;
            any other method is refused with ``invalid_client``.
        jwks: The client's public keys (a JWK set), for ``private_key_jwt``.
        require_pkce: Refuse authorization requests without an S256 ``code_challenge``.
        post_logout_redirect_uris: Where ``end_session`` may send the person back to.
    """

    client_id: str = attrs.field(validator=_non_empty)
    client_secret: str | None = attrs.field(
        default=None, repr=False, validator=v.optional(v.is_str)
    )
    redirect_uris: tuple[str, ...] = attrs.field(converter=_uri_tuple, validator=_redirect_uris)
    auth_method: ClientAuthMethod = attrs.field(
        default="client_secret_basic", validator=v.one_of(CLIENT_AUTH_METHODS)
    )
    jwks: Mapping[str, Any] | None = attrs.field(default=None, validator=_jwks)
    require_pkce: bool = attrs.field(default=True, validator=v.is_bool)
    post_logout_redirect_uris: tuple[str, ...] = attrs.field(
        default=(), converter=_uri_tuple, validator=_redirect_uris
    )

    def __attrs_post_init__(self) -> None:
        key = f"OIDCClient({self.client_id!r})"
        if not self.redirect_uris:
            raise InvalidSettingError(
                "expected at least one redirect URI, got none", key=f"{key}.redirect_uris"
            )
        needs_secret = self.auth_method in ("client_secret_basic", "client_secret_post")
        if needs_secret and not self.client_secret:
            raise InvalidSettingError(
                f"auth_method {self.auth_method!r} needs a client_secret, got none",
                key=f"{key}.client_secret",
            )
        if self.auth_method == "private_key_jwt" and self.jwks is None:
            raise InvalidSettingError(
                "auth_method 'private_key_jwt' needs the client's public jwks, got none",
                key=f"{key}.jwks",
            )
        if self.auth_method == "none" and self.client_secret is not None:
            raise InvalidSettingError(
                "a public client (auth_method 'none') has no client_secret",
                key=f"{key}.client_secret",
            )
