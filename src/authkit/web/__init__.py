"""Framework-neutral request and response types and the route handlers every adapter shares.

An adapter builds a :class:`WebRequest` from its framework's request (with a session: the
framework's, or a :class:`SignedCookieCodec` cookie), calls :meth:`AuthRoutes.dispatch`, and
turns the :class:`WebResponse` back into its framework's response.
"""

from authkit.web._http import Session, WebRequest, WebResponse, page, parse_form
from authkit.web._routes import AuthRoutes, SAMLProvider, SignInHook
from authkit.web._session import (
    SESSION_USER,
    SignedCookieCodec,
    check_csrf,
    csrf_token,
    rotate_session,
    session_binding,
)

__all__ = [
    "SESSION_USER",
    "AuthRoutes",
    "SAMLProvider",
    "Session",
    "SignInHook",
    "SignedCookieCodec",
    "WebRequest",
    "WebResponse",
    "check_csrf",
    "csrf_token",
    "page",
    "parse_form",
    "rotate_session",
    "session_binding",
]
