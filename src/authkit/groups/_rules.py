"""Per-provider rules that turn the names a provider asserts into the application's groups.

The rules run on every name the provider's sources produced, in this fixed order, so a
configuration reads the same way every time:

1. **strip** the first matching prefix of ``strip_prefixes`` (``"/"`` of Keycloak group paths);
2. **case**: ``preserve`` (default), ``lower``, ``upper`` or ``casefold``;
3. **rename** through the ``rename`` map (its keys are normalised with the same case rule, so
   ``{"Admins": "admin"}`` still applies when ``case="lower"``);
4. **filter**: when ``include`` or ``include_regex`` is set, only matching names are kept;
   then names matching ``exclude`` or ``exclude_regex`` are removed (exclude wins). Regular
   expressions must match the *whole* name (:func:`re.fullmatch`), so ``admin`` does not
   exclude ``sysadmin-readers`` by accident;
5. **add** ``add_prefix`` (namespacing: ``"keycloak:"``);
6. **limits**: a name longer than ``max_length`` characters, and names beyond the first
   ``max_groups`` (in sorted order, so the choice is stable), are *dropped and reported* in
   :attr:`~authkit.groups.GroupResolution.dropped` by default; with ``on_limit="deny"`` the
   resolution fails with ``groups.limit_exceeded`` instead.

Regular expressions are compiled when the rules are built: a bad one raises
:class:`~authkit.errors.InvalidSettingError` naming the setting and its position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from authkit.config import _validators as v
from authkit.errors import InvalidSettingError, ProviderResponseError

__all__ = ["CaseRule", "DroppedGroup", "GroupRules", "LimitPolicy"]

CaseRule = Literal["preserve", "lower", "upper", "casefold"]
LimitPolicy = Literal["drop", "deny"]

#: Names whose outcome is remembered per rule set; the memo starts over when full.
_MEMO_SIZE = 4096

_CASE: dict[str, Callable[[str], str]] = {
    "preserve": lambda name: name,
    "lower": str.lower,
    "upper": str.upper,
    "casefold": str.casefold,
}


def _tuple(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _mapping(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _str_map(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(val, str) and k and val for k, val in value.items()
    ):
        raise InvalidSettingError(
            f"expected a mapping of group names to group names, got {value!r}",
            key=f"GroupRules.{attribute.name}",
        )


def _limit(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidSettingError(
            f"expected a whole number of at least 1 or None, got {value!r}",
            key=f"GroupRules.{attribute.name}",
        )


def _compile(patterns: tuple[str, ...], field: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise InvalidSettingError(
                f"invalid regular expression {pattern!r}: {exc.msg}",
                key=f"GroupRules.{field}[{index}]",
            ) from None
    return tuple(compiled)


def _matches(patterns: tuple[re.Pattern[str], ...], name: str) -> bool:
    return any(pattern.fullmatch(name) for pattern in patterns)


@attrs.frozen(kw_only=True)
class DroppedGroup:
    """A group name a limit rule dropped.

    Attributes:
        name: The name after the other rules ran.
        reason: ``"too_long"`` (over ``max_length``) or ``"too_many"`` (beyond ``max_groups``).
    """

    name: str
    reason: Literal["too_long", "too_many"]


@attrs.frozen(kw_only=True)
class GroupRules:
    """Rules applied to the names a provider asserts (see the module for their order).

    Static groups and the provider-name group are the operator's own names: the rules do not
    apply to them.

    Args:
        strip_prefixes: Prefixes removed from names (the first that matches).
        case: Case normalisation: ``preserve``, ``lower``, ``upper`` or ``casefold``.
        rename: Map of provider names to application names.
        include: Keep only these exact names (with ``include_regex``: either matches).
        include_regex: Keep only names fully matching one of these regular expressions.
        exclude: Remove these exact names.
        exclude_regex: Remove names fully matching one of these regular expressions.
        add_prefix: Prefix added to every name.
        max_groups: Most names accepted from the provider (``None``: no limit).
        max_length: Longest name accepted, in characters (``None``: no limit).
        on_limit: ``"drop"`` (drop and report) or ``"deny"`` (fail the resolution).

    Raises:
        InvalidSettingError: A value of the wrong type, a bad regular expression, or two
            ``rename`` keys that become the same name under the case rule.
    """

    strip_prefixes: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.str_tuple
    )
    case: CaseRule = attrs.field(
        default="preserve", validator=v.one_of(("preserve", "lower", "upper", "casefold"))
    )
    rename: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping, validator=_str_map)
    include: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=v.str_tuple)
    include_regex: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.str_tuple
    )
    exclude: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=v.str_tuple)
    exclude_regex: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.str_tuple
    )
    add_prefix: str = attrs.field(default="", validator=v.is_str)
    max_groups: int | None = attrs.field(default=1000, validator=_limit)
    max_length: int | None = attrs.field(default=256, validator=_limit)
    on_limit: LimitPolicy = attrs.field(default="drop", validator=v.one_of(("drop", "deny")))

    _include_re: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)
    _exclude_re: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)
    _rename: Mapping[str, str] = attrs.field(init=False, repr=False, eq=False)
    _include: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _exclude: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _memo: dict[str, str | DroppedGroup] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        normalise = _CASE[self.case]
        renames: dict[str, str] = {}
        origin: dict[str, str] = {}
        for source, target in self.rename.items():
            norm = normalise(source)
            if norm in renames and renames[norm] != target:
                raise InvalidSettingError(
                    f"keys {origin[norm]!r} and {source!r} both become {norm!r} under "
                    f"case={self.case!r} but rename to different names",
                    key="GroupRules.rename",
                )
            renames[norm] = target
            origin[norm] = source
        object.__setattr__(self, "_rename", renames)
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_include", frozenset(self.include))
        object.__setattr__(self, "_exclude", frozenset(self.exclude))
        object.__setattr__(self, "_include_re", _compile(self.include_regex, "include_regex"))
        object.__setattr__(self, "_exclude_re", _compile(self.exclude_regex, "exclude_regex"))

    def _fate(self, raw: str) -> str | DroppedGroup:
        """What the rules make of one name: the final name, ``""`` (filtered out) or a drop."""
        name = raw
        for prefix in self.strip_prefixes:
            if prefix and name.startswith(prefix):
                name = name[len(prefix) :]
                break
        name = _CASE[self.case](name.strip())
        name = self._rename.get(name, name)
        if not name:
            return ""
        if (self._include or self._include_re) and not (
            name in self._include or _matches(self._include_re, name)
        ):
            return ""
        if name in self._exclude or _matches(self._exclude_re, name):
            return ""
        name = self.add_prefix + name
        if self.max_length is not None and len(name) > self.max_length:
            return DroppedGroup(name=name, reason="too_long")
        return name

    def apply(
        self, names: Iterable[str], *, provider: str | None = None
    ) -> tuple[frozenset[str], tuple[DroppedGroup, ...]]:
        """Run the rules over ``names``.

        Returns:
            The accepted names, and the names dropped by a limit (empty unless a limit hit).

        Raises:
            ProviderResponseError: ``on_limit="deny"`` and a limit was exceeded
                (``groups.limit_exceeded``).
        """
        # The same names come back at every sign-in: each name's fate is computed once and
        # remembered (the rules are immutable), so a login costs about a dict lookup per name.
        memo = self._memo
        kept: set[str] = set()
        dropped: list[DroppedGroup] = []
        for raw in names:
            fate = memo.get(raw)
            if fate is None:
                fate = self._fate(raw)
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[raw] = fate
            if isinstance(fate, str):
                if fate:
                    kept.add(fate)
            else:
                dropped.append(fate)
        if self.max_groups is not None and len(kept) > self.max_groups:
            ordered = sorted(kept)
            kept = set(ordered[: self.max_groups])
            dropped.extend(
                DroppedGroup(name=n, reason="too_many") for n in ordered[self.max_groups :]
            )
        if dropped and self.on_limit == "deny":
            who = provider or "the provider"
            first = dropped[0]
            limit = (
                f"{self.max_length} characters"
                if first.reason == "too_long"
                else f"{self.max_groups} groups"
            )
            raise ProviderResponseError(
                f"{who} asserted groups beyond the limit of {limit}",
                provider=provider,
                code="groups.limit_exceeded",
            )
        return frozenset(kept), tuple(dropped)
