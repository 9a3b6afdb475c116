"""authkit's SP accepts Responses made by pysaml2's IdP (``saml2.server.Server``).

pysaml2 is an independent SAML implementation: its IdP reads authkit's SP metadata, parses the
AuthnRequest authkit's SP sends (HTTP-Redirect), and builds, signs and encrypts the Response
with the ``xmlsec1`` program. The IdP key and certificate are generated here with
``cryptography``; its configuration lives in a temporary directory.

pysaml2 needs the ``xmlsec1`` program (Debian package ``xmlsec1``): without it these tests skip,
unless ``AUTHKIT_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where they fail.

Two pysaml2 defaults are outside authkit's secure defaults, and the tests pin how they meet:
pysaml2 signs with RSA-SHA1 unless told otherwise (authkit refuses SHA-1 unless
``security.allow_sha1``), and its ``encrypt_assertion`` always uses 3DES-CBC (authkit accepts
AES only). The encrypted Response authkit accepts is therefore encrypted by pysaml2's xmlsec1
backend with an AES-256-CBC template.
"""

from __future__ import annotations

import base64
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from authkit.errors import SAMLValidationError
from authkit.saml import LoginRequest, SAMLAuthn, SAMLSettings, ServiceProvider

saml2 = pytest.importorskip("saml2")

from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.saml import (  # noqa: E402
    AUTHN_PASSWORD_PROTECTED,
    NAME_FORMAT_URI,
    NAMEID_FORMAT_EMAILADDRESS,
    NameID,
)
from saml2.server import Server  # noqa: E402
from saml2.sigver import ASSERT_XPATH, pre_encryption_part  # noqa: E402

IDP_ID = "https://idp.example.org/idp/shibboleth"
SSO_URL = "https://idp.example.org/idp/profile/SAML2/Redirect/SSO"
SP_ID = "https://sp.example.org/saml/metadata"
ACS_URL = "https://sp.example.org/saml/acs"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"

MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN_NAME = "urn:oid:2.5.4.42"
SN = "urn:oid:2.5.4.4"
EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
ENTITLEMENT = "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"

IDENTITY = {
    "mail": ["alice@example.org"],
    "givenName": ["Alice"],
    "sn": ["Liddell"],
    "eduPersonPrincipalName": ["alice@example.org"],
    "eduPersonEntitlement": [
        "urn:mace:example.org:entitlement:staff",
        "urn:mace:example.org:entitlement:library",
    ],
}


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    """The ``xmlsec1`` program pysaml2 signs and encrypts with."""
    path = shutil.which("xmlsec1")
    if path is None:
        reason = "pysaml2 needs the xmlsec1 program (Debian: apt-get install xmlsec1)"
        if os.environ.get("AUTHKIT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} and AUTHKIT_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    return path


@attrs.frozen
class Pem:
    key: bytes
    cert: bytes

    @property
    def cert_body(self) -> str:
        lines = self.cert.decode("ascii").strip().splitlines()
        return "".join(line for line in lines if not line.startswith("-----"))


def make_key_pair(common_name: str) -> Pem:
    """A fresh RSA key and self-signed certificate, made with cryptography."""
    now = datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return Pem(
        key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        cert=cert.public_bytes(serialization.Encoding.PEM),
    )


@pytest.fixture(scope="module")
def idp_keys() -> Pem:
    return make_key_pair("pysaml2 test IdP")


@pytest.fixture(scope="module")
def sp_keys() -> Pem:
    return make_key_pair("authkit test SP")


def sp_settings(idp_keys: Pem, sp_keys: Pem, **security: Any) -> SAMLSettings:
    return SAMLSettings.from_dict(
        {
            "strict": True,
            "sp": {
                "entityId": SP_ID,
                "assertionConsumerService": {"url": ACS_URL},
                "NameIDFormat": NAMEID_FORMAT_EMAILADDRESS,
                "x509cert": sp_keys.cert_body,
                "privateKey": sp_keys.key.decode("ascii"),
            },
            "idp": {
                "entityId": IDP_ID,
                "singleSignOnService": {"url": SSO_URL, "binding": BINDING_HTTP_REDIRECT},
                "x509cert": idp_keys.cert_body,
            },
            "security": security,
        }
    )


@attrs.frozen
class Peers:
    sp: ServiceProvider
    server: Any  # saml2.server.Server, untyped
    sp_cert_file: Path


def make_peers(tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem, **security: Any) -> Peers:
    """authkit's SP, and pysaml2's IdP configured in ``tmp_path`` with the SP's metadata."""
    sp = ServiceProvider(sp_settings(idp_keys, sp_keys, **security))
    (tmp_path / "idp.key").write_bytes(idp_keys.key)
    (tmp_path / "idp.crt").write_bytes(idp_keys.cert)
    (tmp_path / "sp.crt").write_bytes(sp_keys.cert)
    (tmp_path / "sp-metadata.xml").write_bytes(sp.metadata())
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ID,
            "xmlsec_binary": xmlsec1,
            "key_file": str(tmp_path / "idp.key"),
            "cert_file": str(tmp_path / "idp.crt"),
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)]},
                    "policy": {
                        "default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                }
            },
            "metadata": {"local": [str(tmp_path / "sp-metadata.xml")]},
        }
    )
    return Peers(sp=sp, server=Server(config=config), sp_cert_file=tmp_path / "sp.crt")


@pytest.fixture
def peers(tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem) -> Peers:
    return make_peers(tmp_path, xmlsec1, idp_keys, sp_keys)


def respond(peers: Peers, *, sha256: bool = True, **options: Any) -> tuple[LoginRequest, str]:
    """authkit's SP sends an AuthnRequest; pysaml2's IdP parses it and answers it."""
    login = peers.sp.login_request(relay_state="/next")
    saml_request = parse_qs(urlsplit(login.url).query)["SAMLRequest"][0]
    request = peers.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
    assert request.id == login.id
    assert request.assertion_consumer_service_url == ACS_URL
    if sha256:
        options.update(sign_alg=RSA_SHA256, digest_alg=SHA256)
    response = peers.server.create_authn_response(
        IDENTITY,
        in_response_to=request.id,
        destination=request.assertion_consumer_service_url,
        sp_entity_id=request.issuer.text,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="alice@example.org"),
        authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": IDP_ID},
        **options,
    )
    return login, str(response)


def b64(xml: str) -> str:
    return base64.b64encode(xml.encode("utf-8")).decode("ascii")


def check_alice(
    peers: Peers, login: LoginRequest, xml: str, sp: ServiceProvider | None = None
) -> SAMLAuthn:
    authn = (sp or peers.sp).process_response(b64(xml), request_id=login.id)
    assert authn.issuer == IDP_ID
    assert authn.name_id == "alice@example.org"
    assert authn.name_id_format == NAMEID_FORMAT_EMAILADDRESS
    assert authn.in_response_to == login.id
    assert authn.attributes == {
        MAIL: ["alice@example.org"],
        GIVEN_NAME: ["Alice"],
        SN: ["Liddell"],
        EPPN: ["alice@example.org"],
        ENTITLEMENT: IDENTITY["eduPersonEntitlement"],
    }
    assert {a.friendly_name for a in authn.attribute_details} >= {"mail", "givenName"}
    return authn


def test_a_signed_assertion_from_pysaml2_is_accepted(peers: Peers) -> None:
    login, xml = respond(peers, sign_assertion=True, sign_response=False)
    authn = check_alice(peers, login, xml)
    assert authn.assertion_signed
    assert not authn.response_signed
    assert authn.authn_context_class_ref == AUTHN_PASSWORD_PROTECTED


def test_a_signed_response_and_assertion_from_pysaml2_are_accepted(
    tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem
) -> None:
    peers = make_peers(tmp_path, xmlsec1, idp_keys, sp_keys, wantMessagesSigned=True)
    login, xml = respond(peers, sign_assertion=True, sign_response=True)
    authn = check_alice(peers, login, xml)
    assert authn.assertion_signed
    assert authn.response_signed


def test_a_pysaml2_response_is_accepted_once(peers: Peers) -> None:
    login, xml = respond(peers, sign_assertion=True)
    check_alice(peers, login, xml)
    with pytest.raises(SAMLValidationError) as info:
        peers.sp.process_response(b64(xml), request_id=login.id)
    assert info.value.code == "saml.replayed"


def test_a_signed_and_encrypted_assertion_from_pysaml2_is_accepted(
    tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem
) -> None:
    peers = make_peers(tmp_path, xmlsec1, idp_keys, sp_keys, wantAssertionsEncrypted=True)
    login, signed = respond(peers, sign_assertion=True, sign_response=False)
    # What pysaml2's encrypt_assertion does, with an AES-256-CBC template instead of its
    # hard-coded 3DES: wrap the signed assertion, then encrypt it with pysaml2's xmlsec1 backend.
    root = etree.fromstring(signed.encode("utf-8"))
    assertion = root.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    wrapper = etree.Element(f"{{{SAML}}}EncryptedAssertion")
    root.replace(assertion, wrapper)
    wrapper.append(assertion)
    template = pre_encryption_part(msg_enc=AES256_CBC, encrypt_cert=sp_keys.cert_body)
    encrypted = peers.server.sec.encrypt_assertion(
        etree.tostring(root).decode("utf-8"),
        str(peers.sp_cert_file),
        template,
        key_type="aes-256",
        node_xpath=ASSERT_XPATH,
    )
    assert "alice@example.org" not in encrypted
    assert AES256_CBC in encrypted
    authn = check_alice(peers, login, encrypted)
    assert authn.assertion_encrypted
    assert authn.assertion_signed


def test_pysaml2_default_encryption_3des_is_refused(
    tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem
) -> None:
    peers = make_peers(tmp_path, xmlsec1, idp_keys, sp_keys, wantAssertionsEncrypted=True)
    login, xml = respond(peers, sign_assertion=True, encrypt_assertion=True)
    assert "tripledes-cbc" in xml  # pysaml2 has no option for another cipher
    with pytest.raises(SAMLValidationError) as info:
        peers.sp.process_response(b64(xml), request_id=login.id)
    assert info.value.code == "saml.algorithm_not_allowed"


def test_pysaml2_default_sha1_signatures_need_allow_sha1(
    tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem
) -> None:
    peers = make_peers(tmp_path, xmlsec1, idp_keys, sp_keys)
    login, xml = respond(peers, sha256=False, sign_assertion=True)
    assert "rsa-sha1" in xml
    with pytest.raises(SAMLValidationError) as info:
        peers.sp.process_response(b64(xml), request_id=login.id)
    assert info.value.code == "saml.algorithm_not_allowed"
    lenient = ServiceProvider(sp_settings(idp_keys, sp_keys, allow_sha1=True))
    check_alice(peers, login, xml, sp=lenient)


def test_a_pysaml2_response_signed_by_another_key_is_refused(
    tmp_path: Path, xmlsec1: str, idp_keys: Pem, sp_keys: Pem
) -> None:
    impostor = make_peers(tmp_path, xmlsec1, make_key_pair("impostor"), sp_keys)
    login, xml = respond(impostor, sign_assertion=True)
    trusting_the_real_idp = ServiceProvider(sp_settings(idp_keys, sp_keys))
    with pytest.raises(SAMLValidationError) as info:
        trusting_the_real_idp.process_response(b64(xml), request_id=login.id)
    assert info.value.code == "saml.signature_invalid"


def test_a_pysaml2_response_for_another_request_is_refused(peers: Peers) -> None:
    _, xml = respond(peers, sign_assertion=True)
    other = peers.sp.login_request()
    with pytest.raises(SAMLValidationError) as info:
        peers.sp.process_response(b64(xml), request_id=other.id)
    assert info.value.code == "saml.in_response_to_mismatch"
