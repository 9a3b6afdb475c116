"""The attribute registry, pinned against pysaml2's attribute maps (an independent table)."""

from __future__ import annotations

import pytest
from saml2.attributemaps import adfs_v20, basic, saml_uri, shibboleth_uri

from authkit.errors import InvalidSettingError
from authkit.saml import DEFAULT_ATTRIBUTE_REGISTRY, AttributeDefinition, AttributeRegistry

REGISTRY = DEFAULT_ATTRIBUTE_REGISTRY

#: Every attribute the registry must know, with its wire name and flags (scoped, multi-valued).
EXPECTED = {
    "eduPersonPrincipalName": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", True, False),
    "eduPersonScopedAffiliation": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", True, True),
    "eduPersonAffiliation": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", False, True),
    "eduPersonEntitlement": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", False, True),
    "eduPersonTargetedID": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", False, True),
    "eduPersonUniqueId": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.13", True, False),
    "eduPersonOrcid": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.16", False, True),
    "eduPersonAssurance": ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", False, True),
    "mail": ("urn:oid:0.9.2342.19200300.100.1.3", False, True),
    "givenName": ("urn:oid:2.5.4.42", False, True),
    "sn": ("urn:oid:2.5.4.4", False, True),
    "cn": ("urn:oid:2.5.4.3", False, True),
    "displayName": ("urn:oid:2.16.840.1.113730.3.1.241", False, False),
    "uid": ("urn:oid:0.9.2342.19200300.100.1.1", False, True),
    "telephoneNumber": ("urn:oid:2.5.4.20", False, True),
    "o": ("urn:oid:2.5.4.10", False, True),
    "ou": ("urn:oid:2.5.4.11", False, True),
    "schacHomeOrganization": ("urn:oid:1.3.6.1.4.1.25178.1.2.9", False, False),
    "schacHomeOrganizationType": ("urn:oid:1.3.6.1.4.1.25178.1.2.10", False, True),
    "schacPersonalUniqueCode": ("urn:oid:1.3.6.1.4.1.25178.1.2.14", False, True),
    "isMemberOf": ("urn:oid:1.3.6.1.4.1.5923.1.5.1.1", False, True),
    "memberOf": ("urn:oid:1.2.840.113556.1.2.102", False, True),
    "pairwise-id": ("urn:oasis:names:tc:SAML:attribute:pairwise-id", True, False),
    "subject-id": ("urn:oasis:names:tc:SAML:attribute:subject-id", True, False),
}

#: Attributes pysaml2's maps do not carry (checked against other sources, see the module).
NOT_IN_PYSAML2 = {"memberOf"}

#: PKCS #9 emailAddress is 1.2.840.113549.1.9.1 (RFC 2985). pysaml2's saml_uri map appends one
#: ".1" too many; its shibboleth_uri map has it right, and is what the registry is pinned to.
PKCS9_EMAIL = "urn:oid:1.2.840.113549.1.9.1"


@pytest.mark.parametrize("friendly", sorted(EXPECTED))
def test_required_attributes_are_registered(friendly: str) -> None:
    uri, scoped, multi = EXPECTED[friendly]
    definition = REGISTRY.lookup(friendly)
    assert definition is not None
    assert definition.friendly_name == friendly
    assert definition.uri == uri
    assert definition.scoped is scoped
    assert definition.multi_valued is multi


@pytest.mark.parametrize("definition", list(REGISTRY), ids=lambda d: d.friendly_name)
def test_uri_names_agree_with_pysaml2(definition: AttributeDefinition) -> None:
    if definition.friendly_name in NOT_IN_PYSAML2:
        assert definition.uri not in saml_uri.MAP["fro"]
        return
    assert definition.uri is not None
    if definition.uri == PKCS9_EMAIL:
        assert shibboleth_uri.MAP["fro"][PKCS9_EMAIL] == definition.friendly_name
        assert saml_uri.MAP["fro"][PKCS9_EMAIL + ".1"] == definition.friendly_name
        return
    assert saml_uri.MAP["fro"][definition.uri] == definition.friendly_name
    assert saml_uri.MAP["to"][definition.friendly_name] == definition.uri
    # Shibboleth's URI map agrees wherever it has the attribute.
    if definition.uri in shibboleth_uri.MAP["fro"]:
        assert shibboleth_uri.MAP["fro"][definition.uri] == definition.friendly_name


@pytest.mark.parametrize(
    "definition", [d for d in REGISTRY if d.mace], ids=lambda d: d.friendly_name
)
def test_mace_names_agree_with_pysaml2(definition: AttributeDefinition) -> None:
    assert definition.mace is not None
    if definition.mace.startswith("urn:mace:terena.org:attribute-def:"):
        # SCHAC's legacy names live under TERENA's namespace, not in pysaml2's basic map.
        assert definition.mace.endswith(":" + definition.friendly_name)
        return
    assert basic.MAP["fro"][definition.mace] == definition.friendly_name
    assert basic.MAP["to"][definition.friendly_name] == definition.mace


def test_every_alias_of_a_known_namespace_is_known_to_pysaml2() -> None:
    checked = 0
    for definition in REGISTRY:
        for alias in definition.aliases:
            if alias.startswith("http://schemas.xmlsoap.org/"):
                assert adfs_v20.MAP["fro"][alias] in definition.names or (
                    adfs_v20.MAP["fro"][alias].casefold()
                    in {n.casefold() for n in definition.names}
                )
                checked += 1
            elif alias.startswith("urn:mace:dir:attribute-def:"):
                assert basic.MAP["fro"][alias] in definition.names
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize(
    "name",
    [
        "mail",
        "MAIL",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "URN:OID:0.9.2342.19200300.100.1.3",
        "urn:mace:dir:attribute-def:mail",
        "rfc822Mailbox",
    ],
)
def test_lookup_by_any_name_form(name: str) -> None:
    definition = REGISTRY.lookup(name)
    assert definition is not None
    assert definition.friendly_name == "mail"
    assert name in REGISTRY
    assert REGISTRY.friendly_name(name) == "mail"


def test_unknown_names() -> None:
    assert REGISTRY.lookup("urn:oid:1.2.3.4") is None
    assert REGISTRY.friendly_name("shoeSize") is None
    assert REGISTRY.names_for("shoeSize") == ("shoeSize",)
    assert 42 not in REGISTRY


def test_names_for_lists_every_form_wire_name_first() -> None:
    assert REGISTRY.names_for("eduPersonPrincipalName") == (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "urn:mace:dir:attribute-def:eduPersonPrincipalName",
        "eduPersonPrincipalName",
    )
    schac = REGISTRY.lookup("urn:mace:terena.org:attribute-def:schacHomeOrganization")
    assert schac is not None
    assert schac.friendly_name == "schacHomeOrganization"
    assert REGISTRY.lookup("pairwise-id") is REGISTRY.lookup(
        "urn:oasis:names:tc:SAML:attribute:pairwise-id"
    )
    pairwise = REGISTRY.lookup("pairwise-id")
    assert pairwise is not None
    assert pairwise.mace is None


def test_normalise_merges_name_forms_and_keeps_unknown_names() -> None:
    received = {
        "urn:oid:0.9.2342.19200300.100.1.3": ["a@example.org"],
        "mail": ["a@example.org", "b@example.org"],
        "urn:oid:2.5.4.42": ["Ada"],
        "urn:oid:1.2.3.4.5": ["42"],
        "custom": ["x"],
    }
    normalised = REGISTRY.normalise(received, friendly_names={"urn:oid:1.2.3.4.5": "shoeSize"})
    assert normalised == {
        "mail": ["a@example.org", "b@example.org"],
        "givenName": ["Ada"],
        "shoeSize": ["42"],
        "custom": ["x"],
    }
    assert received["mail"] == ["a@example.org", "b@example.org"]  # the input is untouched


def test_a_name_claimed_twice_is_refused() -> None:
    clash = AttributeDefinition(friendly_name="myMail", uri="urn:oid:0.9.2342.19200300.100.1.3")
    with pytest.raises(InvalidSettingError) as info:
        REGISTRY.extended([clash])
    assert info.value.code == "config.invalid_value"
    assert "mail" in info.value.message


def test_extended_registry_adds_site_attributes() -> None:
    staff_number = AttributeDefinition(
        friendly_name="staffNumber", uri="urn:oid:1.3.6.1.4.1.99999.1", multi_valued=False
    )
    registry = REGISTRY.extended([staff_number])
    assert isinstance(registry, AttributeRegistry)
    assert len(registry) == len(REGISTRY) + 1
    assert registry.friendly_name("urn:oid:1.3.6.1.4.1.99999.1") == "staffNumber"
    assert REGISTRY.lookup("staffNumber") is None  # the original is unchanged


def test_labels() -> None:
    mail = REGISTRY.lookup("mail")
    assert mail is not None
    assert mail.label == "mail (urn:oid:0.9.2342.19200300.100.1.3)"
    assert AttributeDefinition(friendly_name="x").label == "x"


def test_documentation_table_matches_the_registry() -> None:
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "saml-attributes.md"
    rows = [
        [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    documented = {row[0]: row for row in rows if len(row) == 6}
    assert set(documented) == {d.friendly_name for d in REGISTRY}
    for definition in REGISTRY:
        _, uri, mace, scoped, multi, _aliases = documented[definition.friendly_name]
        assert uri == definition.uri
        assert mace == (definition.mace or "—")
        assert scoped == ("yes" if definition.scoped else "no")
        assert multi == ("yes" if definition.multi_valued else "no")
