"""An authentication backend for sites where people sign in only through authkit.

Django restores the user of a session through the backend they were logged in with; list
:class:`AuthkitBackend` in ``AUTHENTICATION_BACKENDS`` instead of ``ModelBackend`` to refuse
password sign-in while keeping Django's permissions (``user.has_perm``) working.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend  # type: ignore[import-untyped,unused-ignore]

__all__ = ["AuthkitBackend"]


class AuthkitBackend(ModelBackend):  # type: ignore[misc,unused-ignore]
    """``ModelBackend`` without password sign-in: it restores users (active ones only) and
    answers permission checks, but authenticates nobody by itself."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None
