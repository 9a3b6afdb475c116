"""Session helpers shared by every adapter, and authkit's own signed cookie session.

Any mutable mapping serves as the session (Flask's, Django's, Starlette's). authkit keeps its
values under ``authkit.*`` keys:

- ``authkit.sid``: a random value the OAuth state and SAML request IDs are bound to, replaced
  when someone signs in (so a session fixed by an attacker before sign-in is worth nothing);
- ``authkit.csrf``: the token that state-changing forms (signup, disconnect, logout) carry;
- ``authkit.user``: the signed-in user's id, and ``authkit.identity``: their serialised identity.

Adapters without a session of their own (plain WSGI) use :class:`SignedCookieCodec`: the whole
session travels in one ``HttpOnly``, ``SameSite=Lax`` cookie, HMAC-SHA256-signed with a key list
(the first key signs, every key verifies, so keys rotate without signing everyone out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from authkit.errors import ConfigurationError, RequestError
from authkit.web._http import Session

__all__ = [
    "SESSION_CSRF",
    "SESSION_GROUPS",
    "SESSION_PROVIDER",
    "SESSION_SID",
    "SESSION_USER",
    "SessionIdentity",
    "SignedCookieCodec",
    "check_csrf",
    "cookie_header",
    "csrf_token",
    "rotate_session",
    "session_binding",
    "signed_in",
]

SESSION_SID = "authkit.sid"
SESSION_CSRF = "authkit.csrf"
SESSION_USER = "authkit.user"
SESSION_GROUPS = "authkit.groups"
SESSION_PROVIDER = "authkit.provider"


@attrs.frozen(kw_only=True)
class SessionIdentity:
    """Who is signed in, as the session says (what adapters hand to the application).

    Attributes:
        user_id: The account's id.
        groups: The groups resolved at sign-in.
        provider: The provider the person signed in with.
    """

    user_id: str
    groups: tuple[str, ...] = ()
    provider: str | None = None


def signed_in(session: Session) -> SessionIdentity | None:
    """The signed-in person of ``session``, or ``None``."""
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, str) or not user_id:
        return None
    groups = session.get(SESSION_GROUPS)
    provider = session.get(SESSION_PROVIDER)
    return SessionIdentity(
        user_id=user_id,
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        provider=provider if isinstance(provider, str) else None,
    )


def cookie_header(name: str, value: str | None, *, secure: bool) -> str:
    """The ``Set-Cookie`` value for authkit's session cookie (``None`` deletes it):
    ``HttpOnly``, ``SameSite=Lax``, ``Path=/`` and ``Secure`` when asked."""
    attributes = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    if value is None:
        return f"{name}=; Max-Age=0; {attributes}"
    return f"{name}={value}; {attributes}"


def session_binding(session: Session) -> str:
    """The value sign-in state is bound to, created on first use."""
    sid = session.get(SESSION_SID)
    if not isinstance(sid, str) or len(sid) < 32:
        sid = secrets.token_urlsafe(32)
        session[SESSION_SID] = sid
    return sid


def rotate_session(session: Session) -> None:
    """Give the session new binding and CSRF values (call when someone signs in or out)."""
    session[SESSION_SID] = secrets.token_urlsafe(32)
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


def csrf_token(session: Session) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def check_csrf(session: Session, submitted: str | None) -> None:
    """Refuse a state-changing form whose CSRF token is missing or wrong.

    Raises:
        RequestError: ``request.csrf_failed``.
    """
    expected = session.get(SESSION_CSRF)
    if (
        not isinstance(expected, str)
        or not submitted
        or not hmac.compare_digest(expected, submitted)
    ):
        raise RequestError(
            "the form expired or was not sent from this site; reload the page and try again",
            code="request.csrf_failed",
        )


class SignedCookieCodec:
    """Encode a session as a signed cookie value, and decode it back.

    Args:
        secret_keys: Signing keys, newest first (at least 32 bytes each).
        max_age: Seconds a cookie stays valid after it was last written.
        clock: Current time in seconds.
    """

    def __init__(
        self,
        secret_keys: Sequence[str | bytes],
        *,
        max_age: float = 14 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        keys = [k.encode() if isinstance(k, str) else bytes(k) for k in secret_keys]
        if not keys or any(len(k) < 32 for k in keys):
            raise ConfigurationError(
                "session signing keys must be at least 32 bytes each, newest first",
                key="secret_keys",
                code="config.weak_secret",
            )
        self._keys = [hashlib.sha256(b"authkit.session" + k).digest() for k in keys]
        self.max_age = max_age
        self.clock = clock

    def dumps(self, session: dict[str, Any]) -> str:
        """The cookie value for ``session`` (JSON-compatible values only)."""
        payload = json.dumps(
            {"t": int(self.clock()), "s": session}, separators=(",", ":"), sort_keys=True
        ).encode("utf-8")
        body = base64.urlsafe_b64encode(payload).rstrip(b"=")
        mac = base64.urlsafe_b64encode(hmac.new(self._keys[0], body, hashlib.sha256).digest())
        return (body + b"." + mac.rstrip(b"=")).decode("ascii")

    def loads(self, value: str | None) -> dict[str, Any]:
        """The session in a cookie value; an empty session when it is absent, tampered with,
        signed with an unknown key or expired (a visitor simply starts afresh)."""
        if not value or len(value) > 8192 or "." not in value:
            return {}
        body, _, mac = value.encode("ascii", "replace").rpartition(b".")
        try:
            given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
        except ValueError:
            return {}
        if not any(
            hmac.compare_digest(hmac.new(k, body, hashlib.sha256).digest(), given)
            for k in self._keys
        ):
            return {}
        try:
            data = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except ValueError:
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("s"), dict):
            return {}
        issued = data.get("t")
        if not isinstance(issued, int) or self.clock() - issued > self.max_age:
            return {}
        session: dict[str, Any] = data["s"]
        return session
