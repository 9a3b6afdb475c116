"""The ``AUTHKIT`` setting: one dictionary in the Django settings, read by
:func:`authkit.web.read_settings` into :class:`AuthkitSettings`.

Its keys are authkit's settings (:data:`authkit.web.SETTING_NAMES`) without prefix — but not
``MOUNT``: the routes are served where the URLs are included — and, for Django:

- ``SAML_IDPS`` may also be invenio-saml's ``SSO_SAML_IDPS`` dictionary;
- ``INVENIO_REMOTE_APPS``: providers in invenio-oauthclient's ``OAUTHCLIENT_REMOTE_APPS`` shape,
  whose ``params.app_key`` credentials are Django settings of that name;
- ``USER_MAPPING``: how an authkit account becomes a Django user
  (:data:`~authkit.adapters.django.UserMapping`);
- ``ON_SIGN_IN`` and ``USER_MAPPING`` may name their callable Django's way,
  ``package.module.attr``, as well as ``package.module:attr``.

Invenio's own names at the top level of the Django settings are read too. Reading builds
nothing (no store is opened, no metadata fetched), so the system checks can read the settings
of a site whose database is not there yet.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import attrs
from django.conf import settings  # type: ignore[import-untyped,unused-ignore]

from authkit import web
from authkit.adapters.django._auth import UserMapping, default_user_mapping
from authkit.config import resolve_hook
from authkit.errors import ConfigurationError, InvalidSettingError, UnknownSettingError

__all__ = ["DJANGO_NAMES", "AuthkitSettings", "invenio_values", "load_settings"]

#: The keys of the ``AUTHKIT`` dictionary besides authkit's own settings.
DJANGO_NAMES = ("INVENIO_REMOTE_APPS", "USER_MAPPING")
_KNOWN = (*(name for name in web.SETTING_NAMES if name != "MOUNT"), *DJANGO_NAMES)
_HOOKS = ("ON_SIGN_IN", "USER_MAPPING")


def _colon(ref: Any) -> Any:
    """``package.module.attr`` (Django's spelling) as ``package.module:attr``."""
    if isinstance(ref, str) and ":" not in ref and "." in ref:
        module, _, attr = ref.rpartition(".")
        return f"{module}:{attr}"
    return ref


def _user_mapping(ref: Any) -> UserMapping:
    return resolve_hook(ref, key="USER_MAPPING")


@attrs.frozen(kw_only=True)
class AuthkitSettings(web.AuthkitSettings):
    """The ``AUTHKIT`` dictionary, checked: authkit's settings
    (:class:`authkit.web.AuthkitSettings`) and the user mapping.

    Args:
        user_mapping: ``USER_MAPPING``, resolved to the callable.

    .. versionadded:: 0.1
    """

    user_mapping: UserMapping = attrs.field(default=default_user_mapping, converter=_user_mapping)


def invenio_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Where Invenio's keys are read: the Django settings (but ``AUTHKIT``), with the ``AUTHKIT``
    dictionary's ``INVENIO_REMOTE_APPS`` and ``SSO_SAML_IDPS``-shaped ``SAML_IDPS`` under their
    Invenio names."""
    found = {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
    found.pop("AUTHKIT", None)
    if values.get("INVENIO_REMOTE_APPS"):
        found["OAUTHCLIENT_REMOTE_APPS"] = values["INVENIO_REMOTE_APPS"]
    if isinstance(values.get("SAML_IDPS"), Mapping) and values["SAML_IDPS"]:
        found["SSO_SAML_IDPS"] = values["SAML_IDPS"]
    return found


def load_settings(values: Any, *, invenio: Mapping[str, Any] | None = None) -> AuthkitSettings:
    """Read the ``AUTHKIT`` dictionary with :func:`authkit.web.read_settings`: checked, nothing
    opened or fetched. Its keys are authkit's settings without prefix (not ``MOUNT``), plus
    ``INVENIO_REMOTE_APPS`` and ``USER_MAPPING``; ``SAML_IDPS`` may be ``SSO_SAML_IDPS``-shaped.

    Args:
        values: The dictionary.
        invenio: Where Invenio's keys are read (default: :func:`invenio_values`).

    Raises:
        ConfigurationError: An unknown key (with the likely intended one), a missing required
            key or a bad value; its ``key`` names the setting (``AUTHKIT['PUBLIC_URL']``).

    .. versionadded:: 0.1
    """
    if not isinstance(values, Mapping):
        raise InvalidSettingError(
            f"expected a dictionary, got {type(values).__name__}", key="AUTHKIT"
        )
    if "MOUNT" in values:
        raise UnknownSettingError(
            "the routes are served where authkit.adapters.django.urls is included",
            key="AUTHKIT['MOUNT']",
        )
    own = {
        key: _colon(value) if key in _HOOKS else value
        for key, value in values.items()
        if not (key == "SAML_IDPS" and isinstance(value, Mapping))
    }
    try:
        common = web.read_settings(
            own,
            prefix="",
            invenio=invenio_values(values) if invenio is None else invenio,
            extra_names=DJANGO_NAMES,
        )
        mapping = common.extra.get("USER_MAPPING")
        return AuthkitSettings(
            **attrs.asdict(common, recurse=False),
            user_mapping=default_user_mapping if mapping is None else mapping,
        )
    except ConfigurationError as exc:
        raise _rekeyed(exc) from exc


def _rekeyed(exc: ConfigurationError) -> ConfigurationError:
    """The same error, keyed by the ``AUTHKIT`` entry a person wrote (``AUTHKIT['GROUPS'].x``)."""
    key = exc.key or ""
    name = re.split(r"[.\[]", key, maxsplit=1)[0]
    unknown = isinstance(exc, UnknownSettingError) and name == key
    if name not in _KNOWN and not unknown:
        return exc  # a RemoteApp's or another Django setting's key is precise already
    message, hint = exc.message.removeprefix(f"{key}: "), exc.hint
    if unknown:
        close = difflib.get_close_matches(name, _KNOWN, n=1)
        message = f"unknown key {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        hint = "known keys: " + ", ".join(sorted(_KNOWN))
    return type(exc)(message, key=f"AUTHKIT[{name!r}]{key[len(name) :]}", code=exc.code, hint=hint)
