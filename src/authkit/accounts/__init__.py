"""Accounts: account info, precedence masks, signup and linking flows, login policies.

- :class:`AccountInfo` — what a provider says about a person, typed and normalised; built by
  :func:`account_info_from_sign_in` (OAuth, with the remote app's ``info`` /
  ``info_serializer`` hooks) or :meth:`AccountInfo.from_saml`.
- :class:`PrecedenceMask` — which fields the provider owns, at sign-up and on every sign-in.
- :class:`AccountFlow` — sign-in, sign-up, linking, confirmation and disconnection over the
  stores, ending in typed outcomes (:class:`SignedIn`, :class:`Registered`,
  :class:`RegistrationRequired`, :class:`ConfirmLinkRequired`, :class:`Linked`,
  :class:`Denied`).
- Login policies (:class:`EmailDomainPolicy`, :class:`ClaimPolicy`, :class:`GroupPolicy`,
  :class:`CallablePolicy`), account events, and :class:`TokenCipher` for provider tokens at
  rest.
"""

from authkit.accounts._crypto import ProviderTokens, TokenCipher, reencrypt_remote_tokens
from authkit.accounts._events import EVENT_KINDS, AccountEvent, AccountEvents, EventKind
from authkit.accounts._flow import AccountFlow, AccountSetup, RevokeToken
from authkit.accounts._handlers import RemoteContext, RemoteResponse, account_info_from_sign_in
from authkit.accounts._info import AccountInfo, AccountUser, Profile
from authkit.accounts._mask import (
    DEFAULT_REGISTRATION_FIELDS,
    PrecedenceMask,
    RegistrationField,
    SyncMode,
)
from authkit.accounts._outcomes import (
    CallbackOutcome,
    ConfirmLinkRequired,
    Denied,
    Disconnected,
    Linked,
    Registered,
    RegistrationRequired,
    SignedIn,
)
from authkit.accounts._policy import (
    CallablePolicy,
    ClaimPolicy,
    Denial,
    EmailDomainPolicy,
    GroupPolicy,
    LoginAttempt,
    LoginPolicy,
    check_login,
)
from authkit.accounts._settings import ProviderSettings, SignupPolicy, normalize_email
from authkit.accounts._unset import UNSET, Unset

__all__ = [
    "DEFAULT_REGISTRATION_FIELDS",
    "EVENT_KINDS",
    "UNSET",
    "AccountEvent",
    "AccountEvents",
    "AccountFlow",
    "AccountInfo",
    "AccountSetup",
    "AccountUser",
    "CallablePolicy",
    "CallbackOutcome",
    "ClaimPolicy",
    "ConfirmLinkRequired",
    "Denial",
    "Denied",
    "Disconnected",
    "EmailDomainPolicy",
    "EventKind",
    "GroupPolicy",
    "Linked",
    "LoginAttempt",
    "LoginPolicy",
    "PrecedenceMask",
    "Profile",
    "ProviderSettings",
    "ProviderTokens",
    "Registered",
    "RegistrationField",
    "RegistrationRequired",
    "RemoteContext",
    "RemoteResponse",
    "RevokeToken",
    "SignedIn",
    "SignupPolicy",
    "SyncMode",
    "TokenCipher",
    "Unset",
    "account_info_from_sign_in",
    "check_login",
    "normalize_email",
    "reencrypt_remote_tokens",
]
