"""Redirect-target checks shared by the OAuth callback and the SAML RelayState.

A ``next`` URL travels through the identity provider and back; an open redirect there would let
an attacker bounce a freshly signed-in person to a site of their choosing. Only relative paths
and absolute URLs whose host is explicitly allowed are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from authkit.errors import RedirectNotAllowedError

__all__ = ["check_redirect"]


def check_redirect(target: str, *, allowed_hosts: Iterable[str]) -> str:
    """Return ``target`` when it is safe to redirect to, else raise.

    Safe means a path relative to this site (``/account``; not ``//host`` nor ``/\\host``, which
    browsers read as another host) or an ``http(s)`` URL whose host (with port, when given in
    ``allowed_hosts``) is listed. A leading ``.`` in ``allowed_hosts`` allows subdomains.

    Raises:
        RedirectNotAllowedError: Any other target (code ``request.redirect_not_allowed``).
    """
    if not isinstance(target, str) or not target or len(target) > 2048:
        raise RedirectNotAllowedError("the redirect target is empty or too long")
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        raise RedirectNotAllowedError("the redirect target contains forbidden characters")
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc:
        if target.startswith("/") and not target.startswith("//"):
            return target
        raise RedirectNotAllowedError("a relative redirect target must start with a single '/'")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RedirectNotAllowedError("the redirect target must be an http(s) URL or a path")
    host = parts.hostname.lower()
    host_port = f"{host}:{parts.port}" if parts.port else host
    for allowed in allowed_hosts:
        allowed = allowed.lower()
        if allowed in (host, host_port):
            return target
        if allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:]):
            return target
    raise RedirectNotAllowedError(
        f"redirects to host {host!r} are not allowed",
        hint="add the host to the allowed hosts if it is yours",
    )
