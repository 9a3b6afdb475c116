"""Settings to routes, in two steps: the one place every adapter's configuration is read.

:func:`read_settings` checks a settings mapping and returns an :class:`AuthkitSettings` value.
It does no I/O: stores named by URL or path stay strings, invenio-saml's ``SSO_SAML_IDPS`` is
kept as given, so configuration checks (Django's system checks) can read the settings of a site
whose database or IdP is not reachable. :func:`build_routes` then does the I/O — opens the
stores, fetches each ``settings_url`` — and returns the :class:`~authkit.web.AuthRoutes`.
:func:`routes_from_settings` does both.

Flask reads ``AUTHKIT_*`` keys from ``app.config``; Django reads the same names without prefix
from its ``AUTHKIT`` dict; any other stack can pass a plain mapping. Invenio's keys are read
unchanged next to them.

==================== ===============================================================================
``PUBLIC_URL``       the site's public base URL (else Invenio's ``SITE_UI_URL``)
``PROVIDERS``        :class:`~authkit.config.RemoteApp` objects, or their dicts
``SAML_IDPS``        :class:`~authkit.web.SAMLProvider` objects
``ALLOWED_HOSTS``    hosts a ``next`` URL may name (else Invenio's ``APP_ALLOWED_HOSTS``)
``MOUNT``            path prefix of the routes: ``""`` (default) or e.g. ``"/auth"``
``AFTER_LOGIN``      where to go after signing in without ``next`` (``"/"``)
``AUTO_REDIRECT``    skip the sign-in page when one provider is visible
``TOKEN_KEYS``       Fernet keys (or one key) of the :class:`~authkit.accounts.TokenCipher`
``ACCOUNTS_STORE``   an accounts store, a SQLite path, ``sqlite:///…`` or ``postgresql://…``
``STATE_STORE``      a state store or ``redis://…`` (default: in memory)
``GROUPS``           provider (or IdP) name → :class:`~authkit.groups.GroupResolver`
``SIGNUP``           the :class:`~authkit.accounts.SignupPolicy`
``LOGIN_POLICIES``   login policies, checked in order
``ON_SIGN_IN``       ``hook(web_request, user)`` or ``"module:attr"``, after each sign-in
==================== ===============================================================================
"""

from __future__ import annotations

import difflib
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from authkit.accounts import AccountFlow, ProviderSettings, SignupPolicy, TokenCipher
from authkit.config import ProviderRegistry, RemoteApp, load_invenio_remote_apps, resolve_hook
from authkit.config import _validators as v
from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.groups import GroupResolver
from authkit.saml import (
    AttributeMapping,
    SAMLIdPConfig,
    ServiceProvider,
    StateStoreReplayCache,
    load_sso_saml_idps,
)
from authkit.stores import AccountsStore, MemoryAccountsStore, MemoryStateStore, StateStore, User
from authkit.transport import RequestsTransport, Transport
from authkit.web._http import WebRequest
from authkit.web._routes import AuthRoutes, SAMLProvider, SignInHook, SignOutHook

__all__ = [
    "SETTING_NAMES",
    "AuthkitSettings",
    "build_routes",
    "read_settings",
    "routes_from_settings",
]

#: The names of authkit's settings (with the adapter's prefix, if any).
SETTING_NAMES = (
    "PUBLIC_URL", "PROVIDERS", "SAML_IDPS", "ALLOWED_HOSTS", "MOUNT", "AFTER_LOGIN",
    "AUTO_REDIRECT", "TOKEN_KEYS", "ACCOUNTS_STORE", "STATE_STORE", "GROUPS", "SIGNUP",
    "LOGIN_POLICIES", "ON_SIGN_IN",
)  # fmt: skip

_INVENIO_FALLBACKS = (
    ("public_url", "SITE_UI_URL"),
    ("allowed_hosts", "APP_ALLOWED_HOSTS"),
    ("auto_redirect", "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN"),
)
_SQL_URLS = ("sqlite:", "postgresql:", "postgresql+")
_REDIS_URLS = ("redis://", "rediss://", "unix://")
_OWNER = "AuthkitSettings"


def _list(value: Any, field: str) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidSettingError(f"expected a list, got {value!r}", key=f"{_OWNER}.{field}")
    return tuple(value)


def _hosts(value: Any) -> tuple[Any, ...]:
    return _list(value, "allowed_hosts")


def _keys(value: Any) -> tuple[Any, ...]:
    return (value,) if isinstance(value, str) else _list(value, "token_keys")


def _policies(value: Any) -> tuple[Any, ...]:
    return _list(value, "login_policies")


def _providers(value: Any) -> tuple[RemoteApp, ...]:
    apps = []
    for index, item in enumerate(_list(value, "providers")):
        if not isinstance(item, RemoteApp | Mapping):
            raise InvalidSettingError(
                f"expected a RemoteApp or its dict, got {item!r}",
                key=f"{_OWNER}.providers[{index}]",
            )
        apps.append(item if isinstance(item, RemoteApp) else RemoteApp.from_dict(item))
    return tuple(apps)


def _saml_idps(value: Any) -> tuple[SAMLProvider, ...]:
    idps = _list(value, "saml_idps")
    if not all(isinstance(p, SAMLProvider) for p in idps):
        raise InvalidSettingError("expected SAMLProvider objects", key=f"{_OWNER}.saml_idps")
    return idps


def _hook(ref: Any) -> SignInHook | None:
    return None if ref is None else resolve_hook(ref, key=f"{_OWNER}.on_sign_in")


def _path(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _mount(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.is_str(inst, attribute, value)
    if value and (not value.startswith("/") or value.endswith("/")):
        raise InvalidSettingError(
            f"expected '' or a path like '/auth' (no trailing '/'), got {value!r}",
            key=f"{_OWNER}.mount",
        )


def _token_keys(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        return
    try:
        TokenCipher(value)  # refuses a malformed key now, not at the first sign-in
    except ConfigurationError as exc:
        raise InvalidSettingError(
            exc.message.removeprefix(f"{exc.key}: "), key=f"{_OWNER}.token_keys", hint=exc.hint
        ) from exc


def _accounts_store(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text = value.strip() if isinstance(value, str) else None
    is_url = bool(text) and (value.startswith(_SQL_URLS) or "://" not in value)  # or a path
    if not (value is None or is_url or isinstance(value, AccountsStore)):
        raise InvalidSettingError(
            f"expected an accounts store, a SQLite file path, sqlite:///… or postgresql://…, "
            f"got {value!r}",
            key=f"{_OWNER}.accounts_store",
        )


def _state_store(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    is_url = isinstance(value, str) and value.startswith(_REDIS_URLS)
    if not (value is None or is_url or isinstance(value, StateStore)):
        raise InvalidSettingError(
            f"expected a state store or a redis:// URL, got {value!r}", key=f"{_OWNER}.state_store"
        )


def _signup(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, SignupPolicy):
        raise InvalidSettingError(f"expected a SignupPolicy, got {value!r}", key=f"{_OWNER}.signup")


def _groups(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.is_mapping(inst, attribute, value)
    for name, resolver in value.items():
        if not isinstance(resolver, GroupResolver):
            raise InvalidSettingError(
                f"expected a GroupResolver, got {resolver!r}", key=f"{_OWNER}.groups.{name}"
            )


@attrs.frozen(kw_only=True)
class AuthkitSettings:
    """authkit's settings, checked: what :func:`read_settings` returns and :func:`build_routes`
    builds. Each field is the setting of the same name in upper case (see the module).

    Building one does no I/O: ``accounts_store`` and ``state_store`` may be URLs (or a SQLite
    path) that only :func:`build_routes` opens, and ``sso_saml_idps`` is kept as given.

    Args:
        public_url: ``PUBLIC_URL``.
        mount: ``MOUNT``.
        providers: ``PROVIDERS``, then the remote apps of Invenio's ``OAUTHCLIENT_REMOTE_APPS``.
        saml_idps: ``SAML_IDPS``.
        sso_saml_idps: Invenio's ``SSO_SAML_IDPS``, as given (see :meth:`saml_idp_configs`).
        allowed_hosts: ``ALLOWED_HOSTS``.
        after_login: ``AFTER_LOGIN``.
        auto_redirect: ``AUTO_REDIRECT``.
        token_keys: ``TOKEN_KEYS``.
        accounts_store: ``ACCOUNTS_STORE``: a store, a URL or path (``None``: in memory).
        state_store: ``STATE_STORE``: a store or a URL (``None``: in memory).
        groups: ``GROUPS``.
        signup: ``SIGNUP``.
        login_policies: ``LOGIN_POLICIES``.
        on_sign_in: ``ON_SIGN_IN``, resolved to the callable.
        extra: The adapter's own keys (``extra_names`` of :func:`read_settings`), as given.

    Raises:
        ConfigurationError: A value of the wrong type or shape (``key`` is
            ``AuthkitSettings.<field>``; :func:`read_settings` names the setting instead), a
            malformed token key, a persistent accounts store without token keys, two providers
            of one name.

    .. versionadded:: 0.1
    """

    public_url: str = attrs.field(validator=v.url)
    mount: str = attrs.field(default="", validator=_mount)
    providers: tuple[RemoteApp, ...] = attrs.field(default=(), converter=_providers)
    saml_idps: tuple[SAMLProvider, ...] = attrs.field(default=(), converter=_saml_idps)
    sso_saml_idps: Mapping[str, Any] = attrs.field(factory=dict, validator=v.is_mapping)
    allowed_hosts: tuple[str, ...] = attrs.field(
        default=(), converter=_hosts, validator=v.str_tuple
    )
    after_login: str = attrs.field(default="/", validator=v.is_str)
    auto_redirect: bool = attrs.field(default=False, validator=v.is_bool)
    token_keys: tuple[str, ...] = attrs.field(
        default=(), converter=_keys, validator=[v.str_tuple, _token_keys]
    )
    accounts_store: AccountsStore | str | None = attrs.field(
        default=None, converter=_path, validator=_accounts_store
    )
    state_store: StateStore | str | None = attrs.field(default=None, validator=_state_store)
    groups: Mapping[str, GroupResolver] = attrs.field(factory=dict, validator=_groups)
    signup: SignupPolicy | None = attrs.field(default=None, validator=_signup)
    login_policies: tuple[Any, ...] = attrs.field(default=(), converter=_policies)
    on_sign_in: SignInHook | None = attrs.field(default=None, converter=_hook)
    extra: Mapping[str, Any] = attrs.field(factory=dict, validator=v.is_mapping)

    def __attrs_post_init__(self) -> None:
        if not self.token_keys and not isinstance(self.accounts_store, MemoryAccountsStore | None):
            raise MissingSettingError(
                "a persistent accounts store needs keys to encrypt provider tokens",
                key=f"{_OWNER}.token_keys",
                hint="add TokenCipher.generate_key() values, newest first",
            )
        ProviderRegistry(self.providers)  # refuses two providers of one name

    def saml_idp_configs(self, *, transport: Transport | None = None) -> dict[str, SAMLIdPConfig]:
        """Read ``sso_saml_idps`` (:func:`~authkit.saml.load_sso_saml_idps`), each IdP's SP
        entity ID and endpoints defaulting to authkit's routes: ``<base>/saml/metadata/<idp>/``,
        ``<base>/saml/acs/<idp>/`` and ``<base>/saml/sls/<idp>/``, where ``<base>`` is
        ``public_url`` followed by ``mount``.

        Args:
            transport: Fetches each ``settings_url``. Without it, nothing goes over the network
                and such IdPs come back with ``metadata_pending`` set (the files an entry names
                are read either way).

        Raises:
            ConfigurationError: An entry is wrong, named in ``key`` (``SSO_SAML_IDPS.<idp>…``).
            ProviderError: A ``settings_url`` could not be fetched.
        """
        base = self.public_url.rstrip("/") + self.mount + "/saml"
        configs = {}
        for name, idp in load_sso_saml_idps(self.sso_saml_idps, transport=transport).items():
            sp = {
                "entityId": f"{base}/metadata/{name}/",
                "assertionConsumerService": {"url": f"{base}/acs/{name}/"},
                "singleLogoutService": {"url": f"{base}/sls/{name}/"},
                **(idp.settings.get("sp") or {}),
            }
            configs[name] = attrs.evolve(idp, settings={**idp.settings, "sp": sp})
        return configs


def read_settings(
    config: Mapping[str, Any],
    *,
    prefix: str = "AUTHKIT_",
    invenio: Mapping[str, Any] | None = None,
    extra_names: Iterable[str] = (),
) -> AuthkitSettings:
    """Read and check the settings in ``config`` (see the module), without any I/O.

    Args:
        config: The settings: ``AUTHKIT_*`` keys in a Flask config, or the keys without prefix
            in Django's ``AUTHKIT`` dict.
        prefix: The prefix of authkit's keys in ``config`` (``""`` for a dict of its own, where
            every key must be one of :data:`SETTING_NAMES` or ``extra_names``).
        invenio: Where Invenio's keys (``OAUTHCLIENT_REMOTE_APPS`` with credentials,
            ``SSO_SAML_IDPS``, ``SITE_UI_URL``, ``APP_ALLOWED_HOSTS``,
            ``OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN``) are read; ``config`` by default.
        extra_names: The adapter's own settings (without prefix): accepted by the check for
            unknown keys and kept, unchecked, in :attr:`AuthkitSettings.extra`.

    Raises:
        ConfigurationError: A missing, unknown (typo) or invalid setting, named in ``key``
            (``AUTHKIT_PUBLIC_URL``, ``AUTHKIT_PROVIDERS[0]``, ``ORCID_APP_CREDENTIALS``…).

    .. versionadded:: 0.1
    """
    names = {prefix + name: name.lower() for name in SETTING_NAMES}
    extras = {prefix + name: name for name in extra_names}
    known = [*names, *extras]
    for key in config:
        if not isinstance(key, str) or (key.startswith(prefix) and key not in known):
            close = difflib.get_close_matches(str(key), known, n=1)
            raise UnknownSettingError(
                "unknown setting", key=str(key), hint=f"did you mean {close[0]}?" if close else None
            )
    invenio = config if invenio is None else invenio
    values = {field: config[key] for key, field in names.items() if config.get(key) is not None}
    for field, fallback in _INVENIO_FALLBACKS:
        if field not in values and invenio.get(fallback) is not None:
            values[field] = invenio[fallback]
    if "public_url" not in values:
        raise MissingSettingError("not set", key=prefix + "PUBLIC_URL")
    values["extra"] = {name: config[key] for key, name in extras.items() if key in config}
    values["sso_saml_idps"] = invenio.get("SSO_SAML_IDPS") or {}
    try:
        settings = AuthkitSettings(**values)
        apps = load_invenio_remote_apps(invenio).values()
        return attrs.evolve(settings, providers=(*settings.providers, *apps)) if apps else settings
    except ConfigurationError as exc:
        owner, _, rest = (exc.key or "").partition(".")
        if owner != _OWNER:
            raise  # a RemoteApp's or Invenio's own key is precise already
        field = re.split(r"[.\[]", rest, maxsplit=1)[0]
        name = "SSO_SAML_IDPS" if field == "sso_saml_idps" else prefix + field.upper()
        key = name + rest[len(field) :]
        message = exc.message.removeprefix(f"{exc.key}: ")
        raise type(exc)(message, key=key, code=exc.code, hint=exc.hint) from exc


def build_routes(
    settings: AuthkitSettings,
    *,
    on_sign_in: SignInHook | None = None,
    on_sign_out: SignOutHook | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> AuthRoutes:
    """Build the :class:`AuthRoutes` that ``settings`` describe: this is where the I/O is.

    Fetches the metadata of each ``SSO_SAML_IDPS`` ``settings_url``, then opens the stores given
    as URLs or paths (a SQL accounts store creates its tables when missing, so a database that
    cannot be reached fails here rather than at the first sign-in).

    Args:
        settings: What :func:`read_settings` returned.
        on_sign_in: Called after each sign-in (before ``settings.on_sign_in``).
        on_sign_out: Called when a signed-in session ends (see :class:`AuthRoutes`).
        transport: For the providers and the IdP metadata (default: a
            :class:`~authkit.transport.RequestsTransport` for the metadata).
        clock: Current time in seconds.

    Raises:
        ConfigurationError: An ``SSO_SAML_IDPS`` entry is wrong, named in ``key``.
        ProviderError: A ``settings_url`` could not be fetched (``provider.unreachable``…).
        StoreError: The accounts database cannot be reached (``store.unavailable``) or holds
            tables of another authkit version.

    .. versionadded:: 0.1
    """
    idps = settings.saml_idp_configs(transport=transport or RequestsTransport())
    saml_settings = {name: idp.to_settings() for name, idp in idps.items()}
    state = _open_state_store(settings.state_store, clock)
    saml = [*settings.saml_idps]
    for name, idp in idps.items():
        saml.append(
            SAMLProvider(
                name=name,
                title=idp.title,
                description=idp.description,
                sp=ServiceProvider(saml_settings[name], replay_cache=StateStoreReplayCache(state)),
                settings=ProviderSettings(name=name, auto_confirm=idp.auto_confirm),
                mapping=idp.attribute_mapping or AttributeMapping.default(),
                groups=settings.groups.get(name),
            )
        )
    registry = ProviderRegistry(settings.providers)
    flow = AccountFlow(
        accounts=_open_accounts_store(settings.accounts_store),
        state=state,
        providers=[*registry, *(p.account_settings for p in saml)],
        cipher=TokenCipher(settings.token_keys or [TokenCipher.generate_key()]),
        signup=settings.signup,
        login_policies=list(settings.login_policies),
        clock=clock,
    )
    if on_sign_in and settings.on_sign_in:
        on_sign_in = _chain(on_sign_in, settings.on_sign_in)
    return AuthRoutes(
        public_url=settings.public_url,
        registry=registry,
        flow=flow,
        state=state,
        saml=saml,
        groups=settings.groups,
        allowed_hosts=settings.allowed_hosts,
        after_login=settings.after_login,
        mount=settings.mount,
        auto_redirect=settings.auto_redirect,
        on_sign_in=on_sign_in or settings.on_sign_in,
        on_sign_out=on_sign_out,
        transport=transport,
        clock=clock,
    )


def routes_from_settings(
    config: Mapping[str, Any],
    *,
    prefix: str = "AUTHKIT_",
    invenio: Mapping[str, Any] | None = None,
    on_sign_in: SignInHook | None = None,
    on_sign_out: SignOutHook | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> AuthRoutes:
    """:func:`read_settings` then :func:`build_routes` (see both for the arguments).

    Raises:
        ConfigurationError: A missing, unknown (typo) or invalid setting, named in ``key``.
        ProviderError: A ``settings_url`` could not be fetched.
        StoreError: The accounts database cannot be reached.
    """
    settings = read_settings(config, prefix=prefix, invenio=invenio)
    return build_routes(
        settings, on_sign_in=on_sign_in, on_sign_out=on_sign_out, transport=transport, clock=clock
    )


def _chain(first: SignInHook, second: SignInHook) -> SignInHook:
    def both(web_request: WebRequest, user: User) -> None:
        first(web_request, user)
        second(web_request, user)

    return both


def _open_accounts_store(value: AccountsStore | str | None) -> AccountsStore:
    if value is None:
        return MemoryAccountsStore()
    if not isinstance(value, str):
        return value
    from authkit.stores import SQLAccountsStore

    if value.startswith(_SQL_URLS):
        store = SQLAccountsStore(value)
    else:
        store = SQLAccountsStore.sqlite(value)
    try:
        store.create_schema()
    except BaseException:
        store.close()
        raise
    return store


def _open_state_store(value: StateStore | str | None, clock: Callable[[], float]) -> StateStore:
    if value is None:
        return MemoryStateStore(clock=clock)
    if not isinstance(value, str):
        return value
    from authkit.stores import RedisStateStore

    return RedisStateStore.from_url(value)
