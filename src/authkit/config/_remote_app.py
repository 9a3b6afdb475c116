"""The remote app: one OAuth 2.0 / OpenID Connect provider, described as data.

A :class:`RemoteApp` holds everything an Invenio ``REMOTE_APP`` dictionary or an Opal identity
provider definition holds, as one frozen, validated value. It does no I/O: building the
authorization request, exchanging the code and validating tokens live in :mod:`authkit.oauth`.

Its own serialised shape (``to_dict`` / ``from_dict``) is what the provider registry stores as
JSON; the Invenio and Opal shapes have their own functions in :mod:`authkit.config`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import attrs

from authkit.config import _validators as v
from authkit.config._hooks import HookRef, hook_name, resolve_hook
from authkit.errors import (
    InvalidSettingError,
    MissingCredentialsError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.transport import Timeout

__all__ = ["INVENIO_HANDLER_PREFIX", "PROVIDER_NAME_PATTERN", "Hooks", "RemoteApp", "SignupOptions"]

#: Handler strings under this prefix name Invenio's built-in handlers; authkit provides them.
INVENIO_HANDLER_PREFIX = "invenio_oauthclient."

#: Provider names appear in URLs (``/oauth/login/<name>/``) and store keys.
PROVIDER_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"

TokenAuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


def _tuple(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _frozen_map(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _hook(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, str) and not callable(value):
        raise InvalidSettingError(
            f"expected a callable or a 'module:attr' string, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )
    if isinstance(value, str) and ":" not in value:
        raise InvalidSettingError(
            f"handler string {value!r} must be of the form 'package.module:attribute'",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class SignupOptions:
    """What happens when a person signs up through a provider (Invenio's ``signup_options``).

    Args:
        auto_confirm: Mark the new account's e-mail as confirmed (the provider vouched for it).
        send_register_msg: Send the registration e-mail to the new account.
    """

    auto_confirm: bool = attrs.field(default=True, validator=v.is_bool)
    send_register_msg: bool = attrs.field(default=False, validator=v.is_bool)


@attrs.frozen(kw_only=True)
class Hooks:
    """Handler hooks of a remote app, as callables or ``"module:attr"`` strings.

    Strings are resolved on first use (:meth:`resolve`), so a configuration can name handlers of
    packages that are imported later, and round-trips unchanged.

    Args:
        info: ``info(remote, token_response) -> account info`` (fetches what the provider says).
        info_serializer: Shapes what ``info`` fetched into account info.
        setup: Called once an account is linked (Invenio's ``account_setup``).
        disconnect: Called when the person disconnects the provider.
        groups: Fetches the person's groups.
        groups_serializer: Shapes what ``groups`` fetched into group names.
        authorized: Invenio's ``authorized_handler`` (kept for round-trips).
        signup_view: Invenio's ``signup_handler.view`` (kept for round-trips).
        response: Invenio REST ``response_handler`` (kept for round-trips).
    """

    NAMES: ClassVar[tuple[str, ...]] = (
        "info",
        "info_serializer",
        "setup",
        "disconnect",
        "groups",
        "groups_serializer",
        "authorized",
        "signup_view",
        "response",
    )

    info: HookRef | None = attrs.field(default=None, validator=_hook)
    info_serializer: HookRef | None = attrs.field(default=None, validator=_hook)
    setup: HookRef | None = attrs.field(default=None, validator=_hook)
    disconnect: HookRef | None = attrs.field(default=None, validator=_hook)
    groups: HookRef | None = attrs.field(default=None, validator=_hook)
    groups_serializer: HookRef | None = attrs.field(default=None, validator=_hook)
    authorized: HookRef | None = attrs.field(default=None, validator=_hook)
    signup_view: HookRef | None = attrs.field(default=None, validator=_hook)
    response: HookRef | None = attrs.field(default=None, validator=_hook)

    def resolve(self, name: str, *, key: str = "hooks") -> Callable[..., Any] | None:
        """Return the callable configured for hook ``name``, importing it if it is a string.

        ``None`` means "use authkit's built-in behaviour for the provider's ``kind``": that is the
        answer when the hook is unset, and also when it names one of Invenio's own handlers
        (``"invenio_oauthclient.…"``), which authkit implements itself, so an ``invenio.cfg``
        reads unchanged without Invenio installed.

        Raises:
            HandlerImportError: The string does not resolve.
        """
        ref = getattr(self, name)
        if ref is None or (isinstance(ref, str) and ref.startswith(INVENIO_HANDLER_PREFIX)):
            return None
        return resolve_hook(ref, key=f"{key}.{name}")

    def to_dict(self) -> dict[str, str]:
        """The hooks that are set, as import strings."""
        return {n: hook_name(getattr(self, n)) for n in self.NAMES if getattr(self, n) is not None}


@attrs.frozen(kw_only=True)
class RemoteApp:
    """One OAuth 2.0 / OpenID Connect provider.

    Every field is keyword-only and validated at construction; a bad value raises
    :class:`~authkit.errors.InvalidSettingError` naming the field, the value and what was
    expected.

    Args:
        name: Unique name, used in URLs (``/oauth/login/<name>/``); letters, digits, ``_.-``.
        title: Shown on the sign-in button.
        description: One line shown under the title.
        icon: CSS class or URL of an icon.
        label: Opal's label (defaults to ``title`` when empty).
        account_url: Where the person manages their account at the provider (Opal's
            "account login" address).
        protocol: ``"oidc"`` (ID tokens are expected and validated) or ``"oauth2"``.
        kind: Which contrib provider's behaviour applies (``"github"``, ``"orcid"``,
            ``"keycloak"``…; ``"generic"`` for plain OAuth 2.0 / OIDC). It selects the default
            info handler and provider quirks in :mod:`authkit.providers`.
        hidden: Never list the provider on the sign-in page (it can still be linked).
        hide_when: A hook returning whether to hide it right now (Invenio's ``hide_when``).
        link_only: Usable only to connect to an existing, signed-in account.
        enabled: Disabled providers accept no sign-in at all.
        public_url: When set, the provider is listed only on a site served under this URL.
        base_url: API base URL (Invenio's ``params.base_url``).
        authorize_url: Authorization endpoint.
        token_url: Token endpoint (Invenio's ``access_token_url``).
        token_method: HTTP method of the token request (Invenio's ``access_token_method``).
        token_auth_method: How the client authenticates at the token endpoint.
        request_token_url: OAuth 1 request-token URL, kept for Invenio round-trips.
        userinfo_url: UserInfo endpoint.
        jwks_url: JWKS endpoint.
        issuer: Expected ``iss`` of ID tokens.
        discovery_url: ``.well-known/openid-configuration`` URL the endpoints came from.
        end_session_url: RP-initiated logout endpoint.
        revocation_url: Token revocation endpoint (RFC 7009).
        logout_url: Invenio's ``logout_url`` (where to send the person after local logout).
        scope: Requested scope, verbatim (space-separated; some providers use commas).
        authorize_params: Extra parameters of the authorization request.
        app_key: Name of the credentials setting (``"ORCID_APP_CREDENTIALS"``).
        client_id: OAuth client id (Invenio's ``consumer_key``).
        client_secret: OAuth client secret (Invenio's ``consumer_secret``); never in ``repr``.
        client_private_key: PEM private key for ``private_key_jwt``; never in ``repr``.
        client_key_id: ``kid`` to put in ``private_key_jwt`` assertions.
        precedence_mask: Which profile fields the provider owns (see ``authkit.accounts``).
        signup_options: Auto-confirm and registration e-mail.
        hooks: Handler hooks.
        timeout: Connect and read timeouts for calls to this provider.
        nonce: Send and check an OIDC ``nonce``.
        pkce: Use PKCE (S256).
        userinfo_from: ``"endpoint"`` (call UserInfo) or ``"token"`` (claims of the ID token).
        verify_exp: Check ``exp`` of ID tokens.
        verify_aud: Check ``aud`` of ID tokens.
        audience: Extra audience accepted besides ``client_id``.
        username_claim: Claim that gives the username (Opal's "username mapping").
        groups_claim: Claim (dotted path) holding the person's groups.
        static_groups: Groups given to everyone who signs in through this provider.
        groups_expression: JMESPath expression over the user info giving groups.
        email_trusted: Treat the provider's e-mail as verified even without ``email_verified``.
        email_trusted_domains: Limit ``email_trusted`` to these e-mail domains.
        extra: Provider-specific settings (for contrib providers), JSON-compatible.
    """

    name: str = attrs.field(
        validator=v.matches(PROVIDER_NAME_PATTERN, "a name of letters, digits and _ . -")
    )
    title: str = attrs.field(validator=v.is_str)
    description: str = attrs.field(default="", validator=v.is_str)
    icon: str = attrs.field(default="", validator=v.is_str)
    label: str = attrs.field(default="", validator=v.is_str)
    account_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    protocol: Literal["oidc", "oauth2"] = attrs.field(
        default="oauth2", validator=v.one_of(("oidc", "oauth2"))
    )
    kind: str = attrs.field(
        default="generic", validator=v.matches(r"[a-z][a-z0-9_]{0,31}", "a contrib provider name")
    )

    hidden: bool = attrs.field(default=False, validator=v.is_bool)
    hide_when: HookRef | None = attrs.field(default=None, validator=_hook)
    link_only: bool = attrs.field(default=False, validator=v.is_bool)
    enabled: bool = attrs.field(default=True, validator=v.is_bool)
    public_url: str | None = attrs.field(default=None, validator=v.optional(v.url))

    base_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    authorize_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    token_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    token_method: Literal["POST", "GET"] = attrs.field(
        default="POST", validator=v.one_of(("POST", "GET"))
    )
    token_auth_method: TokenAuthMethod = attrs.field(
        default="client_secret_basic", validator=v.one_of(TOKEN_AUTH_METHODS)
    )
    request_token_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    userinfo_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    jwks_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    issuer: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    discovery_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    end_session_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    revocation_url: str | None = attrs.field(default=None, validator=v.optional(v.url))
    logout_url: str | None = attrs.field(default=None, validator=v.optional(v.is_str))

    scope: str = attrs.field(default="", validator=v.is_str)
    authorize_params: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_map, validator=v.is_mapping
    )

    app_key: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    client_id: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    client_secret: str | None = attrs.field(
        default=None, validator=v.optional(v.is_str), repr=False
    )
    client_private_key: str | None = attrs.field(
        default=None, validator=v.optional(v.is_str), repr=False
    )
    client_key_id: str | None = attrs.field(default=None, validator=v.optional(v.is_str))

    precedence_mask: Mapping[str, Any] = attrs.field(
        factory=lambda: {"email": True}, converter=_frozen_map, validator=v.is_mapping
    )
    signup_options: SignupOptions = attrs.field(factory=SignupOptions)
    hooks: Hooks = attrs.field(factory=Hooks)

    timeout: Timeout = attrs.field(factory=Timeout)
    nonce: bool = attrs.field(default=True, validator=v.is_bool)
    pkce: bool = attrs.field(default=True, validator=v.is_bool)
    userinfo_from: Literal["endpoint", "token"] = attrs.field(
        default="endpoint", validator=v.one_of(("endpoint", "token"))
    )
    verify_exp: bool = attrs.field(default=True, validator=v.is_bool)
    verify_aud: bool = attrs.field(default=True, validator=v.is_bool)
    audience: str | None = attrs.field(default=None, validator=v.optional(v.is_str))

    username_claim: str = attrs.field(default="preferred_username", validator=v.is_str)
    groups_claim: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    static_groups: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.str_tuple
    )
    groups_expression: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    email_trusted: bool = attrs.field(default=False, validator=v.is_bool)
    email_trusted_domains: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=v.str_tuple
    )

    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_map, validator=v.is_mapping
    )

    # --- derived -------------------------------------------------------------------------------

    @property
    def display_label(self) -> str:
        """The label shown to people: ``label`` if set, else ``title``."""
        return self.label or self.title

    @property
    def is_oidc(self) -> bool:
        """Whether ID tokens are expected."""
        return self.protocol == "oidc"

    def is_hidden(self) -> bool:
        """Whether the provider is hidden now (``hidden``, or ``hide_when`` says so)."""
        if self.hidden:
            return True
        if self.hide_when is None:
            return False
        return bool(resolve_hook(self.hide_when, key=f"RemoteApp({self.name!r}).hide_when")())

    def require_credentials(self) -> tuple[str, str | None]:
        """Return ``(client_id, client_secret)``.

        Raises:
            MissingCredentialsError: No client id, or no secret where the token
                authentication method needs one; the message names the setting expected.
        """
        where = self.app_key or f"RemoteApp({self.name!r}).client_id"
        if not self.client_id:
            raise MissingCredentialsError(
                f"provider {self.name!r} has no client id",
                key=where,
                hint="set consumer_key/consumer_secret (Invenio) or client_id/client_secret",
            )
        needs_secret = self.token_auth_method in ("client_secret_basic", "client_secret_post")
        if needs_secret and not self.client_secret:
            raise MissingCredentialsError(f"provider {self.name!r} has no client secret", key=where)
        if self.token_auth_method == "private_key_jwt" and not self.client_private_key:
            raise MissingCredentialsError(
                f"provider {self.name!r} uses private_key_jwt but has no client_private_key",
                key=f"RemoteApp({self.name!r}).client_private_key",
            )
        return self.client_id, self.client_secret

    def require(self, field: str) -> str:
        """Return a URL or string setting that the current operation needs.

        Raises:
            MissingSettingError: The setting is empty, naming it.
        """
        value = getattr(self, field)
        if not value:
            raise MissingSettingError(
                "is required for this operation but is not set",
                key=f"RemoteApp({self.name!r}).{field}",
            )
        result: str = value
        return result

    def evolve(self, **changes: Any) -> RemoteApp:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)

    # --- authkit's own serialised shape ---------------------------------------------------------

    def to_dict(self, *, secrets: bool = True) -> dict[str, Any]:
        """A JSON-compatible dictionary; ``from_dict`` reads it back.

        Args:
            secrets: Include ``client_secret`` and ``client_private_key``.

        Raises:
            HandlerImportError: A hook is a callable with no importable name.
        """
        data: dict[str, Any] = {}
        for field in attrs.fields(RemoteApp):
            value = getattr(self, field.name)
            if not secrets and field.name in ("client_secret", "client_private_key"):
                continue
            if field.name == "signup_options":
                value = attrs.asdict(value)
            elif field.name == "hooks":
                value = value.to_dict()
            elif field.name == "timeout":
                value = {"connect": value.connect, "read": value.read}
            elif field.name == "hide_when" and value is not None:
                value = hook_name(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[field.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteApp:
        """Build a remote app from :meth:`to_dict`'s shape.

        Raises:
            UnknownSettingError: A key that is not a field (typos are caught, not ignored).
            InvalidSettingError: A value of the wrong type or shape.
        """
        if not isinstance(data, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {type(data).__name__}")
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        name = data.get("name", "?")
        if unknown:
            raise UnknownSettingError(
                f"unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}",
                key=f"RemoteApp({name!r})",
            )
        kwargs = dict(data)
        if "signup_options" in kwargs:
            kwargs["signup_options"] = _sub(
                SignupOptions, kwargs["signup_options"], f"RemoteApp({name!r}).signup_options"
            )
        if "hooks" in kwargs:
            kwargs["hooks"] = _sub(Hooks, kwargs["hooks"], f"RemoteApp({name!r}).hooks")
        if "timeout" in kwargs:
            kwargs["timeout"] = _timeout(kwargs["timeout"], f"RemoteApp({name!r}).timeout")
        for required in ("name", "title"):
            if required not in kwargs:
                raise InvalidSettingError("is required", key=f"RemoteApp({name!r}).{required}")
        return cls(**kwargs)


def _sub(kind: Any, value: Any, key: str) -> Any:
    if isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise InvalidSettingError(f"expected a mapping, got {value!r}", key=key)
    known = {f.name for f in attrs.fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise UnknownSettingError(
            f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}", key=key
        )
    return kind(**value)


def _timeout(value: Any, key: str) -> Timeout:
    if isinstance(value, Timeout):
        return value
    if not isinstance(value, Mapping) or set(value) - {"connect", "read"}:
        raise InvalidSettingError(
            f"expected a mapping with 'connect' and 'read' seconds, got {value!r}", key=key
        )
    try:
        return Timeout(**value)
    except (TypeError, ValueError) as exc:
        raise InvalidSettingError(
            f"timeouts must be numbers of seconds greater than 0, got {dict(value)!r}", key=key
        ) from exc
