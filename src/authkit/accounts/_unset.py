"""The "provider did not say" sentinel.

A provider that sends ``"name": null`` (or an empty string) *said* the person has no name; a
provider that sends no ``name`` at all said nothing. The two must not be confused: the first may
clear a name that is synchronised from the provider, the second must leave it alone. ``None``
therefore means "said empty" everywhere in :mod:`authkit.accounts`, and :data:`UNSET` means
"did not say" (like ``httpx``'s ``USE_CLIENT_DEFAULT``).
"""

from __future__ import annotations

import enum
from typing import Any, Final, Literal

__all__ = ["UNSET", "Unset", "has_value", "is_set"]


class _UnsetType(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: The provider did not say anything about this field.
UNSET: Final = _UnsetType.UNSET

#: The type of :data:`UNSET`, for annotations: ``str | None | Unset``.
Unset = Literal[_UnsetType.UNSET]


def is_set(value: Any) -> bool:
    """Whether the provider said something (possibly "empty") about a field."""
    return value is not UNSET


def has_value(value: Any) -> bool:
    """Whether the provider gave a usable value: said, and not ``None`` nor an empty string or
    collection (``False`` and ``0`` are values)."""
    if value is UNSET or value is None:
        return False
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value) > 0
    return True
