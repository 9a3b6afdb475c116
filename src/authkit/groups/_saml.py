"""Groups in SAML attributes (``isMemberOf``, ``eduPersonEntitlement``…), by any name form.

An IdP may send the same attribute under its ``urn:oid`` name (SAML2 URI profile), its
``urn:mace:dir:attribute-def`` name (the older MACE profile) or its friendly name. A
:class:`SAMLAttributeSource` configured with any one of them reads all of them, using the SAML
attribute registry (:mod:`authkit.saml`'s default registry, or any object with its
``names_for(name)`` method). Received names are compared without regard to case, as the
registry does.

Entitlements are usually URNs. ``urn_prefixes`` keeps what follows a prefix
(``urn:mace:example.org:group:staff`` → ``staff``) and, for AARC-G002 entitlements
(``urn:geant:example.org:group:vo:sub:role=member#idp.example.org``), drops the ``#authority``
(``strip_authority``) and, if asked, the ``:role=…`` part (``strip_role``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from authkit.config import _validators as v
from authkit.errors import InvalidSettingError, ProviderResponseError
from authkit.groups._sources import Collected, SourceContext

__all__ = ["AttributeNameForms", "SAMLAttributeSource"]


@runtime_checkable
class AttributeNameForms(Protocol):
    """Knows the name forms of SAML attributes (the SAML attribute registry is one)."""

    def names_for(self, name: str) -> Sequence[str]:
        """Every name form of the attribute ``name`` stands for (just ``name`` if unknown)."""
        ...


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _non_empty_strs(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.str_tuple(inst, attribute, value)
    if attribute.name == "names" and not value:
        raise InvalidSettingError(
            "expected at least one attribute name", key=f"SAMLAttributeSource.{attribute.name}"
        )
    if any(not item for item in value):
        raise InvalidSettingError(
            f"expected non-empty strings, got {list(value)!r}",
            key=f"SAMLAttributeSource.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class SAMLAttributeSource:
    """Groups in SAML attributes, read under every name form of the configured attributes.

    Each attribute value is one group (values are not split on spaces).

    Args:
        names: Attribute names, in any form (``"isMemberOf"``,
            ``"urn:oid:1.3.6.1.4.1.5923.1.5.1.1"``, ``"urn:mace:dir:attribute-def:isMemberOf"``).
        urn_prefixes: When set, keep only what follows the first matching prefix (compared
            without regard to case); values matching no prefix are dropped unless
            ``keep_unmatched``.
        keep_unmatched: Keep values that match no prefix, unchanged.
        strip_authority: Drop an AARC-G002 ``#authority`` suffix from extracted values.
        strip_role: Drop an AARC-G002 ``:role=…`` part from extracted values.
        name_forms: Knows the attributes' name forms (default:
            :data:`authkit.saml.DEFAULT_ATTRIBUTE_REGISTRY`).

    Raises:
        InvalidSettingError: No name, or an empty name or prefix.
    """

    names: tuple[str, ...] = attrs.field(converter=_names, validator=_non_empty_strs)
    urn_prefixes: tuple[str, ...] = attrs.field(
        default=(), converter=_names, validator=_non_empty_strs
    )
    keep_unmatched: bool = attrs.field(default=False, validator=v.is_bool)
    strip_authority: bool = attrs.field(default=True, validator=v.is_bool)
    strip_role: bool = attrs.field(default=False, validator=v.is_bool)
    name_forms: AttributeNameForms | None = attrs.field(default=None, repr=False, eq=False)
    _lookup: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _prefixes: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        forms = self.name_forms
        if forms is None:
            # imported here: resolvers that read only OIDC claims need not load the SAML stack
            from authkit.saml import DEFAULT_ATTRIBUTE_REGISTRY

            forms = DEFAULT_ATTRIBUTE_REGISTRY
        if not isinstance(forms, AttributeNameForms):
            raise InvalidSettingError(
                f"expected an object with a names_for(name) method, got {forms!r}",
                key="SAMLAttributeSource.name_forms",
            )
        lookup = {name.casefold() for name in self.names}
        for name in self.names:
            lookup.update(form.casefold() for form in forms.names_for(name))
        object.__setattr__(self, "_lookup", frozenset(lookup))
        object.__setattr__(self, "_prefixes", tuple(p.casefold() for p in self.urn_prefixes))

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        return "saml:" + ",".join(self.names)

    def _collect(self, ctx: SourceContext) -> Collected:
        found = False
        names: list[str] = []
        for key, values in ctx.data.items():
            if not isinstance(key, str) or key.casefold() not in self._lookup:
                continue
            found = True
            if isinstance(values, str):
                values = [values]
            for value in _values(values, label=self.label):
                extracted = self.extract(value)
                if extracted:
                    names.append(extracted)
        return Collected("ok" if found else "absent", tuple(names), ctx.now)

    def extract(self, value: str) -> str | None:
        """Apply the URN rules to one attribute value; ``None`` when it is dropped."""
        if not self._prefixes:
            return value
        folded = value.casefold()
        for prefix in self._prefixes:
            if folded.startswith(prefix):
                rest = value[len(prefix) :]
                break
        else:
            return value if self.keep_unmatched else None
        if self.strip_authority:
            rest = rest.split("#", 1)[0]
        if self.strip_role:
            head, sep, _ = rest.partition(":role=")
            rest = head if sep else rest
        return rest or None


def _values(values: Any, *, label: str) -> Iterable[str]:
    if not isinstance(values, list | tuple):
        raise ProviderResponseError(
            f"{label}: expected a list of attribute values, got a {type(values).__name__}",
            code="groups.malformed_value",
        )
    for value in values:
        if not isinstance(value, str):
            raise ProviderResponseError(
                f"{label}: expected string attribute values, found a {type(value).__name__}",
                code="groups.malformed_value",
            )
        value = value.strip()
        if value:
            yield value
