"""Building the routes from settings: the one place every adapter's configuration is read.

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
``TOKEN_KEYS``       Fernet keys of the :class:`~authkit.accounts.TokenCipher`
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
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from authkit.accounts import AccountFlow, ProviderSettings, SignupPolicy, TokenCipher
from authkit.config import ProviderRegistry, RemoteApp, load_invenio_remote_apps, resolve_hook
from authkit.errors import InvalidSettingError, MissingSettingError, UnknownSettingError
from authkit.groups import GroupResolver
from authkit.saml import (
    AttributeMapping,
    ServiceProvider,
    StateStoreReplayCache,
    load_sso_saml_idps,
)
from authkit.stores import AccountsStore, MemoryAccountsStore, MemoryStateStore, StateStore, User
from authkit.transport import RequestsTransport, Transport
from authkit.web._http import WebRequest
from authkit.web._routes import AuthRoutes, SAMLProvider, SignInHook

__all__ = ["SETTING_NAMES", "routes_from_settings"]

#: The names of authkit's settings (with the adapter's prefix, if any).
SETTING_NAMES = (
    "PUBLIC_URL", "PROVIDERS", "SAML_IDPS", "ALLOWED_HOSTS", "MOUNT", "AFTER_LOGIN",
    "AUTO_REDIRECT", "TOKEN_KEYS", "ACCOUNTS_STORE", "STATE_STORE", "GROUPS", "SIGNUP",
    "LOGIN_POLICIES", "ON_SIGN_IN",
)  # fmt: skip


def routes_from_settings(
    config: Mapping[str, Any],
    *,
    prefix: str = "AUTHKIT_",
    invenio: Mapping[str, Any] | None = None,
    on_sign_in: SignInHook | None = None,
    transport: Transport | None = None,
    clock: Callable[[], float] = time.time,
) -> AuthRoutes:
    """Build the :class:`AuthRoutes` a settings mapping describes (see the module).

    Args:
        config: The settings: ``AUTHKIT_*`` keys in a Flask config, or the keys without prefix
            in Django's ``AUTHKIT`` dict.
        prefix: The prefix of authkit's keys in ``config`` (``""`` for a dict of its own, where
            every key must be one of :data:`SETTING_NAMES`).
        invenio: Where Invenio's keys (``OAUTHCLIENT_REMOTE_APPS`` with credentials,
            ``SSO_SAML_IDPS``, ``SITE_UI_URL``, ``APP_ALLOWED_HOSTS``,
            ``OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN``) are read; ``config`` by default.
        on_sign_in: Called after each sign-in (before ``ON_SIGN_IN`` from the settings).
        transport: For the providers.
        clock: Current time in seconds.

    Raises:
        ConfigurationError: A missing, unknown (typo) or invalid setting, named in ``key``.
    """
    names = tuple(prefix + name for name in SETTING_NAMES)
    for key in config:
        if (key.startswith(prefix) if prefix else True) and key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            raise UnknownSettingError(
                "unknown setting", key=key, hint=f"did you mean {close[0]}?" if close else None
            )
    invenio = config if invenio is None else invenio

    def k(name: str) -> str:
        return prefix + name

    public_url = _text(config, k("PUBLIC_URL"), invenio.get("SITE_UI_URL"))
    if not public_url.startswith(("http://", "https://")):
        raise InvalidSettingError(
            f"expected an absolute http(s) URL, got {public_url!r}", key=k("PUBLIC_URL")
        )
    mount = _text(config, k("MOUNT"), "")
    if mount and (not mount.startswith("/") or mount.endswith("/")):
        raise InvalidSettingError(
            f"expected '' or a path like '/auth' (no trailing '/'), got {mount!r}",
            key=k("MOUNT"),
        )
    state = _state_store(config.get(k("STATE_STORE")), clock, k("STATE_STORE"))
    accounts = _accounts_store(config.get(k("ACCOUNTS_STORE")), k("ACCOUNTS_STORE"))
    apps = [
        _remote_app(item, f"{k('PROVIDERS')}[{i}]")
        for i, item in enumerate(_list(config, k("PROVIDERS")))
    ]
    registry = ProviderRegistry([*apps, *load_invenio_remote_apps(invenio).values()])
    saml = [*_list(config, k("SAML_IDPS"))]
    if any(not isinstance(p, SAMLProvider) for p in saml):
        raise InvalidSettingError("expected SAMLProvider objects", key=k("SAML_IDPS"))
    groups = _typed(config, k("GROUPS"), Mapping) or {}
    if invenio.get("SSO_SAML_IDPS"):
        base = public_url.rstrip("/") + mount
        saml += _sso_saml_idps(invenio["SSO_SAML_IDPS"], base, state, groups, transport)
    keys = _list(config, k("TOKEN_KEYS"))
    if not keys and not isinstance(accounts, MemoryAccountsStore):
        raise MissingSettingError(
            "a persistent accounts store needs keys to encrypt provider tokens",
            key=k("TOKEN_KEYS"), hint="add TokenCipher.generate_key() values, newest first",
        )  # fmt: skip
    flow = AccountFlow(
        accounts=accounts,
        state=state,
        providers=[*registry, *(p.account_settings for p in saml)],
        cipher=TokenCipher(keys or [TokenCipher.generate_key()]),
        signup=_typed(config, k("SIGNUP"), SignupPolicy),
        login_policies=_list(config, k("LOGIN_POLICIES")),
        clock=clock,
    )
    hook = config.get(k("ON_SIGN_IN"))
    if hook is not None:
        configured = resolve_hook(hook, key=k("ON_SIGN_IN"))
        on_sign_in = _chain(on_sign_in, configured) if on_sign_in else configured
    auto = config.get(k("AUTO_REDIRECT"))
    if auto is None:
        auto = invenio.get("OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN", False)
    if not isinstance(auto, bool):
        raise InvalidSettingError(f"expected true or false, got {auto!r}", key=k("AUTO_REDIRECT"))
    hosts = config.get(k("ALLOWED_HOSTS"), invenio.get("APP_ALLOWED_HOSTS")) or ()
    if isinstance(hosts, str) or not all(isinstance(h, str) for h in hosts):
        raise InvalidSettingError(
            f"expected a list of host names, got {hosts!r}", key=k("ALLOWED_HOSTS")
        )
    return AuthRoutes(
        public_url=public_url,
        registry=registry,
        flow=flow,
        state=state,
        saml=saml,
        groups=groups,
        allowed_hosts=tuple(hosts),
        after_login=_text(config, k("AFTER_LOGIN"), "/"),
        mount=mount,
        auto_redirect=auto,
        on_sign_in=on_sign_in,
        transport=transport,
        clock=clock,
    )


def _chain(first: SignInHook, second: SignInHook) -> SignInHook:
    def both(web_request: WebRequest, user: User) -> None:
        first(web_request, user)
        second(web_request, user)

    return both


def _text(config: Mapping[str, Any], key: str, default: str | None) -> str:
    value = config.get(key, default)
    if value is None:
        raise MissingSettingError("not set", key=key)
    if not isinstance(value, str):
        raise InvalidSettingError(f"expected a string, got {value!r}", key=key)
    return value


def _list(config: Mapping[str, Any], key: str) -> list[Any]:
    value = config.get(key) or ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidSettingError(f"expected a list, got {value!r}", key=key)
    return list(value)


def _typed(config: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = config.get(key)
    if value is not None and not isinstance(value, kind):
        raise InvalidSettingError(f"expected a {kind.__name__}, got {value!r}", key=key)
    return value


def _remote_app(item: Any, key: str) -> RemoteApp:
    if isinstance(item, RemoteApp):
        return item
    if isinstance(item, Mapping):
        return RemoteApp.from_dict(item)
    raise InvalidSettingError(f"expected a RemoteApp or its dict, got {item!r}", key=key)


def _accounts_store(value: Any, key: str) -> AccountsStore:
    if value is None:
        return MemoryAccountsStore()
    if not isinstance(value, str | os.PathLike):
        if not isinstance(value, AccountsStore):
            raise InvalidSettingError(
                f"expected an accounts store or a database URL, got {value!r}",
                key=key,
            )
        return value
    from authkit.stores import SQLAccountsStore

    target = os.fspath(value)
    if target.startswith(("sqlite:", "postgresql:", "postgresql+")):
        return SQLAccountsStore(target)
    if "://" in target:
        raise InvalidSettingError(
            f"expected a SQLite file path, sqlite:///… or postgresql://…, got {target!r}",
            key=key,
        )
    return SQLAccountsStore.sqlite(target)


def _state_store(value: Any, clock: Callable[[], float], key: str) -> StateStore:
    if value is None:
        return MemoryStateStore(clock=clock)
    if isinstance(value, str) and value.startswith(("redis://", "rediss://", "unix://")):
        from authkit.stores import RedisStateStore

        return RedisStateStore.from_url(value)
    if isinstance(value, str) or not isinstance(value, StateStore):
        raise InvalidSettingError(
            f"expected a state store or a redis:// URL, got {value!r}", key=key
        )
    return value


def _sso_saml_idps(
    idps: Mapping[str, Any],
    base: str,
    state: StateStore,
    groups: Mapping[str, GroupResolver],
    transport: Transport | None,
) -> list[SAMLProvider]:
    """invenio-saml's ``SSO_SAML_IDPS``, each IdP's SP URLs defaulting to authkit's routes and
    its groups resolved by the ``GROUPS`` setting."""
    providers = []
    configs = load_sso_saml_idps(idps, transport=transport or RequestsTransport())
    for name, idp in configs.items():
        settings = dict(idp.settings)
        sp = dict(settings.get("sp") or {})
        sp.setdefault("entityId", f"{base}/saml/metadata/{name}/")
        sp.setdefault("assertionConsumerService", {"url": f"{base}/saml/acs/{name}/"})
        sp.setdefault("singleLogoutService", {"url": f"{base}/saml/sls/{name}/"})
        idp = attrs.evolve(idp, settings={**settings, "sp": sp})
        providers.append(
            SAMLProvider(
                name=name,
                title=idp.title,
                description=idp.description,
                sp=ServiceProvider(idp.to_settings(), replay_cache=StateStoreReplayCache(state)),
                settings=ProviderSettings(name=name, auto_confirm=idp.auto_confirm),
                mapping=idp.attribute_mapping or AttributeMapping.default(),
                groups=groups.get(name),
            )
        )
    return providers
