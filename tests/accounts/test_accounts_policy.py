"""Login policies: e-mail domains, claims, groups, callables; and their configuration errors."""

from __future__ import annotations

from typing import Any

import pytest

from authkit.accounts import (
    AccountInfo,
    CallablePolicy,
    ClaimPolicy,
    Denial,
    EmailDomainPolicy,
    GroupPolicy,
    LoginAttempt,
    check_login,
)
from authkit.errors import InvalidSettingError
from authkit.groups import GroupResolver


def attempt(
    email: str | None = "jane@example.org",
    *,
    provider: str = "kc",
    pending: bool = False,
    **claims: Any,
) -> LoginAttempt:
    info = AccountInfo.from_claims({"sub": "1", **claims}, provider=provider)
    return LoginAttempt(provider=provider, info=info, email=email, email_pending=pending)


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("jane@example.org", True),
        ("jane@EXAMPLE.ORG", True),
        ("jane@cs.example.org", True),
        ("jane@example.org.", True),
        ("jane@badexample.org", False),
        ("jane@example.org.evil.com", False),
        ("jane@gmail.com", False),
        ("no-at-sign", False),
        (None, False),
    ],
)
def test_allow_list_with_subdomains(email: str | None, allowed: bool) -> None:
    policy = EmailDomainPolicy(allow=["@Example.org"])
    denial = policy.check(attempt(email))
    assert (denial is None) is allowed
    if denial is not None:
        assert denial.reason == policy.reason
        assert denial.code in ("accounts.email_domain_denied", "accounts.email_required")


def test_subdomains_can_be_excluded() -> None:
    policy = EmailDomainPolicy(allow=["example.org"], subdomains=False)
    assert policy.check(attempt("jane@example.org")) is None
    assert policy.check(attempt("jane@cs.example.org")) is not None


def test_deny_list_wins() -> None:
    policy = EmailDomainPolicy(allow=["example.org"], deny=["students.example.org"])
    assert policy.check(attempt("jane@staff.example.org")) is None
    denial = policy.check(attempt("joe@students.example.org"))
    assert denial == Denial(code="accounts.email_domain_denied", reason=policy.reason)
    assert EmailDomainPolicy(deny=["gmail.com"]).check(attempt(None)) is None  # nothing to deny


def test_missing_email_is_deferred_when_it_will_be_asked() -> None:
    policy = EmailDomainPolicy(allow=["example.org"])
    assert policy.check(attempt(None, pending=True)) is None
    denial = policy.check(attempt(None))
    assert denial is not None
    assert denial.code == "accounts.email_required"


def test_provider_scoping() -> None:
    policy = EmailDomainPolicy(allow=["example.org"], providers="github")
    assert policy.check(attempt("x@gmail.com", provider="kc")) is None
    assert policy.check(attempt("x@gmail.com", provider="github")) is not None


@pytest.mark.parametrize(
    ("claims", "policy_args", "allowed"),
    [
        ({"groups": ["staff", "x"]}, {"claim": "groups", "any_of": ["staff"]}, True),
        ({"groups": ["x"]}, {"claim": "groups", "any_of": ["staff", "faculty"]}, False),
        ({}, {"claim": "groups", "any_of": ["staff"]}, False),
        ({"groups": None}, {"claim": "groups", "any_of": ["staff"]}, False),
        ({"groups": ["a", "b"]}, {"claim": "groups", "all_of": ["a", "b"]}, True),
        ({"groups": ["a"]}, {"claim": "groups", "all_of": ["a", "b"]}, False),
        (
            {"realm_access": {"roles": ["admin"]}},
            {"claim": "realm_access.roles", "any_of": "admin"},
            True,
        ),
        ({"hd": "example.org"}, {"claim": "hd", "any_of": ["example.org"]}, True),
        ({"eligible": True}, {"claim": "eligible", "any_of": ["true"]}, True),
        ({"eligible": False}, {"claim": "eligible", "any_of": ["true"]}, False),
        ({"level": 3}, {"claim": "level", "any_of": ["3"]}, True),
    ],
)
def test_claim_policy(claims: dict[str, Any], policy_args: dict[str, Any], allowed: bool) -> None:
    policy = ClaimPolicy(**policy_args)
    denial = policy.check(attempt(**claims))
    assert (denial is None) is allowed
    if denial is not None:
        assert denial.code == "accounts.claim_required"


def test_claim_policy_reads_saml_attributes_by_name() -> None:
    from authkit.saml import MappedIdentity

    info = AccountInfo.from_saml(
        MappedIdentity(
            external_id="a",
            attributes={"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ("staff", "member")},
        ),
        provider="uni",
    )
    policy = ClaimPolicy(claim="urn:oid:1.3.6.1.4.1.5923.1.1.1.1", any_of=["staff"])
    assert policy.check(LoginAttempt(provider="uni", info=info)) is None
    student = ClaimPolicy(claim="urn:oid:1.3.6.1.4.1.5923.1.1.1.1", any_of=["student"])
    assert student.check(LoginAttempt(provider="uni", info=info)) is not None


def test_group_policy_with_a_group_resolver() -> None:
    resolver = GroupResolver(claim="groups")
    policy = GroupPolicy(groups=resolver.resolve, any_of=["staff"])
    assert policy.check(attempt(groups=["staff", "readers"])) is None
    denial = policy.check(attempt(groups=["readers"]))
    assert denial is not None
    assert denial.code == "accounts.group_required"


def test_callable_policy_return_values() -> None:
    def rule(result: Any) -> CallablePolicy:
        return CallablePolicy(func=lambda a: result, reason="No.", code="site.closed")

    assert rule(None).check(attempt()) is None
    assert rule(True).check(attempt()) is None
    assert rule(False).check(attempt()) == Denial(code="site.closed", reason="No.")
    assert rule("Come back later.").check(attempt()) == Denial(
        code="site.closed", reason="Come back later."
    )
    custom = Denial(code="x.y", reason="Z.")
    assert rule(custom).check(attempt()) is custom
    with pytest.raises(InvalidSettingError) as caught:
        rule(42).check(attempt())
    assert caught.value.key == "CallablePolicy.func"


def test_check_login_takes_the_first_denial_and_plain_callables() -> None:
    seen: list[str] = []

    def log(a: LoginAttempt) -> None:
        seen.append(a.provider)

    policies = [log, EmailDomainPolicy(deny=["gmail.com"]), lambda a: "never reached"]
    assert check_login(policies[:2], attempt()) is None
    denial = check_login(policies, attempt("x@gmail.com"))
    assert denial is not None
    assert denial.code == "accounts.email_domain_denied"
    assert seen == ["kc", "kc"]
    last = check_login(policies, attempt("x@example.org"))
    assert last == Denial(code="accounts.login_denied", reason="never reached")


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: EmailDomainPolicy(allow=["not a domain"]), "EmailDomainPolicy.allow"),
        (lambda: EmailDomainPolicy(deny=["user@example.org"]), "EmailDomainPolicy.deny"),
        (lambda: EmailDomainPolicy(allow=["localhost"]), "EmailDomainPolicy.allow"),
        (lambda: EmailDomainPolicy(allow=[3]), "EmailDomainPolicy.allow"),
        (lambda: ClaimPolicy(claim="groups"), "ClaimPolicy"),
        (lambda: ClaimPolicy(claim="", any_of=["a"]), "ClaimPolicy.claim"),
        (lambda: ClaimPolicy(claim="g", any_of=[""]), "ClaimPolicy.any_of"),
        (lambda: EmailDomainPolicy(providers=[1]), "EmailDomainPolicy.providers"),
    ],
)
def test_bad_policy_configuration(build: Any, key: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        build()
    assert caught.value.key == key
