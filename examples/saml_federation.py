"""Join a SAML federation: list its IdPs, pick one, build its settings, map a person's attributes.

The script writes a small federation aggregate (an ``EntitiesDescriptor`` with a few IdPs and
SPs, as InCommon or eduGAIN publish them) into a temporary directory, then:

1. lists the IdPs for a discovery page (streaming: memory stays flat for any aggregate size);
2. picks one IdP by entityID and prints the python3-saml ``"idp"`` settings section;
3. maps the attributes of an assertion with the default mapping, where an eduPersonPrincipalName
   outside the IdP's ``shibmd:Scope`` is dropped;
4. shows the diagnostic an operator gets when the mapping names an attribute the IdP does not
   release.

Nothing here touches the network. Run it with ``python examples/saml_federation.py``.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from authkit.errors import SAMLValidationError
from authkit.saml import AttributeMapping, AttributeRule, find_idp, list_idps

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
UNIVERSITIES = {
    "https://idp.uni-alpha.example/idp": ("Alpha University", "uni-alpha.example"),
    "https://login.beta-institute.example/saml": ("Beta Institute of Technology", "beta.example"),
    "https://sso.gamma.example/idp/shibboleth": ("Gamma College", "gamma.example"),
}


def certificate_body() -> str:
    """A throw-away self-signed certificate, base64 as metadata carries it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def write_aggregate(path: Path) -> None:
    cert = certificate_body()
    entities = []
    for entity_id, (name, scope) in UNIVERSITIES.items():
        host = entity_id.split("/")[2]
        entities.append(f"""
  <md:EntityDescriptor entityID="{entity_id}">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <shibmd:Scope regexp="false">{scope}</shibmd:Scope>
        <mdui:UIInfo><mdui:DisplayName xml:lang="en">{name}</mdui:DisplayName></mdui:UIInfo>
      </md:Extensions>
      <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
        <ds:X509Certificate>{cert}</ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                              Location="https://{host}/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>""")
        entities.append(f"""
  <md:EntityDescriptor entityID="https://wiki.{host}/sp">
    <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                                   Location="https://wiki.{host}/acs" index="0"/>
    </md:SPSSODescriptor>
  </md:EntityDescriptor>""")
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"\n'
        '    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"\n'
        '    xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui"\n'
        '    xmlns:shibmd="urn:mace:shibboleth:metadata:1.0"\n'
        '    Name="https://federation.example" validUntil="2026-02-01T00:00:00Z"'
        ' cacheDuration="PT6H">' + "".join(entities) + "\n</md:EntitiesDescriptor>\n",
        encoding="utf-8",
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        aggregate = Path(tmp) / "federation.xml"
        write_aggregate(aggregate)

        print("Identity providers of the federation:")
        listing = sorted(list_idps(aggregate, now=NOW), key=lambda entry: entry.display_name())
        for entry in listing:
            print(f"  {entry.display_name():<32} {entry.entity_id}")

        chosen = "https://login.beta-institute.example/saml"
        idp = find_idp(aggregate, chosen, now=NOW)

    print(f"\nChosen: {idp.display_name()}")
    settings = idp.to_settings_dict()
    print(f"  idp.entityId: {settings['entityId']}")
    print(f"  idp.singleSignOnService.url: {settings['singleSignOnService']['url']}")
    print(f"  scopes: {', '.join(str(scope) for scope in idp.scopes)}")
    print(f"  refresh the metadata at: {idp.next_refresh(NOW).isoformat()}")

    # What the IdP asserted (attribute names as sent: urn:oid names).
    attributes = {
        "urn:oid:0.9.2342.19200300.100.1.3": ["grace@beta.example"],
        "urn:oid:2.5.4.42": ["Grace"],
        "urn:oid:2.5.4.4": ["Hopper"],
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["grace@alpha.example"],  # not Beta's scope
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9": ["faculty@beta.example", "member@beta.example"],
    }
    identity = AttributeMapping.default().map(
        attributes,
        name_id="6c1f7a0e-beta-persistent",
        name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        scopes=idp.scopes,
    )
    print("\nMapped identity:")
    print(f"  email: {identity.email}")
    print(f"  full name: {identity.full_name}")
    print(f"  external id: {identity.external_id}  (the out-of-scope ePPN was dropped)")
    print(f"  affiliations: {', '.join(identity.affiliations)}")

    # An operator who configured an attribute this IdP does not release gets told what it sent.
    wrong = AttributeMapping(email=AttributeRule(sources="email", required=True))
    try:
        wrong.map(attributes, scopes=idp.scopes)
    except SAMLValidationError as error:
        print(f"\nMisconfigured mapping -> {error.code}:")
        print(f"  {error.message}")


if __name__ == "__main__":
    main()
