"""attrs validators raising authkit configuration errors that name field, value, expectation."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from authkit.errors import InvalidSettingError

__all__ = [
    "check_url",
    "is_bool",
    "is_mapping",
    "is_str",
    "matches",
    "one_of",
    "optional",
    "positive",
    "str_tuple",
    "url",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _key(inst: Any, attribute: attrs.Attribute[Any]) -> str:
    name = getattr(inst, "name", None)
    owner = type(inst).__name__
    where = f"{owner}({name!r})" if isinstance(name, str) and attribute.name != "name" else owner
    return f"{where}.{attribute.name}"


def _fail(inst: Any, attribute: attrs.Attribute[Any], value: Any, expected: str) -> None:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidSettingError(f"expected {expected}, got {shown}", key=_key(inst, attribute))


def optional(validator: Validator) -> Validator:
    """Accept ``None`` or whatever ``validator`` accepts."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            validator(inst, attribute, value)

    return check


def is_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A string."""
    if not isinstance(value, str):
        _fail(inst, attribute, value, "a string")


def is_bool(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A boolean (not a truthy string: ``"false"`` is a classic configuration bug)."""
    if not isinstance(value, bool):
        _fail(inst, attribute, value, "true or false")


def is_mapping(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A mapping."""
    if not isinstance(value, Mapping):
        _fail(inst, attribute, value, "a mapping")


def positive(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A number greater than zero."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        _fail(inst, attribute, value, "a number greater than 0")


def str_tuple(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A tuple of strings (converters turn lists into tuples first)."""
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        _fail(inst, attribute, value, "a list of strings")


def one_of(choices: Collection[str]) -> Validator:
    """One of a fixed set of strings."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            _fail(inst, attribute, value, "one of " + ", ".join(sorted(choices)))

    return check


def matches(pattern: str, description: str) -> Validator:
    """A string matching ``pattern`` in full."""
    regex = re.compile(pattern)

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not regex.fullmatch(value):
            _fail(inst, attribute, value, description)

    return check


def check_url(value: Any) -> str | None:
    """Return why ``value`` is not an absolute http(s) URL, or ``None`` when it is one."""
    if not isinstance(value, str):
        return "an absolute http(s) URL"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        return "an absolute http(s) URL"
    return None


def url(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An absolute ``http`` or ``https`` URL with a host and no white space."""
    expected = check_url(value)
    if expected:
        _fail(inst, attribute, value, expected)
