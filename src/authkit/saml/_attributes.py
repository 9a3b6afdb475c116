"""A registry of well-known SAML attributes and their name forms.

One attribute travels under several names. An IdP configured after the SAML 2.0 attribute profiles
of the REFEDS/MACE-Dir community sends ``mail`` as ``urn:oid:0.9.2342.19200300.100.1.3`` (the
``uri`` name format); an older Shibboleth IdP or SimpleSAMLphp sends
``urn:mace:dir:attribute-def:mail``; others send the bare friendly name ``mail``, and ADFS or Entra
ID send claim URIs. Operators, in turn, write whichever form they know into their mapping.

The :class:`AttributeRegistry` ties these forms together: every name form looks up the same
:class:`AttributeDefinition`, which carries the canonical friendly name, whether the values are
scoped (``value@scope``, checked against the IdP metadata's ``shibmd:Scope``) and whether the
attribute is multi-valued. :meth:`AttributeRegistry.normalise` rewrites a received attribute
dictionary to canonical friendly names.

Sources of the table (looked up, and pinned by a test against pysaml2's attribute maps):

- eduPerson (202208) object class specification, internet2/REFEDS: ``1.3.6.1.4.1.5923.1.1.1.n``;
  ``isMemberOf`` is ``1.3.6.1.4.1.5923.1.5.1.1``.
- RFC 4519 / X.500 (``2.5.4.n``), RFC 4524 COSINE (``0.9.2342.19200300.100.1.n``), RFC 2798
  inetOrgPerson (``displayName`` ``2.16.840.1.113730.3.1.241``), PKCS #9 ``emailAddress``
  (``1.2.840.113549.1.9.1``).
- SCHAC 1.5 (``1.3.6.1.4.1.25178.1.2.n``; legacy names ``urn:mace:terena.org:attribute-def:``).
- OASIS SAML V2.0 Subject Identifier Attributes Profile 1.0 (``subject-id``, ``pairwise-id``).
- ``memberOf`` (RFC 2307bis / Active Directory): ``1.2.840.113556.1.2.102``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from authkit.errors import InvalidSettingError

__all__ = [
    "DEFAULT_ATTRIBUTE_REGISTRY",
    "AttributeDefinition",
    "AttributeRegistry",
]

_EDUPERSON = "urn:oid:1.3.6.1.4.1.5923.1.1.1."
_X500 = "urn:oid:2.5.4."
_COSINE = "urn:oid:0.9.2342.19200300.100.1."
_SCHAC = "urn:oid:1.3.6.1.4.1.25178.1.2."
_MACE = "urn:mace:dir:attribute-def:"
_TERENA = "urn:mace:terena.org:attribute-def:"
_ADFS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"


def _tuple(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class AttributeDefinition:
    """One well-known attribute and all the names it travels under.

    Args:
        friendly_name: The canonical short name (``"mail"``, ``"eduPersonPrincipalName"``): the
            key :meth:`AttributeRegistry.normalise` uses.
        uri: The SAML 2.0 ``uri``-format name (``urn:oid:…``, or the OASIS URN of ``subject-id``
            and ``pairwise-id``), when the attribute has one.
        mace: The legacy ``urn:mace:…`` name, when the attribute has one.
        aliases: Further names an IdP may send (ADFS claim URIs, alternative spellings).
        scoped: Values have the form ``value@scope`` and the scope must be one of the IdP's
            ``shibmd:Scope`` values.
        multi_valued: The attribute may carry several values.
        meaning: What the attribute says about a person (``"email"``, ``"given_name"``,
            ``"identifier"``…); attributes with the same meaning are suggested for each other when
            a mapping finds nothing.
        description: A short human description (shown in the documentation table).
    """

    friendly_name: str
    uri: str | None = None
    mace: str | None = None
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    scoped: bool = False
    multi_valued: bool = True
    meaning: str | None = None
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name form, the preferred wire form (``uri``) first."""
        forms = [self.uri, self.mace, self.friendly_name, *self.aliases]
        seen: list[str] = []
        for form in forms:
            if form and form not in seen:
                seen.append(form)
        return tuple(seen)

    @property
    def label(self) -> str:
        """``"mail (urn:oid:0.9.2342.19200300.100.1.3)"``: for messages."""
        if self.uri and self.uri != self.friendly_name:
            return f"{self.friendly_name} ({self.uri})"
        return self.friendly_name


def _d(
    friendly_name: str,
    uri: str | None,
    *,
    mace: str | None = None,
    aliases: Sequence[str] = (),
    scoped: bool = False,
    multi_valued: bool = True,
    meaning: str | None = None,
    description: str = "",
) -> AttributeDefinition:
    return AttributeDefinition(
        friendly_name=friendly_name,
        uri=uri,
        mace=(_MACE + friendly_name) if mace is None else (mace or None),
        aliases=tuple(aliases),
        scoped=scoped,
        multi_valued=multi_valued,
        meaning=meaning,
        description=description,
    )


_DEFINITIONS: tuple[AttributeDefinition, ...] = (
    # --- eduPerson ---------------------------------------------------------------------------
    _d(
        "eduPersonAffiliation",
        _EDUPERSON + "1",
        meaning="affiliation",
        description="Relationship to the home organisation (member, staff, student…)",
    ),
    _d(
        "eduPersonNickname",
        _EDUPERSON + "2",
        description="Informal name",
    ),
    _d(
        "eduPersonPrimaryAffiliation",
        _EDUPERSON + "5",
        multi_valued=False,
        meaning="affiliation",
        description="Primary relationship to the home organisation",
    ),
    _d(
        "eduPersonPrincipalName",
        _EDUPERSON + "6",
        scoped=True,
        multi_valued=False,
        meaning="identifier",
        description="Scoped login name (user@scope); may be reassigned at some organisations",
    ),
    _d(
        "eduPersonEntitlement",
        _EDUPERSON + "7",
        meaning="groups",
        description="URIs of rights to specific resources",
    ),
    _d(
        "eduPersonScopedAffiliation",
        _EDUPERSON + "9",
        scoped=True,
        meaning="affiliation",
        description="Affiliation qualified by the organisation (staff@example.org)",
    ),
    _d(
        "eduPersonTargetedID",
        _EDUPERSON + "10",
        meaning="identifier",
        description="Persistent, per-SP pseudonymous identifier (deprecated for pairwise-id)",
    ),
    _d(
        "eduPersonAssurance",
        _EDUPERSON + "11",
        description="Identity assurance profiles met (REFEDS Assurance Framework URIs)",
    ),
    _d(
        "eduPersonUniqueId",
        _EDUPERSON + "13",
        scoped=True,
        multi_valued=False,
        meaning="identifier",
        description="Persistent, non-reassigned, scoped identifier",
    ),
    _d(
        "eduPersonOrcid",
        _EDUPERSON + "16",
        meaning="orcid",
        description="ORCID iD as an https://orcid.org/ URI",
    ),
    # --- person / organizationalPerson / inetOrgPerson / COSINE ------------------------------
    _d(
        "cn",
        _X500 + "3",
        aliases=("commonName", "urn:mace:dir:attribute-def:commonName"),
        meaning="full_name",
        description="Common name",
    ),
    _d(
        "sn",
        _X500 + "4",
        aliases=("surname", _ADFS + "surname"),
        meaning="family_name",
        description="Surname (family name)",
    ),
    _d(
        "o",
        _X500 + "10",
        aliases=("organizationName",),
        meaning="organization",
        description="Organisation name",
    ),
    _d(
        "ou",
        _X500 + "11",
        aliases=("organizationalUnitName",),
        description="Organisational unit",
    ),
    _d(
        "telephoneNumber",
        _X500 + "20",
        description="Telephone number",
    ),
    _d(
        "givenName",
        _X500 + "42",
        aliases=(_ADFS + "givenname",),
        meaning="given_name",
        description="Given (first) name",
    ),
    _d(
        "uid",
        _COSINE + "1",
        aliases=("userid",),
        meaning="username",
        description="Login name at the home organisation (not globally unique)",
    ),
    _d(
        "mail",
        _COSINE + "3",
        aliases=("rfc822Mailbox",),
        meaning="email",
        description="E-mail address",
    ),
    _d(
        "displayName",
        "urn:oid:2.16.840.1.113730.3.1.241",
        multi_valued=False,
        meaning="full_name",
        description="Preferred name for display",
    ),
    _d(
        "email",
        "urn:oid:1.2.840.113549.1.9.1",
        aliases=(
            "emailAddress",
            "urn:mace:dir:attribute-def:emailAddress",
            "pkcs9email",
            _ADFS + "emailaddress",
        ),
        meaning="email",
        description="E-mail address (PKCS #9 emailAddress; ADFS emailaddress claim)",
    ),
    # --- SCHAC ------------------------------------------------------------------------------
    _d(
        "schacHomeOrganization",
        _SCHAC + "9",
        mace=_TERENA + "schacHomeOrganization",
        multi_valued=False,
        meaning="organization",
        description="Domain name of the home organisation",
    ),
    _d(
        "schacHomeOrganizationType",
        _SCHAC + "10",
        mace=_TERENA + "schacHomeOrganizationType",
        description="Type of the home organisation (URN)",
    ),
    _d(
        "schacPersonalUniqueCode",
        _SCHAC + "14",
        mace=_TERENA + "schacPersonalUniqueCode",
        meaning="identifier",
        description="Unique code for the person (e.g. a European Student Identifier URN)",
    ),
    # --- groups -----------------------------------------------------------------------------
    _d(
        "isMemberOf",
        "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        meaning="groups",
        description="Groups the person belongs to (eduMember)",
    ),
    _d(
        "memberOf",
        "urn:oid:1.2.840.113556.1.2.102",
        mace="",
        aliases=("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",),
        meaning="groups",
        description="Groups the person belongs to (RFC 2307bis / Active Directory; Entra groups)",
    ),
    # --- OASIS subject identifiers -----------------------------------------------------------
    _d(
        "subject-id",
        "urn:oasis:names:tc:SAML:attribute:subject-id",
        mace="",
        scoped=True,
        multi_valued=False,
        meaning="identifier",
        description="General-purpose, long-lived, scoped subject identifier",
    ),
    _d(
        "pairwise-id",
        "urn:oasis:names:tc:SAML:attribute:pairwise-id",
        mace="",
        scoped=True,
        multi_valued=False,
        meaning="identifier",
        description="Per-SP, long-lived, scoped subject identifier",
    ),
)


class AttributeRegistry:
    """Look attribute definitions up by any of their names.

    Lookups are case-insensitive (``Mail`` finds ``mail``; OIDs and URNs compare
    case-insensitively too). A registry is immutable; :meth:`extended` returns a new one.

    Args:
        definitions: The definitions. Two definitions may not share a name form.

    Raises:
        InvalidSettingError: Two definitions claim the same name (``config.invalid_value``).
    """

    def __init__(self, definitions: Iterable[AttributeDefinition]) -> None:
        self._definitions: tuple[AttributeDefinition, ...] = tuple(definitions)
        index: dict[str, AttributeDefinition] = {}
        for definition in self._definitions:
            for name in definition.names:
                key = name.casefold()
                other = index.get(key)
                if other is not None and other is not definition:
                    raise InvalidSettingError(
                        f"attribute name {name!r} is claimed by both {other.friendly_name!r} "
                        f"and {definition.friendly_name!r}",
                        key="AttributeRegistry.definitions",
                    )
                index[key] = definition
        self._index = index

    def __iter__(self) -> Iterator[AttributeDefinition]:
        return iter(self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._index

    def lookup(self, name: str) -> AttributeDefinition | None:
        """The definition ``name`` (in any form) stands for, or ``None`` when unknown."""
        return self._index.get(name.casefold())

    def names_for(self, name: str) -> tuple[str, ...]:
        """Every name form of the attribute ``name`` stands for (just ``(name,)`` if unknown)."""
        definition = self.lookup(name)
        return definition.names if definition else (name,)

    def friendly_name(self, name: str) -> str | None:
        """The canonical friendly name of ``name``, or ``None`` when unknown."""
        definition = self.lookup(name)
        return definition.friendly_name if definition else None

    def extended(self, definitions: Iterable[AttributeDefinition]) -> AttributeRegistry:
        """A new registry with ``definitions`` added (for site-specific attributes)."""
        return AttributeRegistry((*self._definitions, *definitions))

    def normalise(
        self,
        attributes: Mapping[str, Sequence[str]],
        *,
        friendly_names: Mapping[str, str] | None = None,
    ) -> dict[str, list[str]]:
        """Rewrite ``attributes`` to be keyed by canonical friendly name.

        Args:
            attributes: Attributes as received, keyed by ``Name`` as sent.
            friendly_names: The ``FriendlyName`` the IdP sent for each ``Name``, if known: used
                for attributes the registry does not know (a known attribute always gets its
                canonical friendly name, whatever the IdP called it).

        Returns:
            A new dictionary. When several received names stand for the same attribute
            (``mail`` and ``urn:oid:0.9.2342.19200300.100.1.3``), their values are merged in the
            order received, without duplicates. Unknown attributes keep their ``FriendlyName``
            when given, else the name as sent.
        """
        friendly_names = friendly_names or {}
        result: dict[str, list[str]] = {}
        for name, values in attributes.items():
            definition = self.lookup(name)
            if definition is not None:
                key = definition.friendly_name
            else:
                key = friendly_names.get(name) or name
            merged = result.setdefault(key, [])
            for value in values:
                if value not in merged:
                    merged.append(value)
        return result


#: The registry of well-known attributes authkit ships.
DEFAULT_ATTRIBUTE_REGISTRY = AttributeRegistry(_DEFINITIONS)
