"""Change tracking: added/removed against last time, managed groups, hand-granted ones kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from authkit.groups import GroupResolver, GroupRules, SourceOutcome


@pytest.fixture
def resolver() -> GroupResolver:
    return GroupResolver(provider="keycloak", static=["users"], claim="groups")


def test_first_sign_in_adds_everything(resolver: GroupResolver) -> None:
    resolution = resolver.resolve_detailed({"groups": ["staff", "editors"]})
    assert resolution.provider == "keycloak"
    assert resolution.groups == {"users", "staff", "editors"}
    assert resolution.added == resolution.groups
    assert resolution.removed == frozenset()
    assert resolution.managed == resolution.groups
    assert not resolution.partial


def test_changes_against_last_time(resolver: GroupResolver) -> None:
    first = resolver.resolve_detailed({"groups": ["staff", "editors"]})
    second = resolver.resolve_detailed({"groups": ["staff", "reviewers"]}, previous=first.managed)
    assert second.added == {"reviewers"}
    assert second.removed == {"editors"}
    assert second.managed == {"users", "staff", "reviewers"}


def test_nothing_changed(resolver: GroupResolver) -> None:
    first = resolver.resolve_detailed({"groups": ["staff"]})
    again = resolver.resolve_detailed({"groups": ["staff"]}, previous=first.managed)
    assert again.added == again.removed == frozenset()


def test_apply_never_removes_hand_granted_groups(resolver: GroupResolver) -> None:
    # Last time the provider asserted "editors"; an administrator had also granted it by hand,
    # and granted "auditors" by hand only. The provider now stops asserting "editors".
    first = resolver.resolve_detailed({"groups": ["staff", "editors"]})
    current = set(first.groups) | {"auditors"}
    second = resolver.resolve_detailed({"groups": ["staff"]}, previous=first.managed)
    assert second.removed == {"editors"}
    assert second.apply(current, hand_granted={"auditors", "editors"}) == {
        "users",
        "staff",
        "editors",
        "auditors",
    }
    # without the hand grant, the provider's removal applies
    assert second.apply(current, hand_granted={"auditors"}) == {"users", "staff", "auditors"}


def test_apply_adds_new_provider_groups() -> None:
    resolver = GroupResolver(claim="groups")
    resolution = resolver.resolve_detailed({"groups": ["new"]}, previous=[])
    assert resolution.apply({"local"}) == {"local", "new"}


def test_groups_the_provider_never_managed_are_never_removed(resolver: GroupResolver) -> None:
    resolution = resolver.resolve_detailed({"groups": []}, previous=["staff"])
    assert resolution.removed == {"staff"}
    assert resolution.apply({"staff", "local-admins"}) == {"users", "local-admins"}


def test_rules_changes_show_as_changes() -> None:
    before = GroupResolver(claim="groups").resolve_detailed({"groups": ["Staff"]})
    after = GroupResolver(claim="groups", rules=GroupRules(case="lower")).resolve_detailed(
        {"groups": ["Staff"]}, previous=before.managed
    )
    assert after.added == {"staff"}
    assert after.removed == {"Staff"}


def test_partial_resolution_removes_nothing_and_keeps_managing_previous() -> None:
    resolver = GroupResolver(
        provider="p", claim=["groups", "roles"], on_failure="continue", static=["users"]
    )
    first = resolver.resolve_detailed({"groups": ["staff"], "roles": ["admin"]})
    broken = resolver.resolve_detailed(
        {"groups": ["staff", "new"], "roles": {"not": "a list"}}, previous=first.managed
    )
    assert [o.status for o in broken.outcomes] == ["ok", "skipped", "ok"]
    assert broken.outcomes[1].error is not None
    assert broken.outcomes[1].error.code == "groups.malformed_value"
    assert broken.groups == {"users", "staff", "new"}
    assert broken.added == {"new"}
    assert broken.removed == frozenset()
    assert broken.managed == {"users", "staff", "new", "admin"}
    assert broken.partial
    assert broken.apply(first.groups) == {"users", "staff", "new", "admin"}


def test_keep_cached_without_a_cache_for_a_claim_is_skipped() -> None:
    resolver = GroupResolver(claim="groups", on_failure="keep_cached")
    resolution = resolver.resolve_detailed({"groups": 5})
    assert resolution.outcomes[0].status == "skipped"
    assert resolution.outcomes[0].failed


def test_fetched_at_is_now_for_sign_in_data() -> None:
    now = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    resolution = GroupResolver(claim="groups").resolve_detailed({"groups": ["a"]}, now=now)
    assert resolution.fetched_at == now
    assert resolution.outcomes == (
        SourceOutcome(source="claim:groups", status="ok", names=("a",), fetched_at=now),
    )


def test_clock_is_used_without_now(clock: Any) -> None:
    resolver = GroupResolver(claim="groups", clock=clock)
    assert resolver.resolve_detailed({}).fetched_at == clock.now


def test_now_must_be_aware() -> None:
    from authkit.errors import InvalidSettingError

    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(claim="groups").resolve({}, now=datetime(2026, 1, 1))
    assert info.value.key == "now"
