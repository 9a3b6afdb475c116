"""Build SAML metadata documents for the metadata, mapping and invenio tests.

Real documents, written the way federations publish them: an ``EntitiesDescriptor`` with an ``ID``
(so it can be signed), IdPs with UIInfo, scopes, keys and endpoints, and some SP entities mixed in.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

NAMESPACES = (
    'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
    'xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" '
    'xmlns:shibmd="urn:mace:shibboleth:metadata:1.0"'
)


def make_key_and_cert(common_name: str = "idp.example.org") -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key and a self-signed certificate, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def cert_body(cert_pem: bytes) -> str:
    """The base64 body of a PEM certificate, as metadata carries it."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode("ascii")


def idp_entity(
    entity_id: str,
    *,
    cert: str,
    encryption_cert: str | None = None,
    display_name: str | None = None,
    scopes: tuple[str, ...] = (),
    regexp_scopes: tuple[str, ...] = (),
    sso: tuple[tuple[str, str], ...] | None = None,
    slo: tuple[tuple[str, str], ...] | None = None,
    valid_until: str | None = None,
    cache_duration: str | None = None,
    protocols: str = "urn:oasis:names:tc:SAML:2.0:protocol",
    want_authn_requests_signed: bool = False,
    organization: str | None = None,
) -> str:
    """One IdP EntityDescriptor as XML text."""
    host = entity_id.split("//", 1)[-1].split("/", 1)[0]
    sso = (
        sso
        if sso is not None
        else ((REDIRECT, f"https://{host}/sso/redirect"), (POST, f"https://{host}/sso/post"))
    )
    slo = slo if slo is not None else ((REDIRECT, f"https://{host}/slo"),)
    attrs = f"entityID={quoteattr(entity_id)}"
    if valid_until:
        attrs += f' validUntil="{valid_until}"'
    if cache_duration:
        attrs += f' cacheDuration="{cache_duration}"'
    extensions = ""
    scope_xml = "".join(f'<shibmd:Scope regexp="false">{escape(s)}</shibmd:Scope>' for s in scopes)
    scope_xml += "".join(
        f'<shibmd:Scope regexp="true">{escape(s)}</shibmd:Scope>' for s in regexp_scopes
    )
    ui = ""
    if display_name:
        ui = (
            "<mdui:UIInfo>"
            f'<mdui:DisplayName xml:lang="en">{escape(display_name)}</mdui:DisplayName>'
            f'<mdui:DisplayName xml:lang="de">{escape(display_name)} (de)</mdui:DisplayName>'
            f'<mdui:Description xml:lang="en">Login service of {escape(display_name)}'
            "</mdui:Description>"
            f'<mdui:InformationURL xml:lang="en">https://{host}/info</mdui:InformationURL>'
            f'<mdui:Logo height="60" width="80" xml:lang="en">https://{host}/logo.png</mdui:Logo>'
            "</mdui:UIInfo>"
        )
    if scope_xml or ui:
        extensions = f"<md:Extensions>{scope_xml}{ui}</md:Extensions>"
    keys = (
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
    if encryption_cert:
        keys += (
            '<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f"{encryption_cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            "</md:KeyDescriptor>"
        )
    endpoints = "".join(
        f'<md:SingleLogoutService Binding="{b}" Location="{escape(u)}"/>' for b, u in slo
    )
    endpoints += (
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"
    )
    endpoints += "".join(
        f'<md:SingleSignOnService Binding="{b}" Location="{escape(u)}"/>' for b, u in sso
    )
    want = ' WantAuthnRequestsSigned="true"' if want_authn_requests_signed else ""
    org = ""
    if organization:
        org = (
            f'<md:Organization><md:OrganizationName xml:lang="en">{escape(organization)}'
            f'</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">'
            f"{escape(organization)}</md:OrganizationDisplayName>"
            f'<md:OrganizationURL xml:lang="en">https://{host}/</md:OrganizationURL>'
            "</md:Organization>"
        )
    return (
        f"<md:EntityDescriptor {attrs}>"
        f'<md:IDPSSODescriptor protocolSupportEnumeration="{protocols}"{want}>'
        f"{extensions}{keys}{endpoints}</md:IDPSSODescriptor>{org}</md:EntityDescriptor>"
    )


def sp_entity(entity_id: str, *, cert: str) -> str:
    """One SP EntityDescriptor as XML text."""
    return (
        f"<md:EntityDescriptor entityID={quoteattr(entity_id)}>"
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
        f"{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        f'<md:AssertionConsumerService Binding="{POST}" Location="{escape(entity_id)}/acs" '
        'index="0"/></md:SPSSODescriptor></md:EntityDescriptor>'
    )


def aggregate(
    entities: list[str],
    *,
    valid_until: str | None = None,
    cache_duration: str | None = None,
    name: str = "https://federation.example.org/metadata",
) -> bytes:
    """An EntitiesDescriptor around ``entities`` (with an ID, ready to be signed)."""
    attrs = f'ID="_fed{len(entities)}" Name="{name}"'
    if valid_until:
        attrs += f' validUntil="{valid_until}"'
    if cache_duration:
        attrs += f' cacheDuration="{cache_duration}"'
    body = "\n".join(entities)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<md:EntitiesDescriptor {NAMESPACES} {attrs}>\n'
        f"{body}\n</md:EntitiesDescriptor>\n"
    ).encode()


def single(entity: str) -> bytes:
    """A standalone EntityDescriptor document (the namespaces declared on it)."""
    head, rest = entity.split(" ", 1)
    return f'<?xml version="1.0"?>\n{head} {NAMESPACES} ID="_single" {rest}'.encode()
