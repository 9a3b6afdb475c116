"""Framework-neutral request and response types and the route handlers every adapter shares.

An adapter builds a :class:`WebRequest` from its framework's request (with a session: the
framework's, or a :class:`SignedCookieCodec` cookie), calls :meth:`AuthRoutes.dispatch`, and
turns the :class:`WebResponse` back into its framework's response. The routes come from
settings through :func:`read_settings` (checks, no I/O) and :func:`build_routes` (opens the
stores, fetches SAML metadata), or both at once with :func:`routes_from_settings`.
"""

from authkit.web._http import Session, WebRequest, WebResponse, page, parse_form
from authkit.web._routes import AuthRoutes, SAMLProvider, SignInHook, SignOutHook
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
from authkit.web._settings import (
    SETTING_NAMES,
    AuthkitSettings,
    build_routes,
    read_settings,
    routes_from_settings,
)

__all__ = [
    "SESSION_GROUPS",
    "SESSION_PROVIDER",
    "SESSION_USER",
    "SETTING_NAMES",
    "AuthRoutes",
    "AuthkitSettings",
    "SAMLProvider",
    "Session",
    "SessionIdentity",
    "SignInHook",
    "SignOutHook",
    "SignedCookieCodec",
    "WebRequest",
    "WebResponse",
    "build_routes",
    "check_csrf",
    "cookie_header",
    "csrf_token",
    "page",
    "parse_form",
    "read_settings",
    "rotate_session",
    "routes_from_settings",
    "session_binding",
    "signed_in",
]
