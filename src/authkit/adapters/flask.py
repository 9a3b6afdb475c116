"""Flask adapter: authkit's routes as a Flask extension (``pip install 'authkit[flask]'``).

:class:`Authkit` registers one blueprint whose catch-all rule, under ``AUTHKIT_MOUNT``, turns
Flask's request into a :class:`~authkit.web.WebRequest`, asks
:meth:`AuthRoutes.dispatch <authkit.web.AuthRoutes.dispatch>` and turns the
:class:`~authkit.web.WebResponse` back into a Flask response (a 404 when the path is not one of
authkit's routes). Flask's own session is the session; authkit keeps its values under
``authkit.*`` keys, read back by :func:`current_user_id` and :func:`current_groups`.

The routes are configured from ``app.config`` when :meth:`Authkit.init_app` runs (every key
is described in the Flask page of the documentation):

=========================== ====================================================================
``AUTHKIT_PUBLIC_URL``      the site's public base URL (else Invenio's ``SITE_UI_URL``)
``AUTHKIT_PROVIDERS``       :class:`~authkit.config.RemoteApp` objects, or their dicts
``AUTHKIT_SAML_IDPS``       :class:`~authkit.web.SAMLProvider` objects
``AUTHKIT_ALLOWED_HOSTS``   hosts a ``next`` URL may name (else ``APP_ALLOWED_HOSTS``)
``AUTHKIT_MOUNT``           path prefix of the routes: ``""`` (default) or e.g. ``"/auth"``
``AUTHKIT_AFTER_LOGIN``     where to go after signing in without ``next`` (``"/"``)
``AUTHKIT_AUTO_REDIRECT``   skip the sign-in page when one provider is visible
``AUTHKIT_TOKEN_KEYS``      Fernet keys of the :class:`~authkit.accounts.TokenCipher`
``AUTHKIT_ACCOUNTS_STORE``  an accounts store, a SQLite path, ``sqlite:///…``, ``postgresql://…``
``AUTHKIT_STATE_STORE``     a state store or ``redis://…`` (default: in memory)
``AUTHKIT_GROUPS``          provider (or IdP) name → :class:`~authkit.groups.GroupResolver`
``AUTHKIT_SIGNUP``          the :class:`~authkit.accounts.SignupPolicy`
``AUTHKIT_LOGIN_POLICIES``  login policies, checked in order
``AUTHKIT_ON_SIGN_IN``      ``hook(web_request, user)`` or ``"module:attr"``, after each sign-in
=========================== ====================================================================

Invenio's ``OAUTHCLIENT_REMOTE_APPS`` (with each ``<APP_KEY>`` credentials setting) and
``SSO_SAML_IDPS`` are read unchanged, next to authkit's own keys.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

import attrs
from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from authkit.errors import (
    AuthkitError,
    InvalidSettingError,
    MissingSettingError,
    RequestError,
)
from authkit.stores import User
from authkit.transport import Transport
from authkit.web import (
    SETTING_NAMES,
    AuthRoutes,
    WebRequest,
    WebResponse,
    routes_from_settings,
    signed_in,
)
from authkit.web import csrf_token as _csrf_token
from authkit.web._http import MAX_FORM_BYTES

__all__ = [
    "CONFIG_KEYS",
    "Authkit",
    "AuthkitState",
    "csrf_token",
    "current_groups",
    "current_user_id",
    "login_required",
    "route_url",
    "routes_from_config",
]

P = ParamSpec("P")
SignInHook = Callable[[WebRequest, User], None]

#: Every ``AUTHKIT_*`` key :meth:`Authkit.init_app` reads (another ``AUTHKIT_*`` key is a typo).
CONFIG_KEYS = tuple(f"AUTHKIT_{name}" for name in SETTING_NAMES)


@attrs.frozen
class AuthkitState:
    """What :meth:`Authkit.init_app` keeps in ``app.extensions["authkit"]``.

    Args:
        routes: The route handlers serving this application.
        extension: The :class:`Authkit` that was initialised.
    """

    routes: AuthRoutes
    extension: Authkit


class Authkit:
    """The Flask extension: sign-in routes under ``AUTHKIT_MOUNT``, Flask's session as session.

    Use it directly (``Authkit(app)``) or with an application factory (``authkit = Authkit()``
    then ``authkit.init_app(app)``).

    Args:
        app: The application to initialise now.
        on_sign_in: Called after each sign-in with the :class:`~authkit.web.WebRequest` and the
            account (inside the request: ``flask.session`` and ``flask.g`` are usable).
        transport: HTTP transport of the OAuth clients and of ``SSO_SAML_IDPS`` metadata URLs.
        clock: Current time in seconds (for the stores, flows and routes built from config).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        on_sign_in: SignInHook | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hooks: list[SignInHook] = [on_sign_in] if on_sign_in else []
        self.transport = transport
        self.clock = clock
        self.blueprint = Blueprint("authkit", __name__)
        self.blueprint.add_url_rule("/<path:path>", "dispatch", _dispatch, methods=["GET", "POST"])
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Configure the routes from ``app.config`` and register the blueprint.

        Also sets ``SESSION_COOKIE_SAMESITE`` to ``"Lax"`` when unset and
        ``SESSION_COOKIE_SECURE`` when the public URL is ``https``, and exempts the
        blueprint from Flask-WTF's CSRF protection when that is already initialised (authkit's
        forms carry their own token; the IdP's POST cannot carry one).

        Raises:
            ConfigurationError: A missing, unknown (typo) or invalid setting, named in ``key``.
        """
        if "authkit" in app.extensions:
            raise InvalidSettingError(
                "authkit is already initialised on this application", key="app.extensions"
            )
        _check_session(app)
        routes = routes_from_config(
            app.config, on_sign_in=self._signed_in, transport=self.transport, clock=self.clock
        )
        if routes.public_url.startswith("https:"):
            app.config["SESSION_COOKIE_SECURE"] = True
        app.extensions["authkit"] = AuthkitState(routes=routes, extension=self)
        app.register_blueprint(self.blueprint, url_prefix=routes.mount or None)
        csrf = app.extensions.get("csrf")
        if csrf is not None and hasattr(csrf, "exempt"):
            csrf.exempt(self.blueprint)
        app.context_processor(
            lambda: {"authkit_user_id": current_user_id, "authkit_groups": current_groups,
                     "authkit_csrf_token": csrf_token, "authkit_url": route_url}
        )  # fmt: skip

    def on_sign_in(self, hook: SignInHook) -> SignInHook:
        """Register ``hook(web_request, user)`` to run after each sign-in (a decorator)."""
        self._hooks.append(hook)
        return hook

    def _signed_in(self, web_request: WebRequest, user: User) -> None:
        for hook in self._hooks:
            hook(web_request, user)


# --- the view ------------------------------------------------------------------------------------


def _state() -> AuthkitState:
    state = current_app.extensions.get("authkit")
    if not isinstance(state, AuthkitState):
        raise MissingSettingError(
            "authkit is not initialised on this application", key="app.extensions.authkit",
            hint="call Authkit(app) or authkit.init_app(app)",
        )  # fmt: skip
    return state


def _dispatch(path: str) -> ResponseReturnValue:
    state = _state()
    try:
        answer = state.routes.dispatch(_web_request("/" + path, state.routes.mount))
    except AuthkitError as error:  # the request could not even be read
        answer = WebResponse.problem(error, as_json=False)
    if answer is None:
        abort(404)
    return Response(answer.body, status=answer.status, headers=list(answer.headers))


def _web_request(path: str, mount: str) -> WebRequest:
    limit = request.max_content_length  # werkzeug reads url-encoded forms whole: bound them
    request.max_content_length = MAX_FORM_BYTES if limit is None else min(limit, MAX_FORM_BYTES)
    try:
        form = request.form.to_dict(flat=False) if request.method == "POST" else {}
    except RequestEntityTooLarge as exc:
        raise RequestError("the form is too large", code="request.too_large") from exc
    return WebRequest(
        method=request.method,
        path=path,
        query=request.args.to_dict(flat=False),
        form=form,
        headers=dict(request.headers.items()),
        session=session,
        script_root=request.script_root + mount,
    )


# --- helpers for the application -----------------------------------------------------------------


def current_user_id() -> str | None:
    """The signed-in account's id, or ``None`` (inside a request)."""
    identity = signed_in(session)
    return identity.user_id if identity else None


def current_groups() -> frozenset[str]:
    """The signed-in person's groups from their last sign-in (inside a request)."""
    identity = signed_in(session)
    return frozenset(identity.groups) if identity else frozenset()


def csrf_token() -> str:
    """The token authkit's forms (logout, disconnect) must carry as ``csrf_token``."""
    return _csrf_token(session)


def route_url(path: str, **query: str) -> str:
    """The absolute URL of one of authkit's routes: ``route_url("/login/", next="/account")``."""
    return _state().routes.url(path, **query)


def login_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Send people who are not signed in to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if current_user_id() is None:
            here = request.script_root + request.path
            if request.query_string:
                here += "?" + request.query_string.decode("latin-1")
            return redirect(route_url("/login/", next=here))
        return view(*args, **kwargs)

    return wrapper


# --- configuration -------------------------------------------------------------------------------


def _check_session(app: Flask) -> None:
    if isinstance(app.session_interface, SecureCookieSessionInterface) and not app.secret_key:
        raise MissingSettingError(
            "Flask's session (authkit's sign-in state) needs a secret key", key="SECRET_KEY",
            hint="set SECRET_KEY to a long random value, from the environment",
        )  # fmt: skip
    same_site = app.config.get("SESSION_COOKIE_SAMESITE")
    if same_site is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    elif str(same_site).lower() == "strict":
        raise InvalidSettingError(
            "expected 'Lax' (or 'None'), got 'Strict': browsers then leave the session cookie "
            "off the provider's redirect back, and every OAuth sign-in fails",
            key="SESSION_COOKIE_SAMESITE",
        )


def routes_from_config(
    config: Mapping[str, Any],
    *,
    on_sign_in: SignInHook | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> AuthRoutes:
    """Build the :class:`~authkit.web.AuthRoutes` an ``app.config`` describes: the
    ``AUTHKIT_*`` keys of :func:`authkit.web.routes_from_settings`, and Invenio's keys.

    Raises:
        ConfigurationError: A missing, unknown (typo) or invalid setting, named in ``key``.
    """
    return routes_from_settings(
        config, prefix="AUTHKIT_", on_sign_in=on_sign_in, transport=transport, clock=clock
    )
