"""Proof Key for Code Exchange (RFC 7636), S256 only.

The ``plain`` method offers no protection when the authorization request leaks, so authkit never
sends it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["code_challenge", "new_code_verifier"]


def new_code_verifier() -> str:
    """A fresh ``code_verifier``: 43 characters of base64url (256 bits; RFC 7636 §4.1)."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` for ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
