"""The values the account flow returns: one class per way a sign-in can end.

An application branches on the type (``match outcome: case SignedIn(): ...``) and never on
strings. Every outcome is a frozen value; none holds a provider token in the clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from authkit.accounts._mask import RegistrationField
from authkit.accounts._policy import Denial
from authkit.errors import AuthkitError
from authkit.stores import User

__all__ = [
    "CallbackOutcome",
    "ConfirmLinkRequired",
    "Denied",
    "Disconnected",
    "Linked",
    "Registered",
    "RegistrationRequired",
    "SignedIn",
]


@attrs.frozen(kw_only=True)
class SignedIn:
    """The person signed in to an existing account.

    Attributes:
        user: The account (after the sign-in's updates).
        provider: The provider's name.
        external_id: The identity at the provider.
        updated_fields: Fields refreshed from the provider (``"force"`` fields of the mask, and
            ``email_verified`` when the provider now vouches for the address).
        linked: The identity was linked just now, to the account with the same e-mail address
            (the provider vouches for it and so does the account).
    """

    kind: ClassVar[str] = "signed_in"

    user: User
    provider: str
    external_id: str
    updated_fields: tuple[str, ...] = ()
    linked: bool = False


@attrs.frozen(kw_only=True)
class Registered:
    """An account was created and the person is signed in to it.

    Attributes:
        user: The new account.
        provider: The provider's name.
        external_id: The identity at the provider.
        send_register_msg: The provider's sign-up options ask for the registration e-mail.
        confirmation_required: The e-mail address is not confirmed yet (it was typed by the
            person, or the provider does not auto-confirm).
    """

    kind: ClassVar[str] = "registered"

    user: User
    provider: str
    external_id: str
    send_register_msg: bool = False
    confirmation_required: bool = False


@attrs.frozen(kw_only=True)
class RegistrationRequired:
    """The person must complete a registration form before an account can be created.

    Show a form with :attr:`fields` (pre-filled from :attr:`prefill`, the :attr:`terms` as
    check boxes), keep :attr:`token` in a hidden field, and pass the submitted values to
    :meth:`AccountFlow.complete_registration`.

    Attributes:
        token: The pending-registration token (sealed, unguessable, expires at
            :attr:`expires_at`).
        provider: The provider's name.
        fields: The form's fields (owner, required, editable, value, missing).
        missing: Dotted names of required fields without a value.
        terms: Consents the person must accept.
        prefill: Dotted field name → pre-filled value.
        problems: Dotted field name → why it could not be taken from the provider
            (``"invalid"``, ``"taken"``).
        expires_at: When the token expires.
    """

    kind: ClassVar[str] = "registration_required"

    token: str = attrs.field(repr=False)
    provider: str
    fields: tuple[RegistrationField, ...]
    missing: tuple[str, ...]
    terms: tuple[str, ...]
    prefill: Mapping[str, Any]
    problems: Mapping[str, str]
    expires_at: datetime


@attrs.frozen(kw_only=True)
class ConfirmLinkRequired:
    """An account with the same e-mail address exists, and nobody vouched that both belong to
    the same person. The person must sign in to that account first; then
    :meth:`AccountFlow.confirm_link` links the provider identity to it.

    Attributes:
        token: The pending-link token.
        provider: The provider's name.
        email: The shared e-mail address.
        user_id: The existing account's id.
        expires_at: When the token expires.
    """

    kind: ClassVar[str] = "confirm_link_required"

    token: str = attrs.field(repr=False)
    provider: str
    email: str
    user_id: str
    expires_at: datetime


@attrs.frozen(kw_only=True)
class Linked:
    """A signed-in person connected a provider identity to their account.

    Attributes:
        user: The account.
        provider: The provider's name.
        external_id: The identity at the provider.
        already_linked: The identity was linked to this account before (tokens refreshed).
    """

    kind: ClassVar[str] = "linked"

    user: User
    provider: str
    external_id: str
    already_linked: bool = False


@attrs.frozen(kw_only=True)
class Denied:
    """The sign-in is refused; :attr:`reason` can be shown to the person.

    Attributes:
        provider: The provider's name.
        code: Stable identifier (``accounts.email_domain_denied``, ``accounts.user_inactive``…).
        reason: A sentence the person can read.
    """

    kind: ClassVar[str] = "denied"

    provider: str
    code: str
    reason: str

    @classmethod
    def from_denial(cls, provider: str, denial: Denial) -> Denied:
        """From a login policy's :class:`Denial`."""
        return cls(provider=provider, code=denial.code, reason=denial.reason)


@attrs.frozen(kw_only=True)
class Disconnected:
    """A provider was disconnected from an account.

    Attributes:
        user: The account.
        provider: The provider's name.
        external_ids: The identities removed.
        revoked: The provider's tokens were revoked (``False`` with no ``revoke`` callable, no
            stored token, or when revocation failed).
        revoke_error: Why revocation failed, when it did (the link is removed regardless).
    """

    kind: ClassVar[str] = "disconnected"

    user: User
    provider: str
    external_ids: tuple[str, ...]
    revoked: bool = False
    revoke_error: AuthkitError | None = None


#: What :meth:`AccountFlow.callback` returns.
CallbackOutcome = (
    SignedIn | Registered | RegistrationRequired | ConfirmLinkRequired | Linked | Denied
)
