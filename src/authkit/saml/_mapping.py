"""Map the attributes of a verified SAML assertion to account information.

An :class:`AttributeMapping` holds one :class:`AttributeRule` per account field (e-mail, given
and family name, full name, username, external id, affiliations). A rule lists its *sources* in
order — attribute names in any form the :class:`~authkit.saml.AttributeRegistry` knows
(``mail``, ``urn:oid:0.9.2342.19200300.100.1.3``, ``urn:mace:dir:attribute-def:mail``), names it
does not know (matched exactly), or :data:`NAME_ID` for the assertion's subject NameID — and the
first source that yields a value wins. A rule says what to do with several values (``first``,
``all``, or ``join`` them with a separator) and whether the field is required.

Scoped attributes (``eduPersonPrincipalName``, ``eduPersonScopedAffiliation``, ``subject-id``,
``pairwise-id``, ``eduPersonUniqueId``) are checked against the IdP's ``shibmd:Scope`` values
when the metadata publishes some: a value outside them is dropped, as the Shibboleth SP does,
because an IdP may only speak for its own domains.

When a required field finds nothing, :meth:`AttributeMapping.map` raises
:class:`~authkit.errors.SAMLValidationError` ``saml.mapping_missing_attribute``. It is a mismatch
between what the IdP releases and what the site expects, and its message is written for the
operator who must fix it: the attributes that *were* received, with their friendly names, and
the likely intended one (same meaning in the registry, or a close spelling). All the scoped
values of a required field being out of scope raises ``saml.mapping_scope_mismatch``.

invenio-saml's ``mappings`` (``email``, ``name``, ``surname``, ``external_id``) load with
:meth:`AttributeMapping.from_invenio`, which reproduces its account info: full name
``"name surname"`` and username ``"<idp>-<external_id before @>"``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from authkit.errors import (
    InvalidSettingError,
    MissingSettingError,
    SAMLValidationError,
    UnknownSettingError,
)
from authkit.saml._attributes import DEFAULT_ATTRIBUTE_REGISTRY, AttributeRegistry
from authkit.saml._idp_metadata import Scope

if TYPE_CHECKING:
    from authkit.saml._response import SAMLAuthn

__all__ = [
    "NAME_ID",
    "AttributeMapping",
    "AttributeRule",
    "MappedIdentity",
]

#: The source name that stands for the assertion's subject ``NameID`` (never a transient one).
NAME_ID = "NameID"

_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
_MULTI = ("first", "all", "join")
_SCALAR_FIELDS = ("email", "given_name", "family_name", "full_name", "username", "external_id")
_FIELDS = (*_SCALAR_FIELDS, "affiliations")
_REQUIRED_BY_DEFAULT = frozenset({"email", "external_id"})


# Small local validators: authkit.config sits above the protocol core and is not imported here.


def _fail(inst: Any, attribute: attrs.Attribute[Any], value: Any, expected: str) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    raise InvalidSettingError(
        f"expected {expected}, got {shown}", key=f"{type(inst).__name__}.{attribute.name}"
    )


def _is_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        _fail(inst, attribute, value, "a string")


def _optional_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _is_str(inst, attribute, value)


def _is_bool(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        _fail(inst, attribute, value, "true or false")


def _multi(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _MULTI:
        _fail(inst, attribute, value, "one of " + ", ".join(_MULTI))


def _sources(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _non_empty_sources(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(s, str) and s.strip() for s in value)
    ):
        _fail(inst, attribute, value, "a non-empty list of attribute names")


@attrs.frozen(kw_only=True)
class AttributeRule:
    """Where one account field comes from.

    Args:
        sources: Attribute names, tried in order (any name form; :data:`NAME_ID` for the
            subject NameID). A single string is one source.
        multi: What to do with several values: ``"first"`` (default), ``"all"`` (only for
            list fields such as affiliations) or ``"join"``.
        separator: The separator of ``"join"``.
        required: Raise ``saml.mapping_missing_attribute`` when no source yields a value.
    """

    sources: tuple[str, ...] = attrs.field(converter=_sources, validator=_non_empty_sources)
    multi: str = attrs.field(default="first", validator=_multi)
    separator: str = attrs.field(default=" ", validator=_is_str)
    required: bool = attrs.field(default=False, validator=_is_bool)

    @classmethod
    def from_value(cls, value: Any, *, key: str, required: bool = False) -> AttributeRule:
        """Build a rule from its configuration form.

        Args:
            value: An attribute name, a list of names (ordered fallbacks), a mapping with
                ``sources`` (or ``source``), ``multi``, ``separator``, ``required``, or a rule.
            key: The setting's name, for error messages.
            required: Whether the rule is required when ``value`` does not say.

        Raises:
            InvalidSettingError: the value has the wrong shape (``config.invalid_value``).
            UnknownSettingError: a mapping form has an unknown key (``config.unknown_key``).
        """
        if isinstance(value, AttributeRule):
            return value
        if isinstance(value, str | list | tuple):
            try:
                return cls(sources=value, required=required)
            except InvalidSettingError as exc:
                raise _rekey(exc, key) from None
        if isinstance(value, Mapping):
            allowed = ("sources", "source", "multi", "separator", "required")
            for name in value:
                if name not in allowed:
                    raise _unknown(name, allowed, key=key)
            sources = value.get("sources", value.get("source"))
            if sources is None:
                raise MissingSettingError("a rule needs 'sources'", key=f"{key}.sources")
            try:
                return cls(
                    sources=sources,
                    multi=value.get("multi", "first"),
                    separator=value.get("separator", " "),
                    required=value.get("required", required),
                )
            except InvalidSettingError as exc:
                raise _rekey(exc, key, field=True) from None
        raise InvalidSettingError(
            f"expected an attribute name, a list of names or a rule mapping, got {value!r}",
            key=key,
        )

    def to_value(self) -> dict[str, Any]:
        """The mapping form of this rule (round-trips through :meth:`from_value`)."""
        return {
            "sources": list(self.sources),
            "multi": self.multi,
            "separator": self.separator,
            "required": self.required,
        }


def _rekey(exc: InvalidSettingError, key: str, *, field: bool = False) -> InvalidSettingError:
    """The same error, named after the setting instead of the AttributeRule field."""
    message = exc.message
    name = ""
    if exc.key and message.startswith(f"{exc.key}: "):
        message = message[len(exc.key) + 2 :]
        name = exc.key.rpartition(".")[2]
    return InvalidSettingError(message, key=f"{key}.{name}" if field and name else key)


def _unknown(name: object, allowed: Sequence[str], *, key: str) -> UnknownSettingError:
    close = difflib.get_close_matches(str(name), allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(allowed)
    return UnknownSettingError(f"unknown key {name!r}", key=key, hint=hint)


def _rule_or_none(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, AttributeRule):
        raise InvalidSettingError(
            f"expected an AttributeRule or None, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )
    if (
        isinstance(value, AttributeRule)
        and value.multi == "all"
        and attribute.name in _SCALAR_FIELDS
    ):
        raise InvalidSettingError(
            "multi='all' gives a list, but this field holds one value: use 'first' or 'join'",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class MappedIdentity:
    """What the IdP said about the person, mapped to account fields.

    Args:
        email: The e-mail address.
        given_name: The given name.
        family_name: The family name.
        full_name: The full name (the rule's, else ``"given family"``).
        username: The username suggestion.
        external_id: The stable identifier of the person at the IdP.
        affiliations: Affiliations (for example ``staff@example.org``).
        name_id: The subject NameID, when known.
        name_id_format: Its format.
        attributes: The attributes as received, keyed by ``Name`` as sent.
    """

    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    full_name: str | None = None
    username: str | None = None
    external_id: str | None = None
    affiliations: tuple[str, ...] = ()
    name_id: str | None = None
    name_id_format: str | None = None
    attributes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of every field."""
        data = attrs.asdict(self, recurse=False)
        data["affiliations"] = list(self.affiliations)
        data["attributes"] = {k: list(vs) for k, vs in self.attributes.items()}
        return data


@attrs.frozen(kw_only=True)
class AttributeMapping:
    """How the attributes of an assertion become a :class:`MappedIdentity`.

    Use :meth:`default` (the usual eduPerson / inetOrgPerson names), :meth:`from_dict` or
    :meth:`from_invenio`.

    Args:
        email: Rule for the e-mail address.
        given_name: Rule for the given name.
        family_name: Rule for the family name.
        full_name: Rule for the full name; without one (or when it finds nothing), the full name
            is the given and family names joined by a space.
        username: Rule for the username.
        external_id: Rule for the stable identifier of the person.
        affiliations: Rule for the affiliations (a list field: ``multi`` defaults to ``"all"``).
        username_prefix: When set and the username rule finds nothing, the username is this
            prefix plus the external id up to its ``@`` (invenio-saml's ``"<idp>-<id>"``).
        registry: The attribute registry that resolves name forms.
    """

    FIELDS: ClassVar[tuple[str, ...]] = _FIELDS

    email: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    given_name: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    family_name: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    full_name: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    username: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    external_id: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    affiliations: AttributeRule | None = attrs.field(default=None, validator=_rule_or_none)
    username_prefix: str | None = attrs.field(default=None, validator=_optional_str)
    registry: AttributeRegistry = attrs.field(
        default=DEFAULT_ATTRIBUTE_REGISTRY,
        validator=attrs.validators.instance_of(AttributeRegistry),
    )

    @classmethod
    def default(
        cls, *, registry: AttributeRegistry = DEFAULT_ATTRIBUTE_REGISTRY
    ) -> AttributeMapping:
        """The mapping for IdPs that release the usual research-and-education attributes.

        ``email``: mail, email (required). ``given_name``: givenName. ``family_name``: sn.
        ``full_name``: displayName, cn. ``external_id`` (required): subject-id, pairwise-id,
        eduPersonUniqueId, eduPersonPrincipalName, eduPersonTargetedID, then a non-transient
        NameID. ``affiliations``: eduPersonScopedAffiliation, eduPersonAffiliation (all values).
        """
        return cls(
            email=AttributeRule(sources=("mail", "email"), required=True),
            given_name=AttributeRule(sources=("givenName",)),
            family_name=AttributeRule(sources=("sn",)),
            full_name=AttributeRule(sources=("displayName", "cn")),
            external_id=AttributeRule(
                sources=(
                    "subject-id",
                    "pairwise-id",
                    "eduPersonUniqueId",
                    "eduPersonPrincipalName",
                    "eduPersonTargetedID",
                    NAME_ID,
                ),
                required=True,
            ),
            affiliations=AttributeRule(
                sources=("eduPersonScopedAffiliation", "eduPersonAffiliation"), multi="all"
            ),
            registry=registry,
        )

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        key: str = "mapping",
        registry: AttributeRegistry = DEFAULT_ATTRIBUTE_REGISTRY,
    ) -> AttributeMapping:
        """Build a mapping from its configuration form.

        ``data`` maps field names (``email``, ``given_name``, ``family_name``, ``full_name``,
        ``username``, ``external_id``, ``affiliations``) to rules in any form
        :meth:`AttributeRule.from_value` accepts, plus an optional ``username_prefix``.
        ``email`` and ``external_id`` are required unless their rule says otherwise;
        ``affiliations`` keeps all values unless its rule says otherwise.

        Raises:
            UnknownSettingError: an unknown field (``config.unknown_key``), with a suggestion.
            InvalidSettingError: a rule of the wrong shape (``config.invalid_value``).
        """
        if not isinstance(data, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {data!r}", key=key)
        allowed = (*_FIELDS, "username_prefix")
        rules: dict[str, Any] = {}
        for name, value in data.items():
            if name not in allowed:
                raise _unknown(name, allowed, key=key)
            if name == "username_prefix":
                rules[name] = value
                continue
            rule = AttributeRule.from_value(
                value, key=f"{key}.{name}", required=name in _REQUIRED_BY_DEFAULT
            )
            if name == "affiliations" and not isinstance(value, Mapping | AttributeRule):
                rule = attrs.evolve(rule, multi="all")
            rules[name] = rule
        return cls(**rules, registry=registry)

    @classmethod
    def from_invenio(
        cls,
        mappings: Mapping[str, Any],
        *,
        idp: str,
        key: str | None = None,
        registry: AttributeRegistry = DEFAULT_ATTRIBUTE_REGISTRY,
    ) -> AttributeMapping:
        """Build the mapping invenio-saml's ``mappings`` describe.

        invenio-saml reads ``attributes[mappings[k]][0]`` for ``email``, ``name``, ``surname``
        and ``external_id`` (all four required), sets the full name to ``"name surname"`` and the
        username to ``"<idp>-<external_id up to @>"``. authkit does the same, and also accepts
        any name form of a known attribute, or a list of names as ordered fallbacks. An optional
        ``affiliations`` key maps the affiliations (all values). Other keys are left to custom
        handlers and ignored here.

        Args:
            mappings: The IdP's ``mappings`` dictionary.
            idp: The IdP's key in ``SSO_SAML_IDPS`` (the username prefix).
            key: The setting's name for messages (default ``SSO_SAML_IDPS.<idp>.mappings``).
            registry: The attribute registry.

        Raises:
            MissingSettingError: one of the four keys is absent (``config.missing_key``).
            InvalidSettingError: a value is not an attribute name or a list of names.
        """
        key = key or f"SSO_SAML_IDPS.{idp}.mappings"
        if not isinstance(mappings, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {mappings!r}", key=key)
        fields = {
            "email": "email",
            "name": "given_name",
            "surname": "family_name",
            "external_id": "external_id",
        }
        rules: dict[str, AttributeRule] = {}
        for invenio_name, field in fields.items():
            if invenio_name not in mappings:
                raise MissingSettingError(
                    "invenio-saml needs this mapping", key=f"{key}.{invenio_name}"
                )
            rules[field] = AttributeRule.from_value(
                mappings[invenio_name], key=f"{key}.{invenio_name}", required=True
            )
        if "affiliations" in mappings:
            rule = AttributeRule.from_value(mappings["affiliations"], key=f"{key}.affiliations")
            rules["affiliations"] = attrs.evolve(rule, multi="all")
        return cls(**rules, username_prefix=f"{idp}-", registry=registry)

    def map_authn(
        self, authn: SAMLAuthn, *, scopes: Iterable[Scope | str] | None = None
    ) -> MappedIdentity:
        """Map a validated :class:`~authkit.saml.SAMLAuthn` (attributes, NameID and the
        ``FriendlyName`` values the IdP sent, for the diagnostics).

        Raises:
            SAMLValidationError: as :meth:`map`.
        """
        return self.map(
            authn.attributes,
            name_id=authn.name_id,
            name_id_format=authn.name_id_format,
            scopes=scopes,
            friendly_names={
                detail.name: detail.friendly_name
                for detail in authn.attribute_details
                if detail.friendly_name
            },
        )

    def map(
        self,
        attributes: Mapping[str, Sequence[str]],
        *,
        name_id: str | None = None,
        name_id_format: str | None = None,
        scopes: Iterable[Scope | str] | None = None,
        friendly_names: Mapping[str, str] | None = None,
    ) -> MappedIdentity:
        """Map the attributes of a verified assertion.

        Args:
            attributes: The assertion's attributes, keyed by ``Name`` as sent
                (``authn.attributes``).
            name_id: The subject NameID (``authn.name_id``), for :data:`NAME_ID` sources.
            name_id_format: Its format; a transient NameID is never used.
            scopes: The IdP's scopes (``IdPMetadata.scopes``, or plain domains). When given and
                not empty, scoped values outside them are dropped.
            friendly_names: ``FriendlyName`` by ``Name`` as sent, for the diagnostics of
                attributes the registry does not know.

        Raises:
            SAMLValidationError: ``saml.mapping_missing_attribute`` when a required field finds
                nothing, ``saml.mapping_scope_mismatch`` when all its scoped values were out of
                scope.
        """
        scope_list = [s if isinstance(s, Scope) else Scope(s) for s in (scopes or ())]
        context = _Context(
            attributes=attributes,
            name_id=name_id if name_id_format != _TRANSIENT else None,
            scopes=scope_list,
            registry=self.registry,
            friendly_names=friendly_names or {},
        )
        values: dict[str, list[str]] = {}
        for field in _FIELDS:
            rule: AttributeRule | None = getattr(self, field)
            if rule is None:
                values[field] = []
                continue
            found = context.extract(rule)
            if not found and rule.required:
                context.fail(field, rule)
            if rule.multi == "join" and found:
                found = [rule.separator.join(found)]
            values[field] = found

        def one(field: str) -> str | None:
            return values[field][0] if values[field] else None

        given, family = one("given_name"), one("family_name")
        full_name = one("full_name")
        if full_name is None and (given or family):
            full_name = " ".join(part for part in (given, family) if part)
        external_id = one("external_id")
        username = one("username")
        if username is None and self.username_prefix is not None and external_id:
            username = self.username_prefix + external_id.split("@", 1)[0]
        affiliations = values["affiliations"]
        if self.affiliations is not None and self.affiliations.multi == "first":
            affiliations = affiliations[:1]
        return MappedIdentity(
            email=one("email"),
            given_name=given,
            family_name=family,
            full_name=full_name,
            username=username,
            external_id=external_id,
            affiliations=tuple(affiliations),
            name_id=name_id,
            name_id_format=name_id_format,
            attributes={k: tuple(vs) for k, vs in attributes.items()},
        )


# --- extraction and diagnostics ----------------------------------------------------------------


@attrs.define
class _Context:
    attributes: Mapping[str, Sequence[str]]
    name_id: str | None
    scopes: list[Scope]
    registry: AttributeRegistry
    friendly_names: Mapping[str, str]
    out_of_scope: dict[str, int] = attrs.field(factory=dict)
    _by_name: dict[str, list[str]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for name in self.attributes:
            self._by_name.setdefault(name.casefold(), []).append(name)

    def extract(self, rule: AttributeRule) -> list[str]:
        for source in rule.sources:
            found = self._values(source)
            if found:
                return found
        return []

    def _values(self, source: str) -> list[str]:
        if source == NAME_ID:
            return [self.name_id] if self.name_id and self.name_id.strip() else []
        definition = self.registry.lookup(source)
        names = definition.names if definition is not None else (source,)
        found: list[str] = []
        for form in names:
            # Unknown names match exactly; name forms of a known attribute case-insensitively.
            received = (
                self._by_name.get(form.casefold(), [])
                if definition is not None
                else ([form] if form in self.attributes else [])
            )
            for name in received:
                for value in self.attributes[name]:
                    if isinstance(value, str) and value.strip() and value not in found:
                        found.append(value)
        if found and definition is not None and definition.scoped and self.scopes:
            kept = [value for value in found if self._in_scope(value)]
            if len(kept) < len(found):
                self.out_of_scope[definition.friendly_name] = len(found) - len(kept)
            found = kept
        return found

    def _in_scope(self, value: str) -> bool:
        _, at, scope = value.rpartition("@")
        return bool(at) and bool(scope) and any(s.matches(scope) for s in self.scopes)

    def _label(self, name: str) -> str:
        definition = self.registry.lookup(name)
        friendly = definition.friendly_name if definition else self.friendly_names.get(name)
        shown = _safe(name)
        if friendly and friendly != name:
            return f"{shown} ({_safe(friendly)})"
        return shown

    def fail(self, field: str, rule: AttributeRule) -> None:
        tried = ", ".join(self._tried_label(source) for source in rule.sources)
        scoped_out = [
            name
            for source in rule.sources
            if (d := self.registry.lookup(source)) is not None
            and (name := d.friendly_name) in self.out_of_scope
        ]
        if scoped_out:
            allowed = ", ".join(str(s) for s in self.scopes)
            raise SAMLValidationError(
                f"attribute mapping for {field!r}: the values of "
                f"{', '.join(scoped_out)} are not within the IdP's scopes ({allowed})",
                code="saml.mapping_scope_mismatch",
                hint="the IdP asserted a value for a domain its metadata does not list in "
                "shibmd:Scope; ask the IdP to fix its scope or its metadata",
            )
        received = sorted(self.attributes)
        if received:
            sent = "; ".join(self._label(name) for name in received)
            sent_text = f"the IdP sent {len(received)} attribute(s): {sent}"
        else:
            sent_text = "the IdP sent no attributes at all"
        if NAME_ID in rule.sources and self.name_id is None:
            sent_text += " (and no usable NameID: absent or transient)"
        suggestions = self._suggest(rule, received)
        message = f"attribute mapping for {field!r} found no value (tried {tried}); {sent_text}"
        if suggestions:
            message += ". Did you mean " + " or ".join(suggestions) + "?"
        raise SAMLValidationError(
            message,
            code="saml.mapping_missing_attribute",
            hint=f"add the attribute the IdP sends to the {field!r} rule, "
            "or ask the IdP to release the attribute you configured",
        )

    def _tried_label(self, source: str) -> str:
        if source == NAME_ID:
            return "the subject NameID"
        definition = self.registry.lookup(source)
        if definition is None:
            return _safe(source)
        return definition.label

    def _suggest(self, rule: AttributeRule, received: list[str]) -> list[str]:
        meanings = {
            d.meaning
            for source in rule.sources
            if (d := self.registry.lookup(source)) is not None and d.meaning
        }
        suggestions: list[str] = []
        for name in received:
            definition = self.registry.lookup(name)
            if definition is not None and definition.meaning in meanings:
                suggestions.append(self._label(name))
        if suggestions:
            return suggestions[:3]
        # A close spelling of any form of what was configured, or of its friendly name.
        wanted: list[str] = []
        for source in rule.sources:
            if source != NAME_ID:
                wanted.extend(n.casefold() for n in self.registry.names_for(source))
        candidates: dict[str, str] = {}
        for name in received:
            candidates[name.casefold()] = name
            friendly = self.registry.friendly_name(name) or self.friendly_names.get(name)
            if friendly:
                candidates.setdefault(friendly.casefold(), name)
        for form in wanted:
            for match in difflib.get_close_matches(form, list(candidates), n=3, cutoff=0.75):
                label = self._label(candidates[match])
                if label not in suggestions:
                    suggestions.append(label)
        return suggestions[:3]


def _safe(name: str) -> str:
    """An attribute name as shown in a message: printable, bounded."""
    cleaned = "".join(c if c.isprintable() else "?" for c in name)
    return cleaned if len(cleaned) <= 100 else cleaned[:97] + "..."
