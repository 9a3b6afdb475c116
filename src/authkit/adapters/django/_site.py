"""The site: :class:`~authkit.web.AuthRoutes` built once from the ``AUTHKIT`` setting with
:func:`authkit.web.build_routes`, the builder every adapter shares.

Nothing is built at import or start-up: the first request to authkit's routes (or the first
:func:`get_routes` call) opens the stores and builds the provider registry and the SAML service
providers (fetching ``settings_url`` metadata then). A change of the settings (Django's
``setting_changed`` signal, sent by ``override_settings``) drops the site, which is built
again on next use.
"""

from __future__ import annotations

import threading
from typing import Any

import attrs
from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
from django.urls import get_script_prefix, reverse  # type: ignore[import-untyped,unused-ignore]

from authkit.adapters.django._auth import login_backend, sign_in_hook, sign_out
from authkit.adapters.django._settings import AuthkitSettings, load_settings
from authkit.web import AuthRoutes, build_routes

__all__ = ["get_routes", "mount_point", "reset_routes"]

_lock = threading.Lock()
_site: tuple[AuthRoutes, AuthkitSettings] | None = None


def get_routes() -> AuthRoutes:
    """The site's :class:`~authkit.web.AuthRoutes`, built from ``settings.AUTHKIT`` on first use
    (the URL configuration gives the mount point). After each sign-in the Django login runs
    first, then ``ON_SIGN_IN``; signing out logs the Django user out.

    Raises:
        ConfigurationError: The ``AUTHKIT`` setting is wrong (the system checks say so first).
        ProviderError: A SAML ``settings_url`` could not be fetched.
        StoreError: The accounts database cannot be reached.

    .. versionadded:: 0.1
    """
    global _site
    site = _site
    if site is None:
        with _lock:
            if _site is None:
                config = load_settings(getattr(settings, "AUTHKIT", None))
                backend = login_backend(settings.AUTHENTICATION_BACKENDS)
                routes = build_routes(
                    attrs.evolve(config, mount=mount_point()),
                    on_sign_in=sign_in_hook(config.user_mapping, backend),
                    on_sign_out=sign_out,
                )
                _site = (routes, config)
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
