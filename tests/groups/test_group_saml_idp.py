"""Groups from a real, signed SAML Response of the test IdP, validated by the SP.

The IdP sends entitlements and memberships under their ``urn:oid`` names (the SAML2 URI
profile); the resolver is configured with friendly names and URN prefixes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from authkit.groups import GroupResolver, GroupRules, RoleNeed, identity_from
from authkit.saml import SAMLSettings, ServiceProvider
from authkit.testing._saml_builder import ResponseSpec, SAMLResponseBuilder

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
IDP = "https://idp.example.org/idp/shibboleth"
SP = "https://data.example.org/saml/metadata"
ACS = "https://data.example.org/saml/acs"
ENTITLEMENT = "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"
IS_MEMBER_OF = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"
AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"


@pytest.fixture(scope="module")
def idp() -> SAMLResponseBuilder:
    return SAMLResponseBuilder.generate(entity_id=IDP, now=NOW)


@pytest.fixture
def sp(idp: SAMLResponseBuilder) -> ServiceProvider:
    settings = SAMLSettings.from_dict(
        {
            "strict": True,
            "sp": {
                "entityId": SP,
                "assertionConsumerService": {
                    "url": ACS,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
            },
            "idp": {
                "entityId": IDP,
                "singleSignOnService": {
                    "url": "https://idp.example.org/idp/profile/SAML2/Redirect/SSO",
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                },
                "x509cert": idp.certificate,
            },
        }
    )
    return ServiceProvider(settings)


def test_entitlement_urns_from_a_validated_response(
    idp: SAMLResponseBuilder, sp: ServiceProvider
) -> None:
    login = sp.login_request(now=NOW)
    spec = ResponseSpec(
        sp_entity_id=SP,
        acs_url=ACS,
        request_id=login.id,
        now=NOW,
        attributes={
            ENTITLEMENT: [
                "urn:mace:example.org:group:research-data",
                "urn:mace:example.org:group:Curators",
                "urn:geant:example.org:group:climate:role=member#aai.example.org",
                "urn:mace:elsewhere.org:group:not-ours",
                "http://example.org/licence/library-access",
            ],
            IS_MEMBER_OF: ["staff@example.org"],
            AFFILIATION: ["member@example.org", "staff@example.org"],
        },
        friendly_names={ENTITLEMENT: "eduPersonEntitlement", IS_MEMBER_OF: "isMemberOf"},
    )
    authn = sp.process_response(idp.build_base64(spec), request_id=login.id, now=NOW)
    assert authn.attributes[ENTITLEMENT][0] == "urn:mace:example.org:group:research-data"

    resolver = GroupResolver(
        provider="example-idp",
        saml_attributes=["eduPersonEntitlement"],
        urn_prefixes=["urn:mace:example.org:group:", "urn:geant:example.org:group:"],
        rules=GroupRules(case="lower"),
    )
    resolution = resolver.resolve_detailed(authn.attributes, subject=authn.name_id, now=NOW)
    assert resolution.groups == {"research-data", "curators", "climate:role=member"}
    assert resolution.outcomes[0].source == "saml:eduPersonEntitlement"

    memberships = GroupResolver(saml_attributes=["isMemberOf", "eduPersonScopedAffiliation"])
    assert memberships.resolve(authn.attributes) == {"staff@example.org", "member@example.org"}

    identity = identity_from(authn.name_id or "", resolution)
    assert identity.can(any_of=[RoleNeed("curators")])
    assert identity.auth_provider == "example-idp"


def test_mace_named_attributes_from_an_older_idp(
    idp: SAMLResponseBuilder, sp: ServiceProvider
) -> None:
    login = sp.login_request(now=NOW)
    spec = ResponseSpec(
        sp_entity_id=SP,
        acs_url=ACS,
        request_id=login.id,
        now=NOW,
        attributes={"urn:mace:dir:attribute-def:eduPersonEntitlement": ["urn:x:group:a"]},
        attribute_name_format="urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
    )
    authn = sp.process_response(idp.build_base64(spec), request_id=login.id, now=NOW)
    resolver = GroupResolver(saml_attributes=ENTITLEMENT, urn_prefixes="urn:x:group:")
    assert resolver.resolve(authn.attributes) == {"a"}
