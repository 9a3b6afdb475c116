"""Login policies: who may sign in (Invenio's "allow/deny user login", made configuration).

A policy looks at a :class:`LoginAttempt` — the provider, what it said about the person, the
e-mail address that will be used — and returns ``None`` to let the person in or a
:class:`Denial` with a reason the person can read. The flow checks every policy on each sign-in,
link and registration; the first denial wins.

- :class:`EmailDomainPolicy` — allow and deny lists of e-mail domains, subdomains included.
- :class:`ClaimPolicy` — a claim (or SAML attribute) must hold one of, or all of, some values.
- :class:`GroupPolicy` — the person must be in one of some groups, resolved by any callable
  (an :class:`authkit.groups.GroupResolver`'s ``resolve`` fits).
- :class:`CallablePolicy` — your own function.

Each can be limited to some providers (``providers=("github",)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from authkit.accounts._info import AccountInfo, claim_at
from authkit.accounts._unset import UNSET
from authkit.errors import InvalidSettingError
from authkit.stores import User

__all__ = [
    "CallablePolicy",
    "ClaimPolicy",
    "Denial",
    "EmailDomainPolicy",
    "GroupPolicy",
    "LoginAttempt",
    "LoginPolicy",
    "check_login",
]


@attrs.frozen(kw_only=True)
class Denial:
    """A refused sign-in.

    Attributes:
        code: Stable identifier (``accounts.email_domain_denied``…), for logs and branching.
        reason: A sentence the person can be shown.
    """

    code: str
    reason: str


@attrs.frozen(kw_only=True)
class LoginAttempt:
    """What a login policy judges.

    Attributes:
        provider: The provider's name.
        info: What the provider said (``info.raw`` holds the claims or SAML attributes).
        email: The e-mail address the account will have: the provider's, else the existing
            account's, else the one typed at registration.
        email_pending: No e-mail address is known yet, and the person will be asked for one
            at registration (where the policies run again with it).
        user: The existing account, when there is one.
    """

    provider: str
    info: AccountInfo
    email: str | None = None
    email_pending: bool = False
    user: User | None = None


@runtime_checkable
class LoginPolicy(Protocol):
    """Decides whether a sign-in may proceed."""

    def check(self, attempt: LoginAttempt) -> Denial | None:
        """``None`` to allow, a :class:`Denial` to refuse."""
        ...


def _providers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _str_tuple(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
        raise InvalidSettingError(
            f"expected a list of non-empty strings, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


def _domains(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        return value  # type: ignore[no-any-return]  # the validator reports it
    cleaned = []
    for item in value:
        if not isinstance(item, str):
            return tuple(value)
        cleaned.append(item.strip().lower().lstrip("@").lstrip(".").rstrip("."))
    return tuple(cleaned)


def _valid_domains(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _str_tuple(inst, attribute, value)
    for domain in value:
        if "@" in domain or " " in domain or "." not in domain.strip("."):
            raise InvalidSettingError(
                f"expected e-mail domains such as 'example.org', got {domain!r}",
                key=f"{type(inst).__name__}.{attribute.name}",
            )


def _applies(providers: tuple[str, ...], attempt: LoginAttempt) -> bool:
    return not providers or attempt.provider in providers


def _domain_matches(domain: str, entry: str, subdomains: bool) -> bool:
    return domain == entry or (subdomains and domain.endswith("." + entry))


@attrs.frozen(kw_only=True)
class EmailDomainPolicy:
    """Allow or deny by the domain of the e-mail address.

    Args:
        allow: When not empty, only these domains may sign in.
        deny: These domains may not sign in (checked first: deny wins).
        subdomains: ``example.org`` also covers ``cs.example.org``.
        providers: Apply only to these providers (all when empty).
        reason: The sentence shown on denial.

    A person without any e-mail address is refused when there is an allow list, unless the
    address will be asked for at registration (then the check runs on the typed address).
    """

    allow: tuple[str, ...] = attrs.field(default=(), converter=_domains, validator=_valid_domains)
    deny: tuple[str, ...] = attrs.field(default=(), converter=_domains, validator=_valid_domains)
    subdomains: bool = True
    providers: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    reason: str = "Accounts with this e-mail address may not sign in to this site."

    def check(self, attempt: LoginAttempt) -> Denial | None:
        """Refuse an address outside the allow list or inside the deny list."""
        if not _applies(self.providers, attempt):
            return None
        email = attempt.email
        if not email:
            if self.allow and not attempt.email_pending:
                return Denial(code="accounts.email_required", reason=self.reason)
            return None
        _, at, domain = email.rpartition("@")
        domain = domain.strip().lower().rstrip(".")
        if not at or not domain:
            return Denial(code="accounts.email_domain_denied", reason=self.reason)
        if any(_domain_matches(domain, d, self.subdomains) for d in self.deny):
            return Denial(code="accounts.email_domain_denied", reason=self.reason)
        if self.allow and not any(_domain_matches(domain, d, self.subdomains) for d in self.allow):
            return Denial(code="accounts.email_domain_denied", reason=self.reason)
        return None


def _values(value: Any) -> set[str]:
    if value is UNSET or value is None:
        return set()
    if isinstance(value, list | tuple | set | frozenset):
        return {str(v) for v in value if v is not None}
    if isinstance(value, bool):
        return {"true" if value else "false"}
    return {str(value)}


@attrs.frozen(kw_only=True)
class ClaimPolicy:
    """Require a claim (or SAML attribute) value.

    Args:
        claim: Claim name; a dotted path reaches nested claims (``realm_access.roles``). For
            SAML, an attribute name as sent.
        any_of: The claim must hold at least one of these values.
        all_of: The claim must hold all of these values.
        providers: Apply only to these providers (all when empty).
        reason: The sentence shown on denial.

    A list-valued claim is compared by membership, a single value by equality (booleans as
    ``"true"`` / ``"false"``).
    """

    claim: str = attrs.field()
    any_of: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    all_of: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    providers: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    reason: str = "Your account at the identity provider does not give access to this site."

    @claim.validator
    def _check_claim(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise InvalidSettingError(
                f"expected a claim name, got {value!r}", key="ClaimPolicy.claim"
            )
        if not self.any_of and not self.all_of:
            raise InvalidSettingError(
                "give any_of or all_of (the values the claim must hold)", key="ClaimPolicy"
            )

    def check(self, attempt: LoginAttempt) -> Denial | None:
        """Refuse when the claim lacks the required values."""
        if not _applies(self.providers, attempt):
            return None
        held = _values(claim_at(attempt.info.raw, self.claim))
        if self.any_of and not held.intersection(self.any_of):
            return Denial(code="accounts.claim_required", reason=self.reason)
        if self.all_of and not set(self.all_of) <= held:
            return Denial(code="accounts.claim_required", reason=self.reason)
        return None


@attrs.frozen(kw_only=True)
class GroupPolicy:
    """Require membership of at least one group.

    Args:
        groups: Returns the person's groups from the raw claims or SAML attributes, e.g.
            ``GroupResolver(claim="groups").resolve``.
        any_of: The groups that give access.
        providers: Apply only to these providers (all when empty).
        reason: The sentence shown on denial.
    """

    groups: Callable[[Mapping[str, Any]], Iterable[str]]
    any_of: tuple[str, ...] = attrs.field(converter=_providers, validator=_str_tuple)
    providers: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    reason: str = "You are not a member of a group that may sign in to this site."

    def check(self, attempt: LoginAttempt) -> Denial | None:
        """Refuse when none of the person's groups gives access."""
        if not _applies(self.providers, attempt):
            return None
        if not set(self.groups(attempt.info.raw)).intersection(self.any_of):
            return Denial(code="accounts.group_required", reason=self.reason)
        return None


@attrs.frozen(kw_only=True)
class CallablePolicy:
    """Your own rule.

    Args:
        func: Called with the :class:`LoginAttempt`. Return ``None`` or ``True`` to allow;
            ``False`` (denied with ``reason``), a string (the reason) or a :class:`Denial` to
            refuse.
        providers: Apply only to these providers (all when empty).
        reason: The sentence shown when ``func`` returns ``False``.
        code: The denial code when ``func`` returns ``False`` or a string.
    """

    func: Callable[[LoginAttempt], Denial | str | bool | None]
    providers: tuple[str, ...] = attrs.field(default=(), converter=_providers, validator=_str_tuple)
    reason: str = "You may not sign in to this site."
    code: str = "accounts.login_denied"

    def check(self, attempt: LoginAttempt) -> Denial | None:
        """Run ``func``.

        Raises:
            InvalidSettingError: ``func`` returned something else than the values above.
        """
        if not _applies(self.providers, attempt):
            return None
        result = self.func(attempt)
        if result is None or result is True:
            return None
        if result is False:
            return Denial(code=self.code, reason=self.reason)
        if isinstance(result, str):
            return Denial(code=self.code, reason=result)
        if isinstance(result, Denial):
            return result
        raise InvalidSettingError(
            f"a login policy returned {type(result).__name__}; expected None, a bool, a reason "
            "string or a Denial",
            key="CallablePolicy.func",
        )


def check_login(
    policies: Iterable[LoginPolicy | Callable[[LoginAttempt], Any]], attempt: LoginAttempt
) -> Denial | None:
    """The first denial of ``policies`` (plain callables act as :class:`CallablePolicy`)."""
    for policy in policies:
        if isinstance(policy, LoginPolicy):
            denial = policy.check(attempt)
        else:
            denial = CallablePolicy(func=policy).check(attempt)
        if denial is not None:
            return denial
    return None
