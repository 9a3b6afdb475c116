"""Loading one IdP from a federation aggregate: authkit vs python3-saml vs the iterparse floor.

A realistic aggregate (eduGAIN-like entities: two certificates, UIInfo in three languages,
registration info, entity attributes, scopes, SAML 1 and 2 endpoints, contacts; one IdP for two
SPs) is generated into a temporary directory at run time — about 32 MB for 5,000 entities — and
one IdP near its end is loaded by each contender:

- ``floor``: a plain ``lxml.etree.iterparse`` scan filtered on ``EntityDescriptor`` that clears
  each entity and stops at the wanted entityID — the least work any streaming reader can do;
- ``authkit``: :func:`authkit.saml.find_idp` (streaming, builds the full ``IdPMetadata``);
- ``python3-saml``: ``OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=...)`` on the file's
  contents (it needs the document in memory and builds the whole tree);
- ``authkit-signed``: :func:`authkit.saml.find_idp` with the federation certificate, on a signed
  copy: the full tree is parsed once and the root signature verified (informative).

Each contender runs in its own subprocess, so its peak memory can be measured: the peak resident
set size (``VmHWM``, reset through ``/proc/self/clear_refs`` after the imports, falling back to
``ru_maxrss``) minus the resident size before the run — lxml's memory is C-level and invisible
to ``tracemalloc``. Time is the best of ``--repeat`` runs in that subprocess.

Run: ``python benchmarks/bench_saml_metadata.py`` (``--quick`` for a 300-entity smoke run).
Goals (issue 5): authkit at most 1.3x the floor and under 10 MB of extra memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
ED_TAG = f"{{{MD}}}EntityDescriptor"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"

# --- the aggregate ---------------------------------------------------------------------------


def _certificates() -> tuple[bytes, bytes, list[str]]:
    """The federation signing key and certificate, and two entity certificates (base64)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def make(cn: str, bits: int) -> tuple[Any, Any]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return key, cert

    fed_key, fed_cert = make("metadata-signer.federation.example", 2048)
    bodies = []
    for cn in ("idp.example.org", "encryption.example.org"):
        _, cert = make(cn, 2048)
        der = cert.public_bytes(serialization.Encoding.DER)
        b64 = base64.b64encode(der).decode("ascii")
        bodies.append("\n" + "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64)) + "\n")
    key_pem = fed_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, fed_cert.public_bytes(serialization.Encoding.PEM), bodies


def _keys(certs: list[str]) -> str:
    return "".join(
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:KeyName>{use}</ds:KeyName>'
        f"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data>"
        f"</ds:KeyInfo></md:KeyDescriptor>"
        for use, cert in zip(("signing", "encryption"), certs, strict=True)
    )


def _ui(i: int, kind: str, host: str) -> str:
    names = "".join(
        f'<mdui:DisplayName xml:lang="{lang}">{label} {kind} {i}</mdui:DisplayName>'
        for lang, label in (
            ("en", "University of Examples"),
            ("de", "Universität Beispiel"),
            ("fr", "Université d'Exemple"),
        )
    )
    descriptions = "".join(
        f'<mdui:Description xml:lang="{lang}">{text} {i}, for staff and students.'
        "</mdui:Description>"
        for lang, text in (
            ("en", "Central login service of organisation"),
            ("de", "Zentraler Anmeldedienst der Organisation"),
            ("fr", "Service central d'authentification de l'organisation"),
        )
    )
    return (
        f"<mdui:UIInfo>{names}{descriptions}"
        f'<mdui:InformationURL xml:lang="en">https://{host}/about</mdui:InformationURL>'
        f'<mdui:PrivacyStatementURL xml:lang="en">https://{host}/privacy</mdui:PrivacyStatementURL>'
        f'<mdui:Logo height="16" width="16">https://{host}/favicon.ico</mdui:Logo>'
        f'<mdui:Logo height="80" width="240" xml:lang="en">https://{host}/logo.png</mdui:Logo>'
        "</mdui:UIInfo>"
    )


def _common_extensions(i: int) -> str:
    return (
        '<mdrpi:RegistrationInfo registrationAuthority="https://federation.example" '
        'registrationInstant="2019-03-01T10:00:00Z">'
        '<mdrpi:RegistrationPolicy xml:lang="en">https://federation.example/policy'
        "</mdrpi:RegistrationPolicy></mdrpi:RegistrationInfo>"
        "<mdattr:EntityAttributes>"
        '<saml:Attribute Name="http://macedir.org/entity-category-support" '
        'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">'
        "<saml:AttributeValue>http://refeds.org/category/research-and-scholarship"
        "</saml:AttributeValue></saml:Attribute>"
        '<saml:Attribute Name="urn:oasis:names:tc:SAML:attribute:assurance-certification" '
        'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">'
        f"<saml:AttributeValue>https://refeds.org/sirtfi{'' if i % 2 else '2'}"
        "</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes>"
    )


def _org_contacts(i: int, host: str) -> str:
    return (
        f'<md:Organization><md:OrganizationName xml:lang="en">Organisation {i}'
        f'</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">Organisation {i}'
        f'</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">https://{host}/'
        "</md:OrganizationURL></md:Organization>"
        f'<md:ContactPerson contactType="technical"><md:GivenName>Identity</md:GivenName>'
        f"<md:SurName>Team</md:SurName><md:EmailAddress>mailto:iam@{host}</md:EmailAddress>"
        "</md:ContactPerson>"
        '<md:ContactPerson xmlns:remd="http://refeds.org/metadata" contactType="other" '
        'remd:contactType="http://refeds.org/metadata/contactType/security">'
        f"<md:EmailAddress>mailto:cert@{host}</md:EmailAddress></md:ContactPerson>"
    )


def _idp(i: int, certs: list[str]) -> str:
    host = f"idp{i}.campus{i % 97}.example.org"
    eid = f"https://{host}/idp/shibboleth"
    sso = "".join(
        f'<md:SingleSignOnService Binding="{b}" Location="https://{host}/idp/profile/{p}"/>'
        for b, p in (
            ("urn:mace:shibboleth:1.0:profiles:AuthnRequest", "Shibboleth/SSO"),
            (POST, "SAML2/POST/SSO"),
            ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST-SimpleSign", "SAML2/POST-SS/SSO"),
            (REDIRECT, "SAML2/Redirect/SSO"),
        )
    )
    slo = "".join(
        f'<md:SingleLogoutService Binding="{b}" Location="https://{host}/idp/profile/{p}"/>'
        for b, p in ((REDIRECT, "SAML2/Redirect/SLO"), (POST, "SAML2/POST/SLO"))
    )
    return (
        f'<md:EntityDescriptor entityID="{eid}"><md:Extensions>{_common_extensions(i)}'
        "</md:Extensions>"
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol '
        'urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0">'
        f'<md:Extensions><shibmd:Scope regexp="false">campus{i % 97}.example.org</shibmd:Scope>'
        f"{_ui(i, 'IdP', host)}<mdui:DiscoHints><mdui:DomainHint>campus{i % 97}.example.org"
        "</mdui:DomainHint></mdui:DiscoHints></md:Extensions>"
        f"{_keys(certs)}"
        f'<md:ArtifactResolutionService Binding="{SOAP}" '
        f'Location="https://{host}:8443/idp/profile/SAML2/SOAP/ArtifactResolution" index="2"/>'
        f"{slo}"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"
        f"{sso}</md:IDPSSODescriptor>{_org_contacts(i, host)}</md:EntityDescriptor>"
    )


def _sp(i: int, certs: list[str]) -> str:
    host = f"service{i}.example.net"
    acs = "".join(
        f'<md:AssertionConsumerService Binding="{b}" Location="https://{host}/Shibboleth.sso/{p}" '
        f'index="{n}"/>'
        for n, (b, p) in enumerate(
            (
                (POST, "SAML2/POST"),
                ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact", "SAML2/Artifact"),
                (POST, "SAML/POST"),
            ),
            start=1,
        )
    )
    requested = "".join(
        f'<md:RequestedAttribute FriendlyName="{f}" Name="{n}" '
        'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>'
        for f, n in (
            ("mail", "urn:oid:0.9.2342.19200300.100.1.3"),
            ("eduPersonPrincipalName", "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"),
            ("displayName", "urn:oid:2.16.840.1.113730.3.1.241"),
        )
    )
    return (
        f'<md:EntityDescriptor entityID="https://{host}/shibboleth"><md:Extensions>'
        f"{_common_extensions(i)}</md:Extensions>"
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"<md:Extensions>{_ui(i, 'Service', host)}</md:Extensions>{_keys(certs)}"
        f'<md:SingleLogoutService Binding="{REDIRECT}" '
        f'Location="https://{host}/Shibboleth.sso/SLO/Redirect"/>{acs}'
        f'<md:AttributeConsumingService index="1"><md:ServiceName xml:lang="en">Service {i}'
        f"</md:ServiceName>{requested}</md:AttributeConsumingService>"
        f"</md:SPSSODescriptor>{_org_contacts(i, host)}</md:EntityDescriptor>"
    )


def generate(path: Path, entities: int, certs: list[str]) -> str:
    """Write the aggregate; return the entityID of the IdP to look up (near the end)."""
    target_index = max(0, entities - 10)
    target = ""
    now = datetime.now(UTC)
    valid_until = (now + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
            'xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" '
            'xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi" '
            'xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            'xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" '
            f'ID="_federation" Name="https://federation.example" validUntil="{valid_until}" '
            'cacheDuration="PT6H">\n'
        )
        for i in range(entities):
            # One IdP for two SPs, as in eduGAIN; the target is always an IdP.
            if i % 3 == 0 or i == target_index:
                out.write(_idp(i, certs))
                if i == target_index:
                    target = f"https://idp{i}.campus{i % 97}.example.org/idp/shibboleth"
            else:
                out.write(_sp(i, certs))
            out.write("\n")
        out.write("</md:EntitiesDescriptor>\n")
    return target


def sign_copy(source: Path, target: Path, key_pem: bytes, cert_pem: bytes) -> None:
    from lxml import etree

    from authkit.saml._xmldsig import sign_element

    root = etree.parse(str(source), etree.XMLParser(huge_tree=False)).getroot()
    sign_element(root, key_pem=key_pem, cert_pem=cert_pem)
    target.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- contenders (run in a child process) -------------------------------------------------------


def _floor(path: str, entity_id: str, cert: str | None) -> tuple[str, str]:
    from lxml import etree

    for _, element in etree.iterparse(path, events=("end",), tag=ED_TAG):
        if element.get("entityID") == entity_id:
            return entity_id, ""
        element.clear()
        parent = element.getparent()
        while element.getprevious() is not None:
            del parent[0]
    raise LookupError(entity_id)


def _authkit(path: str, entity_id: str, cert: str | None) -> tuple[str, str]:
    from authkit.saml import find_idp

    idp = find_idp(path, entity_id, certificate=cert)
    settings = idp.to_settings_dict()
    return settings["entityId"], settings["singleSignOnService"]["url"]


def _python3_saml(path: str, entity_id: str, cert: str | None) -> tuple[str, str]:
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    xml = Path(path).read_bytes()
    data = OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=entity_id)
    return data["idp"]["entityId"], data["idp"]["singleSignOnService"]["url"]


CONTENDERS = {
    "floor": _floor,
    "authkit": _authkit,
    "python3-saml": _python3_saml,
    "authkit-signed": _authkit,
}


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child(name: str, path: str, entity_id: str, cert_path: str, repeat: int) -> None:
    """Run one contender, print a JSON line with its timing, peak memory and result."""
    function = CONTENDERS[name]
    cert = Path(cert_path).read_text() if cert_path else None
    # Import everything the contender needs before measuring.
    import lxml.etree  # noqa: F401
    import onelogin.saml2.idp_metadata_parser  # noqa: F401

    import authkit.saml  # noqa: F401

    can_reset = _reset_peak()
    before = _rss_kib("VmRSS") or 0
    start = time.perf_counter()
    result = function(path, entity_id, cert)
    best = time.perf_counter() - start
    peak = _rss_kib("VmHWM") if can_reset else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(repeat - 1):
        start = time.perf_counter()
        function(path, entity_id, cert)
        best = min(best, time.perf_counter() - start)
    print(
        json.dumps(
            {"name": name, "seconds": best, "extra_kib": max(0, peak - before), "result": result}
        )
    )


def run(
    name: str, path: Path, entity_id: str, cert_path: Path | None, repeat: int
) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            str(path),
            entity_id,
            str(cert_path or ""),
            str(repeat),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    data: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="300 entities, one run each")
    parser.add_argument("--entities", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (best kept)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, path, entity_id, cert_path, repeat = args.child
        child(name, path, entity_id, cert_path, int(repeat))
        return 0
    entities = 300 if args.quick else args.entities
    repeat = 1 if args.quick else args.repeat

    with tempfile.TemporaryDirectory(prefix="authkit-bench-md-") as tmp:
        directory = Path(tmp)
        key_pem, cert_pem, certs = _certificates()
        plain = directory / "aggregate.xml"
        signed = directory / "aggregate-signed.xml"
        cert_file = directory / "federation.pem"
        cert_file.write_bytes(cert_pem)
        entity_id = generate(plain, entities, certs)
        sign_copy(plain, signed, key_pem, cert_pem)
        size_mb = plain.stat().st_size / 1e6
        print(f"aggregate: {entities} entities, {size_mb:.1f} MB; looking up {entity_id}")
        results = {
            "floor": run("floor", plain, entity_id, None, repeat),
            "authkit": run("authkit", plain, entity_id, None, repeat),
            "python3-saml": run("python3-saml", plain, entity_id, None, repeat),
            "authkit-signed": run("authkit-signed", signed, entity_id, cert_file, repeat),
        }

    expected = results["python3-saml"]["result"]
    for name in ("authkit", "authkit-signed"):
        if results[name]["result"] != expected:
            print(f"MISMATCH: {name} found {results[name]['result']}, python3-saml {expected}")
            return 1

    floor = results["floor"]["seconds"]
    print(f"{'contender':<16}{'time (ms)':>12}{'x floor':>10}{'peak extra (MB)':>18}")
    for name, data in results.items():
        print(
            f"{name:<16}{data['seconds'] * 1000:>12.1f}{data['seconds'] / floor:>10.2f}"
            f"{data['extra_kib'] / 1024:>18.1f}"
        )
    authkit = results["authkit"]
    p3 = results["python3-saml"]
    ratio = authkit["seconds"] / floor
    extra_mb = authkit["extra_kib"] / 1024
    print(
        f"authkit vs floor: {ratio:.2f}x (goal <= 1.3x); authkit peak extra {extra_mb:.1f} MB "
        f"(goal < 10 MB); python3-saml {p3['seconds'] / floor:.2f}x, "
        f"{p3['extra_kib'] / 1024:.0f} MB; authkit is {p3['seconds'] / authkit['seconds']:.1f}x "
        "faster than python3-saml"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
