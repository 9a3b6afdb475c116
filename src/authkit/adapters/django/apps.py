"""The Django app: add ``"authkit.adapters.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped,unused-ignore]
from django.core import checks  # type: ignore[import-untyped,unused-ignore]
from django.core.signals import setting_changed  # type: ignore[import-untyped,unused-ignore]

__all__ = ["AuthkitConfig"]


class AuthkitConfig(AppConfig):  # type: ignore[misc,unused-ignore]
    """authkit's app: registers the system checks (tag ``authkit``) and rebuilds the site when
    the settings change (``override_settings`` in tests)."""

    name = "authkit.adapters.django"
    label = "authkit"
    verbose_name = "authkit sign-in"

    def ready(self) -> None:
        from authkit.adapters.django._checks import check_authkit
        from authkit.adapters.django._site import reset_routes

        checks.register(check_authkit, "authkit")
        setting_changed.connect(reset_routes, dispatch_uid="authkit.reset_routes")
