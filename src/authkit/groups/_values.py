"""Reading group names out of what a provider sends: claim paths and value shapes.

Providers put groups in many shapes. Opal accepts all of these for a groups claim, and so does
authkit:

- an array of strings: ``["staff", "admins"]``;
- one string of names separated by spaces or commas: ``"staff admins"``, ``"staff,admins"``;
- a JSON array inside a string: ``'["staff", "admins"]'`` (some providers serialise twice).

Claims are found by a dotted path into nested claims (``realm_access.roles``). A key that itself
contains a dot is written with the dot escaped by a backslash: the path
``resource_access.my\\.client.roles`` reads ``claims["resource_access"]["my.client"]["roles"]``;
``\\\\`` is a literal backslash. Any other backslash sequence is a configuration error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from authkit.errors import InvalidSettingError, ProviderResponseError

__all__ = ["MISSING", "coerce_names", "lookup_path", "parse_path"]

_SEPARATORS = re.compile(r"[\s,]+")


class _Missing:
    """The path leads nowhere (as opposed to a claim that is present and empty)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def parse_path(path: str, *, key: str) -> tuple[str, ...]:
    """Split a dotted claim path into keys, honouring ``\\.`` and ``\\\\`` escapes.

    Args:
        path: The path as configured (``"realm_access.roles"``).
        key: The setting it comes from, for the error message.

    Raises:
        InvalidSettingError: The path is empty, has an empty segment (``"a..b"``), or a
            backslash that escapes something other than ``.`` or ``\\``.
    """
    if not isinstance(path, str) or not path:
        raise InvalidSettingError(f"expected a non-empty claim path, got {path!r}", key=key)
    parts: list[str] = []
    current: list[str] = []
    chars = iter(path)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in (".", "\\"):
                raise InvalidSettingError(
                    f"claim path {path!r} has a backslash before {escaped or 'the end'!r}; "
                    "only '\\.' (a dot inside a key) and '\\\\' (a backslash) are escapes",
                    key=key,
                )
            current.append(escaped)
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if any(not part for part in parts):
        raise InvalidSettingError(
            f"claim path {path!r} has an empty key; write keys separated by single dots", key=key
        )
    return tuple(parts)


def lookup_path(data: Mapping[str, Any], keys: tuple[str, ...], *, label: str) -> Any:
    """Follow ``keys`` into nested mappings; :data:`MISSING` when a key is absent.

    Raises:
        ProviderResponseError: A step that should be an object is some other value
            (``groups.malformed_value``).
    """
    value: Any = data
    for depth, step in enumerate(keys):
        if not isinstance(value, Mapping):
            where = ".".join(keys[:depth]) or "the data"
            raise ProviderResponseError(
                f"{label}: {where} is a {type(value).__name__}, not an object",
                code="groups.malformed_value",
            )
        if step not in value:
            return MISSING
        value = value[step]
    return value


def coerce_names(value: Any, *, label: str, split: bool = True) -> tuple[str, ...]:
    """Turn a claim value into group names, accepting the shapes Opal accepts.

    Args:
        value: An array of strings, a string (split on spaces and commas when ``split``) or a
            JSON array of strings inside a string. ``None`` means no groups.
        label: Names the source in error messages.
        split: Split a single string on white space and commas (claims); SAML attribute values
            are one group each and are not split.

    Raises:
        ProviderResponseError: Any other shape (``groups.malformed_value``): an object, a number,
            an array holding something other than strings, or a JSON string that is not an
            array of strings.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                decoded = json.loads(text)
            except ValueError:
                raise ProviderResponseError(
                    f"{label}: value starts with {text[0]!r} but is not JSON",
                    code="groups.malformed_value",
                ) from None
            return _strings(decoded, label=label)
        if not split:
            return (text,) if text else ()
        return tuple(name for name in _SEPARATORS.split(text) if name)
    return _strings(value, label=label)


def _strings(value: Any, *, label: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ProviderResponseError(
            f"{label}: expected an array of strings or a string, got a {type(value).__name__}",
            code="groups.malformed_value",
        )
    stripped = [item.strip() for item in value if type(item) is str]
    if len(stripped) == len(value):  # the usual case: plain strings only
        return tuple(name for name in stripped if name)
    names: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ProviderResponseError(
                f"{label}: expected an array of strings, found a {type(item).__name__} in it",
                code="groups.malformed_value",
            )
        item = item.strip()
        if item:
            names.append(item)
    return tuple(names)
