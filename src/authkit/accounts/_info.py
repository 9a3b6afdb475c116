"""Account information: what a provider says about a person, in one typed, normalised shape.

Every provider speaks differently — OpenID Connect claims, GitHub's ``/user``, ORCID's token
response, SAML attributes, a site's own ``info_serializer`` — and the account flows read one
shape, :class:`AccountInfo`. It is Invenio's "account info" dictionary made typed::

    {"user": {"email": ..., "active": ..., "profile": {"username": ..., "full_name": ...},
              "prefs": {...}},
     "external_id": ..., "external_method": ...}

plus ``email_verified`` (whether the provider vouches for the address) and the raw claims or
attributes, kept for hooks and login policies.

A field the provider did not mention is :data:`~authkit.accounts.UNSET`; a field it sent empty
(``null``) is ``None``. Precedence masks need the difference (see :mod:`._mask`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from authkit.accounts._unset import UNSET, Unset
from authkit.errors import ProviderResponseError

if TYPE_CHECKING:
    from authkit.saml import MappedIdentity

__all__ = ["AccountInfo", "AccountUser", "Profile", "claim_at"]

_PROFILE_FIELDS = ("username", "full_name", "given_name", "family_name", "affiliations")


def _frozen_map(value: Any) -> dict[str, Any]:
    return dict(value) if value is not None else {}


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at ``path`` (dotted for nested objects: ``"realm_access.roles"``), or UNSET.

    A claim whose name itself contains dots (``"urn:oid:1.3.6..."``) is found by its full name
    first.
    """
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return UNSET
        node = node[part]
    return node


@attrs.frozen(kw_only=True)
class Profile:
    """Profile fields of an account (Invenio's ``user.profile``).

    Every field is :data:`~authkit.accounts.UNSET` when the provider did not say, ``None`` when
    it said "empty".

    Attributes:
        username: The username suggested by the provider (not yet checked against the site's
            rules; the flow does that).
        full_name: Full display name.
        given_name: Given name.
        family_name: Family name.
        affiliations: Affiliations (``staff@example.org``, or organisation names).
        extra: Other profile fields a site's serializer produced (a custom profile schema).
    """

    username: str | Unset | None = UNSET
    full_name: str | Unset | None = UNSET
    given_name: str | Unset | None = UNSET
    family_name: str | Unset | None = UNSET
    affiliations: tuple[str, ...] | Unset | None = UNSET
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)

    def to_dict(self) -> dict[str, Any]:
        """The fields the provider said something about (``None`` kept, UNSET left out)."""
        data: dict[str, Any] = dict(self.extra)
        for name in _PROFILE_FIELDS:
            value = getattr(self, name)
            if value is UNSET:
                continue
            data[name] = list(value) if isinstance(value, tuple) else value
        return data


@attrs.frozen(kw_only=True)
class AccountUser:
    """The ``user`` part of account information.

    Attributes:
        email: E-mail address (UNSET: not said; ``None``: said empty).
        email_verified: Whether the provider itself vouches for the address (OIDC
            ``email_verified``). Provider-level trust (``RemoteApp.email_trusted``) is applied
            later by the flow, not here.
        active: Whether the account should be active (UNSET: the site decides, active).
        profile: Profile fields.
        prefs: Preferences (Invenio's ``user.prefs``: visibility…), keys the provider set.
    """

    email: str | Unset | None = UNSET
    email_verified: bool = False
    active: bool | Unset = UNSET
    profile: Profile = attrs.field(factory=Profile)
    prefs: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)


@attrs.frozen(kw_only=True)
class AccountInfo:
    """What a provider says about a person, normalised.

    Attributes:
        external_id: The person's stable identifier at the provider (``sub``, ORCID iD,
            SAML subject id…).
        external_method: The provider's name.
        user: The account fields.
        raw: The claims or attributes as received, for hooks and login policies.
    """

    external_id: str
    external_method: str
    user: AccountUser = attrs.field(factory=AccountUser)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map, repr=False)

    @property
    def email(self) -> str | None:
        """The e-mail address when the provider gave a non-empty one."""
        value = self.user.email
        return value if isinstance(value, str) and value else None

    def user_data(self) -> dict[str, Any]:
        """The user fields as a nested dictionary for a precedence mask.

        Fields the provider did not mention are absent; fields it sent empty are ``None``.
        ``email_verified`` is not part of it: a person can never provide it.
        """
        data: dict[str, Any] = {}
        if self.user.email is not UNSET:
            data["email"] = self.user.email
        if self.user.active is not UNSET:
            data["active"] = self.user.active
        profile = self.user.profile.to_dict()
        if profile:
            data["profile"] = profile
        if self.user.prefs:
            data["prefs"] = dict(self.user.prefs)
        return data

    def to_dict(self, *, raw: bool = True) -> dict[str, Any]:
        """Invenio's account-info shape, plus ``user.email_verified`` and (optionally) ``raw``.

        :meth:`from_dict` reads it back without loss (UNSET fields stay absent).
        """
        user = self.user_data()
        user["email_verified"] = self.user.email_verified
        data: dict[str, Any] = {
            "user": user,
            "external_id": self.external_id,
            "external_method": self.external_method,
        }
        if raw:
            data["raw"] = dict(self.raw)
        return data

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        provider: str | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> AccountInfo:
        """Read Invenio's account-info dictionary (what an ``info`` / ``info_serializer``
        handler returns).

        Args:
            data: ``{"user": {...}, "external_id": ..., "external_method": ...}``.
            provider: The provider's name, used when ``external_method`` is missing and in
                error messages.
            raw: Raw claims to keep when ``data`` has no ``raw``.

        Raises:
            ProviderResponseError: ``accounts.external_id_missing`` without an external id;
                ``accounts.info_invalid`` when a field has the wrong type.
        """
        where = provider or "the provider"
        if not isinstance(data, Mapping):
            raise _invalid(where, "account info", data, "a mapping", provider)
        external_id = data.get("external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        if not isinstance(external_id, str) or not external_id.strip():
            raise ProviderResponseError(
                f"the account information of {where} has no external_id",
                provider=provider,
                code="accounts.external_id_missing",
                hint="the info handler must return a non-empty 'external_id'",
            )
        method = data.get("external_method", provider)
        if not isinstance(method, str) or not method:
            raise _invalid(where, "external_method", method, "the provider's name", provider)
        user_data = data.get("user", {})
        if user_data is None:
            user_data = {}
        if not isinstance(user_data, Mapping):
            raise _invalid(where, "user", user_data, "a mapping", provider)
        profile_data = user_data.get("profile", {}) or {}
        if not isinstance(profile_data, Mapping):
            raise _invalid(where, "user.profile", profile_data, "a mapping", provider)
        prefs = user_data.get("prefs", {}) or {}
        if not isinstance(prefs, Mapping):
            raise _invalid(where, "user.prefs", prefs, "a mapping", provider)
        profile_kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in profile_data.items():
            if key == "affiliations":
                profile_kwargs[key] = _affiliations(value, where, provider)
            elif key in _PROFILE_FIELDS:
                profile_kwargs[key] = _optional_str(value, f"user.profile.{key}", where, provider)
            else:
                extra[key] = value
        user_kwargs: dict[str, Any] = {}
        if "email" in user_data:
            email = _optional_str(user_data["email"], "user.email", where, provider)
            user_kwargs["email"] = email.strip() if isinstance(email, str) else email
        if "active" in user_data:
            active = user_data["active"]
            if not isinstance(active, bool):
                raise _invalid(where, "user.active", active, "true or false", provider)
            user_kwargs["active"] = active
        raw_data = data.get("raw", raw if raw is not None else {})
        return cls(
            external_id=external_id.strip(),
            external_method=method,
            user=AccountUser(
                **user_kwargs,
                email_verified=_truthy_claim(user_data.get("email_verified")),
                profile=Profile(**profile_kwargs, extra=extra),
                prefs=prefs,
            ),
            raw=raw_data if isinstance(raw_data, Mapping) else {},
        )

    @classmethod
    def from_claims(
        cls,
        claims: Mapping[str, Any],
        *,
        provider: str,
        username_claim: str = "preferred_username",
        affiliations_claim: str = "eduperson_scoped_affiliation",
        id_token_claims: Mapping[str, Any] | None = None,
    ) -> AccountInfo:
        """Default account information from OpenID-Connect-shaped claims.

        This is authkit's built-in info handler for every OAuth provider: OIDC UserInfo or ID
        token claims, or what a contrib profile fetcher (GitHub, ORCID, GitLab) returned.

        ``sub`` gives the external id; ``email`` and ``email_verified`` (``true``, or the string
        ``"true"`` some providers send); ``name``, ``given_name``, ``family_name``; the username
        from ``username_claim`` (Opal's "username mapping"; a dotted path reaches nested
        claims); affiliations from ``affiliations_claim`` (a list or one string).

        Args:
            claims: The user info.
            provider: The provider's name (``external_method``).
            username_claim: The claim holding the username (``RemoteApp.username_claim``).
            affiliations_claim: The claim holding affiliations.
            id_token_claims: The ID token's claims; kept in ``raw`` under the user info, and the
                source of ``sub`` when the user info has none.

        Raises:
            ProviderResponseError: ``accounts.external_id_missing`` without ``sub``;
                ``accounts.info_invalid`` when a claim has the wrong type.
        """
        raw: dict[str, Any] = dict(id_token_claims or {})
        raw.update(claims)
        subject = raw.get("sub")
        if isinstance(subject, int) and not isinstance(subject, bool):
            subject = str(subject)
        if not isinstance(subject, str) or not subject.strip():
            raise ProviderResponseError(
                f"the user information of {provider!r} has no 'sub'",
                provider=provider,
                code="accounts.external_id_missing",
            )
        profile: dict[str, Any] = {}
        for field, claim in (
            ("full_name", "name"),
            ("given_name", "given_name"),
            ("family_name", "family_name"),
        ):
            if claim in raw:
                profile[field] = _optional_str(raw[claim], claim, provider, provider)
        username = claim_at(raw, username_claim)
        if username is not UNSET:
            if isinstance(username, int) and not isinstance(username, bool):
                username = str(username)
            profile["username"] = _optional_str(username, username_claim, provider, provider)
        affiliations = claim_at(raw, affiliations_claim)
        if affiliations is not UNSET:
            profile["affiliations"] = _affiliations(affiliations, provider, provider)
        user: dict[str, Any] = {}
        if "email" in raw:
            email = _optional_str(raw["email"], "email", provider, provider)
            user["email"] = email.strip() if isinstance(email, str) else email
        return cls(
            external_id=subject.strip(),
            external_method=provider,
            user=AccountUser(
                **user,
                email_verified=_truthy_claim(raw.get("email_verified")),
                profile=Profile(**profile),
            ),
            raw=raw,
        )

    @classmethod
    def from_saml(cls, mapped: MappedIdentity, *, provider: str) -> AccountInfo:
        """Account information from a SAML assertion mapped by an
        :class:`~authkit.saml.AttributeMapping`.

        SAML says nothing about whether the IdP verified the e-mail address:
        ``email_verified`` is false; configure the IdP as trusted for e-mail
        (:class:`~authkit.accounts.ProviderSettings` ``email_trusted``) when it vouches.
        A field the mapping found nothing for is UNSET. The external id falls back to a
        persistent NameID.

        Raises:
            ProviderResponseError: ``accounts.external_id_missing`` when the assertion carries
                neither a mapped external id nor a persistent NameID.
        """
        external_id = mapped.external_id
        persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        if not external_id and mapped.name_id and mapped.name_id_format == persistent:
            external_id = mapped.name_id
        if not external_id:
            raise ProviderResponseError(
                f"the SAML assertion from {provider!r} carries no external id",
                provider=provider,
                code="accounts.external_id_missing",
                hint="map external_id to a stable attribute (subject-id, eduPersonUniqueId…)",
            )

        def said(value: str | None) -> str | Unset:
            return value if value else UNSET

        profile = Profile(
            username=said(mapped.username),
            full_name=said(mapped.full_name),
            given_name=said(mapped.given_name),
            family_name=said(mapped.family_name),
            affiliations=tuple(mapped.affiliations) if mapped.affiliations else UNSET,
        )
        raw: dict[str, Any] = {k: list(v) for k, v in mapped.attributes.items()}
        if mapped.name_id is not None:
            raw.setdefault("NameID", mapped.name_id)
        return cls(
            external_id=external_id,
            external_method=provider,
            user=AccountUser(email=said(mapped.email), profile=profile),
            raw=raw,
        )


def _truthy_claim(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _invalid(
    where: str, field: str, value: Any, expected: str, provider: str | None
) -> ProviderResponseError:
    kind = type(value).__name__
    return ProviderResponseError(
        f"the account information of {where}: {field} should be {expected}, got a {kind}",
        provider=provider,
        code="accounts.info_invalid",
    )


def _optional_str(value: Any, field: str, where: str, provider: str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _invalid(where, field, value, "a string", provider)


def _affiliations(value: Any, where: str, provider: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v)
    raise _invalid(where, "affiliations", value, "a string or a list of strings", provider)
