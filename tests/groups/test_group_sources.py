"""Every group source: static, claims (Opal shapes, Keycloak paths), SAML, expression, handler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from authkit.config import Hooks, RemoteApp
from authkit.errors import (
    ConfigurationError,
    HandlerImportError,
    InvalidSettingError,
    ProviderError,
    ProviderResponseError,
    UnknownSettingError,
)
from authkit.groups import (
    ClaimSource,
    ExpressionSource,
    GroupResolver,
    GroupRules,
    HandlerSource,
    RemoteSource,
    SAMLAttributeSource,
)
from authkit.saml import DEFAULT_ATTRIBUTE_REGISTRY

KEYCLOAK_USERINFO: dict[str, Any] = {
    "sub": "f3c1a9e0-6b1e-4a49-9b2c-1d1f1b0c0a01",
    "preferred_username": "jdoe",
    "groups": ["/staff", "/staff/editors"],
    "realm_access": {"roles": ["offline_access", "uma_authorization", "curator"]},
    "resource_access": {
        "invenio": {"roles": ["admin", "reviewer"]},
        "account": {"roles": ["manage-account"]},
        "my.app": {"roles": ["dotted-client-role"]},
    },
}


# --- static groups -------------------------------------------------------------------------------


def test_static_groups_apply_to_everyone() -> None:
    resolver = GroupResolver(static=["users", "readers"])
    assert resolver.resolve({}) == {"users", "readers"}
    assert resolver.resolve({"sub": "someone", "groups": []}) == {"users", "readers"}


def test_provider_name_can_be_a_group() -> None:
    resolver = GroupResolver(provider="keycloak", static=["users"], provider_group=True)
    assert resolver.resolve({}) == {"users", "keycloak"}


def test_provider_group_without_a_provider_name_fails_at_construction() -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(provider_group=True)
    assert info.value.code == "config.invalid_value"
    assert info.value.key == "GroupResolver.provider_group"


def test_static_groups_bypass_the_rules() -> None:
    resolver = GroupResolver(
        static=["Operators"], claim="groups", rules=GroupRules(case="lower", add_prefix="kc:")
    )
    assert resolver.resolve({"groups": ["Staff"]}) == {"Operators", "kc:staff"}


# --- claims: Opal's value shapes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["staff", "admins"], {"staff", "admins"}),
        ("staff admins", {"staff", "admins"}),
        ("staff,admins", {"staff", "admins"}),
        ("staff, admins  ,readers", {"staff", "admins", "readers"}),
        ("staff\tadmins\nreaders", {"staff", "admins", "readers"}),
        ('["staff", "admins"]', {"staff", "admins"}),
        ('  ["staff with space"]  ', {"staff with space"}),
        ("single", {"single"}),
        ("", set()),
        ([], set()),
        (None, set()),
        ([" padded ", ""], {"padded"}),
    ],
)
def test_claim_accepts_every_opal_shape(value: Any, expected: set[str]) -> None:
    assert GroupResolver(claim="groups").resolve({"groups": value}) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"staff": True},
        42,
        True,
        ["staff", 7],
        ["staff", {"name": "x"}],
        '["staff", 7]',
        '{"staff": 1}',
        "[not json",
    ],
)
def test_claim_of_a_wrong_shape_is_a_typed_error(value: Any) -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(provider="opal", claim="groups").resolve({"groups": value})
    assert info.value.code == "groups.malformed_value"
    assert "claim:groups" in info.value.message


def test_absent_claim_means_no_groups_and_says_so() -> None:
    resolution = GroupResolver(claim="groups").resolve_detailed({"sub": "x"})
    assert resolution.groups == frozenset()
    assert [(o.source, o.status) for o in resolution.outcomes] == [("claim:groups", "absent")]


def test_claim_split_can_be_turned_off() -> None:
    resolver = GroupResolver(sources=[ClaimSource(claim="group", split=False)])
    assert resolver.resolve({"group": "Research Staff"}) == {"Research Staff"}


# --- claims: Keycloak's nested roles -------------------------------------------------------------


def test_keycloak_realm_and_client_roles_by_dotted_path() -> None:
    resolver = GroupResolver(
        provider="keycloak",
        claim=["realm_access.roles", "resource_access.invenio.roles"],
        rules=GroupRules(exclude=("offline_access", "uma_authorization")),
    )
    assert resolver.resolve(KEYCLOAK_USERINFO) == {"curator", "admin", "reviewer"}


def test_keycloak_group_paths_with_prefix_stripped() -> None:
    resolver = GroupResolver(claim="groups", rules=GroupRules(strip_prefixes="/"))
    assert resolver.resolve(KEYCLOAK_USERINFO) == {"staff", "staff/editors"}


def test_escaped_dot_reads_a_key_that_contains_a_dot() -> None:
    resolver = GroupResolver(claim=r"resource_access.my\.app.roles")
    assert resolver.resolve(KEYCLOAK_USERINFO) == {"dotted-client-role"}
    # without the escape the path means resource_access -> my -> app -> roles: absent
    assert GroupResolver(claim="resource_access.my.app.roles").resolve(KEYCLOAK_USERINFO) == set()


def test_escaped_backslash_in_a_key() -> None:
    resolver = GroupResolver(claim=r"odd\\key.roles")
    assert resolver.resolve({"odd\\key": {"roles": ["r"]}}) == {"r"}


def test_path_through_a_non_object_is_a_typed_error() -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(claim="realm_access.roles").resolve({"realm_access": ["curator"]})
    assert info.value.code == "groups.malformed_value"


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", r"a\b", "a\\"])
def test_bad_claim_paths_fail_at_construction(path: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(claim=path)
    assert info.value.code == "config.invalid_value"
    assert info.value.key in ("ClaimSource.claim", "GroupResolver.claim")


def test_claim_must_be_strings() -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(claim=["groups", 3])  # type: ignore[list-item]
    assert info.value.key == "GroupResolver.claim"


# --- SAML attributes -----------------------------------------------------------------------------

IS_MEMBER_OF_OID = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"
ENTITLEMENT_OID = "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"


@pytest.mark.parametrize(
    "sent_as",
    [IS_MEMBER_OF_OID, "urn:mace:dir:attribute-def:isMemberOf", "isMemberOf", "ISMEMBEROF"],
)
@pytest.mark.parametrize(
    "configured_as", [IS_MEMBER_OF_OID, "urn:mace:dir:attribute-def:isMemberOf", "isMemberOf"]
)
def test_saml_attribute_found_under_any_name_form(sent_as: str, configured_as: str) -> None:
    resolver = GroupResolver(saml_attributes=configured_as)
    assert resolver.resolve({sent_as: ["staff", "Research Staff"]}) == {"staff", "Research Staff"}


def test_saml_attributes_merge_several_attributes_and_forms() -> None:
    resolver = GroupResolver(saml_attributes=["isMemberOf", "eduPersonAffiliation"])
    attributes = {
        IS_MEMBER_OF_OID: ["staff"],
        "urn:mace:dir:attribute-def:isMemberOf": ["editors"],
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member", "faculty"],
        "urn:oid:0.9.2342.19200300.100.1.3": ["jdoe@example.org"],
    }
    assert resolver.resolve(attributes) == {"staff", "editors", "member", "faculty"}


def test_entitlement_urns_keep_what_follows_the_prefix() -> None:
    resolver = GroupResolver(
        saml_attributes="eduPersonEntitlement",
        urn_prefixes=["urn:mace:example.org:group:", "urn:geant:example.org:group:"],
    )
    attributes = {
        ENTITLEMENT_OID: [
            "urn:mace:example.org:group:staff",
            "URN:MACE:example.org:group:Editors",
            "urn:geant:example.org:group:vo1:sub:role=member#aai.example.org",
            "urn:mace:other.org:group:intruders",
            "https://example.org/not-a-urn",
        ]
    }
    assert resolver.resolve(attributes) == {"staff", "Editors", "vo1:sub:role=member"}


def test_entitlement_role_and_authority_options() -> None:
    source = SAMLAttributeSource(
        names="eduPersonEntitlement",
        urn_prefixes="urn:geant:example.org:group:",
        strip_role=True,
        keep_unmatched=True,
    )
    assert source.extract("urn:geant:example.org:group:vo1:role=admin#aai.example.org") == "vo1"
    assert source.extract("plain-group") == "plain-group"
    kept = SAMLAttributeSource(
        names="eduPersonEntitlement", urn_prefixes="urn:x:", strip_authority=False
    )
    assert kept.extract("urn:x:g#authority") == "g#authority"
    assert kept.extract("urn:x:") is None


def test_saml_values_are_not_split_on_spaces() -> None:
    resolver = GroupResolver(saml_attributes="isMemberOf")
    assert resolver.resolve({"isMemberOf": ["Research Staff"]}) == {"Research Staff"}


def test_saml_attribute_of_a_wrong_shape_is_a_typed_error() -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(saml_attributes="isMemberOf").resolve({"isMemberOf": [3]})
    assert info.value.code == "groups.malformed_value"
    with pytest.raises(ProviderResponseError):
        GroupResolver(saml_attributes="isMemberOf").resolve({"isMemberOf": {"a": 1}})


def test_saml_uses_the_attribute_registry_by_default() -> None:
    # Entra ID's group claim URI is a name form the registry knows for memberOf
    entra = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
    assert entra in DEFAULT_ATTRIBUTE_REGISTRY.names_for("memberOf")
    assert GroupResolver(saml_attributes="memberOf").resolve({entra: ["g1"]}) == {"g1"}


def test_saml_name_forms_can_be_plugged_in() -> None:
    class SiteNames:
        def names_for(self, name: str) -> tuple[str, ...]:
            return (name, "urn:site:groups") if name == "siteGroups" else (name,)

    resolver = GroupResolver(saml_attributes="siteGroups", attribute_names=SiteNames())
    assert resolver.resolve({"urn:site:groups": ["a"]}) == {"a"}


def test_saml_source_rejects_an_object_without_names_for() -> None:
    with pytest.raises(InvalidSettingError) as info:
        SAMLAttributeSource(names="isMemberOf", name_forms=object())  # type: ignore[arg-type]
    assert info.value.key == "SAMLAttributeSource.name_forms"


@pytest.mark.parametrize(
    "kwargs",
    [{"names": ()}, {"names": ("",)}, {"names": "x", "urn_prefixes": ("",)}, {"names": 3}],
)
def test_saml_source_bad_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidSettingError) as info:
        SAMLAttributeSource(**kwargs)
    assert info.value.code == "config.invalid_value"


def test_urn_prefixes_need_saml_attributes() -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(urn_prefixes="urn:x:")
    assert info.value.key == "GroupResolver.urn_prefixes"


# --- JMESPath expressions ------------------------------------------------------------------------


def test_expression_over_keycloak_client_roles() -> None:
    resolver = GroupResolver(expression="resource_access.*.roles[]")
    assert resolver.resolve(KEYCLOAK_USERINFO) == {
        "admin",
        "reviewer",
        "manage-account",
        "dotted-client-role",
    }


def test_expression_with_filter_and_functions() -> None:
    resolver = GroupResolver(expression="groups[?starts_with(@, '/staff')]")
    assert resolver.resolve(KEYCLOAK_USERINFO) == {"/staff", "/staff/editors"}


def test_expression_result_may_be_a_string_of_names() -> None:
    resolver = GroupResolver(expression="org.teams")
    assert resolver.resolve({"org": {"teams": "a,b c"}}) == {"a", "b", "c"}


def test_expression_on_mapping_types_other_than_dict() -> None:
    from types import MappingProxyType

    data: Mapping[str, Any] = MappingProxyType({"g": ("x", "y")})
    assert GroupResolver(expression="length(g) > `1` && g || `[]`").resolve(data) == {"x", "y"}


def test_expression_that_finds_nothing_is_absent() -> None:
    resolution = GroupResolver(expression="nothing.here").resolve_detailed({})
    assert resolution.outcomes[0].status == "absent"


@pytest.mark.parametrize("expression", ["groups[", "foo bar", "[?", "@@"])
def test_bad_expression_fails_at_construction(expression: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(expression=expression)
    assert info.value.code == "config.invalid_value"
    assert info.value.key == "ExpressionSource.expression"
    assert "invalid JMESPath expression" in info.value.message


def test_expression_type_error_at_sign_in_is_a_typed_error() -> None:
    resolver = GroupResolver(expression="starts_with(groups, 'x')")
    with pytest.raises(ProviderResponseError) as info:
        resolver.resolve({"groups": ["a"]})
    assert info.value.code == "groups.expression_failed"


def test_expression_returning_an_object_is_malformed() -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(expression="realm_access").resolve(KEYCLOAK_USERINFO)
    assert info.value.code == "groups.malformed_value"


def test_expression_is_not_python() -> None:
    # JMESPath would only notice the unknown functions when the expression runs; authkit checks
    # them when the source is built
    with pytest.raises(InvalidSettingError) as info:
        ExpressionSource(expression="__import__('os').system('true')")
    assert info.value.key == "ExpressionSource.expression"
    assert "unknown function __import__()" in info.value.message


# --- handlers ------------------------------------------------------------------------------------


def groups_from_email_domain(userinfo: Mapping[str, Any]) -> list[str]:
    """A custom resolver used by string reference below."""
    domain = str(userinfo.get("email", "")).rpartition("@")[2]
    return [f"domain:{domain}"] if domain else []


def invenio_style(userinfo: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"id": "g-1", "name": "Group one"}, {"name": "named"}, {"id": 7}]


def test_handler_callable() -> None:
    resolver = GroupResolver(handler=groups_from_email_domain)
    assert resolver.resolve({"email": "jo@example.org"}) == {"domain:example.org"}


def test_handler_module_attr_string() -> None:
    resolver = GroupResolver(handler=f"{__name__}:groups_from_email_domain")
    assert resolver.resolve({"email": "jo@cern.ch"}) == {"domain:cern.ch"}
    assert resolver.sources[0].label == f"handler:{__name__}:groups_from_email_domain"


def test_handler_may_return_invenio_group_objects() -> None:
    assert GroupResolver(handler=invenio_style).resolve({}) == {"g-1", "named", "7"}


@pytest.mark.parametrize(
    "ref",
    ["no_such_module_xyz:f", f"{__name__}:missing", "no-colon", f"{__name__}:KEYCLOAK_USERINFO"],
)
def test_unresolvable_handler_fails_at_construction(ref: str) -> None:
    with pytest.raises(HandlerImportError) as info:
        GroupResolver(handler=ref)
    assert info.value.code == "config.handler_unresolvable"
    assert ref in info.value.message


def test_handler_that_is_not_callable_or_string() -> None:
    with pytest.raises(InvalidSettingError) as info:
        HandlerSource(handler=42)  # type: ignore[arg-type]
    assert info.value.key == "HandlerSource.handler"


def test_handler_raising_becomes_a_typed_provider_error() -> None:
    # json.loads of a dict raises TypeError inside the handler
    with pytest.raises(ProviderError) as info:
        GroupResolver(provider="p", handler="json:loads").resolve({"sub": "x"})
    assert info.value.code == "groups.handler_failed"
    assert isinstance(info.value.__cause__, TypeError)


@pytest.mark.parametrize("result", [42, {"a": 1}, [1.5], [None]])
def test_handler_returning_a_wrong_shape(result: Any) -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(handler=lambda _: result).resolve({})
    assert info.value.code == "groups.malformed_value"


# --- combining sources ---------------------------------------------------------------------------


def test_sources_are_combined_and_reported_in_order() -> None:
    resolver = GroupResolver(
        provider="keycloak",
        static=["users"],
        claim=["groups", "realm_access.roles"],
        expression="resource_access.invenio.roles",
        handler=lambda info: ["from-handler"],
        rules=GroupRules(strip_prefixes="/", exclude_regex=r"offline_.*|uma_.*"),
    )
    resolution = resolver.resolve_detailed(KEYCLOAK_USERINFO)
    assert resolution.groups == {
        "users",
        "staff",
        "staff/editors",
        "curator",
        "admin",
        "reviewer",
        "from-handler",
    }
    assert [o.source for o in resolution.outcomes] == [
        "claim:groups",
        "claim:realm_access.roles",
        "expression",
        "handler",
        "static",
    ]
    assert all(o.status == "ok" for o in resolution.outcomes)


def test_explicit_sources_list() -> None:
    resolver = GroupResolver(
        sources=[ClaimSource(claim="a"), ExpressionSource(expression="b[0]")],
    )
    assert resolver.resolve({"a": ["x"], "b": [["y"]]}) == {"x", "y"}


def test_sources_list_rejects_other_objects() -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(sources=["groups"])  # type: ignore[list-item]
    assert info.value.key == "GroupResolver.sources[0]"


def test_input_must_be_a_mapping() -> None:
    with pytest.raises(ProviderResponseError) as info:
        GroupResolver(claim="groups").resolve(["groups"])  # type: ignore[arg-type]
    assert info.value.code == "groups.malformed_input"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"on_failure": "ignore"}, "GroupResolver.on_failure"),
        ({"provider": ""}, "GroupResolver.provider"),
        ({"provider_group": "yes"}, "GroupResolver.provider_group"),
        ({"static": [""]}, "GroupResolver.static"),
        ({"static": 5}, "GroupResolver.static"),
        ({"rules": {"case": "lower"}}, "GroupResolver.rules"),
        ({"remote": "https://example.org/groups"}, "GroupResolver.remote"),
    ],
)
def test_bad_resolver_arguments(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        GroupResolver(**kwargs)
    assert info.value.key == key


# --- Invenio remote apps -------------------------------------------------------------------------


def invenio_groups(remote: RemoteApp, resp: Mapping[str, Any]) -> list[dict[str, str]]:
    """Invenio's ``groups`` handler signature: (remote, token response)."""
    return [{"id": f"{remote.name}-{resp['access_token'][:3]}", "name": "From token"}]


def invenio_serializer(remote: RemoteApp, groups: list[str], **kwargs: Any) -> list[dict[str, str]]:
    """Invenio's ``groups_serializer`` signature, as CERN's: (remote, groups)."""
    return [{"id": name.upper(), "name": name} for name in groups]


def test_from_remote_app_uses_static_claim_and_expression() -> None:
    app = RemoteApp(
        name="opal-idp",
        title="Opal IdP",
        static_groups=("opal-users",),
        groups_claim="realm_access.roles",
        groups_expression="resource_access.invenio.roles",
    )
    resolver = GroupResolver.from_remote_app(app, provider_group=True)
    assert resolver.provider == "opal-idp"
    assert resolver.resolve(KEYCLOAK_USERINFO) == {
        "opal-users",
        "opal-idp",
        "offline_access",
        "uma_authorization",
        "curator",
        "admin",
        "reviewer",
    }


def test_from_remote_app_honours_invenio_groups_hook() -> None:
    app = RemoteApp(
        name="cern",
        title="CERN",
        groups_claim="groups",
        hooks=Hooks(groups=f"{__name__}:invenio_groups"),
    )
    resolver = GroupResolver.from_remote_app(app)
    resolution = resolver.resolve_detailed(
        {"groups": ["ignored-when-a-hook-is-set"]}, token={"access_token": "abcdef"}
    )
    assert resolution.groups == {"cern-abc"}
    assert [o.source for o in resolution.outcomes] == ["invenio:groups"]
    # the access token given on its own reaches the hook as resp["access_token"]
    assert resolver.resolve({}, access_token="xyz123") == {"cern-xyz"}


def test_from_remote_app_serializer_shapes_the_claim() -> None:
    app = RemoteApp(name="cern", title="CERN", hooks=Hooks(groups_serializer=invenio_serializer))
    resolver = GroupResolver.from_remote_app(app)
    assert resolver.resolve({"groups": ["it-dep", "atlas"]}) == {"IT-DEP", "ATLAS"}
    assert resolver.resolve_detailed({}).outcomes[0].status == "absent"


def test_from_remote_app_invenio_builtin_handler_reads_the_groups_claim() -> None:
    app = RemoteApp(
        name="kc",
        title="Keycloak",
        hooks=Hooks(groups="invenio_oauthclient.contrib.keycloak.handlers:groups_handler"),
    )
    assert GroupResolver.from_remote_app(app).resolve({"groups": "a b"}) == {"a", "b"}


def test_from_remote_app_with_unresolvable_hook_fails_at_construction() -> None:
    app = RemoteApp(name="x", title="X", hooks=Hooks(groups="no_such_pkg_abc.handlers:groups"))
    with pytest.raises(HandlerImportError) as info:
        GroupResolver.from_remote_app(app)
    assert info.value.code == "config.handler_unresolvable"
    assert info.value.key == "RemoteApp('x').hooks.groups"


def test_from_remote_app_with_bad_expression_fails_at_construction() -> None:
    app = RemoteApp(name="x", title="X", groups_expression="groups[")
    with pytest.raises(InvalidSettingError):
        GroupResolver.from_remote_app(app)


# --- configuration as data -----------------------------------------------------------------------


def test_from_dict_builds_every_part() -> None:
    resolver = GroupResolver.from_dict(
        {
            "provider": "opal",
            "static": ["users"],
            "claim": "groups",
            "expression": "extra_groups",
            "handler": f"{__name__}:groups_from_email_domain",
            "rules": {"case": "lower", "exclude": ["admins"]},
            "remote": {"url": "https://groups.example.org/me", "refresh_interval": 60},
            "on_failure": "continue",
        }
    )
    assert isinstance(resolver.sources[-1], RemoteSource)
    assert resolver.rules == GroupRules(case="lower", exclude=("admins",))
    assert resolver.on_failure == "continue"


@pytest.mark.parametrize(
    ("data", "error", "key"),
    [
        ({"claims": "groups"}, UnknownSettingError, "GroupResolver"),
        ({"rules": {"lowercase": True}}, UnknownSettingError, "GroupResolver.rules"),
        ({"remote": {"uri": "https://x"}}, UnknownSettingError, "GroupResolver.remote"),
        ({"rules": ["x"]}, InvalidSettingError, "GroupResolver.rules"),
        ({"handler": 3}, InvalidSettingError, "GroupResolver.handler"),
        ({"rules": {"include_regex": ["("]}}, InvalidSettingError, "GroupRules.include_regex[0]"),
    ],
)
def test_from_dict_rejects_bad_data(
    data: dict[str, Any], error: type[ConfigurationError], key: str
) -> None:
    with pytest.raises(error) as info:
        GroupResolver.from_dict(data)
    assert info.value.key == key


def test_from_dict_needs_a_mapping() -> None:
    with pytest.raises(InvalidSettingError):
        GroupResolver.from_dict(["claim"])  # type: ignore[arg-type]
