"""Group rules: strip, case, rename, include/exclude, add prefix, limits — and their order."""

from __future__ import annotations

from typing import Any

import pytest

from authkit.errors import InvalidSettingError, ProviderResponseError
from authkit.groups import DroppedGroup, GroupResolver, GroupRules


def run(rules: GroupRules, names: list[str]) -> set[str]:
    kept, _ = rules.apply(names)
    return set(kept)


def test_default_rules_keep_names_as_sent() -> None:
    assert run(GroupRules(), ["Staff", " padded ", "", "Staff"]) == {"Staff", "padded"}


def test_strip_first_matching_prefix_only() -> None:
    rules = GroupRules(strip_prefixes=("/org/", "/"))
    assert run(rules, ["/org/staff", "/editors", "plain", "/org//x"]) == {
        "staff",
        "editors",
        "plain",
        "/x",
    }


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("preserve", {"Straße", "ADMINS"}),
        ("lower", {"straße", "admins"}),
        ("upper", {"STRASSE", "ADMINS"}),
        ("casefold", {"strasse", "admins"}),
    ],
)
def test_case_normalisation(case: Any, expected: set[str]) -> None:
    assert run(GroupRules(case=case), ["Straße", "ADMINS"]) == expected


def test_rename_keys_follow_the_case_rule() -> None:
    rules = GroupRules(case="lower", rename={"Admins": "administrators", "x": "y"})
    assert run(rules, ["ADMINS", "X", "other"]) == {"administrators", "y", "other"}


def test_rename_keys_colliding_under_case_rule_fail() -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupRules(case="lower", rename={"Admins": "a", "ADMINS": "b"})
    assert info.value.key == "GroupRules.rename"
    assert "'Admins' and 'ADMINS'" in info.value.message


def test_include_exact_and_regex() -> None:
    rules = GroupRules(include=("staff",), include_regex=(r"team-\d+",))
    assert run(rules, ["staff", "team-1", "team-x", "students", "my-team-1"]) == {"staff", "team-1"}


def test_exclude_wins_over_include() -> None:
    rules = GroupRules(include_regex=(r"team-.*",), exclude=("team-secret",))
    assert run(rules, ["team-a", "team-secret"]) == {"team-a"}


def test_regexes_match_the_whole_name() -> None:
    rules = GroupRules(exclude_regex=("admin",))
    assert run(rules, ["admin", "sysadmin-readers", "admins"]) == {"sysadmin-readers", "admins"}


def test_add_prefix_after_filtering() -> None:
    rules = GroupRules(include=("staff",), add_prefix="kc:")
    assert run(rules, ["staff", "kc:staff", "other"]) == {"kc:staff"}


def test_full_pipeline_order() -> None:
    rules = GroupRules(
        strip_prefixes="/",
        case="lower",
        rename={"editors": "curators"},
        exclude=("curators-old",),
        include_regex=(r"[a-z]+",),
        add_prefix="idp:",
    )
    # strip -> lower -> rename -> filter (on the renamed name) -> prefix
    assert run(rules, ["/Editors", "/Staff", "/Staff-2", "Curators-Old"]) == {
        "idp:curators",
        "idp:staff",
    }


@pytest.mark.parametrize("field", ["include_regex", "exclude_regex"])
def test_bad_regex_fails_at_construction_naming_the_key(field: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupRules(**{field: ["ok", "team-(\\d+"]})
    assert info.value.code == "config.invalid_value"
    assert info.value.key == f"GroupRules.{field}[1]"
    assert "team-(\\\\d+" in info.value.message or "team-(\\d+" in info.value.message
    assert "missing )" in info.value.message


def test_bad_regex_in_a_resolver_fails_when_the_resolver_is_built() -> None:
    with pytest.raises(InvalidSettingError):
        GroupResolver(claim="groups", rules=GroupRules(exclude_regex="[unclosed"))


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"case": "title"}, "GroupRules.case"),
        ({"rename": {"a": 1}}, "GroupRules.rename"),
        ({"rename": {"": "x"}}, "GroupRules.rename"),
        ({"rename": ["a"]}, "GroupRules.rename"),
        ({"include": [1]}, "GroupRules.include"),
        ({"strip_prefixes": 3}, "GroupRules.strip_prefixes"),
        ({"add_prefix": None}, "GroupRules.add_prefix"),
        ({"max_groups": 0}, "GroupRules.max_groups"),
        ({"max_groups": True}, "GroupRules.max_groups"),
        ({"max_length": 2.5}, "GroupRules.max_length"),
        ({"on_limit": "truncate"}, "GroupRules.on_limit"),
    ],
)
def test_bad_rule_values(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupRules(**kwargs)
    assert info.value.key == key


# --- limits --------------------------------------------------------------------------------------


def test_too_long_names_are_dropped_and_reported() -> None:
    rules = GroupRules(max_length=5, add_prefix="p:")
    kept, dropped = rules.apply(["abc", "abcd", "x"])
    assert kept == {"p:abc", "p:x"}  # the limit applies to the final name
    assert dropped == (DroppedGroup(name="p:abcd", reason="too_long"),)


def test_too_many_names_keep_the_first_in_sorted_order() -> None:
    rules = GroupRules(max_groups=3)
    names = [f"g{i:02d}" for i in range(10, 0, -1)]
    kept, dropped = rules.apply(names)
    assert kept == {"g01", "g02", "g03"}
    assert [d.name for d in dropped] == [f"g{i:02d}" for i in range(4, 11)]
    assert {d.reason for d in dropped} == {"too_many"}


def test_limits_off() -> None:
    rules = GroupRules(max_groups=None, max_length=None)
    kept, dropped = rules.apply([f"g{i}" * 100 for i in range(1200)])
    assert len(kept) == 1200
    assert dropped == ()


def test_default_limits_protect_the_session() -> None:
    kept, dropped = GroupRules().apply([f"g{i}" for i in range(1500)] + ["x" * 300])
    assert len(kept) == 1000
    assert len(dropped) == 501


def test_limit_with_deny_policy_raises() -> None:
    resolver = GroupResolver(
        provider="kc", claim="groups", rules=GroupRules(max_groups=2, on_limit="deny")
    )
    assert resolver.resolve({"groups": ["a", "b"]}) == {"a", "b"}
    with pytest.raises(ProviderResponseError) as info:
        resolver.resolve({"groups": ["a", "b", "c"]})
    assert info.value.code == "groups.limit_exceeded"
    assert "2 groups" in info.value.message
    long_names = GroupResolver(claim="g", rules=GroupRules(max_length=3, on_limit="deny"))
    with pytest.raises(ProviderResponseError) as info:
        long_names.resolve({"g": ["abcd"]})
    assert "3 characters" in info.value.message


def test_resolution_reports_dropped_groups() -> None:
    resolver = GroupResolver(claim="groups", rules=GroupRules(max_groups=1))
    resolution = resolver.resolve_detailed({"groups": ["b", "a"]})
    assert resolution.groups == {"a"}
    assert resolution.dropped == (DroppedGroup(name="b", reason="too_many"),)
