"""Django adapter: authkit's sign-in routes as a reusable Django app (``authkit[django]``).

Add ``"authkit.adapters.django"`` to ``INSTALLED_APPS``, configure the ``AUTHKIT`` setting
(authkit's settings without prefix, plus ``INVENIO_REMOTE_APPS`` and ``USER_MAPPING``: see
:func:`load_settings`) and include ``authkit.adapters.django.urls``. People
who sign in through a provider become Django users (:func:`default_user_mapping`, or the
``USER_MAPPING`` of your choice) and are logged in with :func:`django.contrib.auth.login`; the
routes keep their own state in Django's session. ``manage.py check`` runs authkit's
configuration checks.
"""

from authkit.adapters.django._auth import (
    AUTHKIT_BACKEND,
    DjangoSession,
    UserMapping,
    current_account_id,
    current_groups,
    current_identity,
    default_user_mapping,
)
from authkit.adapters.django._checks import django_findings
from authkit.adapters.django._settings import AuthkitSettings, load_settings
from authkit.adapters.django._site import get_routes, reset_routes

__all__ = [
    "AUTHKIT_BACKEND",
    "AuthkitSettings",
    "DjangoSession",
    "UserMapping",
    "current_account_id",
    "current_groups",
    "current_identity",
    "default_user_mapping",
    "django_findings",
    "get_routes",
    "load_settings",
    "reset_routes",
]
