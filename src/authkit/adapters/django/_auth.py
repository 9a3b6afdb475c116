"""Signing in to Django's auth: the authkit account becomes a Django user.

authkit's routes keep their state under ``authkit.*`` keys of the session. The Django request's
session is handed to them wrapped in a :class:`DjangoSession`, which also carries the Django
request: when a sign-in completes, the routes call their ``on_sign_in`` hook with authkit's
:class:`~authkit.web.WebRequest`, and the hook built here finds the Django request in its
session, maps the account to a Django user (:data:`~authkit.adapters.django.UserMapping`) and
calls :func:`django.contrib.auth.login` — inside the same request, before the redirect, so a
mapping that refuses the person (an inactive user) shows as a sign-in error page.

When a signed-in session ends (logout, or the IdP's logout request), the routes call their
``on_sign_out`` hook, :func:`sign_out`, which logs the Django user out. Django's ``login`` (for
another user) and ``logout`` empty the session; authkit's own keys are carried over so that a
pending single logout or the new CSRF token survive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

from django.contrib import auth  # type: ignore[import-untyped,unused-ignore]
from django.utils.module_loading import (  # type: ignore[import-untyped,unused-ignore]
    import_string,
)

from authkit.errors import MissingSettingError, RequestError
from authkit.stores import User
from authkit.web import (
    SESSION_GROUPS,
    SESSION_PROVIDER,
    SESSION_USER,
    SessionIdentity,
    SignInHook,
    WebRequest,
    signed_in,
)

__all__ = [
    "AUTHKIT_BACKEND",
    "DjangoSession",
    "UserMapping",
    "current_account_id",
    "current_groups",
    "current_identity",
    "default_user_mapping",
    "login_backend",
    "sign_in_hook",
    "sign_out",
]

#: Maps an authkit account (and the person's groups) to a Django user, which it saves.
UserMapping = Callable[[User, Sequence[str]], Any]

AUTHKIT_BACKEND = "authkit.adapters.django.backends.AuthkitBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class DjangoSession(MutableMapping[str, Any]):
    """Django's ``request.session`` as authkit's session mapping, carrying the request.

    Args:
        request: The Django request (its session middleware must have run).
    """

    def __init__(self, request: Any) -> None:
        self.request = request

    def __getitem__(self, key: str) -> Any:
        return self.request.session[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.request.session[key] = value

    def __delitem__(self, key: str) -> None:
        del self.request.session[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.request.session.keys()))

    def __len__(self) -> int:
        return len(self.request.session.keys())

    def authkit_values(self) -> dict[str, Any]:
        """authkit's own entries (``authkit.*``)."""
        return {k: v for k, v in self.request.session.items() if k.startswith("authkit.")}


def current_identity(request: Any) -> SessionIdentity | None:
    """Who is signed in through authkit on this Django request (account id, groups, provider),
    or ``None``."""
    return signed_in(DjangoSession(request))


def current_account_id(request: Any) -> str | None:
    """The authkit account id of the person signed in on this Django request, or ``None``."""
    identity = current_identity(request)
    return identity.user_id if identity else None


def current_groups(request: Any) -> frozenset[str]:
    """The person's groups from their sign-in (empty when nobody is signed in)."""
    identity = current_identity(request)
    return frozenset(identity.groups) if identity else frozenset()


def default_user_mapping(account: User, groups: Sequence[str]) -> Any:
    """The Django user of an authkit account: ``authkit:<account id>``, created on first sign-in.

    The e-mail address follows the account's. The account's username is not used as the Django
    username: it could name an existing local user (``admin``) and sign the person in as them.

    Raises:
        RequestError: The Django user is inactive (``accounts.user_inactive``).

    .. versionadded:: 0.1
    """
    model = auth.get_user_model()
    email_field = model.get_email_field_name()
    email = account.email or ""
    user, created = model._default_manager.get_or_create(
        **{model.USERNAME_FIELD: f"authkit:{account.id}"}, defaults={email_field: email}
    )
    if not getattr(user, "is_active", True):
        raise RequestError("this account is disabled", code="accounts.user_inactive")
    if not created and email and getattr(user, email_field, "") != email:
        setattr(user, email_field, email)
        user.save(update_fields=[email_field])
    return user


def login_backend(backends: Sequence[str]) -> str:
    """The authentication backend users signed in through authkit are attached to:
    :class:`~authkit.adapters.django.backends.AuthkitBackend`, or else ``ModelBackend`` (or a
    subclass), whichever ``AUTHENTICATION_BACKENDS`` lists.

    Raises:
        MissingSettingError: Neither is listed (``django.auth_backend_missing``).
    """
    from django.contrib.auth.backends import (  # type: ignore[import-untyped,unused-ignore]
        ModelBackend,
    )

    if AUTHKIT_BACKEND in backends:
        return AUTHKIT_BACKEND
    for path in backends:
        if path == MODEL_BACKEND or _subclass(path, ModelBackend):
            return path
    raise MissingSettingError(
        "no backend can restore a user signed in through authkit",
        key="AUTHENTICATION_BACKENDS",
        code="django.auth_backend_missing",
        hint=f"add {AUTHKIT_BACKEND!r} (external sign-in only) or {MODEL_BACKEND!r}",
    )


def _subclass(path: str, base: type) -> bool:
    try:
        found = import_string(path)
    except ImportError:
        return False
    return isinstance(found, type) and issubclass(found, base)


def sign_in_hook(mapping: UserMapping, backend: str) -> SignInHook:
    """The ``on_sign_in`` hook that logs the account's Django user in."""

    def on_sign_in(request: WebRequest, account: User) -> None:
        session = request.session
        if not isinstance(session, DjangoSession):
            return  # the routes are also served outside Django
        kept = session.authkit_values()
        try:
            user = mapping(account, sorted(current_groups(session.request)))
            auth.login(session.request, user, backend=backend)
        except BaseException:
            for key in (SESSION_USER, SESSION_GROUPS, SESSION_PROVIDER):
                session.pop(key, None)
            sign_out(request)  # nobody stays signed in, in Django either
            raise
        session.update(kept)  # login() empties the session when another user was signed in

    return on_sign_in


def sign_out(request: WebRequest) -> None:
    """The ``on_sign_out`` hook: log the Django user out, keeping authkit's entries (a pending
    single logout)."""
    session = request.session
    if isinstance(session, DjangoSession):
        kept = session.authkit_values()
        auth.logout(session.request)
        session.update(kept)
