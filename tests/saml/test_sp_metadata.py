"""SP metadata: endpoints, certificates (both during a rollover), signature, validity."""

from __future__ import annotations

from lxml import etree
from saml_sp_kit import ACS_URL, NS, SP_ENTITY_ID, keys, make_sp, settings_dict

from authkit.saml import SAMLSettings, ServiceProvider
from authkit.saml._xmldsig import verify_signed_element


def metadata(**security: object) -> etree._Element:
    return etree.fromstring(make_sp(**security).metadata())


def certificates(root: etree._Element, use: str) -> list[str]:
    return [
        (node.text or "").strip()
        for node in root.iterfind(
            f"md:SPSSODescriptor/md:KeyDescriptor[@use='{use}']/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
            NS,
        )
    ]


def test_the_metadata_describes_the_sp() -> None:
    root = metadata()
    assert root.tag == "{urn:oasis:names:tc:SAML:2.0:metadata}EntityDescriptor"
    assert root.get("entityID") == SP_ENTITY_ID
    assert root.get("validUntil") is None
    assert root.get("cacheDuration") is None
    descriptor = root.find("md:SPSSODescriptor", NS)
    assert descriptor is not None
    assert descriptor.get("protocolSupportEnumeration") == "urn:oasis:names:tc:SAML:2.0:protocol"
    assert descriptor.get("AuthnRequestsSigned") == "false"
    assert descriptor.get("WantAssertionsSigned") == "true"
    acs = descriptor.find("md:AssertionConsumerService", NS)
    assert acs is not None
    assert (acs.get("Binding"), acs.get("Location"), acs.get("index")) == (
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        ACS_URL,
        "1",
    )
    assert descriptor.findtext("md:NameIDFormat", namespaces=NS) == (
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    )
    assert certificates(root, "signing") == [keys("sp").cert_base64]
    assert certificates(root, "encryption") == []
    assert root.find("ds:Signature", NS) is None


def test_encryption_keys_are_published_when_the_sp_wants_encryption() -> None:
    root = metadata(wantAssertionsEncrypted=True)
    assert certificates(root, "encryption") == [keys("sp").cert_base64]


def test_both_certificates_are_published_during_a_rollover() -> None:
    new = keys("sp-new")
    sp = make_sp(sp={"x509certNew": new.cert_base64}, wantNameIdEncrypted=True)
    root = etree.fromstring(sp.metadata())
    both = [keys("sp").cert_base64, new.cert_base64]
    assert certificates(root, "signing") == both
    assert certificates(root, "encryption") == both


def test_signed_metadata_verifies_with_the_sp_certificate() -> None:
    root = metadata(signMetadata=True)
    assert root.get("ID", "").startswith("_")
    assert etree.QName(root[0]).localname == "Signature"
    verify_signed_element(root, certificates=[keys("sp").cert_pem])


def test_validity_slo_attribute_service_organization_and_contacts() -> None:
    data = settings_dict(
        sp={
            "singleLogoutService": {"url": "https://sp.example.org/saml/sls"},
            "attributeConsumingService": {
                "serviceName": "Repository",
                "serviceDescription": "Research data",
                "requestedAttributes": [
                    {
                        "name": "urn:oid:0.9.2342.19200300.100.1.3",
                        "friendlyName": "mail",
                        "isRequired": True,
                    }
                ],
            },
        },
        metadataValidUntil="2030-01-01T00:00:00Z",
        metadataCacheDuration=86400,
    )
    data["organization"] = {
        "en": {"name": "ex", "displayname": "Example", "url": "https://example.org"}
    }
    data["contactPerson"] = {"technical": {"givenName": "Ops", "emailAddress": "ops@example.org"}}
    root = etree.fromstring(ServiceProvider(SAMLSettings.from_dict(data)).metadata())
    assert root.get("validUntil") == "2030-01-01T00:00:00Z"
    assert root.get("cacheDuration") == "PT86400S"
    slo = root.find("md:SPSSODescriptor/md:SingleLogoutService", NS)
    assert slo is not None
    assert slo.get("Location") == "https://sp.example.org/saml/sls"
    service = root.find("md:SPSSODescriptor/md:AttributeConsumingService", NS)
    assert service is not None
    assert service.get("index") == "1"
    assert service.findtext("md:ServiceName", namespaces=NS) == "Repository"
    requested = service.find("md:RequestedAttribute", NS)
    assert requested is not None
    assert (requested.get("FriendlyName"), requested.get("isRequired")) == ("mail", "true")
    assert root.findtext("md:Organization/md:OrganizationDisplayName", namespaces=NS) == "Example"
    contact = root.find("md:ContactPerson", NS)
    assert contact is not None
    assert contact.get("contactType") == "technical"
    assert contact.findtext("md:EmailAddress", namespaces=NS) == "ops@example.org"
    # Schema order: roles, then Organization, then ContactPerson.
    assert [etree.QName(c).localname for c in root] == [
        "SPSSODescriptor",
        "Organization",
        "ContactPerson",
    ]
