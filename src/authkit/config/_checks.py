"""Local sign-in configuration checks: the combinations the InvenioRDM documentation warns about.

An Invenio site configures local sign-in (``ACCOUNTS_LOCAL_LOGIN_ENABLED`` and Flask-Security's
``SECURITY_*`` switches), its secrets and salts, the session lifetime, the external providers
(``OAUTHCLIENT_REMOTE_APPS`` with their ``<APP_KEY>`` credentials) and the automatic redirect to
a sole provider. Each is a separate setting, and many combinations are accepted silently although
they do not do what the site meant: registration left open while local login is off, a salt left
at ``"CHANGE_ME"``, an auto-redirect that never happens because two providers are listed.

:func:`check_config` reads such a configuration (a mapping with Invenio's setting names) and
returns :class:`Finding` values, each with a severity, a stable ``code``, the setting concerned
and the fix. It never raises for a configuration that can be read, however wrong: a wrong value
is a finding. :func:`should_auto_redirect` is the run-time decision Invenio's
``auto_redirect_login`` view makes, with the reason.

Defaults are Invenio's: a setting that is absent has the value invenio-accounts /
invenio-oauthclient give it (local login, registration, recovery, password change and
confirmation on; auto-redirect off).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any, Final, Literal

import attrs

from authkit.config import _validators as v
from authkit.config._invenio import load_invenio_remote_apps
from authkit.config._registry import ProviderRegistry
from authkit.config._remote_app import RemoteApp
from authkit.errors import ConfigurationError, InvalidSettingError, MissingCredentialsError

__all__ = [
    "SEVERITIES",
    "AutoRedirectDecision",
    "Finding",
    "RemoteAppsReport",
    "Severity",
    "check_config",
    "is_placeholder",
    "load_remote_apps",
    "should_auto_redirect",
]

Severity = Literal["error", "warning", "info"]

#: Severities, most serious first.
SEVERITIES: Final = ("error", "warning", "info")

_CODE = r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+"

LOCAL_LOGIN: Final = "ACCOUNTS_LOCAL_LOGIN_ENABLED"
AUTO_REDIRECT: Final = "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN"
REMOTE_APPS: Final = "OAUTHCLIENT_REMOTE_APPS"
REST_REMOTE_APPS: Final = "OAUTHCLIENT_REST_REMOTE_APPS"
LOGIN_VIEW: Final = "ACCOUNTS_LOGIN_VIEW_FUNCTION"
SESSION_LIFETIME: Final = "PERMANENT_SESSION_LIFETIME"

#: Boolean settings and the value Invenio gives them when they are absent.
_FLAGS: Final[Mapping[str, bool]] = {
    LOCAL_LOGIN: True,
    "SECURITY_REGISTERABLE": True,
    "SECURITY_RECOVERABLE": True,
    "SECURITY_CHANGEABLE": True,
    "SECURITY_CONFIRMABLE": True,
    "SECURITY_LOGIN_WITHOUT_CONFIRMATION": True,
    AUTO_REDIRECT: False,
    "SESSION_COOKIE_SECURE": True,
    "ACCOUNTS_SESSION_ACTIVITY_ENABLED": True,
    "USERPROFILES_READ_ONLY": False,
}

PASSWORD_SALT: Final = "SECURITY_PASSWORD_SALT"
#: Salts that separate the purposes of Flask-Security's signed tokens.
TOKEN_SALTS: Final = (
    "SECURITY_CONFIRM_SALT",
    "SECURITY_RESET_SALT",
    "SECURITY_LOGIN_SALT",
    "SECURITY_CHANGE_SALT",
    "SECURITY_REMEMBER_SALT",
)

#: Shortest SECRET_KEY accepted without a warning (characters or bytes).
MIN_SECRET_KEY_LENGTH: Final = 32
#: Shortest salt accepted without a warning.
MIN_SALT_LENGTH: Final = 16
#: Session lifetimes outside this range get a warning.
MIN_SESSION_LIFETIME: Final = timedelta(minutes=5)
MAX_SESSION_LIFETIME: Final = timedelta(days=31)

# Values that mean "nobody chose a secret": template placeholders, invenio-app-rdm's and the
# cookiecutter's defaults, Flask-Security's built-in salts. Compared lower-case, letters and
# digits only, so "CHANGE_ME", "change-me" and "..put a long random value here.." all match.
_PLACEHOLDERS: Final = frozenset(
    {
        "",
        "changeme",
        "changemealso",
        "changethis",
        "changeit",
        "secret",
        "secretkey",
        "mysecret",
        "supersecret",
        "notsecret",
        "notasecret",
        "insecure",
        "putalongrandomvaluehere",
        "todo",
        "fixme",
        "default",
        "password",
        "salt",
        "test",
        "testing",
        "dev",
        "development",
        "example",
        "confirmsalt",
        "resetsalt",
        "loginsalt",
        "changesalt",
        "removesalt",
        "remembersalt",
        "passwordsalt",
    }
)
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")


def is_placeholder(value: str | bytes) -> bool:
    """Whether ``value`` is a template placeholder rather than a chosen secret.

    ``"CHANGE_ME"``, ``"changeme"``, ``"<my-secret>"``, ``"xxxx"``, ``"..put a long random value
    here.."`` (the InvenioRDM documentation's own text) and Flask-Security's built-in salts such as
    ``"reset-salt"`` are placeholders.
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == "<" and stripped[-1] == ">":
        return True
    norm = re.sub(r"[^a-z0-9]", "", stripped.lower())
    return (
        norm in _PLACEHOLDERS
        or norm.startswith("changeme")
        or norm.startswith("putalong")
        or (len(set(norm)) == 1 and norm[0] in "x0")
    )


@attrs.frozen(kw_only=True)
class Finding:
    """One thing :func:`check_config` (or the file loader) found in a configuration.

    Args:
        severity: ``"error"`` (the site is insecure or sign-in does not work as configured),
            ``"warning"`` (probably not what was meant) or ``"info"`` (worth knowing).
        code: Stable, dotted identifier (``"local_login.registration_without_local_login"``);
            safe to branch on and to silence by.
        message: What is wrong, for a person.
        fix: What to change.
        key: The setting concerned (several, comma-separated, when the finding is about their
            combination).
        line: Line in the configuration file, when the finding comes from reading a file.

    .. versionadded:: 0.1
    """

    severity: Severity = attrs.field(validator=v.one_of(SEVERITIES))
    code: str = attrs.field(validator=v.matches(_CODE, "a dotted lower-case code"))
    message: str = attrs.field(validator=v.is_str)
    fix: str = attrs.field(default="", validator=v.is_str)
    key: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    line: int | None = attrs.field(default=None, validator=v.optional(v.positive))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the ``--format json`` output of ``authkit check-config``)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
            "key": self.key,
            "line": self.line,
        }

    def __str__(self) -> str:
        where = f" [{self.key}]" if self.key else ""
        return f"{self.severity}: {self.code}{where}: {self.message}"


@attrs.frozen(kw_only=True)
class AutoRedirectDecision:
    """Whether the login page should send the person straight to a provider, and why.

    Args:
        redirect: Skip the login page.
        provider: Name of the provider to redirect to (``None`` unless ``redirect``).
        reason: Why, for a person (logs, ``authkit check-config``).
        code: Stable identifier of the reason: ``auto_redirect.sole_provider`` when redirecting;
            otherwise ``auto_redirect.disabled``, ``auto_redirect.local_login_enabled``,
            ``auto_redirect.no_provider`` or ``auto_redirect.several_providers``.

    .. versionadded:: 0.1
    """

    redirect: bool = attrs.field(validator=v.is_bool)
    provider: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    reason: str = attrs.field(validator=v.is_str)
    code: str = attrs.field(validator=v.matches(_CODE, "a dotted lower-case code"))


@attrs.frozen(kw_only=True)
class RemoteAppsReport:
    """The remote apps of a configuration as far as they load, and why the others did not.

    Args:
        configured: Names in ``OAUTHCLIENT_REMOTE_APPS``, in order.
        apps: The apps that loaded, by name.
        registry: A registry holding ``apps``.
        findings: Why some did not load, or loaded with placeholder credentials.
    """

    configured: tuple[str, ...]
    apps: Mapping[str, RemoteApp]
    registry: ProviderRegistry
    findings: tuple[Finding, ...]

    def visible(self, public_url: str | None) -> list[RemoteApp]:
        """The apps a login page at ``public_url`` lists, without running ``hide_when`` hooks.

        Checking a configuration must not import and run the site's code, so an app with a
        ``hide_when`` hook counts as listed. Without ``public_url``, the apps' own
        ``public_url`` filters are not applied.

        Raises:
            InvalidSettingError: ``public_url`` (or an app's) is not an absolute http(s) URL.
        """
        static = ProviderRegistry(app.evolve(hide_when=None) for app in self.registry)
        return _listed(static, public_url)


# --- reading settings ---------------------------------------------------------------------------


class _Unknown(Exception):
    """A check needs a setting whose value is unknown (not evaluated, or of the wrong type)."""


_ABSENT: Final = object()


class _Settings:
    """The configuration as the checks see it: Invenio defaults, and unknown values refused."""

    def __init__(self, values: Mapping[str, Any], unknown: Collection[str]) -> None:
        self.values = values
        self.unknown = frozenset(unknown)

    def has(self, key: str) -> bool:
        return key in self.values and key not in self.unknown

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.unknown:
            raise _Unknown(key)
        return self.values.get(key, default)

    def flag(self, key: str) -> bool:
        value = self.get(key, _FLAGS[key])
        if not isinstance(value, bool):
            raise _Unknown(key)  # reported once, by _check_flag_types
        return value


def _as_mapping(config: Any) -> Mapping[str, Any]:
    """A mapping of settings from a mapping, a loaded config module or a config class."""
    if isinstance(config, Mapping):
        return config
    if isinstance(config, types.ModuleType | type):
        return {name: getattr(config, name) for name in dir(config) if name.isupper()}
    raise InvalidSettingError(
        f"cannot read a configuration from {type(config).__name__}; expected a mapping of "
        "settings, a configuration module or a configuration class",
        code="config.unreadable",
    )


# --- the checks -----------------------------------------------------------------------------------


@attrs.define
class _Context:
    settings: _Settings
    public_url: str | None
    environ: Mapping[str, str] | None = None
    _remote: RemoteAppsReport | None = None

    def remote(self) -> RemoteAppsReport:
        if self._remote is None:
            self.settings.get(REMOTE_APPS)  # raises _Unknown when the apps are not known
            self._remote = load_remote_apps(
                self.settings.values, unknown=self.settings.unknown, environ=self.environ
            )
        return self._remote

    def visible(self) -> list[RemoteApp]:
        try:
            return self.remote().visible(self.public_url)
        except ConfigurationError as exc:  # reported by _check_public_url
            raise _Unknown(exc.key or "public_url") from exc


_Check = Callable[[_Context], Iterable[Finding]]


def _check_flag_types(ctx: _Context) -> Iterator[Finding]:
    for key in _FLAGS:
        if not ctx.settings.has(key):
            continue
        value = ctx.settings.values[key]
        if isinstance(value, bool):
            continue
        yield Finding(
            severity="error",
            code="config.invalid_type",
            message=(
                f"{key} is {value!r} ({type(value).__name__}), not True or False; Invenio reads "
                f"it by truthiness, so it counts as {bool(value)}"
            ),
            fix=f"write {key} = True or {key} = False (values read from the environment are "
            "strings: convert them)",
            key=key,
        )


def _local_account_feature(key: str, code: str, severity: Severity, effect: str) -> _Check:
    def check(ctx: _Context) -> Iterator[Finding]:
        s = ctx.settings
        if s.flag(LOCAL_LOGIN) or not s.flag(key):
            return
        default = "" if s.has(key) else " (Invenio's default when it is not set)"
        yield Finding(
            severity=severity,
            code=code,
            message=f"local login is disabled ({LOCAL_LOGIN} = False) but {key} is True"
            f"{default}: {effect}",
            fix=f"set {key} = False, as the InvenioRDM documentation recommends when local login "
            "is disabled",
            key=key,
        )

    return check


_check_registration = _local_account_feature(
    "SECURITY_REGISTERABLE",
    "local_login.registration_without_local_login",
    "error",
    "people can still register local accounts (and claim e-mail addresses) that cannot sign in",
)
_check_recovery = _local_account_feature(
    "SECURITY_RECOVERABLE",
    "local_login.recovery_without_local_login",
    "warning",
    "the 'forgot password' form keeps sending reset e-mails for accounts that cannot sign in "
    "with a password",
)
_check_password_change = _local_account_feature(
    "SECURITY_CHANGEABLE",
    "local_login.password_change_without_local_login",
    "warning",
    "people can still set local passwords that they cannot use",
)


def _check_confirmation(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    if s.flag("SECURITY_CONFIRMABLE"):
        return
    if s.flag(LOCAL_LOGIN) and s.flag("SECURITY_REGISTERABLE"):
        effect = "anyone can register a local account with an e-mail address they do not own"
    else:
        effect = (
            "e-mail addresses are never confirmed; the InvenioRDM documentation keeps it True "
            "even with external sign-in only, to know that users can be reached"
        )
    yield Finding(
        severity="warning",
        code="local_login.confirmation_disabled",
        message=f"SECURITY_CONFIRMABLE is False: {effect}",
        fix="set SECURITY_CONFIRMABLE = True",
        key="SECURITY_CONFIRMABLE",
    )


def _check_login_without_confirmation(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    key = "SECURITY_LOGIN_WITHOUT_CONFIRMATION"
    if not s.has(key) or not s.flag(key) or not s.flag("SECURITY_CONFIRMABLE"):
        return
    if not (s.flag(LOCAL_LOGIN) and s.flag("SECURITY_REGISTERABLE")):
        return
    yield Finding(
        severity="warning",
        code="local_login.login_without_confirmation",
        message=f"{key} is True: newly registered local accounts sign in before their e-mail "
        "address is confirmed, which makes SECURITY_CONFIRMABLE a formality",
        fix=f"set {key} = False",
        key=key,
    )


def _secret_problem(key: str, value: Any, *, min_length: int, what: str) -> Iterator[Finding]:
    if not isinstance(value, str | bytes):
        yield Finding(
            severity="error",
            code="config.invalid_type",
            message=f"{key} is a {type(value).__name__}, not a string",
            fix=f"set {key} to a long random string",
            key=key,
        )
    elif is_placeholder(value):
        yield Finding(
            severity="error",
            code="secrets.placeholder",
            message=f"{key} is left at the placeholder {_shown(value)}: {what}",
            fix=f"set {key} to a long random value, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))', and keep it out of "
            "version control",
            key=key,
        )
    elif len(value) < min_length:
        yield Finding(
            severity="warning",
            code="secrets.too_short",
            message=f"{key} is only {len(value)} characters long (at least {min_length} expected)",
            fix=f"set {key} to a random value of at least {min_length} characters",
            key=key,
        )


def _check_secret_key(ctx: _Context) -> Iterator[Finding]:
    value = ctx.settings.get("SECRET_KEY")
    if value is None or value in ("", b""):
        yield Finding(
            severity="error",
            code="secrets.secret_key_missing",
            message="SECRET_KEY is not set: sessions, CSRF tokens and every signed link depend "
            "on it",
            fix="set SECRET_KEY to a long random value",
            key="SECRET_KEY",
        )
        return
    yield from _secret_problem(
        "SECRET_KEY",
        value,
        min_length=MIN_SECRET_KEY_LENGTH,
        what="anyone who knows it can forge sessions and signed links",
    )


def _salt_check(key: str) -> _Check:
    def check(ctx: _Context) -> Iterator[Finding]:
        value = ctx.settings.get(key)
        if value is None:
            if key == PASSWORD_SALT:
                yield Finding(
                    severity="warning",
                    code="secrets.salt_missing",
                    message=f"{key} is not set, so Invenio uses SECRET_KEY in its place: "
                    "rotating SECRET_KEY would then invalidate every stored password",
                    fix=f"set {key} to its own long random value",
                    key=key,
                )
            else:
                yield Finding(
                    severity="info",
                    code="secrets.salt_default",
                    message=f"{key} is not set, so Flask-Security's built-in, public salt is used",
                    fix=f"set {key} to its own random value, as the InvenioRDM documentation "
                    "recommends",
                    key=key,
                )
            return
        yield from _secret_problem(
            key, value, min_length=MIN_SALT_LENGTH, what="salts must be chosen for this site"
        )

    return check


def _check_salt_reuse(ctx: _Context) -> Iterator[Finding]:
    by_value: dict[str | bytes, list[str]] = {}
    for key in TOKEN_SALTS:
        if not ctx.settings.has(key):
            continue
        value = ctx.settings.values[key]
        if isinstance(value, str | bytes) and value and not is_placeholder(value):
            by_value.setdefault(value, []).append(key)
    for keys in by_value.values():
        if len(keys) > 1:
            yield Finding(
                severity="error",
                code="secrets.salt_reused",
                message=f"{' and '.join(keys)} have the same value: a token signed for one "
                "purpose (say, confirming an e-mail address) is then accepted for another "
                "(resetting a password)",
                fix="give each SECURITY_*_SALT its own random value",
                key=", ".join(keys),
            )


def _check_session_lifetime(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    value = s.get(SESSION_LIFETIME, _ABSENT)
    if value is _ABSENT:
        if not s.flag(LOCAL_LOGIN):
            yield Finding(
                severity="info",
                code="session.lifetime_default",
                message=f"{SESSION_LIFETIME} is not set, so sessions last Flask's default of "
                "31 days, whatever the provider's own sessions last",
                fix=f"set {SESSION_LIFETIME} (e.g. timedelta(days=1)) to match the identity "
                "provider's session",
                key=SESSION_LIFETIME,
            )
        return
    if isinstance(value, timedelta):
        lifetime = value
    elif isinstance(value, int) and not isinstance(value, bool):
        lifetime = timedelta(seconds=value)
    else:
        yield Finding(
            severity="error",
            code="session.lifetime_invalid",
            message=f"{SESSION_LIFETIME} is {_shown(value)} ({type(value).__name__}); Flask "
            "expects a timedelta or a number of seconds",
            fix=f"write {SESSION_LIFETIME} = timedelta(days=1) (or a number of seconds)",
            key=SESSION_LIFETIME,
        )
        return
    if lifetime <= timedelta(0):
        yield Finding(
            severity="error",
            code="session.lifetime_invalid",
            message=f"{SESSION_LIFETIME} is {lifetime}, so every session is already expired",
            fix=f"set {SESSION_LIFETIME} to a positive duration such as timedelta(hours=8)",
            key=SESSION_LIFETIME,
        )
    elif lifetime < MIN_SESSION_LIFETIME:
        yield Finding(
            severity="warning",
            code="session.lifetime_too_short",
            message=f"{SESSION_LIFETIME} is {lifetime}: people are signed out while they work "
            "(and during a slow sign-in at the provider)",
            fix=f"set {SESSION_LIFETIME} to at least {MIN_SESSION_LIFETIME}",
            key=SESSION_LIFETIME,
        )
    elif lifetime > MAX_SESSION_LIFETIME:
        yield Finding(
            severity="warning",
            code="session.lifetime_too_long",
            message=f"{SESSION_LIFETIME} is {lifetime.days} days: a stolen session cookie stays "
            f"valid that long (Flask's default is {MAX_SESSION_LIFETIME.days} days)",
            fix=f"set {SESSION_LIFETIME} to {MAX_SESSION_LIFETIME.days} days or less",
            key=SESSION_LIFETIME,
        )


def _check_session_store(ctx: _Context) -> Iterator[Finding]:
    key = "ACCOUNTS_SESSION_REDIS_URL"
    value = ctx.settings.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(_REDIS_SCHEMES):
        yield Finding(
            severity="error",
            code="session.redis_url_invalid",
            message=f"{key} is {_shown(value)}, not a redis://, rediss:// or unix:// URL",
            fix=f"set {key} = 'redis://host:6379/1'",
            key=key,
        )


def _check_session_cookie(ctx: _Context) -> Iterator[Finding]:
    key = "SESSION_COOKIE_SECURE"
    if ctx.settings.has(key) and not ctx.settings.flag(key):
        yield Finding(
            severity="warning",
            code="session.cookie_insecure",
            message=f"{key} is False: the session cookie is also sent over plain HTTP",
            fix=f"set {key} = True (InvenioRDM's default) and serve the site over HTTPS",
            key=key,
        )


def _check_remote_apps(ctx: _Context) -> Iterator[Finding]:
    yield from ctx.remote().findings


def _check_public_url(ctx: _Context) -> Iterator[Finding]:
    try:
        ctx.remote().visible(ctx.public_url)
    except ConfigurationError as exc:
        yield Finding(
            severity="error",
            code="remote_apps.public_url_invalid",
            message=f"cannot tell which providers the login page lists: {exc.message}",
            fix="use absolute http(s) URLs without query or fragment for SITE_UI_URL and the "
            "providers' public_url",
            key=exc.key or "SITE_UI_URL",
        )


def _saml_idps(settings: _Settings) -> int:
    try:
        idps = settings.get("SSO_SAML_IDPS")
    except _Unknown:
        return 1  # unknown: assume there is one rather than claim there is none
    return len(idps) if isinstance(idps, Mapping) else 0


def _check_sign_in_possible(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    if s.flag(LOCAL_LOGIN):
        return
    remote = ctx.remote()
    if not remote.configured and not _saml_idps(s):
        yield Finding(
            severity="error",
            code="sign_in.no_method",
            message=f"local login is disabled and no external provider is configured "
            f"({REMOTE_APPS} and SSO_SAML_IDPS are empty): nobody can sign in",
            fix=f"add a provider to {REMOTE_APPS}, or set {LOCAL_LOGIN} = True",
            key=f"{LOCAL_LOGIN}, {REMOTE_APPS}",
        )
    elif remote.apps and not ctx.visible() and not _saml_idps(s):
        where = f" at {ctx.public_url}" if ctx.public_url else ""
        yield Finding(
            severity="warning",
            code="sign_in.no_visible_provider",
            message=f"local login is disabled and none of the providers "
            f"({', '.join(remote.apps)}) is listed on the login page{where} (hidden, disabled, "
            "link-only or served under another public URL)",
            fix="make one provider visible, or set the site's public URL to the one the "
            "providers are configured for",
            key=REMOTE_APPS,
        )


def _check_auto_redirect(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    if not s.flag(AUTO_REDIRECT):
        return
    if s.flag(LOCAL_LOGIN):
        yield Finding(
            severity="warning",
            code="auto_redirect.local_login_enabled",
            message=f"{AUTO_REDIRECT} is True but local login is enabled, so the login page is "
            "always shown and no redirect happens",
            fix=f"set {LOCAL_LOGIN} = False (and SECURITY_REGISTERABLE, SECURITY_RECOVERABLE, "
            f"SECURITY_CHANGEABLE = False), or {AUTO_REDIRECT} = False",
            key=AUTO_REDIRECT,
        )
        return
    remote = ctx.remote()
    visible = ctx.visible()
    if not visible:
        yield Finding(
            severity="warning",
            code="auto_redirect.no_provider",
            message=f"{AUTO_REDIRECT} is True but no provider is listed on the login page, so "
            "there is nowhere to redirect to",
            fix=f"configure exactly one visible provider in {REMOTE_APPS}",
            key=AUTO_REDIRECT,
        )
    elif len(visible) > 1:
        names = ", ".join(app.name for app in visible)
        yield Finding(
            severity="warning",
            code="auto_redirect.several_providers",
            message=f"{AUTO_REDIRECT} is True but {len(visible)} providers are listed on the "
            f"login page ({names}); the redirect happens only when there is exactly one",
            fix=f"keep one visible provider (hide or remove the others), or set {AUTO_REDIRECT} "
            "= False",
            key=AUTO_REDIRECT,
        )
    elif len(remote.configured) > 1:
        yield Finding(
            severity="info",
            code="auto_redirect.hidden_providers",
            message=f"authkit redirects to {visible[0].name!r}, the only listed provider, but "
            f"Invenio's auto_redirect_login counts all {len(remote.configured)} remote apps and "
            "would show the login page instead",
            fix=f"remove the unlisted providers from {REMOTE_APPS} if Invenio serves this site",
            key=AUTO_REDIRECT,
        )


def _check_login_view(ctx: _Context) -> Iterator[Finding]:
    s = ctx.settings
    if not s.flag(AUTO_REDIRECT):
        return
    view = s.get(LOGIN_VIEW)
    name = view if isinstance(view, str) else getattr(view, "__name__", "")
    if not str(name).endswith("auto_redirect_login"):
        yield Finding(
            severity="warning",
            code="auto_redirect.login_view_not_set",
            message=f"{AUTO_REDIRECT} is True but {LOGIN_VIEW} is "
            f"{'not set' if view is None else _shown(view)}; Invenio redirects only from the "
            "auto_redirect_login view",
            fix="from invenio_oauthclient.views.client import auto_redirect_login; "
            f"{LOGIN_VIEW} = auto_redirect_login",
            key=LOGIN_VIEW,
        )


_CHECKS: Final[tuple[_Check, ...]] = (
    _check_flag_types,
    _check_registration,
    _check_recovery,
    _check_password_change,
    _check_confirmation,
    _check_login_without_confirmation,
    _check_secret_key,
    _salt_check(PASSWORD_SALT),
    *(_salt_check(key) for key in TOKEN_SALTS),
    _check_salt_reuse,
    _check_session_lifetime,
    _check_session_store,
    _check_session_cookie,
    _check_remote_apps,
    _check_public_url,
    _check_sign_in_possible,
    _check_auto_redirect,
    _check_login_view,
)


def check_config(
    mapping: Any,
    *,
    public_url: str | None = None,
    unknown: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Check a site's sign-in configuration for the combinations InvenioRDM warns about.

    Example:
        >>> from authkit.config import check_config
        >>> [f.code for f in check_config({
        ...     "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
        ...     "SECURITY_REGISTERABLE": True,
        ... }) if f.severity == "error"][:1]
        ['local_login.registration_without_local_login']

    Args:
        mapping: The settings, by Invenio name (a mapping, a loaded configuration module or a
            configuration class). Absent settings have Invenio's defaults.
        public_url: The site's public URL, to tell which providers its login page lists
            (default: the ``SITE_UI_URL`` setting).
        unknown: Settings whose value is not known (a file loader could not evaluate them);
            checks that need them are skipped instead of assuming a default.
        environ: Environment variables Invenio would also read for the remote apps'
            credentials (``INVENIO_<APP_KEY>…``); default none, so the findings depend on
            ``mapping`` alone.

    Returns:
        The findings, in a stable order: for each area, errors before warnings. Empty when
        nothing was found.

    Raises:
        InvalidSettingError: ``mapping`` is not a configuration at all (``config.unreadable``).
            A configuration that can be read never raises, however wrong its values.

    .. versionadded:: 0.1
    """
    values = _as_mapping(mapping)
    ctx = _Context(_Settings(values, unknown), _public_url(values, public_url, unknown), environ)
    findings: list[Finding] = []
    for check in _CHECKS:
        try:
            findings.extend(check(ctx))
        except _Unknown:
            continue
    return findings


def _public_url(
    values: Mapping[str, Any], given: str | None, unknown: Collection[str]
) -> str | None:
    if given is not None:
        return given
    site = values.get("SITE_UI_URL")
    return site if isinstance(site, str) and "SITE_UI_URL" not in unknown else None


# --- remote apps ------------------------------------------------------------------------------


def load_remote_apps(
    mapping: Any,
    *,
    unknown: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> RemoteAppsReport:
    """Load each remote app of a configuration on its own, collecting what fails.

    :func:`~authkit.config.load_invenio_remote_apps` stops at the first problem; this reports
    every app's problem as a :class:`Finding` (missing credentials name the exact setting
    expected) and returns the apps that did load, in a :class:`ProviderRegistry`. An app whose
    only problem is missing credentials is still returned (without a client id): it is
    configured, and counts when the login page's providers are counted.

    Args:
        mapping: The settings, as for :func:`check_config` (``OAUTHCLIENT_REMOTE_APPS``,
            ``OAUTHCLIENT_REST_REMOTE_APPS``, the ``<APP_KEY>`` credentials…).
        unknown: Settings whose value is not known; an app whose credentials setting is unknown
            is loaded without credentials and no finding is made about them.
        environ: Environment variables Invenio would also read (``INVENIO_<KEY>``); default
            none, so the result depends on ``mapping`` alone.

    Raises:
        InvalidSettingError: ``mapping`` is not a configuration at all.
    """
    values = _as_mapping(mapping)
    env: Mapping[str, str] = {} if environ is None else environ
    unknown = frozenset(unknown)
    findings: list[Finding] = []
    sections: dict[str, Mapping[str, Any]] = {}
    for setting in (REMOTE_APPS, REST_REMOTE_APPS):
        raw = values.get(setting) if setting not in unknown else None
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            findings.append(
                Finding(
                    severity="error",
                    code="remote_apps.invalid",
                    message=f"{setting} is a {type(raw).__name__}, not a mapping of app names "
                    "to remote app dictionaries",
                    fix=f"write {setting} = {{'orcid': orcid.REMOTE_APP, ...}}",
                    key=setting,
                )
            )
            continue
        sections[setting] = raw
    names = list(dict.fromkeys(str(n) for raw in sections.values() for n in raw))
    known = {k: val for k, val in values.items() if k not in unknown}
    registry = ProviderRegistry()
    apps: dict[str, RemoteApp] = {}
    for name in names:
        single = dict(known)
        for setting in (REMOTE_APPS, REST_REMOTE_APPS):
            single[setting] = {n: d for n, d in sections.get(setting, {}).items() if str(n) == name}
        app, problems = _load_one(single, name, values, unknown, env)
        findings.extend(problems)
        if app is None:
            continue
        try:
            registry.add(app)
        except ConfigurationError as exc:
            findings.append(_from_error(exc, "remote_apps.invalid", f"{REMOTE_APPS}.{name}"))
            continue
        apps[app.name] = app
    return RemoteAppsReport(
        configured=tuple(names), apps=apps, registry=registry, findings=tuple(findings)
    )


def _load_one(
    single: Mapping[str, Any],
    name: str,
    values: Mapping[str, Any],
    unknown: frozenset[str],
    env: Mapping[str, str],
) -> tuple[RemoteApp | None, list[Finding]]:
    definition = (single[REMOTE_APPS] or single[REST_REMOTE_APPS]).get(name)
    app_key = _app_key(definition)
    findings: list[Finding] = []
    credentials_unknown = app_key is not None and app_key in unknown
    try:
        loaded = load_invenio_remote_apps(
            single, environ=env, require_credentials=not credentials_unknown
        )
    except MissingCredentialsError as exc:
        findings.append(
            Finding(
                severity="error",
                code="remote_apps.missing_credentials",
                message=f"remote app {name!r}: {exc.message}",
                fix=_credentials_fix(exc.key, app_key),
                key=exc.key or app_key,
            )
        )
        try:
            loaded = load_invenio_remote_apps(single, environ=env, require_credentials=False)
        except ConfigurationError:
            return None, findings
    except ConfigurationError as exc:
        return None, [_from_error(exc, "remote_apps.invalid", f"{REMOTE_APPS}.{name}")]
    app = loaded.get(name)
    credentials = values.get(app_key) if app_key and not credentials_unknown else None
    if isinstance(credentials, Mapping):
        for field in ("consumer_key", "consumer_secret"):
            given = credentials.get(field)
            if isinstance(given, str) and given and is_placeholder(given):
                findings.append(
                    Finding(
                        severity="error",
                        code="remote_apps.placeholder_credentials",
                        message=f"remote app {name!r}: {app_key}[{field!r}] is left at the "
                        f"placeholder {_shown(given)}",
                        fix=f"set {app_key}[{field!r}] to the value the provider issued when "
                        "the client was registered (from the environment, not in the file)",
                        key=f"{app_key}.{field}",
                    )
                )
    return app, findings


def _credentials_fix(key: str | None, app_key: str | None) -> str:
    if key and app_key and key.startswith(app_key + "."):
        field = key[len(app_key) + 1 :]
        return (
            f"set {app_key}[{field!r}] to the value the provider issued, read from the "
            f"environment (os.environ.get(...)), or set INVENIO_{app_key}_{field.upper()}"
        )
    if app_key:
        return (
            f"set {app_key} = dict(consumer_key=..., consumer_secret=...) with the values the "
            "provider issued, read from the environment (os.environ.get(...))"
        )
    return (
        "set params.app_key to the name of the setting holding "
        "dict(consumer_key=..., consumer_secret=...)"
    )


def _app_key(definition: Any) -> str | None:
    if not isinstance(definition, Mapping):
        return None
    params = definition.get("params")
    key = params.get("app_key") if isinstance(params, Mapping) else None
    return key if isinstance(key, str) else None


def _from_error(exc: ConfigurationError, code: str, key: str) -> Finding:
    return Finding(
        severity="error",
        code=code,
        message=exc.message,
        fix=exc.hint or "correct the remote app definition",
        key=exc.key or key,
    )


# --- auto-redirect --------------------------------------------------------------------------------


def _strict_flag(values: Mapping[str, Any], key: str) -> bool:
    value = values.get(key, _FLAGS[key])
    if not isinstance(value, bool):
        raise InvalidSettingError(f"expected True or False, got {_shown(value)}", key=key)
    return value


def should_auto_redirect(
    config: Any, registry: ProviderRegistry, public_url: str | None = None
) -> AutoRedirectDecision:
    """Decide whether the login page redirects straight to the sole provider.

    This is Invenio's ``OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN``: redirect only when it is
    enabled, local login is disabled, and exactly one provider is listed on the login page.
    Unlike Invenio, which counts every remote app, providers that are hidden, disabled,
    link-only or served under another public URL do not count.

    Args:
        config: The settings, by Invenio name (``OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN``
            and ``ACCOUNTS_LOCAL_LOGIN_ENABLED`` are read, with Invenio's defaults).
        registry: The providers.
        public_url: The URL the site is served under (default: the ``SITE_UI_URL`` setting).

    Returns:
        The decision, the provider to redirect to, and the reason.

    Raises:
        InvalidSettingError: One of the two switches is not a boolean (``"False"`` is truthy).

    .. versionadded:: 0.1
    """
    values = _as_mapping(config)
    if not _strict_flag(values, AUTO_REDIRECT):
        return AutoRedirectDecision(
            redirect=False,
            reason=f"{AUTO_REDIRECT} is not enabled",
            code="auto_redirect.disabled",
        )
    if _strict_flag(values, LOCAL_LOGIN):
        return AutoRedirectDecision(
            redirect=False,
            reason="local login is enabled, so the login page offers the password form",
            code="auto_redirect.local_login_enabled",
        )
    visible = _listed(registry, _public_url(values, public_url, ()))
    if not visible:
        return AutoRedirectDecision(
            redirect=False,
            reason="no provider is listed on the login page",
            code="auto_redirect.no_provider",
        )
    if len(visible) > 1:
        names = ", ".join(app.name for app in visible)
        return AutoRedirectDecision(
            redirect=False,
            reason=f"{len(visible)} providers are listed on the login page ({names})",
            code="auto_redirect.several_providers",
        )
    return AutoRedirectDecision(
        redirect=True,
        provider=visible[0].name,
        reason=f"{visible[0].name!r} is the only provider listed and local login is disabled",
        code="auto_redirect.sole_provider",
    )


def _listed(registry: ProviderRegistry, public_url: str | None) -> list[RemoteApp]:
    if public_url is not None:
        return registry.visible(public_url)
    return [app for app in registry if app.enabled and not app.link_only and not app.is_hidden()]


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
