"""A Django project for the adapter tests, configured in the test process, and its URLs.

Django is configured once per process (``settings.configure``); each test sets ``AUTHKIT``
with ``override_settings``, which makes the adapter build its site again.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path

from authkit.adapters.django import current_account_id, current_groups

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


def configure() -> None:
    """Configure Django for this process (once) and create its database."""
    if settings.configured:
        return
    folder = Path(tempfile.mkdtemp(prefix="authkit-django-"))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="a-test-secret-key-that-is-long-enough-for-the-checks",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF="tests.adapters.django_site",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "authkit.adapters.django",
        ],
        MIDDLEWARE=MIDDLEWARE,
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "db.sqlite3")}
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def account(request: Any) -> HttpResponse:
    """Who is signed in, as Django and authkit see it."""
    user = request.user
    text = (
        f"django_user={user.get_username() if user.is_authenticated else '-'} "
        f"email={getattr(user, 'email', '') or '-'} "
        f"account={current_account_id(request) or '-'} "
        f"groups={','.join(sorted(current_groups(request))) or '-'}"
    )
    return HttpResponse(html.escape(text), content_type="text/plain")


def email_mapping(account: Any, groups: Any) -> Any:
    """A replacement mapping: the Django user is named after the e-mail; groups make staff."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.update_or_create(
        username=account.email, defaults={"email": account.email, "is_staff": "staff" in groups}
    )
    return user


#: What :func:`remember` saw: (account id, Django user) of each sign-in.
SIGNED_IN: list[tuple[str, str]] = []


def remember(request: Any, account: Any) -> None:
    """An ``ON_SIGN_IN`` hook: runs after the Django login."""
    django_request = request.session.request
    SIGNED_IN.append((account.id, django_request.user.get_username()))


urlpatterns = [
    path("", lambda request: HttpResponse("home", content_type="text/plain")),
    path("auth/", include("authkit.adapters.django.urls")),
    path("account/", account),
]
