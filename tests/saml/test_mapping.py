"""Attribute mapping: rules, fallbacks, multi-valued rules, scopes, NameID, diagnostics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from saml_metadata_factory import cert_body, idp_entity, make_key_and_cert, single

from authkit.errors import (
    InvalidSettingError,
    MissingSettingError,
    SAMLValidationError,
    UnknownSettingError,
)
from authkit.saml import (
    NAME_ID,
    AttributeMapping,
    AttributeRule,
    MappedIdentity,
    Scope,
    parse_idp_metadata,
)

MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN = "urn:oid:2.5.4.42"
SN = "urn:oid:2.5.4.4"
DISPLAY = "urn:oid:2.16.840.1.113730.3.1.241"
EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
EPSA = "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"
EPA = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
PKCS9_EMAIL = "urn:oid:1.2.840.113549.1.9.1"
PAIRWISE = "urn:oasis:names:tc:SAML:attribute:pairwise-id"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

ADA = {
    MAIL: ["ada@example.org"],
    GIVEN: ["Ada"],
    SN: ["Lovelace"],
    DISPLAY: ["Ada King, Countess of Lovelace"],
    EPPN: ["ada@example.org"],
    EPSA: ["staff@example.org", "member@example.org"],
}


def expect(
    code: str, mapping: AttributeMapping, attributes: dict[str, list[str]], **kwargs: object
) -> str:
    with pytest.raises(SAMLValidationError) as info:
        mapping.map(attributes, **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code, info.value
    return str(info.value)


# --- the default mapping ----------------------------------------------------------------------


def test_default_mapping_of_a_research_and_education_idp() -> None:
    identity = AttributeMapping.default().map(ADA, name_id="opaque-1", name_id_format=PERSISTENT)
    assert identity == MappedIdentity(
        email="ada@example.org",
        given_name="Ada",
        family_name="Lovelace",
        full_name="Ada King, Countess of Lovelace",
        username=None,
        external_id="ada@example.org",  # eduPersonPrincipalName before the NameID
        affiliations=("staff@example.org", "member@example.org"),
        name_id="opaque-1",
        name_id_format=PERSISTENT,
        attributes={k: tuple(v) for k, v in ADA.items()},
    )
    assert identity.to_dict()["affiliations"] == ["staff@example.org", "member@example.org"]
    assert identity.to_dict()["attributes"][MAIL] == ["ada@example.org"]


def test_default_mapping_prefers_pairwise_id_and_falls_back_to_the_name_id() -> None:
    mapping = AttributeMapping.default()
    with_pairwise = {**ADA, PAIRWISE: ["XYZ@example.org"]}
    assert mapping.map(with_pairwise).external_id == "XYZ@example.org"
    only_mail = {MAIL: ["ada@example.org"]}
    assert mapping.map(only_mail, name_id="p-1", name_id_format=PERSISTENT).external_id == "p-1"


# --- sources: any name form, fallbacks, NameID -------------------------------------------------


@pytest.mark.parametrize(
    "source", ["mail", "Mail", MAIL, "urn:mace:dir:attribute-def:mail", "rfc822Mailbox"]
)
@pytest.mark.parametrize("sent_as", [MAIL, "mail", "urn:mace:dir:attribute-def:mail"])
def test_any_name_form_finds_any_other(source: str, sent_as: str) -> None:
    mapping = AttributeMapping(email=AttributeRule(sources=source))
    assert mapping.map({sent_as: ["ada@example.org"]}).email == "ada@example.org"


def test_unknown_names_match_exactly() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources="User.Email"))
    assert mapping.map({"User.Email": ["a@x.org"]}).email == "a@x.org"
    assert mapping.map({"user.email": ["a@x.org"]}).email is None


def test_ordered_fallbacks() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources=("mail", "email", "User.Email")))
    assert mapping.map({PKCS9_EMAIL: ["b@x.org"], "User.Email": ["c@x.org"]}).email == "b@x.org"
    assert mapping.map({"User.Email": ["c@x.org"]}).email == "c@x.org"
    both = {MAIL: ["a@x.org"], PKCS9_EMAIL: ["b@x.org"]}
    assert mapping.map(both).email == "a@x.org"


def test_blank_values_do_not_count() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources=("mail", "email")))
    assert mapping.map({MAIL: ["", "  "], PKCS9_EMAIL: ["b@x.org"]}).email == "b@x.org"


def test_name_id_as_a_source() -> None:
    mapping = AttributeMapping(external_id=AttributeRule(sources=(NAME_ID,), required=True))
    identity = mapping.map({}, name_id="abc", name_id_format=PERSISTENT)
    assert identity.external_id == "abc"
    # A transient NameID changes at every login: it is never an identifier.
    message = expect(
        "saml.mapping_missing_attribute", mapping, {}, name_id="tmp", name_id_format=TRANSIENT
    )
    assert "transient" in message


# --- multi-valued rules -------------------------------------------------------------------------


def test_first_join_and_all() -> None:
    attributes = {"ou": ["Physics", "Computing"], EPSA: ["staff@x.org", "member@x.org"]}
    first = AttributeMapping(full_name=AttributeRule(sources="ou"))
    assert first.map(attributes).full_name == "Physics"
    joined = AttributeMapping(
        full_name=AttributeRule(sources="ou", multi="join", separator=" / "),
        affiliations=AttributeRule(
            sources="eduPersonScopedAffiliation", multi="join", separator=","
        ),
    )
    identity = joined.map(attributes)
    assert identity.full_name == "Physics / Computing"
    assert identity.affiliations == ("staff@x.org,member@x.org",)
    every = AttributeMapping(affiliations=AttributeRule(sources=EPSA, multi="all"))
    assert every.map(attributes).affiliations == ("staff@x.org", "member@x.org")
    only_first = AttributeMapping(affiliations=AttributeRule(sources=EPSA))
    assert only_first.map(attributes).affiliations == ("staff@x.org",)


def test_all_is_refused_for_a_single_valued_field() -> None:
    with pytest.raises(InvalidSettingError) as info:
        AttributeMapping(email=AttributeRule(sources="mail", multi="all"))
    assert info.value.code == "config.invalid_value"
    assert "AttributeMapping.email" in str(info.value)


def test_full_name_is_derived_from_given_and_family_names() -> None:
    mapping = AttributeMapping(
        given_name=AttributeRule(sources="givenName"), family_name=AttributeRule(sources="sn")
    )
    assert mapping.map({GIVEN: ["Ada"], SN: ["Lovelace"]}).full_name == "Ada Lovelace"
    assert mapping.map({GIVEN: ["Ada"]}).full_name == "Ada"
    assert mapping.map({}).full_name is None


# --- scoped values --------------------------------------------------------------------------------


def test_scoped_values_outside_the_idp_scopes_are_dropped() -> None:
    mapping = AttributeMapping(
        external_id=AttributeRule(sources=("eduPersonPrincipalName", NAME_ID), required=True),
        affiliations=AttributeRule(sources=("eduPersonScopedAffiliation",), multi="all"),
    )
    attributes = {
        EPPN: ["ada@evil.example.com"],
        EPSA: ["staff@example.org", "faculty@evil.example.com", "student"],
    }
    identity = mapping.map(
        attributes, name_id="p-1", name_id_format=PERSISTENT, scopes=[Scope("example.org")]
    )
    assert identity.external_id == "p-1"  # the out-of-scope ePPN was dropped: next source
    assert identity.affiliations == ("staff@example.org",)
    # Without scopes (metadata publishes none), nothing is checked.
    unchecked = mapping.map(attributes, name_id="p-1", name_id_format=PERSISTENT)
    assert unchecked.external_id == "ada@evil.example.com"
    assert len(unchecked.affiliations) == 3


def test_scopes_from_metadata_and_regexp_scopes() -> None:
    _, cert = make_key_and_cert()
    idp = parse_idp_metadata(
        single(
            idp_entity(
                "https://idp.example.org/idp",
                cert=cert_body(cert),
                scopes=("example.org",),
                regexp_scopes=(r"^[a-z]+\.example\.org$",),
            )
        ),
        now=datetime(2026, 1, 15, tzinfo=UTC),
    )
    mapping = AttributeMapping(external_id=AttributeRule(sources="eduPersonPrincipalName"))
    for value, kept in (
        ("ada@example.org", True),
        ("ada@physics.example.org", True),
        ("ada@a.b.example.org", False),
        ("ada@example.org.evil.com", False),
    ):
        identity = mapping.map({EPPN: [value]}, scopes=idp.scopes)
        assert (identity.external_id == value) is kept, value
    plain = mapping.map({EPPN: ["ada@EXAMPLE.org"]}, scopes=["example.org"])
    assert plain.external_id == "ada@EXAMPLE.org"


def test_required_field_with_only_out_of_scope_values() -> None:
    mapping = AttributeMapping(
        external_id=AttributeRule(sources="eduPersonPrincipalName", required=True)
    )
    message = expect(
        "saml.mapping_scope_mismatch",
        mapping,
        {EPPN: ["ada@evil.example.com"]},
        scopes=[Scope("example.org")],
    )
    assert "eduPersonPrincipalName" in message
    assert "example.org" in message
    assert "evil.example.com" not in message  # the asserted value is not echoed


# --- diagnostics --------------------------------------------------------------------------------


def test_missing_attribute_lists_what_was_received_and_suggests_the_intended_one() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources="mail", required=True))
    received = {PKCS9_EMAIL: ["ada@example.org"], GIVEN: ["Ada"], "urn:oid:1.2.3.4": ["x"]}
    message = expect(
        "saml.mapping_missing_attribute",
        mapping,
        received,
        friendly_names={"urn:oid:1.2.3.4": "shoeSize"},
    )
    assert "'email'" in message
    assert f"mail ({MAIL})" in message  # what was tried, in both forms
    assert "3 attribute(s)" in message
    assert f"{GIVEN} (givenName)" in message
    assert f"{PKCS9_EMAIL} (email)" in message
    assert "urn:oid:1.2.3.4 (shoeSize)" in message
    assert f"Did you mean {PKCS9_EMAIL} (email)?" in message
    assert "ada@example.org" not in message  # values are never shown


def test_missing_attribute_suggests_a_close_spelling() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources="User.Emial", required=True))
    message = expect(
        "saml.mapping_missing_attribute",
        mapping,
        {"User.Email": ["a@x.org"], "User.FirstName": ["Ada"]},
    )
    assert "Did you mean User.Email?" in message


def test_missing_attribute_with_nothing_received() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources="mail", required=True))
    message = expect("saml.mapping_missing_attribute", mapping, {})
    assert "no attributes at all" in message
    assert "Did you mean" not in message


def test_received_names_are_shown_safely() -> None:
    mapping = AttributeMapping(email=AttributeRule(sources="mail", required=True))
    message = expect("saml.mapping_missing_attribute", mapping, {"bad\nname" + "x" * 200: ["v"]})
    assert "\n" not in message
    assert "bad?name" in message
    assert "x" * 150 not in message


# --- configuration forms --------------------------------------------------------------------------


def test_from_dict_forms() -> None:
    mapping = AttributeMapping.from_dict(
        {
            "email": ["mail", "email"],
            "given_name": "givenName",
            "full_name": {"sources": ["cn", "displayName"], "multi": "join", "separator": "; "},
            "external_id": {"source": "eduPersonUniqueId"},
            "affiliations": "eduPersonAffiliation",
            "username_prefix": "uni-",
        }
    )
    assert mapping.email == AttributeRule(sources=("mail", "email"), required=True)
    assert mapping.given_name == AttributeRule(sources=("givenName",))
    assert mapping.full_name is not None
    assert mapping.full_name.separator == "; "
    assert mapping.external_id == AttributeRule(sources=("eduPersonUniqueId",), required=True)
    assert mapping.affiliations == AttributeRule(sources=("eduPersonAffiliation",), multi="all")
    identity = mapping.map(
        {
            MAIL: ["a@x.org"],
            "urn:oid:2.5.4.3": ["Ada L.", "A. Lovelace"],
            "urn:oid:1.3.6.1.4.1.5923.1.1.1.13": ["u123@x.org"],
            EPA: ["staff", "member"],
        }
    )
    assert identity.full_name == "Ada L.; A. Lovelace"
    assert identity.username == "uni-u123"
    assert identity.affiliations == ("staff", "member")
    assert AttributeRule.from_value(mapping.full_name.to_value(), key="k") == mapping.full_name


@pytest.mark.parametrize(
    ("data", "error", "key"),
    [
        ({"emial": "mail"}, UnknownSettingError, "mapping"),
        ({"email": 42}, InvalidSettingError, "mapping.email"),
        ({"email": []}, InvalidSettingError, "mapping.email"),
        ({"email": {"sources": "mail", "mutli": "all"}}, UnknownSettingError, "mapping.email"),
        ({"email": {"multi": "first"}}, MissingSettingError, "mapping.email.sources"),
        ({"email": {"sources": "mail", "multi": "some"}}, InvalidSettingError, "mapping.email"),
        ({"email": {"sources": "mail", "required": "yes"}}, InvalidSettingError, "mapping.email"),
        ({"email": {"sources": "mail", "multi": "all"}}, InvalidSettingError, "AttributeMapping"),
    ],
)
def test_from_dict_errors(data: dict[str, object], error: type[Exception], key: str) -> None:
    with pytest.raises(error) as info:
        AttributeMapping.from_dict(data)
    assert type(info.value) is error
    assert str(info.value).startswith(key)


def test_from_dict_suggests_the_intended_field() -> None:
    with pytest.raises(UnknownSettingError) as info:
        AttributeMapping.from_dict({"emial": "mail"})
    assert info.value.code == "config.unknown_key"
    assert "did you mean 'email'?" in str(info.value)


# --- invenio-saml mappings ------------------------------------------------------------------------

INVENIO_MAPPINGS = {
    "email": "urn:oid:0.9.2342.19200300.100.1.3",
    "name": "urn:oid:2.5.4.42",
    "surname": "urn:oid:2.5.4.4",
    "external_id": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
}


def invenio_account_info(attributes: dict[str, list[str]], remote_app: str) -> dict[str, object]:
    """What invenio-saml's default_account_info computes (its formulas, for comparison)."""
    mappings = INVENIO_MAPPINGS
    name = attributes[mappings["name"]][0]
    surname = attributes[mappings["surname"]][0]
    email = attributes[mappings["email"]][0]
    external_id = attributes[mappings["external_id"]][0]
    username = remote_app + "-" + external_id.split("@")[0]
    return {
        "email": email,
        "username": username,
        "full_name": name + " " + surname,
        "external_id": external_id,
    }


def test_invenio_mappings_produce_invenio_account_info() -> None:
    mapping = AttributeMapping.from_invenio(INVENIO_MAPPINGS, idp="tugraz")
    identity = mapping.map(ADA)
    expected = invenio_account_info(ADA, "tugraz")
    assert {
        "email": identity.email,
        "username": identity.username,
        "full_name": identity.full_name,
        "external_id": identity.external_id,
    } == expected
    assert identity.given_name == "Ada"
    assert identity.family_name == "Lovelace"


def test_invenio_mappings_accept_friendly_names_and_affiliations() -> None:
    mapping = AttributeMapping.from_invenio(
        {
            "email": "mail",
            "name": "givenName",
            "surname": "sn",
            "external_id": ["pairwise-id", "eduPersonPrincipalName"],
            "affiliations": "eduPersonScopedAffiliation",
            "custom_key_for_a_custom_handler": "whatever",
        },
        idp="idp",
    )
    identity = mapping.map(ADA)
    assert identity.external_id == "ada@example.org"
    assert identity.username == "idp-ada"
    assert identity.affiliations == ("staff@example.org", "member@example.org")


def test_invenio_mappings_are_all_required() -> None:
    mapping = AttributeMapping.from_invenio(INVENIO_MAPPINGS, idp="tugraz")
    without_surname = {k: v for k, v in ADA.items() if k != SN}
    message = expect("saml.mapping_missing_attribute", mapping, without_surname)
    assert "'family_name'" in message
    assert f"sn ({SN})" in message


def test_invenio_mappings_missing_key() -> None:
    partial = {k: v for k, v in INVENIO_MAPPINGS.items() if k != "surname"}
    with pytest.raises(MissingSettingError) as info:
        AttributeMapping.from_invenio(partial, idp="tugraz")
    assert info.value.code == "config.missing_key"
    assert info.value.key == "SSO_SAML_IDPS.tugraz.mappings.surname"
    with pytest.raises(InvalidSettingError):
        AttributeMapping.from_invenio(["email"], idp="tugraz")  # type: ignore[arg-type]
