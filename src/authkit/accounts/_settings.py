"""What the account flow needs to know about providers and about the site.

:class:`ProviderSettings` is the account-related part of a provider — precedence mask, sign-up
options, e-mail trust, hooks — whatever the provider is: an OAuth :class:`~authkit.config.
RemoteApp` (:meth:`ProviderSettings.from_remote_app`) or a SAML IdP of ``SSO_SAML_IDPS``
(:meth:`ProviderSettings.from_saml_idp`).

:class:`SignupPolicy` is the site's own rules: required fields, terms to accept, username rules
and collision handling, how long a pending registration lives.

The e-mail and username rules live here too (:func:`normalize_email`,
:func:`suggest_username`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from authkit.accounts._mask import DEFAULT_REGISTRATION_FIELDS, PrecedenceMask
from authkit.config import Hooks, RemoteApp
from authkit.errors import InvalidSettingError, RequestError

if TYPE_CHECKING:
    from authkit.saml import SAMLIdPConfig

__all__ = [
    "ProviderSettings",
    "SignupPolicy",
    "normalize_email",
    "suggest_username",
]

#: Invenio's username rule: a letter, then letters, digits, ``-`` or ``_``; 3 to 255 long.
DEFAULT_USERNAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{2,254}"

# RFC 5321/5322 "dot-atom" local part and a domain of LDH labels: strict enough to refuse
# garbage, loose enough for real addresses (no quoted local parts, no IP literals).
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
_EMAIL = re.compile(rf"({_LOCAL})@({_LABEL}(?:\.{_LABEL})+)")


def normalize_email(value: Any) -> str:
    """Check an e-mail address and return it with its domain lower-cased.

    Raises:
        RequestError: ``accounts.email_invalid`` — not a string, longer than 254 characters,
            or not ``local@domain.tld``.
    """
    if not isinstance(value, str):
        raise RequestError("the e-mail address is missing", code="accounts.email_invalid")
    candidate = value.strip()
    match = _EMAIL.fullmatch(candidate)
    if match is None or len(candidate) > 254 or len(match.group(1)) > 64:
        raise RequestError(
            "this is not a valid e-mail address",
            code="accounts.email_invalid",
            hint="use the form name@example.org",
        )
    local, domain = match.groups()
    if domain.rsplit(".", 1)[-1].isdigit():
        raise RequestError("this is not a valid e-mail address", code="accounts.email_invalid")
    return f"{local}@{domain.lower()}"


def suggest_username(value: Any, pattern: re.Pattern[str], max_length: int = 255) -> str | None:
    """Turn a provider's username into one the site's rules accept, or ``None``.

    Characters outside letters, digits, ``-`` and ``_`` become ``_`` (``jane.doe`` →
    ``jane_doe``); for an e-mail-like value only the part before ``@`` is used; leading
    characters that are not letters are dropped. ``None`` when nothing acceptable remains.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "@" in text:
        text = text.split("@", 1)[0]
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")
    text = re.sub(r"^[^A-Za-z]+", "", text)[:max_length]
    return text if text and pattern.fullmatch(text) else None


def _dotted_tuple(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _check_names(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", v)
        for v in value
    ):
        raise InvalidSettingError(
            f"expected field names (dotted paths such as 'profile.username'), got {value!r}",
            key=f"SignupPolicy.{attribute.name}",
        )


def _check_pattern(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        re.compile(value)
    except (re.error, TypeError) as exc:
        raise InvalidSettingError(
            f"expected a regular expression, got {value!r}", key="SignupPolicy.username_pattern"
        ) from exc


def _positive(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidSettingError(
            f"expected a number greater than 0, got {value!r}",
            key=f"SignupPolicy.{attribute.name}",
        )


def _bool(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidSettingError(
            f"expected true or false, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class SignupPolicy:
    """The site's sign-up rules.

    Args:
        allow_signup: Create accounts for people who sign in through a provider for the first
            time (``False``: only existing accounts and linking).
        required_fields: Fields an account must have (dotted paths). ``email`` by default;
            add ``profile.username`` to require usernames.
        fields: The fields a registration form offers (and the only fields accepted as input).
        terms: Names of consents the person must accept at registration (``"terms_of_use"``):
            when not empty, every sign-up goes through the registration form.
        username_pattern: The rule usernames must match (in full).
        username_collision: When the provider's username is taken: ``"suffix"`` tries
            ``name2``, ``name3``… up to ``max_username_suffix``, then asks; ``"ask"`` asks the
            person at once (registration required, the field marked ``taken``).
        max_username_suffix: The largest suffix tried.
        pending_ttl: Seconds a pending registration or link confirmation stays valid.
        auto_link_requires_verified_account: Link a provider identity to an existing account
            with the same e-mail only when that account's address is verified too (refusing
            pre-registered, unconfirmed look-alike accounts).
    """

    allow_signup: bool = attrs.field(default=True, validator=_bool)
    required_fields: tuple[str, ...] = attrs.field(
        default=("email",), converter=_dotted_tuple, validator=_check_names
    )
    fields: tuple[str, ...] = attrs.field(
        default=DEFAULT_REGISTRATION_FIELDS, converter=_dotted_tuple, validator=_check_names
    )
    terms: tuple[str, ...] = attrs.field(
        default=(), converter=_dotted_tuple, validator=_check_names
    )
    username_pattern: str = attrs.field(default=DEFAULT_USERNAME_PATTERN, validator=_check_pattern)
    username_collision: Literal["suffix", "ask"] = attrs.field(default="suffix")
    max_username_suffix: int = attrs.field(default=99, validator=_positive)
    pending_ttl: float = attrs.field(default=1800.0, validator=_positive)
    auto_link_requires_verified_account: bool = attrs.field(default=True, validator=_bool)

    @username_collision.validator
    def _check_collision(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in ("suffix", "ask"):
            raise InvalidSettingError(
                f"expected 'suffix' or 'ask', got {value!r}",
                key="SignupPolicy.username_collision",
            )

    @property
    def username_regex(self) -> re.Pattern[str]:
        """The compiled username rule."""
        return _compiled(self.username_pattern)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


def _mask(value: Any) -> PrecedenceMask:
    return value if isinstance(value, PrecedenceMask) else PrecedenceMask(value)


def _domains(value: Any) -> Any:
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, list | tuple):
        return tuple(v.strip().lower().lstrip("@") if isinstance(v, str) else v for v in value)
    return value


def _domain_list(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and "." in v for v in value):
        raise InvalidSettingError(
            f"expected e-mail domains such as 'example.org', got {value!r}",
            key=f"ProviderSettings.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class ProviderSettings:
    """The account-related settings of one provider.

    Args:
        name: The provider's name (``external_method`` of its identities).
        precedence_mask: Which fields the provider owns (a mask or Invenio's dict).
        auto_confirm: Accounts created through this provider are confirmed at once (when their
            e-mail address came from the provider).
        send_register_msg: Ask for the registration e-mail (``registered`` event).
        email_trusted: The provider vouches for every e-mail address it sends, even without
            ``email_verified`` (an institutional IdP).
        email_trusted_domains: Limit ``email_trusted`` to these domains (subdomains included).
        link_only: Usable only to connect to a signed-in account.
        enabled: A disabled provider signs nobody in.
        hooks: ``setup`` and ``disconnect`` hooks (see :class:`~authkit.accounts.AccountFlow`).
        app: The remote app these settings come from, when there is one (handed to hooks).
    """

    name: str = attrs.field()
    precedence_mask: PrecedenceMask = attrs.field(
        factory=lambda: PrecedenceMask({"email": True}), converter=_mask
    )
    auto_confirm: bool = attrs.field(default=True, validator=_bool)
    send_register_msg: bool = attrs.field(default=False, validator=_bool)
    email_trusted: bool = attrs.field(default=False, validator=_bool)
    email_trusted_domains: tuple[str, ...] = attrs.field(
        default=(), converter=_domains, validator=_domain_list
    )
    link_only: bool = attrs.field(default=False, validator=_bool)
    enabled: bool = attrs.field(default=True, validator=_bool)
    hooks: Hooks = attrs.field(factory=Hooks)
    app: RemoteApp | None = attrs.field(default=None, eq=False, repr=False)

    @name.validator
    def _check_name(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise InvalidSettingError(
                f"expected a provider name, got {value!r}", key="ProviderSettings.name"
            )

    @classmethod
    def from_remote_app(cls, app: RemoteApp) -> ProviderSettings:
        """The settings of an OAuth / OpenID Connect provider."""
        return cls(
            name=app.name,
            precedence_mask=_remote_mask(app),
            auto_confirm=app.signup_options.auto_confirm,
            send_register_msg=app.signup_options.send_register_msg,
            email_trusted=app.email_trusted,
            email_trusted_domains=app.email_trusted_domains,
            link_only=app.link_only,
            enabled=app.enabled,
            hooks=app.hooks,
            app=app,
        )

    @classmethod
    def from_saml_idp(
        cls,
        idp: SAMLIdPConfig,
        *,
        precedence_mask: Mapping[str, Any] | PrecedenceMask | None = None,
        email_trusted: bool = False,
        email_trusted_domains: tuple[str, ...] = (),
        send_register_msg: bool = False,
        setup: Callable[..., Any] | str | None = None,
        disconnect: Callable[..., Any] | str | None = None,
    ) -> ProviderSettings:
        """The settings of a SAML IdP of ``SSO_SAML_IDPS`` (its per-IdP ``auto_confirm``).

        invenio-saml takes every mapped field from the IdP; so does the default mask here
        (``{"email": True}``; omitted fields are provider-owned).
        """
        return cls(
            name=idp.name,
            precedence_mask=precedence_mask or {"email": True},
            auto_confirm=idp.auto_confirm,
            send_register_msg=send_register_msg,
            email_trusted=email_trusted,
            email_trusted_domains=email_trusted_domains,
            hooks=Hooks(setup=setup, disconnect=disconnect),
        )

    def vouches_for(self, email: str, *, email_verified: bool) -> bool:
        """Whether this provider vouches for ``email``: it said ``email_verified``, or it is
        trusted for e-mail (in a listed domain, when domains are listed)."""
        if email_verified:
            return True
        if not self.email_trusted:
            return False
        if not self.email_trusted_domains:
            return True
        domain = email.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.email_trusted_domains)


def _remote_mask(app: RemoteApp) -> PrecedenceMask:
    try:
        return PrecedenceMask(app.precedence_mask)
    except InvalidSettingError as exc:
        raise InvalidSettingError(
            exc.message.split(": ", 1)[-1], key=f"RemoteApp({app.name!r}).{exc.key}"
        ) from exc
