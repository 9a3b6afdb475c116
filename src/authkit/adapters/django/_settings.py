"""The ``AUTHKIT`` setting: one dictionary in the Django settings, read into
:class:`AuthkitSettings`.

The keys are those of :func:`authkit.web.routes_from_settings` (without prefix; the mount point
is where the URLs are included), plus two for Django:

==========================  ========================================================================
``PUBLIC_URL``              required: the URL the Django project is served at
                            (``https://data.example.org``, with the script name when there is one);
                            callback URLs are built from it, never from the ``Host`` header
``PROVIDERS``               OAuth / OpenID providers: :class:`~authkit.config.RemoteApp` objects or
                            their :meth:`~authkit.config.RemoteApp.to_dict` dictionaries
``INVENIO_REMOTE_APPS``     providers in invenio-oauthclient's ``OAUTHCLIENT_REMOTE_APPS`` shape;
                            their ``params.app_key`` credentials are Django settings of that name
``SAML_IDPS``               SAML identity providers in invenio-saml's ``SSO_SAML_IDPS`` shape (or
                            :class:`~authkit.web.SAMLProvider` objects)
``ALLOWED_HOSTS``           hosts a ``next`` URL may point to besides the site's own
``AFTER_LOGIN``             where to go after signing in without ``next`` (default ``"/"``)
``AUTO_REDIRECT``           skip the sign-in page when exactly one provider is listed
``TOKEN_KEYS``              Fernet keys, newest first, encrypting provider tokens at rest
                            (:class:`~authkit.accounts.TokenCipher`); required with a persistent
                            accounts store
``ACCOUNTS_STORE``          an accounts store, or a URL: a SQLite file path or ``sqlite:///`` URL,
                            or a ``postgresql://`` URL (:class:`~authkit.stores.SQLAccountsStore`);
                            default: in memory
``STATE_STORE``             a state store, or a ``redis://`` / ``rediss://`` / ``unix://`` URL
                            (:class:`~authkit.stores.RedisStateStore`); default: in memory
``USER_MAPPING``            how an authkit account becomes a Django user: a callable or its dotted
                            path (default :func:`~authkit.adapters.django.default_user_mapping`)
``GROUPS``                  a :class:`~authkit.groups.GroupResolver` per provider name
``SIGNUP``                  the :class:`~authkit.accounts.SignupPolicy`
``LOGIN_POLICIES``          login policies, checked in order
``ON_SIGN_IN``              ``hook(web_request, user)`` or its import string, after each sign-in
==========================  ========================================================================

Reading checks every key and builds nothing (no store is opened, no metadata fetched), so the
system checks can read the settings of a site whose database is not there yet.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from authkit.accounts import SignupPolicy, TokenCipher
from authkit.adapters.django._auth import UserMapping, default_user_mapping
from authkit.config import RemoteApp, resolve_hook
from authkit.config import _validators as v
from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.groups import GroupResolver
from authkit.stores import MemoryAccountsStore
from authkit.web import SAMLProvider, SignInHook

__all__ = ["AuthkitSettings", "load_settings"]

_SQL_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _providers(value: Any) -> tuple[RemoteApp, ...]:
    if isinstance(value, RemoteApp | Mapping | str) or not isinstance(value, Sequence):
        raise InvalidSettingError(
            f"expected a list of RemoteApp, got {value!r}", key="AuthkitSettings.providers"
        )
    apps = []
    for index, app in enumerate(value):
        if not isinstance(app, RemoteApp | Mapping):
            raise InvalidSettingError(
                f"expected a RemoteApp or its dictionary, got {app!r}",
                key=f"AuthkitSettings.providers.{index}",
            )
        apps.append(app if isinstance(app, RemoteApp) else RemoteApp.from_dict(app))
    return tuple(apps)


def _strings(value: Any, field: str) -> tuple[str, ...]:
    """One string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence):
        raise InvalidSettingError(
            f"expected a list of strings, got {value!r}", key=f"AuthkitSettings.{field}"
        )
    return tuple(value)


def _token_keys(value: Any) -> tuple[str, ...]:
    return _strings(value, "token_keys")


def _hosts(value: Any) -> tuple[str, ...]:
    return _strings(value, "allowed_hosts")


def _store(schemes: tuple[str, ...], paths: bool, method: str) -> v.Validator:
    """A store object (with ``method``), or a URL with one of ``schemes`` (or a file path)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None or callable(getattr(value, method, None)):
            return
        if paths and isinstance(value, os.PathLike):
            return
        if isinstance(value, str):
            scheme, sep, _ = value.partition("://")
            known = scheme in schemes or (paths and scheme.startswith("postgresql+"))
            if (sep and known) or (paths and not sep and value.strip()):
                return
        expected = " or ".join(f"{s}://" for s in schemes[:2]) + (" or a file path" * paths)
        raise InvalidSettingError(
            f"expected a store or a {expected} URL, got {value!r}",
            key=f"AuthkitSettings.{attribute.name}",
        )

    return check


def _saml_idps(value: Any) -> Mapping[str, Any] | tuple[SAMLProvider, ...]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, Sequence) and all(isinstance(p, SAMLProvider) for p in value):
        return tuple(value)
    raise InvalidSettingError(
        f"expected invenio-saml's SSO_SAML_IDPS dictionary or SAMLProvider objects, got {value!r}",
        key="AuthkitSettings.saml_idps",
    )


def _policies(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise InvalidSettingError(
            f"expected a list of login policies, got {value!r}",
            key="AuthkitSettings.login_policies",
        )
    return tuple(value)


def _resolve(ref: Any, key: str) -> Callable[..., Any]:
    """A callable, or its import string: Django's ``package.module.attr`` spelling as well as
    ``package.module:attr``."""
    if isinstance(ref, str) and ":" not in ref and "." in ref:
        module, _, attr = ref.rpartition(".")
        ref = f"{module}:{attr}"
    return resolve_hook(ref, key=key)


def _hook(ref: Any) -> SignInHook | None:
    return None if ref is None else _resolve(ref, "ON_SIGN_IN")


def _user_mapping(ref: Any) -> UserMapping:
    return _resolve(ref, "USER_MAPPING")


@attrs.frozen(kw_only=True)
class AuthkitSettings:
    """The ``AUTHKIT`` dictionary, checked (see the module documentation for each key).

    Args:
        public_url: ``PUBLIC_URL``.
        token_keys: ``TOKEN_KEYS``.
        providers: ``PROVIDERS``.
        invenio_remote_apps: ``INVENIO_REMOTE_APPS``.
        saml_idps: ``SAML_IDPS``.
        allowed_hosts: ``ALLOWED_HOSTS``.
        after_login: ``AFTER_LOGIN``.
        auto_redirect: ``AUTO_REDIRECT``.
        accounts_store: ``ACCOUNTS_STORE`` (``None``: in memory).
        state_store: ``STATE_STORE`` (``None``: in memory).
        user_mapping: ``USER_MAPPING``, resolved to the callable.
        groups: ``GROUPS``.
        signup: ``SIGNUP``.
        login_policies: ``LOGIN_POLICIES``.
        on_sign_in: ``ON_SIGN_IN``, resolved to the callable.

    Raises:
        ConfigurationError: A value of the wrong type or shape, naming the key.

    .. versionadded:: 0.1
    """

    public_url: str = attrs.field(validator=v.url)
    token_keys: tuple[str, ...] = attrs.field(
        default=(), converter=_token_keys, validator=v.str_tuple
    )
    providers: tuple[RemoteApp, ...] = attrs.field(default=(), converter=_providers)
    invenio_remote_apps: Mapping[str, Any] = attrs.field(factory=dict, validator=v.is_mapping)
    saml_idps: Mapping[str, Any] | tuple[SAMLProvider, ...] = attrs.field(
        factory=dict, converter=_saml_idps
    )
    allowed_hosts: tuple[str, ...] = attrs.field(
        default=(), converter=_hosts, validator=v.str_tuple
    )
    after_login: str = attrs.field(default="/", validator=v.is_str)
    auto_redirect: bool = attrs.field(default=False, validator=v.is_bool)
    accounts_store: Any = attrs.field(
        default=None, validator=_store(_SQL_SCHEMES, True, "transaction")
    )
    state_store: Any = attrs.field(default=None, validator=_store(_REDIS_SCHEMES, False, "take"))
    user_mapping: UserMapping = attrs.field(default=default_user_mapping, converter=_user_mapping)
    groups: Mapping[str, GroupResolver] = attrs.field(factory=dict, validator=v.is_mapping)
    signup: SignupPolicy | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(SignupPolicy)),
    )
    login_policies: tuple[Any, ...] = attrs.field(default=(), converter=_policies)
    on_sign_in: SignInHook | None = attrs.field(default=None, converter=_hook)

    def __attrs_post_init__(self) -> None:
        if self.token_keys:
            TokenCipher(self.token_keys)  # refuses a malformed key now, not at sign-in
        elif self.accounts_store is not None and not isinstance(
            self.accounts_store, MemoryAccountsStore
        ):
            raise MissingSettingError(
                "a persistent accounts store needs keys to encrypt provider tokens",
                key="AuthkitSettings.token_keys",
                hint="add TokenCipher.generate_key() values, newest first",
            )
        for name, resolver in self.groups.items():
            if not isinstance(resolver, GroupResolver):
                raise InvalidSettingError(
                    f"expected a GroupResolver, got {resolver!r}", key=f"GROUPS.{name}"
                )


def load_settings(values: Any) -> AuthkitSettings:
    """Read the ``AUTHKIT`` dictionary.

    Raises:
        ConfigurationError: An unknown key (with the likely intended one), a missing required
            key or a bad value; its ``key`` names the setting (``AUTHKIT['PUBLIC_URL']``).

    .. versionadded:: 0.1
    """
    if not isinstance(values, Mapping):
        raise InvalidSettingError(
            f"expected a dictionary, got {type(values).__name__}", key="AUTHKIT"
        )
    fields = {f.name.upper(): f.name for f in attrs.fields(AuthkitSettings)}
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            raise UnknownSettingError(
                f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                key=f"AUTHKIT[{key!r}]",
                hint="known keys: " + ", ".join(sorted(fields)),
            )
    if "PUBLIC_URL" not in values:
        raise MissingSettingError("is required", key="AUTHKIT['PUBLIC_URL']")
    try:
        return AuthkitSettings(**{fields[k]: value for k, value in values.items()})
    except ConfigurationError as exc:
        raise _rekeyed(exc) from exc
    except TypeError as exc:  # a converter met a value it cannot iterate
        raise InvalidSettingError(str(exc), key="AUTHKIT") from exc


def _rekeyed(exc: ConfigurationError) -> ConfigurationError:
    """The same error, keyed by the ``AUTHKIT`` entry a person wrote rather than the field."""
    key = exc.key or ""
    owner, _, rest = key.partition(".")
    if owner == "AuthkitSettings":
        name = rest
    elif owner == "TokenCipher":
        name = "token_keys"
    elif owner in ("USER_MAPPING", "GROUPS", "ON_SIGN_IN"):
        name = owner.lower() + key[len(owner) :]
    else:
        return exc  # a RemoteApp's own key is precise already
    field, _, below = name.partition(".")
    below = f"[{below}]" if below.isdigit() else f".{below}" if below else ""
    new_key = f"AUTHKIT[{field.upper()!r}]{below}"
    message = exc.message[len(key) + 2 :] if exc.message.startswith(f"{key}: ") else exc.message
    return type(exc)(message, key=new_key, code=exc.code, hint=exc.hint)
