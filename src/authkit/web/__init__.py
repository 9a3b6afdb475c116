"""Framework-neutral request and response types and the route handlers every adapter shares.

An adapter builds a :class:`WebRequest` from its framework's request (with a session: the
framework's, or a :class:`SignedCookieCodec` cookie), calls :meth:`AuthRoutes.dispatch`, and
turns the :class:`WebResponse` back into its framework's response.
"""

from authkit.web._http import Session, WebRequest, WebResponse, page, parse_form
from authkit.web._routes import AuthRoutes, SAMLProvider, SignInHook
from authkit.web._session import (
    SESSION_GROUPS,
    SESSION_PROVIDER,
    SESSION_USER,
    SessionIdentity,
    SignedCookieCodec,
    check_csrf,
    cookie_header,
    csrf_token,
    rotate_session,
    session_binding,
    signed_in,
)
from authkit.web._settings import SETTING_NAMES, routes_from_settings

__all__ = [
    "SESSION_GROUPS",
    "SESSION_PROVIDER",
    "SESSION_USER",
    "SETTING_NAMES",
    "AuthRoutes",
    "SAMLProvider",
    "Session",
    "SessionIdentity",
    "SignInHook",
    "SignedCookieCodec",
    "WebRequest",
    "WebResponse",
    "check_csrf",
    "cookie_header",
    "csrf_token",
    "page",
    "parse_form",
    "rotate_session",
    "routes_from_settings",
    "session_binding",
    "signed_in",
]
