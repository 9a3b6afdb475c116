"""SP metadata: the ``md:EntityDescriptor`` an IdP or a federation registers for this SP.

OASIS saml-metadata-2.0-os §2.4.4 (``SPSSODescriptor``). It publishes the SP's entityID, its
Assertion Consumer Service (HTTP-POST) and Single Logout endpoints, the NameID format it wants,
the requested attributes, and its certificates: for signing, and for encryption when the SP asks
for encrypted assertions or NameIDs. During a key rollover (``sp.x509certNew``) both the current
and the new certificate are published, so IdPs can move to the new one before the old one is
withdrawn.

The document is signed (enveloped, over the ``EntityDescriptor``'s ``ID``) when
``security.signMetadata`` is true.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from authkit.saml._authn_request import new_id
from authkit.saml._settings import BINDING_HTTP_POST, SAMLSettings
from authkit.saml._xml import NS_DS, NS_MD, NS_SAML, format_instant, qname
from authkit.saml._xmldsig import sign_element

__all__ = ["build_sp_metadata"]

_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _certificate_body(pem: str) -> str:
    lines = pem.strip().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))


def _key_descriptor(parent: etree._Element, use: str, pem: str) -> None:
    descriptor = etree.SubElement(parent, qname(NS_MD, "KeyDescriptor"), use=use)
    key_info = etree.SubElement(descriptor, qname(NS_DS, "KeyInfo"))
    data = etree.SubElement(key_info, qname(NS_DS, "X509Data"))
    etree.SubElement(data, qname(NS_DS, "X509Certificate")).text = _certificate_body(pem)


def build_sp_metadata(settings: SAMLSettings, *, valid_until: datetime | None = None) -> bytes:
    """The SP metadata document for ``settings``, signed when ``security.signMetadata``.

    Args:
        settings: The SP settings.
        valid_until: ``validUntil`` to publish; defaults to ``security.metadataValidUntil``.
    """
    sp, security = settings.sp, settings.security
    root = etree.Element(
        qname(NS_MD, "EntityDescriptor"),
        nsmap={"md": NS_MD, "ds": NS_DS, "saml": NS_SAML},
        entityID=sp.entity_id,
        ID=new_id(),
    )
    until = valid_until or security.metadata_valid_until
    if until is not None:
        root.set("validUntil", format_instant(until))
    if security.metadata_cache_duration is not None:
        root.set("cacheDuration", security.metadata_cache_duration)

    descriptor = etree.SubElement(
        root,
        qname(NS_MD, "SPSSODescriptor"),
        AuthnRequestsSigned=_bool(security.authn_requests_signed),
        WantAssertionsSigned=_bool(security.want_assertions_signed),
        protocolSupportEnumeration=_PROTOCOL,
    )
    certificates = [c for c in (sp.x509cert, sp.x509cert_new) if c]
    for pem in certificates:
        _key_descriptor(descriptor, "signing", pem)
    if security.want_assertions_encrypted or security.want_name_id_encrypted:
        for pem in certificates:
            _key_descriptor(descriptor, "encryption", pem)
    if sp.slo_url:
        etree.SubElement(
            descriptor,
            qname(NS_MD, "SingleLogoutService"),
            Binding=sp.slo_binding,
            Location=sp.slo_url,
        )
    etree.SubElement(descriptor, qname(NS_MD, "NameIDFormat")).text = sp.name_id_format
    etree.SubElement(
        descriptor,
        qname(NS_MD, "AssertionConsumerService"),
        Binding=BINDING_HTTP_POST,
        Location=sp.acs_url,
        index="1",
        isDefault="true",
    )
    service = sp.attribute_consuming_service
    if service is not None:
        consuming = etree.SubElement(
            descriptor, qname(NS_MD, "AttributeConsumingService"), index=str(service.index)
        )
        name = etree.SubElement(consuming, qname(NS_MD, "ServiceName"))
        name.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        name.text = service.service_name
        if service.service_description:
            description = etree.SubElement(consuming, qname(NS_MD, "ServiceDescription"))
            description.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
            description.text = service.service_description
        for attribute in service.requested_attributes:
            requested = etree.SubElement(
                consuming, qname(NS_MD, "RequestedAttribute"), Name=attribute.name
            )
            if attribute.name_format:
                requested.set("NameFormat", attribute.name_format)
            if attribute.friendly_name:
                requested.set("FriendlyName", attribute.friendly_name)
            requested.set("isRequired", _bool(attribute.is_required))
            for value in attribute.values:
                etree.SubElement(requested, qname(NS_SAML, "AttributeValue")).text = value

    if settings.organizations:
        organization = etree.SubElement(root, qname(NS_MD, "Organization"))
        for tag, attribute_name in (
            ("OrganizationName", "name"),
            ("OrganizationDisplayName", "display_name"),
            ("OrganizationURL", "url"),
        ):
            for entry in settings.organizations:
                node = etree.SubElement(organization, qname(NS_MD, tag))
                node.set("{http://www.w3.org/XML/1998/namespace}lang", entry.lang)
                node.text = getattr(entry, attribute_name)
    for contact in settings.contacts:
        person = etree.SubElement(
            root, qname(NS_MD, "ContactPerson"), contactType=contact.contact_type
        )
        etree.SubElement(person, qname(NS_MD, "GivenName")).text = contact.given_name
        etree.SubElement(person, qname(NS_MD, "EmailAddress")).text = contact.email_address

    if security.sign_metadata and sp.private_key and sp.x509cert:
        sign_element(
            root,
            key_pem=sp.private_key.encode("ascii"),
            cert_pem=sp.x509cert.encode("ascii"),
            signature_algorithm=security.signature_algorithm,
            digest_algorithm=security.digest_algorithm,
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
