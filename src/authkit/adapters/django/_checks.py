"""System checks (``manage.py check``, tag ``authkit``): the sign-in configuration, before the
first person tries to sign in.

- The ``AUTHKIT`` dictionary is read (:func:`~authkit.adapters.django.load_settings`, which
  does no I/O) and its ``SSO_SAML_IDPS``-shaped SAML IdPs loaded as
  :func:`~authkit.web.build_routes` will (no metadata is fetched); a bad value is an ``Error``.
- :func:`authkit.config.check_config` runs on the Django settings that have an Invenio
  counterpart (``SECRET_KEY``, ``SESSION_COOKIE_AGE``, ``SESSION_COOKIE_SECURE`` for an https
  site, ``PUBLIC_URL``, the Invenio remote apps with their credentials); each finding becomes an
  ``Error``, ``Warning`` or ``Info`` whose id is ``authkit.<code>`` and whose text names the
  Django setting. Flask-Security's switches and salts do not exist in Django and are not
  checked.
- Django's side: the session middleware, the auth app, a backend that restores the users
  authkit logs in, memory stores outside ``DEBUG``, and whether ``AUTO_REDIRECT`` can happen.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
from django.core import checks  # type: ignore[import-untyped,unused-ignore]
from django.urls import NoReverseMatch  # type: ignore[import-untyped,unused-ignore]

from authkit.adapters.django._auth import login_backend
from authkit.adapters.django._settings import AuthkitSettings, invenio_values, load_settings
from authkit.adapters.django._site import mount_point
from authkit.config import (
    Finding,
    ProviderRegistry,
    check_config,
    load_invenio_remote_apps,
    should_auto_redirect,
)
from authkit.errors import ConfigurationError

__all__ = ["check_authkit", "django_findings"]

_LEVELS = {"error": checks.Error, "warning": checks.Warning, "info": checks.Info}
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
_REMOTE_APPS = ("OAUTHCLIENT_REMOTE_APPS", "OAUTHCLIENT_REST_REMOTE_APPS")


def check_authkit(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """The ``authkit`` system check: every finding as a Django check message."""
    return [
        _LEVELS[f.severity](
            f.message, hint=f.fix or None, obj=f.key or "AUTHKIT", id=f"authkit.{f.code}"
        )
        for f in django_findings()
    ]


def django_findings() -> list[Finding]:
    """What :func:`check_authkit` reports, as :class:`~authkit.config.Finding` values."""
    findings = list(_django_setup())
    try:
        mount = mount_point()
    except NoReverseMatch:
        mount = ""
        findings.append(
            Finding(
                severity="warning",
                code="django.urls_missing",
                key="ROOT_URLCONF",
                message="authkit's URLs are not included, so its routes are not served",
                fix='add path("auth/", include("authkit.adapters.django.urls")) to the URLs',
            )
        )
    values = getattr(settings, "AUTHKIT", None)
    view = invenio_values(values if isinstance(values, Mapping) else {})
    config: AuthkitSettings | None = None
    try:
        # check_config() reports the Invenio remote apps' problems, finding by finding
        lenient = {k: v for k, v in view.items() if k not in _REMOTE_APPS}
        config = load_settings(values, invenio=lenient)
        for idp in attrs.evolve(config, mount=mount).saml_idp_configs().values():
            if not idp.metadata_pending:
                idp.to_settings()
    except ConfigurationError as exc:
        findings.append(_renamed(_error(exc), values))
        config = None  # check what does not depend on AUTHKIT
    view = _invenio_view(view, config)
    findings += [_renamed(f, values) for f in check_config(view, environ=os.environ) if _applies(f)]
    if config is not None:
        findings += _providers(config, view)
    return findings


def _error(exc: ConfigurationError) -> Finding:
    key = exc.key or "AUTHKIT"
    message = exc.message.removeprefix(f"{key}: ")  # Django shows the key before the message
    return Finding(severity="error", code=exc.code, message=message, fix=exc.hint or "", key=key)


def _invenio_view(view: Mapping[str, Any], config: AuthkitSettings | None) -> dict[str, Any]:
    """The Django settings under their Invenio names, as :func:`check_config` reads them."""
    values = dict(view)
    if config is None or not config.public_url.startswith("https:"):
        values.pop("SESSION_COOKIE_SECURE", None)  # a plain-http site cannot use secure cookies
    if config is not None:
        values["SITE_UI_URL"] = config.public_url
    values.update(
        PERMANENT_SESSION_LIFETIME=values.get("SESSION_COOKIE_AGE"),
        # Django's own password sign-in is outside authkit: the local-login checks are about
        # Flask-Security, and auto-redirect is decided over every provider in _providers().
        ACCOUNTS_LOCAL_LOGIN_ENABLED=True,
        OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN=False,
    )
    return values


def _applies(finding: Finding) -> bool:
    return not (finding.key or "").startswith("SECURITY_")


def _renamed(finding: Finding, values: Any) -> Finding:
    """The finding in Django's words: the settings named as the site wrote them."""
    names = {
        "SITE_UI_URL": "AUTHKIT['PUBLIC_URL']",
        "PERMANENT_SESSION_LIFETIME": "SESSION_COOKIE_AGE",
    }
    own = values if isinstance(values, Mapping) else {}
    if own.get("INVENIO_REMOTE_APPS"):
        names["OAUTHCLIENT_REMOTE_APPS"] = "AUTHKIT['INVENIO_REMOTE_APPS']"
    if isinstance(own.get("SAML_IDPS"), Mapping) and own["SAML_IDPS"]:
        names["SSO_SAML_IDPS"] = "AUTHKIT['SAML_IDPS']"
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b")

    def rename(text: str) -> str:
        return pattern.sub(lambda m: names[m[1]], text)

    return Finding(
        severity=finding.severity,
        code=finding.code,
        message=rename(finding.message),
        fix=rename(finding.fix),
        key=rename(finding.key) if finding.key else None,
    )


def _providers(config: AuthkitSettings, view: Mapping[str, Any]) -> Iterator[Finding]:
    apps = list(config.providers)
    if view.get("OAUTHCLIENT_REMOTE_APPS"):
        with contextlib.suppress(ConfigurationError):  # reported by check_config
            apps += load_invenio_remote_apps(view, require_credentials=False).values()
    saml = bool(config.saml_idps or config.sso_saml_idps)
    if not apps and not saml:
        yield Finding(
            severity="warning",
            code="sign_in.no_method",
            key="AUTHKIT",
            message="no provider is configured (PROVIDERS, INVENIO_REMOTE_APPS and "
            "SAML_IDPS are empty): nobody can sign in through authkit",
            fix="add a provider to AUTHKIT['PROVIDERS']",
        )
    if not config.auto_redirect:
        return
    try:
        registry = ProviderRegistry(apps)
    except ConfigurationError as exc:
        yield _error(exc)
        return
    flags = {
        "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
        "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
    }
    decision = should_auto_redirect(flags, registry, config.public_url)
    if decision.redirect and saml:
        yield Finding(
            severity="warning",
            code="auto_redirect.several_providers",
            key="AUTHKIT['AUTO_REDIRECT']",
            message="AUTO_REDIRECT is True but SAML identity providers are listed "
            "too, so the sign-in page is shown",
            fix="remove AUTO_REDIRECT",
        )
    elif not decision.redirect:
        yield Finding(
            severity="warning",
            code=decision.code,
            key="AUTHKIT['AUTO_REDIRECT']",
            message=f"AUTO_REDIRECT is True but {decision.reason}",
            fix="list exactly one provider, or remove AUTO_REDIRECT",
        )


def _django_setup() -> Iterator[Finding]:
    if SESSION_MIDDLEWARE not in settings.MIDDLEWARE:
        yield Finding(
            severity="error",
            code="django.session_middleware_missing",
            key="MIDDLEWARE",
            message="authkit keeps sign-in state in the session, "
            "but the session middleware is not installed",
            fix=f"add {SESSION_MIDDLEWARE!r} to MIDDLEWARE",
        )
    if "django.contrib.auth" not in settings.INSTALLED_APPS:
        yield Finding(
            severity="error",
            code="django.auth_app_missing",
            key="INSTALLED_APPS",
            message="people signed in through authkit become users of "
            "django.contrib.auth, which is not installed",
            fix="add 'django.contrib.auth' to INSTALLED_APPS",
        )
    try:
        login_backend(settings.AUTHENTICATION_BACKENDS)
    except ConfigurationError as exc:
        yield _error(exc)
    values = getattr(settings, "AUTHKIT", None)
    if isinstance(values, dict) and not settings.DEBUG:
        for key in ("ACCOUNTS_STORE", "STATE_STORE"):
            if values.get(key) is None:
                yield Finding(
                    severity="warning",
                    code="django.memory_store",
                    key=f"AUTHKIT[{key!r}]",
                    message=f"{key} is not set: it is kept "
                    "in memory, lost at restart and not shared between processes",
                    fix=f"set AUTHKIT[{key!r}] to a "
                    + ("database URL" if key == "ACCOUNTS_STORE" else "Redis URL"),
                )
