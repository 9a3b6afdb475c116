"""Opal identity-provider definitions, read into and written from :class:`RemoteApp`.

Opal (OBiBa) describes each OpenID Connect identity provider with an ``IDProviderDto``: the JSON
its REST API returns for ``/system/idprovider/<name>`` and its administration form edits
(``opal-web-model``'s ``Opal.proto``; the form is ``IDProviderView`` in ``opal-gwt-client``)::

    {"name": "keycloak", "enabled": true, "clientId": "opal", "secret": "…",
     "discoveryURI": "https://kc.example.org/realms/x/.well-known/openid-configuration",
     "label": "Keycloak", "providerUrl": "https://kc.example.org/realms/x/account",
     "scope": "openid", "useNonce": true, "connectTimeout": 500, "readTimeout": 500,
     "groups": "opal-users", "groupsClaim": "groups", "usernameClaim": "email",
     "callbackURL": "https://opal.example.org/auth/callback/"}

:func:`from_opal` turns one such definition into a :class:`RemoteApp` and :func:`to_opal` turns it
back. The two round-trip exactly: Opal spellings that authkit's model normalises away (an empty
``label``, ``groups`` written with commas, an absent ``groupsClaim``…) are remembered in
``extra["opal"]["verbatim"]`` and written back as long as they still mean what the model says.

Opal's groups script (``groupsScript``; ``groupsJS`` inside Opal) is JavaScript that Opal runs on
the UserInfo. authkit never executes JavaScript: the script is kept verbatim in
``extra["opal"]["groupsJS"]`` for the round trip, :func:`from_opal` warns that it is not run, and
groups come from the claim and the static groups only. ``groups_expression`` (JMESPath) is never
derived from it: a script such as ``userInfo.groups`` is also valid JMESPath but means something
else there.
"""

from __future__ import annotations

import enum
import json
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from authkit.config._remote_app import PROVIDER_NAME_PATTERN, RemoteApp
from authkit.config._validators import check_url
from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.transport import Timeout

__all__ = ["from_opal", "to_opal"]


class _Absent(enum.Enum):
    ABSENT = enum.auto()


#: Stands for "the key is not in the definition" (JSON ``null`` reads the same).
ABSENT: Final = _Absent.ABSENT

#: What Opal uses when ``groupsClaim`` is absent or empty (obiba-oidc ``DEFAULT_GROUPS_CLAIM``).
OPAL_DEFAULT_GROUPS_CLAIM = "groups"

#: authkit's username claim when Opal's ``usernameClaim`` is absent or empty.
DEFAULT_USERNAME_CLAIM = "preferred_username"

#: Opal appends this to the public URL to make the callback URL it stores.
_CALLBACK_SUFFIX = "/auth/callback"

#: Keys of ``extra["opal"]`` that :func:`from_opal` writes.
_EXTRA_KEYS = ("groupsJS", "parameters", "useLogout", "verbatim")

#: Likely mistakes, with the Opal key meant.
_NEAR_MISSES = {
    "publicUrl": "Opal stores the public URL as 'callbackURL' (<public URL>/auth/callback/)",
    "publicURL": "Opal stores the public URL as 'callbackURL' (<public URL>/auth/callback/)",
    "groupsJS": "the REST/form field of the groups script is 'groupsScript'",
    "discoveryUri": "the key is spelled 'discoveryURI'",
    "discoveryUrl": "the key is spelled 'discoveryURI'",
    "clientSecret": "the key is 'secret'",
    "accountLoginUrl": "the account-login address is 'providerUrl'",
    "customParams": "this looks like Opal's stored OIDCConfiguration file; pass the IDProviderDto "
    "JSON of the REST API (/system/idprovider/<name>) instead",
}


def _fail(where: str, expected: str, raw: Any, *, hint: str | None = None) -> InvalidSettingError:
    shown = repr(raw)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidSettingError(f"expected {expected}, got {shown}", key=where, hint=hint)


# --- readers (Opal value -> model value) and writers (model value -> Opal value) ------------------

Reader = Callable[[Any, str], Any]
Writer = Callable[[Any, str], Any]


def _read_name(raw: Any, where: str) -> str:
    if raw is ABSENT:
        raise MissingSettingError("is required", key=where)
    if not isinstance(raw, str) or not re.fullmatch(PROVIDER_NAME_PATTERN, raw):
        raise _fail(where, "a name of letters, digits and _ . - (at most 64 characters)", raw)
    return raw


def _text(empty: str | None) -> tuple[Reader, Writer]:
    """A string; absent and ``""`` both read as ``empty``, which is written as absent."""

    def read(raw: Any, where: str) -> str | None:
        if raw is ABSENT:
            return empty
        if not isinstance(raw, str):
            raise _fail(where, "a string", raw)
        return raw or empty

    def write(value: Any, where: str) -> Any:
        return ABSENT if value == empty else value

    return read, write


def _url(*, required: bool) -> tuple[Reader, Writer]:
    def read(raw: Any, where: str) -> str | None:
        if raw is ABSENT or raw == "":
            if required:
                raise MissingSettingError("is required", key=where)
            return None
        expected = check_url(raw)
        if expected:
            raise _fail(where, expected, raw)
        result: str = raw
        return result

    def write(value: Any, where: str) -> Any:
        return ABSENT if value is None else value

    return read, write


def _read_scope(raw: Any, where: str) -> str:
    if raw is ABSENT:
        return "openid"  # Opal's default (OIDCConfiguration.scope)
    if not isinstance(raw, str):
        raise _fail(where, "a string of space-separated scopes", raw)
    return raw


def _write_always(value: Any, where: str) -> Any:
    return value


def _flag(default: bool) -> Reader:
    def read(raw: Any, where: str) -> bool:
        if raw is ABSENT:
            return default
        if not isinstance(raw, bool):
            raise _fail(where, "true or false", raw)
        return raw

    return read


def _read_timeout(default: float) -> Reader:
    def read(raw: Any, where: str) -> float:
        if raw is ABSENT:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise _fail(
                where,
                "a whole number of milliseconds greater than 0",
                raw,
                hint="Opal's 0 means 'no timeout', which authkit does not allow",
            )
        return raw / 1000

    return read


def _write_timeout(value: Any, where: str) -> int:
    millis: int = round(float(value) * 1000)
    if millis <= 0 or millis / 1000 != value:
        raise InvalidSettingError(
            f"Opal timeouts are whole milliseconds; {value!r} seconds is not",
            key=where,
            code="opal.not_representable",
        )
    return millis


def _read_groups(raw: Any, where: str) -> tuple[str, ...]:
    """Opal's static groups: a JSON array, a comma-separated or a space-separated list."""
    if raw is ABSENT:
        return ()
    if not isinstance(raw, str):
        raise _fail(where, "a string of group names separated by commas or spaces", raw)
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _fail(where, "a JSON array of group names", raw)
        names = [i.strip() for i in items]
    elif "," in text:
        names = [part.strip() for part in text.split(",")]
    else:
        names = text.split()
    return tuple(dict.fromkeys(n for n in names if n))


def _write_groups(value: Any, where: str) -> Any:
    if not value:
        return ABSENT
    if any(re.search(r"[\s,\[\]\"]", g) for g in value):
        return json.dumps(list(value))
    return " ".join(value)


def _read_groups_claim(raw: Any, where: str) -> str:
    if raw is ABSENT:
        return OPAL_DEFAULT_GROUPS_CLAIM
    if not isinstance(raw, str):
        raise _fail(where, "a claim name", raw)
    return raw or OPAL_DEFAULT_GROUPS_CLAIM


def _write_optional(value: Any, where: str) -> Any:
    return ABSENT if value is None else value


def _read_parameters(raw: Any, where: str) -> list[dict[str, str]] | None:
    if raw is ABSENT:
        return None
    if not isinstance(raw, list):
        raise _fail(where, 'a list of {"key": ..., "value": ...} objects', raw)
    result = []
    for index, item in enumerate(raw):
        if (
            not isinstance(item, Mapping)
            or set(item) != {"key", "value"}
            or not all(isinstance(v, str) for v in item.values())
        ):
            raise _fail(f"{where}[{index}]", 'an object {"key": "...", "value": "..."}', item)
        result.append({"key": item["key"], "value": item["value"]})
    return result


def _read_script(raw: Any, where: str) -> str | None:
    if raw is ABSENT:
        return None
    if not isinstance(raw, str):
        raise _fail(where, "the groups script as a string", raw)
    return raw or None


def _read_optional_flag(raw: Any, where: str) -> bool | None:
    if raw is ABSENT:
        return None
    if not isinstance(raw, bool):
        raise _fail(where, "true or false", raw)
    return raw


def _read_callback(raw: Any, where: str) -> str | None:
    """Opal's ``callbackURL`` is ``<public URL>/auth/callback/``; the model keeps the public URL."""
    if raw is ABSENT or raw == "":
        return None
    if not isinstance(raw, str):
        raise _fail(where, "an absolute http(s) URL", raw)
    public = raw.strip().rstrip("/")
    public = public.removesuffix(_CALLBACK_SUFFIX).rstrip("/")
    expected = check_url(public)
    if expected:
        raise _fail(where, expected, raw)
    return public


def _write_callback(value: Any, where: str) -> Any:
    if value is None:
        return ABSENT
    return f"{value.rstrip('/')}{_CALLBACK_SUFFIX}/"


# --- the field table ---------------------------------------------------------------------------


@attrs.frozen
class _Field:
    """One key of an ``IDProviderDto``: how to read it, write it and find it in a RemoteApp."""

    key: str
    read: Reader
    write: Writer
    get: Callable[[RemoteApp, Mapping[str, Any]], Any]


def _opal_label(app: RemoteApp, opal: Mapping[str, Any]) -> str:
    # Opal has one display string. A RemoteApp built elsewhere may only have a title.
    return app.label or (app.title if app.title != app.name else "")


_LABEL = _text("")
_CLIENT_ID = _text(None)
_SECRET = _text(None)
_USERNAME = _text(DEFAULT_USERNAME_CLAIM)
_PROVIDER_URL = _url(required=False)
_DISCOVERY = _url(required=True)
_DEFAULT_TIMEOUT = Timeout()

#: In the order of ``IDProviderDto``'s fields.
_FIELDS: tuple[_Field, ...] = (
    _Field("name", _read_name, _write_always, lambda a, o: a.name),
    _Field("label", *_LABEL, _opal_label),
    _Field("providerUrl", *_PROVIDER_URL, lambda a, o: a.account_url),
    _Field("clientId", *_CLIENT_ID, lambda a, o: a.client_id),
    _Field("secret", *_SECRET, lambda a, o: a.client_secret),
    _Field("discoveryURI", *_DISCOVERY, lambda a, o: a.discovery_url),
    _Field("scope", _read_scope, _write_always, lambda a, o: a.scope),
    _Field("useNonce", _flag(True), _write_always, lambda a, o: a.nonce),
    _Field(
        "connectTimeout",
        _read_timeout(_DEFAULT_TIMEOUT.connect),
        _write_timeout,
        lambda a, o: a.timeout.connect,
    ),
    _Field(
        "readTimeout",
        _read_timeout(_DEFAULT_TIMEOUT.read),
        _write_timeout,
        lambda a, o: a.timeout.read,
    ),
    _Field("groups", _read_groups, _write_groups, lambda a, o: a.static_groups),
    _Field("groupsClaim", _read_groups_claim, _write_optional, lambda a, o: a.groups_claim),
    _Field("parameters", _read_parameters, _write_optional, lambda a, o: o.get("parameters")),
    _Field("enabled", _flag(False), _write_always, lambda a, o: a.enabled),
    _Field("usernameClaim", *_USERNAME, lambda a, o: a.username_claim),
    _Field("groupsScript", _read_script, _write_optional, lambda a, o: o.get("groupsJS")),
    _Field("useLogout", _read_optional_flag, _write_optional, lambda a, o: o.get("useLogout")),
    _Field("callbackURL", _read_callback, _write_callback, lambda a, o: a.public_url),
)

_KNOWN = tuple(f.key for f in _FIELDS)


# --- public functions --------------------------------------------------------------------------


def from_opal(definition: Mapping[str, Any]) -> RemoteApp:
    """Build a :class:`RemoteApp` from an Opal identity-provider definition.

    The definition is Opal's ``IDProviderDto`` as JSON (see the module documentation and
    ``docs/opal.md`` for the field table). Timeouts are milliseconds in Opal and seconds in
    authkit. Opal providers are configured by discovery only, so the result has
    ``protocol="oidc"``, ``discovery_url`` set and no endpoints: they are filled in by OIDC
    discovery.

    Args:
        definition: One provider definition.

    Returns:
        The remote app. ``to_opal`` on it gives ``definition`` back.

    Raises:
        UnknownSettingError: A key Opal does not define (the error names it).
        MissingSettingError: ``name`` or ``discoveryURI`` is missing.
        InvalidSettingError: A value of the wrong type or shape: a bad URL, a timeout that is not
            a whole number of milliseconds greater than 0, a malformed ``groups`` array…

    Warns:
        UserWarning: The definition has a groups script; authkit does not run it.

    .. versionadded:: 0.1
    """
    if not isinstance(definition, Mapping):
        raise InvalidSettingError(
            f"expected an Opal identity-provider definition (a mapping), got "
            f"{type(definition).__name__}",
            key="IDProvider",
        )
    raw_name = definition.get("name")
    owner = f"IDProvider({raw_name!r})" if isinstance(raw_name, str) else "IDProvider"
    for key in definition:
        if key not in _KNOWN:
            raise UnknownSettingError(
                f"unknown setting {key!r}; Opal identity providers have: {', '.join(_KNOWN)}",
                key=f"{owner}.{key}",
                hint=_NEAR_MISSES.get(str(key)),
            )

    values: dict[str, Any] = {}
    verbatim: dict[str, Any] = {}
    for field in _FIELDS:
        raw = definition.get(field.key)
        raw = ABSENT if raw is None else raw
        where = "IDProvider.name" if field.key == "name" else f"{owner}.{field.key}"
        value = field.read(raw, where)
        values[field.key] = value
        if field.write(value, where) != raw:
            verbatim[field.key] = None if raw is ABSENT else raw

    opal: dict[str, Any] = {}
    if values["groupsScript"] is not None:
        opal["groupsJS"] = values["groupsScript"]
        warnings.warn(
            f"Opal provider {values['name']!r} has a groups script (JavaScript); authkit does not "
            "run it. Groups come from the groups claim and the static groups only; kept in "
            "extra['opal']['groupsJS'] for export.",
            UserWarning,
            stacklevel=2,
        )
    if values["parameters"] is not None:
        opal["parameters"] = values["parameters"]
    if values["useLogout"] is not None:
        opal["useLogout"] = values["useLogout"]
    if verbatim:
        opal["verbatim"] = verbatim

    name: str = values["name"]
    label: str = values["label"]
    return RemoteApp(
        name=name,
        title=label or name,
        label=label,
        account_url=values["providerUrl"],
        protocol="oidc",
        enabled=values["enabled"],
        public_url=values["callbackURL"],
        discovery_url=values["discoveryURI"],
        scope=values["scope"],
        client_id=values["clientId"],
        client_secret=values["secret"],
        timeout=Timeout(connect=values["connectTimeout"], read=values["readTimeout"]),
        nonce=values["useNonce"],
        username_claim=values["usernameClaim"],
        groups_claim=values["groupsClaim"],
        static_groups=values["groups"],
        extra={"opal": opal} if opal else {},
    )


def to_opal(app: RemoteApp, *, secrets: bool = True) -> dict[str, Any]:
    """Write a :class:`RemoteApp` as an Opal identity-provider definition (``IDProviderDto``).

    What Opal cannot express is left out: endpoints (Opal discovers them), hooks, precedence
    mask, signup options, PKCE, ``hidden`` and ``link_only``. A remote app with no groups claim
    is written without ``groupsClaim``, which Opal reads as the ``groups`` claim.

    Args:
        app: The remote app; it needs a ``discovery_url``.
        secrets: Include the client secret.

    Returns:
        A JSON-compatible dictionary; ``from_opal`` reads it back to ``app``.

    Raises:
        MissingSettingError: ``app`` has no ``discovery_url`` (code ``opal.discovery_required``).
        InvalidSettingError: ``app`` has a ``groups_expression`` (JMESPath; Opal only runs
            JavaScript) or a timeout that is not whole milliseconds (code
            ``opal.not_representable``), or a malformed ``extra["opal"]``.

    .. versionadded:: 0.1
    """
    where = f"RemoteApp({app.name!r})"
    if not app.discovery_url:
        raise MissingSettingError(
            "Opal configures identity providers by discovery URI only; it is not set",
            key=f"{where}.discovery_url",
            code="opal.discovery_required",
        )
    if app.groups_expression is not None:
        raise InvalidSettingError(
            "a JMESPath groups expression cannot be written to Opal, whose groups script is "
            "JavaScript",
            key=f"{where}.groups_expression",
            code="opal.not_representable",
            hint="remove groups_expression or translate it to a groups script by hand",
        )
    opal = _opal_extra(app, where)
    verbatim: Mapping[str, Any] = opal.get("verbatim", {})

    result: dict[str, Any] = {}
    for field in _FIELDS:
        if field.key == "secret" and not secrets:
            continue
        value = field.get(app, opal)
        raw = field.write(value, f"{where}.{field.key}")
        if field.key in verbatim:
            kept = ABSENT if verbatim[field.key] is None else verbatim[field.key]
            try:
                same = field.read(kept, f"{where}.extra.opal.verbatim.{field.key}") == value
            except ConfigurationError:
                same = False
            if same:  # Opal's own spelling, still meaning what the model says
                raw = kept
        if raw is not ABSENT:
            result[field.key] = raw
    return result


def _opal_extra(app: RemoteApp, where: str) -> Mapping[str, Any]:
    """``app.extra["opal"]``, checked: it may have been edited by hand."""
    opal = app.extra.get("opal", {})
    key = f"{where}.extra.opal"
    if not isinstance(opal, Mapping):
        raise _fail(key, "a mapping", opal)
    for name in opal:
        if name not in _EXTRA_KEYS:
            raise UnknownSettingError(
                f"unknown setting {name!r}; known: {', '.join(_EXTRA_KEYS)}", key=key
            )
    if "groupsJS" in opal and not isinstance(opal["groupsJS"], str):
        raise _fail(f"{key}.groupsJS", "the groups script as a string", opal["groupsJS"])
    if "parameters" in opal:
        _read_parameters(opal["parameters"], f"{key}.parameters")
    if "useLogout" in opal:
        _read_optional_flag(opal["useLogout"], f"{key}.useLogout")
    verbatim = opal.get("verbatim", {})
    if not isinstance(verbatim, Mapping):
        raise _fail(f"{key}.verbatim", "a mapping of Opal keys", verbatim)
    return opal
