"""Needs: what an identity provides, as ``(method, value)`` pairs.

The model is Flask-Principal's, which Invenio uses: a need is a ``(method, value)`` tuple such
as ``("id", 42)`` (the account) or ``("role", "staff")`` (a group, which Invenio treats as a
role). Because :class:`Need` is a named tuple, ``Need("role", "staff")`` equals Flask-Principal's
``RoleNeed("staff")``, so needs built here can be compared with an Invenio permission's needs.
"""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

__all__ = ["Need", "RoleNeed", "SystemRoleNeed", "UserNeed"]

V = TypeVar("V")


class Need(NamedTuple, Generic[V]):
    """A typed ``(method, value)`` need; hashable and comparable with plain tuples.

    Args:
        method: What kind of need: ``"id"``, ``"role"``, ``"system_role"``, or your own.
        value: The value (a string or integer for needs that go into a session).
    """

    method: str
    value: V


def UserNeed(value: V) -> Need[V]:
    """The need of one account: ``Need("id", value)``."""
    return Need("id", value)


def RoleNeed(value: str) -> Need[str]:
    """The need of a role or group: ``Need("role", value)``."""
    return Need("role", value)


def SystemRoleNeed(value: str) -> Need[str]:
    """Invenio's system roles (``"any_user"``, ``"authenticated_user"``):
    ``Need("system_role", value)``."""
    return Need("system_role", value)
