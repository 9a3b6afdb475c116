"""Invenio's remote-app dictionaries, read into :class:`RemoteApp` and written back.

invenio-oauthclient describes each provider as a dictionary (``REMOTE_APP`` /
``REMOTE_REST_APP``) under ``OAUTHCLIENT_REMOTE_APPS`` / ``OAUTHCLIENT_REST_REMOTE_APPS``, with the
client credentials in a separate setting named by ``params.app_key``
(``ORCID_APP_CREDENTIALS = dict(consumer_key=..., consumer_secret=...)``). This module reads
those settings unchanged — from a mapping, from a loaded configuration module, or from the
environment as Invenio's own loader does — and writes a :class:`RemoteApp` back into the same
shape, so that::

    to_invenio(from_invenio(name, d)) == d

for every dictionary the contrib presets produce. What the typed model has no field for is kept
in ``RemoteApp.extra["invenio"]``:

``params``
    flask-oauthlib parameters authkit does not interpret (``content_type``…), verbatim.
``keys``
    which of the usual keys the dictionary had, when that differs from the settings helper's
    full shape (hand-written dictionaries often omit ``hide`` or ``link_only``).
``rest``
    the REST variant's handlers and redirect URLs (``response_handler``,
    ``authorized_redirect_url``…), for ``to_invenio(app, rest=True)``.
``redirect_urls``
    REST redirect URLs found in a non-REST dictionary (some recipes use the REST dictionary for
    both settings).
``remote_app``
    Invenio's per-provider remote application class, verbatim.

Handler strings are kept as given. Those under ``invenio_oauthclient.`` name Invenio's built-in
handlers, which :meth:`Hooks.resolve` answers with authkit's own behaviour for the provider's
``kind``; the kind itself is inferred from the ``invenio_oauthclient.contrib.<module>`` the
handlers come from (or from the provider's host when no contrib handler is named).

Credentials are looked up as Invenio does, the environment overriding the configuration:

1. ``INVENIO_<APP_KEY>_CONSUMER_KEY`` / ``INVENIO_<APP_KEY>_CONSUMER_SECRET`` (authkit only: one
   secret per variable, as secret stores like it);
2. ``INVENIO_<APP_KEY>`` holding a dictionary literal (what Invenio's environment loader
   reads, with :func:`ast.literal_eval`);
3. ``<APP_KEY>`` in the configuration mapping or module.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from authkit.config._hooks import HookRef, resolve_hook
from authkit.config._remote_app import (
    TOKEN_AUTH_METHODS,
    Hooks,
    RemoteApp,
    SignupOptions,
)
from authkit.config._validators import check_url
from authkit.errors import (
    InvalidSettingError,
    MissingCredentialsError,
    MissingSettingError,
    UnknownSettingError,
)

__all__ = [
    "HideWhen",
    "dump_invenio_remote_apps",
    "from_invenio",
    "load_invenio_credentials",
    "load_invenio_remote_apps",
    "to_invenio",
]

REMOTE_APPS: Final = "OAUTHCLIENT_REMOTE_APPS"
REST_REMOTE_APPS: Final = "OAUTHCLIENT_REST_REMOTE_APPS"
ENV_PREFIX: Final = "INVENIO_"

_BASE_KEYS = (
    "title",
    "description",
    "icon",
    "precedence_mask",
    "signup_options",
    "logout_url",
    "hide",
    "link_only",
    "params",
)
_HANDLER_KEYS = ("authorized_handler", "disconnect_handler", "signup_handler")
_REDIRECT_KEYS = (
    "authorized_redirect_url",
    "disconnect_redirect_url",
    "signup_redirect_url",
    "error_redirect_url",
)
#: Keys that differ between a ``REMOTE_APP`` and its ``REMOTE_REST_APP``.
REST_KEYS: Final = (*_HANDLER_KEYS, "response_handler", *_REDIRECT_KEYS)
_TOP_KEYS = (*_BASE_KEYS, *REST_KEYS, "remote_app")

#: ``signup_handler`` entry -> :class:`Hooks` field.
_SIGNUP_HOOKS = {
    "info": "info",
    "info_serializer": "info_serializer",
    "setup": "setup",
    "view": "signup_view",
    "groups": "groups",
    "groups_serializer": "groups_serializer",
}
_PARAMS_MAPPED = (
    "base_url",
    "request_token_params",
    "request_token_url",
    "access_token_url",
    "access_token_method",
    "authorize_url",
    "app_key",
    "consumer_key",
    "consumer_secret",
    "token_endpoint_auth_method",
)
_CREDENTIAL_KEYS = ("consumer_key", "consumer_secret")

#: The keys a settings helper always writes; ``extra["invenio"]["keys"]`` records departures.
CANONICAL_KEYS: Final = frozenset(
    {
        "title",
        "description",
        "icon",
        "precedence_mask",
        "signup_options",
        "signup_options.auto_confirm",
        "signup_options.send_register_msg",
        "logout_url",
        "hide",
        "link_only",
        "params.base_url",
        "params.request_token_params",
        "params.request_token_params.scope",
        "params.request_token_url",
        "params.access_token_url",
        "params.access_token_method",
        "params.authorize_url",
        "params.app_key",
    }
)

#: flask-oauthlib sends the client secret in the token request body.
INVENIO_TOKEN_AUTH_METHOD: Final = "client_secret_post"
_DEFAULT_PRECEDENCE_MASK: Final = {"email": True}
REST_DEFAULT_RESPONSE_HANDLER: Final = (
    "invenio_oauthclient.handlers.rest:default_remote_response_handler"
)

#: ``invenio_oauthclient.contrib.<module>`` -> provider kind.
_CONTRIB_KINDS = {
    "cern_openid": "cern",
    "cern": "cern_legacy",
    "oidc": "generic",
}
#: Provider host -> kind, for dictionaries that name no contrib handler.
_HOST_KINDS = {
    "accounts.google.com": "google",
    "github.com": "github",
    "orcid.org": "orcid",
    "sandbox.orcid.org": "orcid",
    "gitlab.com": "gitlab",
    "auth.globus.org": "globus",
    "aai.openaire.eu": "openaire_aai",
    "auth.cern.ch": "cern",
}
#: Where Invenio's contrib handlers find the profile, relative to ``params.base_url``.
_USERINFO_PATHS = {
    "github": "user",
    "gitlab": "user",
    "globus": "oauth2/userinfo",
    "openaire_aai": "oidc/userinfo",
}
#: Issuers of kinds whose dictionaries do not say it; the rest comes from discovery.
_KIND_ISSUERS = {"google": "https://accounts.google.com"}
#: Kinds whose providers issue ID tokens that authkit validates.
OIDC_KINDS: Final = frozenset({"keycloak", "cern", "google"})
_KEYCLOAK_AUTHORIZE = re.compile(
    r"(?P<realm>https?://.+/realms/[^/]+)/protocol/openid-connect/auth"
)
_KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")

_MISSING: Final = object()


# --- hide / hide_when ---------------------------------------------------------------------------


class HideWhen:
    """Invenio's ``hide`` value for a callable ``hide_when``.

    Invenio tests ``hide`` for truth when it lists sign-in buttons (its settings helper stores a
    werkzeug ``LocalProxy``); a bare function would always be true. This wrapper is true when the
    hook says so, and is also callable, so authkit reads the hook back out of it.

    Args:
        hook: A callable taking no argument, or its ``"module:attr"`` string.
    """

    __slots__ = ("hook",)

    def __init__(self, hook: HookRef) -> None:
        self.hook = hook

    def __call__(self) -> bool:
        return bool(resolve_hook(self.hook, key="hide_when")())

    def __bool__(self) -> bool:
        return self()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HideWhen) and other.hook == self.hook

    def __hash__(self) -> int:
        return hash((HideWhen, self.hook))

    def __repr__(self) -> str:
        return f"HideWhen({self.hook!r})"


class _TruthOf:
    """A ``hide_when`` hook answering the truth of an Invenio ``LocalProxy`` ``hide`` value."""

    __slots__ = ("proxy",)

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy

    def __call__(self) -> bool:
        return bool(self.proxy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TruthOf) and other.proxy is self.proxy

    def __hash__(self) -> int:
        return id(self.proxy)

    def __repr__(self) -> str:
        return f"_TruthOf({type(self.proxy).__name__})"


# --- reading one dictionary ---------------------------------------------------------------------


def _text(value: Any, key: str, *, what: str = "a string") -> str:
    if isinstance(value, str):
        return value
    # Invenio's presets use lazy_gettext strings; they render to str.
    if "lazy" in type(value).__name__.lower():
        return str(value)
    raise InvalidSettingError(f"expected {what}, got {_show(value)}", key=key)


def _opt_text(value: Any, key: str) -> str | None:
    return None if value is None else _text(value, key)


def _flag(value: Any, key: str) -> bool:
    if type(value) is not bool:
        raise InvalidSettingError(f"expected True or False, got {_show(value)}", key=key)
    return value


def _url(value: Any, key: str) -> str | None:
    if value is None:
        return None
    text = _text(value, key, what="an absolute http(s) URL")
    if check_url(text):
        raise InvalidSettingError(f"expected an absolute http(s) URL, got {text!r}", key=key)
    return text


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidSettingError(f"expected a dict, got {_show(value)}", key=key)
    for k in value:
        if not isinstance(k, str):
            raise InvalidSettingError(f"expected string keys, got {k!r}", key=key)
    return value


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _reject_unknown(data: Mapping[str, Any], known: Iterable[str], key: str) -> None:
    known = tuple(known)
    for name in data:
        if name not in known:
            raise UnknownSettingError(
                f"unknown setting {name!r}; expected one of: {', '.join(known)}",
                key=f"{key}.{name}",
            )


def _handler(value: Any, key: str) -> HookRef:
    if isinstance(value, str):
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr:
            raise InvalidSettingError(
                f"handler {value!r} is not of the form 'package.module:attribute'", key=key
            )
        return value
    if callable(value):
        hook: HookRef = value
        return hook
    raise InvalidSettingError(
        f"expected a callable or a 'module:attribute' string, got {_show(value)}", key=key
    )


def _contrib_module(ref: HookRef | None) -> str | None:
    # Invenio's own GitLab module names its handlers as functions: look at their module.
    name = ref if isinstance(ref, str) else getattr(ref, "__module__", None)
    if not isinstance(name, str) or not name.startswith("invenio_oauthclient.contrib."):
        return None
    module = name.partition(":")[0].split(".")
    return module[2] if len(module) > 2 else None


def _infer_kind(hooks: Mapping[str, HookRef], *urls: str | None) -> tuple[str, str | None]:
    """The provider kind, and the contrib module it came from (``None`` when none is named)."""
    contrib = None
    # The info handler says most about the provider; fall back on the others.
    for name in ("info", "info_serializer", "setup", "disconnect", "groups", "authorized"):
        contrib = _contrib_module(hooks.get(name))
        if contrib:
            break
    kind = _CONTRIB_KINDS.get(contrib, contrib) if contrib else "generic"
    if not _KIND_PATTERN.fullmatch(kind):
        kind = "generic"
    if kind == "generic":
        for url in urls:
            if not url:
                continue
            if _KEYCLOAK_AUTHORIZE.fullmatch(url) and contrib is None:
                return "keycloak", contrib
            host = (urlsplit(url).hostname or "").lower()
            if host in _HOST_KINDS:
                return _HOST_KINDS[host], contrib
    return kind, contrib


def keycloak_realm_endpoints(realm_url: str) -> dict[str, str]:
    """The OpenID endpoints of a Keycloak realm, which follow a fixed scheme.

    Returns:
        ``issuer``, ``authorize_url``, ``token_url``, ``userinfo_url``, ``jwks_url`` and
        ``end_session_url`` as :class:`RemoteApp` field names.
    """
    base = f"{realm_url.rstrip('/')}/protocol/openid-connect/"
    return {
        "issuer": realm_url.rstrip("/"),
        "authorize_url": base + "auth",
        "token_url": base + "token",
        "userinfo_url": base + "userinfo",
        "jwks_url": base + "certs",
        "end_session_url": base + "logout",
    }


def _credentials(credentials: Any, key: str, *, need_secret: bool) -> tuple[str, str | None]:
    data = _mapping(credentials, key)
    _reject_unknown(data, _CREDENTIAL_KEYS, key)
    raw_id, raw_secret = data.get("consumer_key"), data.get("consumer_secret")
    client_id = None if raw_id is None else _text(raw_id, f"{key}.consumer_key")
    secret = None if raw_secret is None else _text(raw_secret, f"{key}.consumer_secret")
    if not client_id:
        raise MissingCredentialsError(
            "no client id: set consumer_key to the client id the provider gave you",
            key=f"{key}.consumer_key",
        )
    if need_secret and not secret:
        raise MissingCredentialsError(
            "no client secret: set consumer_secret to the secret the provider gave you",
            key=f"{key}.consumer_secret",
        )
    return client_id, secret or None


def from_invenio(
    name: str,
    remote_app: Mapping[str, Any],
    *,
    credentials: Mapping[str, Any] | None = None,
    rest: bool = False,
    kind: str | None = None,
) -> RemoteApp:
    """Read one Invenio remote-app dictionary.

    Args:
        name: The provider's name (its key in ``OAUTHCLIENT_REMOTE_APPS``).
        remote_app: The dictionary, as Invenio reads it.
        credentials: The ``<APP_KEY>`` setting's value
            (``dict(consumer_key=..., consumer_secret=...)``); without it the remote app has no
            client id until one is given (see :func:`load_invenio_remote_apps`).
        rest: The dictionary is a ``REMOTE_REST_APP``: its handlers and redirect URLs are also
            kept for ``to_invenio(app, rest=True)``.
        kind: The provider kind, instead of inferring it from the handler strings.

    Returns:
        The remote app; ``to_invenio`` gives the dictionary back.

    Raises:
        UnknownSettingError: A key Invenio does not know (a typo), naming it.
        MissingSettingError: No ``title`` or no ``params``.
        InvalidSettingError: A value of the wrong type, or a URL that is not an absolute http(s)
            URL, naming the key and the value.
        MissingCredentialsError: ``credentials`` lacks ``consumer_key`` (or ``consumer_secret``).
    """
    where = f"{REST_REMOTE_APPS if rest else REMOTE_APPS}.{name}"
    data = _mapping(remote_app, where)
    _reject_unknown(data, _TOP_KEYS, where)
    if "title" not in data:
        raise MissingSettingError(
            "is required (the text of the sign-in button)", key=f"{where}.title"
        )
    if "params" not in data:
        raise MissingSettingError(
            "is required (base_url, access_token_url, authorize_url, app_key…)",
            key=f"{where}.params",
        )
    present: set[str] = {k for k in _BASE_KEYS if k in data and k != "params"}
    fields: dict[str, Any] = {"name": name, "title": _text(data["title"], f"{where}.title")}
    if "description" in data:
        fields["description"] = _text(data["description"], f"{where}.description")
    if data.get("icon") is not None:
        fields["icon"] = _text(data["icon"], f"{where}.icon")
    if "precedence_mask" in data:
        fields["precedence_mask"] = copy_tree(
            _mapping(data["precedence_mask"], f"{where}.precedence_mask")
        )
    if "signup_options" in data:
        options = _mapping(data["signup_options"], f"{where}.signup_options")
        _reject_unknown(options, ("auto_confirm", "send_register_msg"), f"{where}.signup_options")
        present.update(f"signup_options.{k}" for k in options)
        fields["signup_options"] = SignupOptions(
            **{k: _flag(v, f"{where}.signup_options.{k}") for k, v in options.items()}
        )
    if "logout_url" in data:
        fields["logout_url"] = _opt_text(data["logout_url"], f"{where}.logout_url")
    if "hide" in data:
        fields.update(_read_hide(data["hide"], f"{where}.hide"))
    if "link_only" in data:
        fields["link_only"] = _flag(data["link_only"], f"{where}.link_only")

    params = _mapping(data["params"], f"{where}.params")
    present.update(f"params.{k}" for k in params if k in _PARAMS_MAPPED)
    fields.update(_read_params(params, f"{where}.params", present))
    passthrough = {k: copy_tree(v) for k, v in params.items() if k not in _PARAMS_MAPPED}

    hooks = _read_handlers(data, where)
    invenio: dict[str, Any] = {}
    if passthrough:
        invenio["params"] = passthrough
    if present != CANONICAL_KEYS:
        invenio["keys"] = sorted(present)
    redirects = {k: _text(data[k], f"{where}.{k}") for k in _REDIRECT_KEYS if k in data}
    if rest:
        invenio["rest"] = rest_part(data)
    elif redirects:
        invenio["redirect_urls"] = redirects
    if "remote_app" in data:
        invenio["remote_app"] = _handler(data["remote_app"], f"{where}.remote_app")
    if invenio:
        fields["extra"] = {"invenio": invenio}

    inferred, contrib = _infer_kind(
        hooks, fields.get("authorize_url"), fields.get("token_url"), fields.get("base_url")
    )
    fields["kind"] = kind or inferred
    if fields["kind"] in OIDC_KINDS or contrib == "oidc":
        fields["protocol"] = "oidc"
    realm = _KEYCLOAK_AUTHORIZE.fullmatch(fields.get("authorize_url") or "")
    if realm:
        derived = keycloak_realm_endpoints(realm["realm"])
        for field in ("issuer", "userinfo_url", "jwks_url", "end_session_url"):
            fields.setdefault(field, derived[field])
    path = _USERINFO_PATHS.get(fields["kind"])
    if path and fields.get("base_url"):
        fields.setdefault("userinfo_url", f"{fields['base_url'].rstrip('/')}/{path}")
    issuer = _KIND_ISSUERS.get(fields["kind"])
    if issuer and "issuer" not in fields:
        fields["issuer"] = issuer
        fields["discovery_url"] = f"{issuer}/.well-known/openid-configuration"
    fields["hooks"] = Hooks(**hooks)

    if credentials is not None:
        key = fields.get("app_key") or f"{where}.credentials"
        need_secret = fields["token_auth_method"] in ("client_secret_basic", "client_secret_post")
        fields["client_id"], fields["client_secret"] = _credentials(
            credentials, key, need_secret=need_secret
        )
    return RemoteApp(**fields)


def _read_hide(value: Any, key: str) -> dict[str, Any]:
    if type(value).__name__ == "LocalProxy":
        # werkzeug's proxy is callable and claims the class of what it wraps; look through it.
        return {"hide_when": _TruthOf(value)}
    if type(value) is bool:
        return {"hidden": value}
    if isinstance(value, HideWhen):
        return {"hide_when": value.hook}
    if callable(value):
        return {"hide_when": value}
    raise InvalidSettingError(
        f"expected True, False or a callable returning whether to hide, got {_show(value)}",
        key=key,
    )


def _read_params(params: Mapping[str, Any], where: str, present: set[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"token_auth_method": INVENIO_TOKEN_AUTH_METHOD}
    for param, field in (
        ("base_url", "base_url"),
        ("access_token_url", "token_url"),
        ("authorize_url", "authorize_url"),
        ("request_token_url", "request_token_url"),
    ):
        if params.get(param) is not None:
            fields[field] = _url(params[param], f"{where}.{param}")
    if "access_token_method" in params:
        method = params["access_token_method"]
        if method not in ("POST", "GET"):
            raise InvalidSettingError(
                f"expected 'POST' or 'GET', got {_show(method)}", key=f"{where}.access_token_method"
            )
        fields["token_method"] = method
    if params.get("app_key") is not None:
        fields["app_key"] = _text(params["app_key"], f"{where}.app_key")
    if params.get("request_token_params") is not None:
        token_params = _mapping(params["request_token_params"], f"{where}.request_token_params")
        authorize_params: dict[str, str] = {}
        for param, value in token_params.items():
            text = _text(value, f"{where}.request_token_params.{param}")
            if param == "scope":
                fields["scope"] = text
                present.add("params.request_token_params.scope")
            else:
                authorize_params[param] = text
        fields["authorize_params"] = authorize_params
    if "token_endpoint_auth_method" in params:
        method = params["token_endpoint_auth_method"]
        if method not in TOKEN_AUTH_METHODS:
            raise InvalidSettingError(
                f"expected one of {', '.join(TOKEN_AUTH_METHODS)}, got {_show(method)}",
                key=f"{where}.token_endpoint_auth_method",
            )
        fields["token_auth_method"] = method
    for param, field in (("consumer_key", "client_id"), ("consumer_secret", "client_secret")):
        if params.get(param) is not None:
            fields[field] = _text(params[param], f"{where}.{param}")
    return fields


def _read_handlers(data: Mapping[str, Any], where: str) -> dict[str, HookRef]:
    hooks: dict[str, HookRef] = {}
    for key, hook in (
        ("authorized_handler", "authorized"),
        ("disconnect_handler", "disconnect"),
        ("response_handler", "response"),
    ):
        if data.get(key) is not None:
            hooks[hook] = _handler(data[key], f"{where}.{key}")
    if data.get("signup_handler") is not None:
        signup = _mapping(data["signup_handler"], f"{where}.signup_handler")
        _reject_unknown(signup, _SIGNUP_HOOKS, f"{where}.signup_handler")
        for key, value in signup.items():
            if value is not None:
                hooks[_SIGNUP_HOOKS[key]] = _handler(value, f"{where}.signup_handler.{key}")
    return hooks


def rest_part(remote_app: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a ``REMOTE_REST_APP`` that differ from its ``REMOTE_APP`` (handlers, URLs)."""
    part: dict[str, Any] = {}
    for key in REST_KEYS:
        if key in remote_app:
            value = remote_app[key]
            part[key] = dict(value) if isinstance(value, Mapping) else value
    return part


# --- writing one dictionary ---------------------------------------------------------------------


def _invenio_extra(app: RemoteApp) -> Mapping[str, Any]:
    extra = app.extra.get("invenio")
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise InvalidSettingError(
            f"expected a dict, got {_show(extra)}", key=f"RemoteApp({app.name!r}).extra.invenio"
        )
    return extra


def to_invenio(app: RemoteApp, *, rest: bool = False) -> dict[str, Any]:
    """Write a remote app as an Invenio ``REMOTE_APP`` (or ``REMOTE_REST_APP``) dictionary.

    Handler hooks are written as given (strings stay strings, callables stay callables); a
    callable ``hide_when`` becomes a :class:`HideWhen` that Invenio tests for truth. Fields
    Invenio has no key for (``userinfo_url``, ``jwks_url``, ``issuer``…) are not written:
    Invenio's contrib handlers know them, and :func:`dump_invenio_remote_apps` writes Keycloak's
    separate settings.

    Args:
        app: The remote app.
        rest: Write the REST variant: the REST handlers and redirect URLs read from a
            ``REMOTE_REST_APP`` when there were some, otherwise Invenio's REST counterparts of the
            handlers (``invenio_oauthclient.handlers.rest:…``) and ``"/"`` redirect URLs.

    Returns:
        A new dictionary; credentials are never written unless they were inline in ``params``.
    """
    invenio = _invenio_extra(app)
    keys = set(invenio.get("keys", CANONICAL_KEYS))

    def wanted(key: str, value: Any, absent: Any) -> bool:
        return key in keys or value != absent

    data: dict[str, Any] = {"title": app.title}
    if wanted("description", app.description, ""):
        data["description"] = app.description
    if wanted("icon", app.icon, ""):
        data["icon"] = app.icon
    if wanted("precedence_mask", dict(app.precedence_mask), _DEFAULT_PRECEDENCE_MASK):
        data["precedence_mask"] = copy_tree(app.precedence_mask)
    options: dict[str, bool] = {}
    defaults = SignupOptions()
    for option in ("auto_confirm", "send_register_msg"):
        value = getattr(app.signup_options, option)
        if wanted(f"signup_options.{option}", value, getattr(defaults, option)):
            options[option] = value
    if "signup_options" in keys or options:
        data["signup_options"] = options
    if wanted("logout_url", app.logout_url, None):
        data["logout_url"] = app.logout_url
    hide = _write_hide(app)
    if "hide" in keys or hide is not False:
        data["hide"] = hide
    if wanted("link_only", app.link_only, False):
        data["link_only"] = app.link_only
    data["params"] = _write_params(app, invenio, keys)
    if rest and "rest" in invenio:
        data.update(copy_tree(invenio["rest"]))
    else:
        data.update(_write_handlers(app.hooks))
        redirects = invenio.get("redirect_urls", {})
        if rest:
            data = _rest_counterpart(data, redirects)
        else:
            data.update(redirects)
    if "remote_app" in invenio:
        data["remote_app"] = invenio["remote_app"]
    return data


def _write_hide(app: RemoteApp) -> Any:
    if app.hidden:
        return True
    if app.hide_when is None:
        return False
    if isinstance(app.hide_when, _TruthOf):
        return app.hide_when.proxy
    return HideWhen(app.hide_when)


def _write_params(app: RemoteApp, invenio: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
    def wanted(key: str, value: Any, absent: Any) -> bool:
        return f"params.{key}" in keys or value != absent

    params: dict[str, Any] = {}
    if wanted("base_url", app.base_url, None):
        params["base_url"] = app.base_url
    token_params: dict[str, Any] = {}
    if "params.request_token_params.scope" in keys or app.scope:
        token_params["scope"] = app.scope
    token_params.update(app.authorize_params)
    if "params.request_token_params" in keys or token_params:
        params["request_token_params"] = token_params
    for key, value, absent in (
        ("request_token_url", app.request_token_url, None),
        ("access_token_url", app.token_url, None),
        ("access_token_method", app.token_method, "POST"),
        ("authorize_url", app.authorize_url, None),
        ("app_key", app.app_key, None),
    ):
        if wanted(key, value, absent):
            params[key] = value
    # Inline credentials are written back only where they were: never leak APP_CREDENTIALS.
    if "params.consumer_key" in keys:
        params["consumer_key"] = app.client_id
    if "params.consumer_secret" in keys:
        params["consumer_secret"] = app.client_secret
    if wanted("token_endpoint_auth_method", app.token_auth_method, INVENIO_TOKEN_AUTH_METHOD):
        params["token_endpoint_auth_method"] = app.token_auth_method
    params.update(copy_tree(invenio.get("params", {})))
    return params


def _write_handlers(hooks: Hooks) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if hooks.authorized is not None:
        data["authorized_handler"] = hooks.authorized
    if hooks.disconnect is not None:
        data["disconnect_handler"] = hooks.disconnect
    signup = {
        key: getattr(hooks, hook)
        for key, hook in _SIGNUP_HOOKS.items()
        if getattr(hooks, hook) is not None
    }
    if signup:
        data["signup_handler"] = signup
    if hooks.response is not None:
        data["response_handler"] = hooks.response
    return data


def _rest_counterpart(data: dict[str, Any], redirects: Mapping[str, Any]) -> dict[str, Any]:
    """Invenio's REST handlers in place of the UI ones, as its contrib modules pair them."""
    ui, api = "invenio_oauthclient.handlers:", "invenio_oauthclient.handlers.rest:"

    def swap(ref: Any) -> Any:
        return api + ref[len(ui) :] if isinstance(ref, str) and ref.startswith(ui) else ref

    if "authorized_handler" in data:
        data["authorized_handler"] = swap(data["authorized_handler"])
    disconnect = data.get("disconnect_handler")
    if (
        isinstance(disconnect, str)
        and disconnect.startswith("invenio_oauthclient.contrib.")
        and disconnect.endswith(":disconnect_handler")
    ):
        data["disconnect_handler"] = disconnect[: -len("handler")] + "rest_handler"
    if "signup_handler" in data and "view" in data["signup_handler"]:
        data["signup_handler"]["view"] = swap(data["signup_handler"]["view"])
    data.setdefault("response_handler", REST_DEFAULT_RESPONSE_HANDLER)
    for key in _REDIRECT_KEYS:
        data[key] = redirects.get(key, "/")
    return data


def copy_tree(value: Any) -> Any:
    """Copy nested dicts and lists (Invenio configurations are mutated in place by users)."""
    if isinstance(value, Mapping):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


# --- whole configurations -----------------------------------------------------------------------


class _Settings:
    """Invenio settings from the environment (``INVENIO_<KEY>``) over a mapping or a module."""

    def __init__(self, config: Any, environ: Mapping[str, str] | None) -> None:
        if isinstance(config, str | bytes):
            raise InvalidSettingError(
                "expected a mapping or a configuration module, got a string", key="config"
            )
        self.config = config
        self.environ = os.environ if environ is None else environ

    def env(self, key: str) -> str | None:
        return self.environ.get(ENV_PREFIX + key) or None

    def get(self, key: str) -> tuple[Any, str]:
        """The value and the name it was found under; ``_MISSING`` when absent."""
        raw = self.env(key)
        if raw is not None:
            try:
                return ast.literal_eval(raw), ENV_PREFIX + key
            except (SyntaxError, ValueError):
                return raw, ENV_PREFIX + key
        if self.config is None:
            return _MISSING, key
        if isinstance(self.config, Mapping):
            return self.config.get(key, _MISSING), key
        return getattr(self.config, key, _MISSING), key


def load_invenio_credentials(
    config: Any,
    app_key: str,
    *,
    environ: Mapping[str, str] | None = None,
    need_secret: bool = True,
) -> tuple[str, str | None]:
    """Find a remote app's ``consumer_key`` / ``consumer_secret`` under ``app_key``.

    Looks, in this order, at ``INVENIO_<APP_KEY>_CONSUMER_KEY`` and
    ``INVENIO_<APP_KEY>_CONSUMER_SECRET``, at ``INVENIO_<APP_KEY>`` (a dictionary literal, as
    Invenio's environment loader reads it), and at ``<APP_KEY>`` in ``config``.

    Args:
        config: A mapping, an object with attributes (a loaded ``invenio.cfg`` module) or
            ``None`` (environment only).
        app_key: The setting's name, e.g. ``"ORCID_APP_CREDENTIALS"``.
        environ: The environment; ``None`` reads :data:`os.environ`, ``{}`` ignores it.
        need_secret: Whether a missing ``consumer_secret`` is an error.

    Returns:
        ``(client_id, client_secret)``.

    Raises:
        MissingCredentialsError: Naming the exact setting expected (``ORCID_APP_CREDENTIALS``,
            or ``ORCID_APP_CREDENTIALS.consumer_secret``).
        InvalidSettingError: The setting is not a dictionary of strings.
        UnknownSettingError: The dictionary has another key than the two (a typo).
    """
    settings = _Settings(config, environ)
    value, source = settings.get(app_key)
    flat = {k: settings.env(f"{app_key}_{k.upper()}") for k in _CREDENTIAL_KEYS}
    if value is _MISSING and not any(flat.values()):
        raise MissingCredentialsError(
            f"not set: add {app_key} = dict(consumer_key=..., consumer_secret=...) to the "
            f"configuration, or set {ENV_PREFIX}{app_key}_CONSUMER_KEY and "
            f"{ENV_PREFIX}{app_key}_CONSUMER_SECRET",
            key=app_key,
        )
    merged: dict[str, Any] = {}
    if value is not _MISSING:
        merged.update(_mapping(value, source))
        _reject_unknown(merged, _CREDENTIAL_KEYS, source)
    merged.update({k: v for k, v in flat.items() if v})
    return _credentials(merged, app_key if value is _MISSING else source, need_secret=need_secret)


def load_invenio_remote_apps(
    config: Any = None,
    *,
    environ: Mapping[str, str] | None = None,
    require_credentials: bool = True,
) -> dict[str, RemoteApp]:
    """Read every remote app of an Invenio configuration, with its credentials.

    Reads ``OAUTHCLIENT_REMOTE_APPS`` and ``OAUTHCLIENT_REST_REMOTE_APPS`` (a provider in both
    becomes one remote app carrying both handler sets), the ``<APP_KEY>`` credentials of each
    (see :func:`load_invenio_credentials`), Keycloak's per-app settings
    ``OAUTHCLIENT_<NAME>_REALM_URL``, ``_USER_INFO_URL``, ``_VERIFY_EXP``, ``_VERIFY_AUD``,
    ``_AUD`` and ``_USER_INFO_FROM_ENDPOINT`` (``<NAME>`` is the provider's name in upper case,
    as in Invenio), and ``OIDC_ISSUER`` / ``OIDC_USE_BASIC_AUTH`` for apps using Invenio's
    generic OIDC handlers. Several instances of one provider type are told apart by their name
    and their ``app_key``.

    Unlike Invenio, an absent ``_VERIFY_EXP`` / ``_VERIFY_AUD`` leaves the check on.

    Args:
        config: A mapping (a Flask config, a parsed TOML/JSON file), an object with attributes
            (a loaded ``invenio.cfg`` module), or ``None`` to read the environment only.
        environ: The environment; ``None`` reads :data:`os.environ`, ``{}`` ignores it. Any
            setting can come from ``INVENIO_<KEY>`` as with Invenio's environment loader.
        require_credentials: Raise when a remote app's credentials are missing; with
            ``False`` such apps come back without a client id (for configuration checks).

    Returns:
        The remote apps by name, in configuration order.

    Raises:
        MissingCredentialsError: A remote app's credentials are not set, naming the setting.
        ConfigurationError: Any error :func:`from_invenio` raises, and a provider whose REST
            dictionary differs from its UI dictionary beyond the handlers.
    """
    settings = _Settings(config, environ)
    apps: dict[str, RemoteApp] = {}
    ui_dicts: dict[str, Mapping[str, Any]] = {}
    for setting, rest in ((REMOTE_APPS, False), (REST_REMOTE_APPS, True)):
        value, source = settings.get(setting)
        if value is _MISSING or value is None:
            continue
        for name, data in _mapping(value, source).items():
            app = from_invenio(name, data, rest=rest)
            if rest and name in apps:
                _check_same_provider(name, ui_dicts[name], data)
                invenio = dict(_invenio_extra(apps[name]))
                invenio["rest"] = rest_part(data)
                app = apps[name].evolve(extra={**apps[name].extra, "invenio": invenio})
            elif not rest:
                ui_dicts[name] = data
            apps[name] = app
    for name, app in apps.items():
        app = _apply_keycloak_settings(app, settings)
        app = _apply_oidc_settings(app, settings)
        apps[name] = _apply_credentials(app, settings, require=require_credentials)
    return apps


def _check_same_provider(name: str, ui: Mapping[str, Any], api: Mapping[str, Any]) -> None:
    for key in _TOP_KEYS:
        if key in REST_KEYS:
            continue
        if ui.get(key, _MISSING) != api.get(key, _MISSING):
            raise InvalidSettingError(
                f"differs from {REMOTE_APPS}.{name}.{key}; authkit keeps one provider per name, "
                "so both dictionaries may differ only in their handlers and redirect URLs "
                "(make them equal, or give the REST provider another name)",
                key=f"{REST_REMOTE_APPS}.{name}.{key}",
            )


def _apply_keycloak_settings(app: RemoteApp, settings: _Settings) -> RemoteApp:
    prefix = f"OAUTHCLIENT_{app.name.upper()}_"
    changes: dict[str, Any] = {}
    value, source = settings.get(prefix + "REALM_URL")
    if value is not _MISSING:
        realm = _url(value, source)
        if realm:
            endpoints = keycloak_realm_endpoints(realm)
            for field in ("issuer", "jwks_url", "end_session_url", "userinfo_url"):
                changes[field] = endpoints[field]
    value, source = settings.get(prefix + "USER_INFO_URL")
    if value is not _MISSING:
        changes["userinfo_url"] = _url(value, source)
    for setting, field in (("VERIFY_EXP", "verify_exp"), ("VERIFY_AUD", "verify_aud")):
        value, source = settings.get(prefix + setting)
        if value is not _MISSING:
            changes[field] = _flag(value, source)
    value, source = settings.get(prefix + "AUD")
    if value is not _MISSING:
        changes["audience"] = _opt_text(value, source)
    value, source = settings.get(prefix + "USER_INFO_FROM_ENDPOINT")
    if value is not _MISSING:
        changes["userinfo_from"] = "endpoint" if _flag(value, source) else "token"
    return app.evolve(**changes) if changes else app


def _apply_oidc_settings(app: RemoteApp, settings: _Settings) -> RemoteApp:
    if _contrib_module(app.hooks.info) != "oidc" or app.issuer is not None:
        return app
    changes: dict[str, Any] = {}
    value, source = settings.get("OIDC_ISSUER")
    if value is not _MISSING and value is not None:
        issuer = _url(value, source)
        changes["issuer"] = issuer
        changes["discovery_url"] = f"{str(issuer).rstrip('/')}/.well-known/openid-configuration"
    value, source = settings.get("OIDC_USE_BASIC_AUTH")
    if value is not _MISSING:
        if isinstance(value, str):  # Invenio also reads it from the environment as text
            value = value.lower() in ("1", "true", "yes")
        if _flag(value, source):
            changes["token_auth_method"] = "client_secret_basic"
    return app.evolve(**changes) if changes else app


def _apply_credentials(app: RemoteApp, settings: _Settings, *, require: bool) -> RemoteApp:
    if app.client_id:
        return app
    need_secret = app.token_auth_method in ("client_secret_basic", "client_secret_post")
    if not app.app_key:
        if require:
            raise MissingCredentialsError(
                "no credentials: set params.app_key to the name of the setting holding "
                "dict(consumer_key=..., consumer_secret=...)",
                key=f"{REMOTE_APPS}.{app.name}.params.app_key",
            )
        return app
    try:
        client_id, secret = load_invenio_credentials(
            settings.config, app.app_key, environ=settings.environ, need_secret=need_secret
        )
    except MissingCredentialsError:
        if require:
            raise
        return app
    return app.evolve(client_id=client_id, client_secret=secret)


def dump_invenio_remote_apps(
    apps: Mapping[str, RemoteApp] | Iterable[RemoteApp], *, credentials: bool = False
) -> dict[str, Any]:
    """Write remote apps as an Invenio configuration section (the reverse of loading it).

    Args:
        apps: Remote apps, by name or as a sequence.
        credentials: Also write each ``<APP_KEY>`` credentials dictionary (secrets included).

    Returns:
        ``OAUTHCLIENT_REMOTE_APPS``, ``OAUTHCLIENT_REST_REMOTE_APPS`` (the apps that carry a
        REST variant), the Keycloak settings of ``kind="keycloak"`` apps and, when asked, the
        credentials.
    """
    values = list(apps.values()) if isinstance(apps, Mapping) else list(apps)
    config: dict[str, Any] = {
        REMOTE_APPS: {app.name: to_invenio(app) for app in values},
        REST_REMOTE_APPS: {
            app.name: to_invenio(app, rest=True) for app in values if "rest" in _invenio_extra(app)
        },
    }
    for app in values:
        if app.kind == "keycloak":
            prefix = f"OAUTHCLIENT_{app.name.upper()}_"
            if app.issuer:
                config[prefix + "REALM_URL"] = app.issuer
            if app.userinfo_url:
                config[prefix + "USER_INFO_URL"] = app.userinfo_url
            config[prefix + "VERIFY_EXP"] = app.verify_exp
            config[prefix + "VERIFY_AUD"] = app.verify_aud
            if app.audience:
                config[prefix + "AUD"] = app.audience
            config[prefix + "USER_INFO_FROM_ENDPOINT"] = app.userinfo_from == "endpoint"
        if credentials and app.app_key and app.client_id:
            config[app.app_key] = {
                "consumer_key": app.client_id,
                "consumer_secret": app.client_secret,
            }
    return config
