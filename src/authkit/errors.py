"""The one exception tree of authkit.

Every failure a caller can meet is an :class:`AuthkitError` with a stable :attr:`~AuthkitError.code`
(a dotted string such as ``config.missing_credentials`` or ``oidc.nonce_mismatch``) and a message a
person can act on. The tree branches by *who is at fault*, so an application can decide what to
show and whom to page without string matching::

    AuthkitError                              code: "authkit.error"
    ├── ConfigurationError (ValueError)        the site's own configuration is wrong
    │   ├── UnknownSettingError                config.unknown_key
    │   ├── MissingSettingError                config.missing_key
    │   ├── InvalidSettingError                config.invalid_value
    │   ├── MissingCredentialsError            config.missing_credentials
    │   ├── HandlerImportError                 config.handler_unresolvable
    │   ├── DuplicateProviderError             registry.duplicate
    │   └── UnknownProviderError (KeyError)    registry.unknown
    ├── ProviderError                          the remote provider (OAuth server, IdP) misbehaved
    │   ├── ProviderUnreachableError           provider.unreachable
    │   ├── ProviderTimeoutError (TimeoutError) provider.timeout
    │   ├── ProviderHTTPError                  provider.http_error
    │   └── ProviderResponseError              provider.malformed_response
    ├── RequestError                           the end user's request cannot be honoured
    │   ├── AuthorizationError                 oauth.<error> (the provider said no: access_denied…)
    │   ├── StateError                         oauth.state_missing / state_unknown / state_expired…
    │   └── RedirectNotAllowedError            request.redirect_not_allowed
    ├── StoreError                             a store (SQL, Redis) failed or refused a write
    │   ├── ConflictError                      store.conflict (a unique value already taken)
    │   └── StoreUnavailableError              store.unavailable
    └── VerificationError                      a token or message failed verification
        ├── InvalidTokenError                  oidc.* (ID token, JWT, at_hash…)
        └── SAMLValidationError                saml.* (signature, conditions, replay…)

Verification failures are deliberately terse towards the end user: their ``code`` says which check
failed, while their message names the check and the expected value, never the attacker-controlled
input itself.

Errors that match a built-in meaning also subclass it (``ConfigurationError`` is a ``ValueError``,
``UnknownProviderError`` a ``KeyError``, ``ProviderTimeoutError`` a ``TimeoutError``), so code that
already catches those keeps working.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthkitError",
    "AuthorizationError",
    "ConfigurationError",
    "ConflictError",
    "DuplicateProviderError",
    "HandlerImportError",
    "InvalidSettingError",
    "InvalidTokenError",
    "MissingCredentialsError",
    "MissingSettingError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "ProviderUnreachableError",
    "RedirectNotAllowedError",
    "RequestError",
    "SAMLValidationError",
    "StateError",
    "StoreError",
    "StoreUnavailableError",
    "UnknownProviderError",
    "UnknownSettingError",
    "VerificationError",
]


class AuthkitError(Exception):
    """Root of every error authkit raises.

    Attributes:
        code: Stable, dotted, machine-readable identifier of the failure. Safe to log, to show
            and to branch on; it never changes between releases for the same failure.
        message: What went wrong, for a person.
        hint: What to do about it, when something can be done (optional).
        status_hint: The HTTP status an adapter should answer with.
    """

    default_code: ClassVar[str] = "authkit.error"
    status_hint: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the body of a problem document)."""
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


# --- configuration ---------------------------------------------------------------------------


class ConfigurationError(AuthkitError, ValueError):
    """The site's configuration is wrong. Raised at construction, never at login time.

    Attributes:
        key: Dotted path of the offending setting (``"OAUTHCLIENT_REMOTE_APPS.orcid.params"``),
            when there is one.
    """

    default_code = "config.invalid"

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        if key is not None and not message.startswith(f"{key}:"):
            message = f"{key}: {message}"
        super().__init__(message, code=code, hint=hint)
        self.key = key

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.key is not None:
            data["key"] = self.key
        return data


class UnknownSettingError(ConfigurationError):
    """A setting name that authkit does not know (often a typo)."""

    default_code = "config.unknown_key"


class MissingSettingError(ConfigurationError):
    """A required setting is absent."""

    default_code = "config.missing_key"


class InvalidSettingError(ConfigurationError):
    """A setting has a value of the wrong type or shape."""

    default_code = "config.invalid_value"


class MissingCredentialsError(ConfigurationError):
    """A remote app's client credentials (``<APP_KEY>`` / client id and secret) are missing."""

    default_code = "config.missing_credentials"


class HandlerImportError(ConfigurationError, ImportError):
    """A ``"module:attr"`` handler string does not resolve to a callable."""

    default_code = "config.handler_unresolvable"


class DuplicateProviderError(ConfigurationError):
    """A provider with this name is already registered."""

    default_code = "registry.duplicate"


class UnknownProviderError(ConfigurationError, KeyError):
    """No provider is registered under this name."""

    default_code = "registry.unknown"
    status_hint = 404

    def __str__(self) -> str:  # KeyError would quote the message
        return AuthkitError.__str__(self)


# --- the remote provider -----------------------------------------------------------------------


class ProviderError(AuthkitError):
    """The remote provider (OAuth authorization server, OpenID provider, SAML IdP) misbehaved.

    Attributes:
        provider: Name of the provider or the URL that was called, when known.
    """

    default_code = "provider.error"
    status_hint = 502

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.provider = provider


class ProviderUnreachableError(ProviderError):
    """The provider could not be reached (DNS, refused connection, TLS failure)."""

    default_code = "provider.unreachable"


class ProviderTimeoutError(ProviderError, TimeoutError):
    """The provider did not connect or answer within the configured timeout."""

    default_code = "provider.timeout"
    status_hint = 504


class ProviderHTTPError(ProviderError):
    """The provider answered with an error status.

    Attributes:
        status: The HTTP status code.
        error: The OAuth ``error`` field of the body, when the body carries one.
        error_description: The OAuth ``error_description`` field, when present.
        body: The response body as received (bytes, at most a few kilobytes kept).
    """

    default_code = "provider.http_error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: bytes = b"",
        error: str | None = None,
        error_description: str | None = None,
        provider: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code)
        self.status = status
        self.body = body[:4096]
        self.error = error
        self.error_description = error_description

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["status"] = self.status
        if self.error:
            data["error"] = self.error
        if self.error_description:
            data["error_description"] = self.error_description
        return data


class ProviderResponseError(ProviderError):
    """The provider answered something malformed (not JSON, missing fields, wrong types)."""

    default_code = "provider.malformed_response"


# --- the end user's request --------------------------------------------------------------------


class RequestError(AuthkitError):
    """The end user's request cannot be honoured (bad callback, expired state, denied access)."""

    default_code = "request.invalid"
    status_hint = 400


class AuthorizationError(RequestError):
    """The provider returned an OAuth error response to the callback (RFC 6749 §4.1.2.1).

    The ``code`` is ``oauth.<error>`` (``oauth.access_denied``, ``oauth.invalid_scope``…).

    Attributes:
        error: The ``error`` parameter as sent.
        error_description: The ``error_description`` parameter, when sent.
        error_uri: The ``error_uri`` parameter, when sent.
    """

    default_code = "oauth.error"
    status_hint = 403

    def __init__(
        self,
        message: str,
        *,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code or f"oauth.{_safe_code_part(error)}")
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri


class StateError(RequestError):
    """The ``state`` of a callback is missing, unknown, expired, already used or mismatched."""

    default_code = "oauth.state_invalid"


class RedirectNotAllowedError(RequestError):
    """A ``next`` / redirect target points to a host that is not allowed."""

    default_code = "request.redirect_not_allowed"


# --- stores --------------------------------------------------------------------------------------


class StoreError(AuthkitError):
    """A store failed or refused a write. Nothing was half-written: the transaction rolled back."""

    default_code = "store.error"


class ConflictError(StoreError):
    """A unique value is already taken (an identity linked to another user, a username…).

    Attributes:
        what: What collided (``"identity"``, ``"username"``, ``"email"``…).
    """

    default_code = "store.conflict"
    status_hint = 409

    def __init__(self, message: str, *, what: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.what = what


class StoreUnavailableError(StoreError):
    """The store cannot be reached (database or Redis down)."""

    default_code = "store.unavailable"
    status_hint = 503


# --- verification --------------------------------------------------------------------------------


class VerificationError(AuthkitError):
    """A token or protocol message failed a verification check.

    The message names the check; it never echoes attacker-controlled input.
    """

    default_code = "verification.failed"
    status_hint = 401


class InvalidTokenError(VerificationError):
    """An ID token or other JWT failed validation. ``code`` is ``oidc.<check>``."""

    default_code = "oidc.invalid_token"


class SAMLValidationError(VerificationError):
    """A SAML message failed validation. ``code`` is ``saml.<check>``.

    Attributes:
        status_codes: For a non-success ``samlp:Status``, the IdP's status codes (outermost first).
    """

    default_code = "saml.invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        status_codes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.status_codes = status_codes


def _safe_code_part(value: str) -> str:
    """Reduce a remote string to something safe inside a stable code (``[a-z0-9_]``)."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in value)
    return cleaned.lower()[:64] or "error"
