"""The site: :class:`~authkit.web.AuthRoutes` built once from the ``AUTHKIT`` setting with
:func:`authkit.web.routes_from_settings`, the builder every adapter shares.

Building opens nothing at import or start-up: the first request to authkit's routes (or the
first :func:`get_routes` call) builds the stores, the provider registry and the SAML service
providers (fetching ``settings_url`` metadata then). A change of the settings (Django's
``setting_changed`` signal, sent by ``override_settings``) drops the site, which is built
again on next use.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
from django.urls import get_script_prefix, reverse  # type: ignore[import-untyped,unused-ignore]

from authkit.adapters.django._auth import login_backend, sign_in_hook
from authkit.adapters.django._settings import AuthkitSettings, load_settings
from authkit.web import AuthRoutes, routes_from_settings

__all__ = [
    "build_routes",
    "django_values",
    "get_routes",
    "invenio_settings",
    "mount_point",
    "reset_routes",
]

_lock = threading.Lock()
_site: tuple[AuthRoutes, AuthkitSettings] | None = None


def django_values() -> dict[str, Any]:
    """The Django settings as a mapping (Invenio credentials are read from it by name)."""
    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}


def invenio_settings(config: AuthkitSettings) -> dict[str, Any]:
    """Where Invenio's keys are read: the Django settings, with ``INVENIO_REMOTE_APPS`` and an
    ``SSO_SAML_IDPS``-shaped ``SAML_IDPS`` under their Invenio names."""
    values = django_values()
    if config.invenio_remote_apps:
        values["OAUTHCLIENT_REMOTE_APPS"] = dict(config.invenio_remote_apps)
    if isinstance(config.saml_idps, Mapping) and config.saml_idps:
        values["SSO_SAML_IDPS"] = dict(config.saml_idps)
    return values


def get_routes() -> AuthRoutes:
    """The site's :class:`~authkit.web.AuthRoutes`, built from ``settings.AUTHKIT`` on first use.

    Raises:
        ConfigurationError: The ``AUTHKIT`` setting is wrong (the system checks say so first).

    .. versionadded:: 0.1
    """
    global _site
    site = _site
    if site is None:
        with _lock:
            if _site is None:
                config = load_settings(getattr(settings, "AUTHKIT", None))
                _site = (build_routes(config), config)
            site = _site
    return site[0]


def reset_routes(**signal: Any) -> None:
    """Drop the built site (connected to ``setting_changed``; call it after changing settings).

    Stores the site opened from URLs are closed.
    """
    global _site
    if signal.get("setting", "AUTHKIT") not in (
        "AUTHKIT",
        "AUTHENTICATION_BACKENDS",
        "ROOT_URLCONF",
    ):
        return
    with _lock:
        site, _site = _site, None
    if site is not None:
        routes, config = site
        owned = [
            routes.flow.accounts if isinstance(config.accounts_store, str) else None,
            getattr(routes.state, "client", None) if isinstance(config.state_store, str) else None,
        ]
        for resource in owned:
            close = getattr(resource, "close", None)
            if close is not None:
                close()


def mount_point() -> str:
    """Where ``authkit.adapters.django.urls`` is included (``""`` or ``/auth``).

    Raises:
        django.urls.NoReverseMatch: The URLs are not included (with the ``authkit`` namespace).
    """
    prefix = get_script_prefix()
    url: str = reverse("authkit:routes", kwargs={"path": ""})
    return "/" + url[len(prefix) :].strip("/") if url.startswith(prefix) else url.rstrip("/")


def build_routes(config: AuthkitSettings) -> AuthRoutes:
    """Build the routes of ``config`` with :func:`~authkit.web.routes_from_settings` (the
    current Django settings give the mount point, the authentication backends and Invenio's
    keys); the Django login runs first after each sign-in, then ``ON_SIGN_IN``."""
    values: dict[str, Any] = {
        "PUBLIC_URL": config.public_url,
        "PROVIDERS": list(config.providers),
        "SAML_IDPS": [] if isinstance(config.saml_idps, Mapping) else list(config.saml_idps),
        "ALLOWED_HOSTS": list(config.allowed_hosts),
        "MOUNT": mount_point(),
        "AFTER_LOGIN": config.after_login,
        "AUTO_REDIRECT": config.auto_redirect,
        "TOKEN_KEYS": list(config.token_keys),
        "ACCOUNTS_STORE": config.accounts_store,
        "STATE_STORE": config.state_store,
        "GROUPS": dict(config.groups),
        "SIGNUP": config.signup,
        "LOGIN_POLICIES": list(config.login_policies),
        "ON_SIGN_IN": config.on_sign_in,
    }
    backend = login_backend(settings.AUTHENTICATION_BACKENDS)
    return routes_from_settings(
        values,
        prefix="",
        invenio=invenio_settings(config),
        on_sign_in=sign_in_hook(config.user_mapping, backend),
    )
