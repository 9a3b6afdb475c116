"""The hazmat layer: enveloped signatures, the narrow accepted shape, encryption, raw signatures."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from saml_sp_kit import NOW, keys

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml import _xmldsig as dsig
from authkit.saml._xml import qname

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
NS = {"saml": SAML, "ds": DS, "xenc": XENC}
ASSERTION = (
    f'<saml:Assertion xmlns:saml="{SAML}" ID="_a1" Version="2.0">'
    "<saml:Issuer>https://idp.example.org</saml:Issuer>"
    "<saml:Subject><saml:NameID>alice</saml:NameID></saml:Subject>"
    "</saml:Assertion>"
).encode()


def signed(xml: bytes = ASSERTION, **kwargs: object) -> bytes:
    """``xml`` signed by the test IdP, serialized (as it travels)."""
    element = etree.fromstring(xml)
    pair = keys("idp")
    dsig.sign_element(element, key_pem=pair.key_pem, cert_pem=pair.cert_pem, **kwargs)  # type: ignore[arg-type]
    return etree.tostring(element)


def verify(xml: bytes, certificates: list[str | bytes] | None = None, **kwargs: bool) -> None:
    element = etree.fromstring(xml)
    dsig.verify_signed_element(
        element, certificates=certificates or [keys("idp").cert_pem], **kwargs
    )


def code_of(xml: bytes | etree._Element, **kwargs: bool) -> str:
    if isinstance(xml, etree._Element):
        xml = etree.tostring(xml)
    with pytest.raises(SAMLValidationError) as info:
        verify(xml, **kwargs)
    return info.value.code


def test_a_signature_verifies_with_the_configured_certificate() -> None:
    verify(signed())


@pytest.mark.parametrize(
    ("signature_algorithm", "digest_algorithm"),
    [
        (dsig.RSA_SHA256, dsig.SHA256),
        (dsig.RSA_SHA384, dsig.SHA384),
        (dsig.RSA_SHA512, dsig.SHA512),
    ],
)
def test_each_allowed_rsa_algorithm_verifies(
    signature_algorithm: str, digest_algorithm: str
) -> None:
    verify(signed(signature_algorithm=signature_algorithm, digest_algorithm=digest_algorithm))


def test_ecdsa_signatures_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec idp")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    element = etree.fromstring(ASSERTION)
    dsig.sign_element(
        element, key_pem=key_pem, cert_pem=cert_pem, signature_algorithm=dsig.ECDSA_SHA256
    )
    dsig.verify_signed_element(etree.fromstring(etree.tostring(element)), certificates=[cert_pem])


def test_certificates_are_accepted_as_pem_base64_body_or_der() -> None:
    pair = keys("idp")
    der = x509.load_pem_x509_certificate(pair.cert_pem).public_bytes(serialization.Encoding.DER)
    wrapped = "\n".join(pair.cert_base64[i : i + 64] for i in range(0, len(pair.cert_base64), 64))
    for form in (pair.cert_pem, pair.cert_pem.decode(), pair.cert_base64, wrapped, der):
        verify(signed(), certificates=[form])


def test_any_configured_certificate_may_match() -> None:
    verify(signed(), certificates=[keys("attacker").cert_pem, keys("idp").cert_base64])


def test_a_signature_by_another_key_is_invalid() -> None:
    assert code_of(signed(), certificates=[keys("attacker").cert_pem]) == "saml.signature_invalid"  # type: ignore[arg-type]


def test_keyinfo_is_never_used_to_verify() -> None:
    element = etree.fromstring(ASSERTION)
    attacker = keys("attacker")
    dsig.sign_element(element, key_pem=attacker.key_pem, cert_pem=attacker.cert_pem)
    # The signature is consistent with the certificate it carries, but that one is not trusted.
    assert code_of(element) == "saml.signature_invalid"


def test_tampering_breaks_the_signature() -> None:
    assert code_of(signed().replace(b">alice<", b">mallory<")) == "saml.signature_invalid"


def test_a_comment_does_not_break_the_signature_and_does_not_truncate() -> None:
    xml = signed(ASSERTION.replace(b">alice<", b">alice.example.org<"))
    verify(xml.replace(b">alice.example.org<", b">alice<!---->.example.org<"))


def test_a_missing_signature_is_reported() -> None:
    assert code_of(ASSERTION) == "saml.signature_missing"


def test_two_signatures_are_refused() -> None:
    element = etree.fromstring(signed())
    signature = element.find("ds:Signature", NS)
    assert signature is not None
    signature.addnext(copy.deepcopy(signature))
    assert code_of(element) == "saml.signature_invalid"


def test_an_element_without_id_is_refused() -> None:
    element = etree.fromstring(signed())
    del element.attrib["ID"]
    assert code_of(element) == "saml.signature_reference_mismatch"


def _edit(xml: bytes, path: str, attribute: str, value: str) -> etree._Element:
    element = etree.fromstring(xml)
    node = element.find(path, NS)
    assert node is not None
    node.set(attribute, value)
    return element


def test_a_reference_to_another_element_is_refused() -> None:
    element = _edit(signed(), "ds:Signature/ds:SignedInfo/ds:Reference", "URI", "#_other")
    assert code_of(element) == "saml.signature_reference_mismatch"


def test_an_empty_reference_uri_is_refused() -> None:
    element = _edit(signed(), "ds:Signature/ds:SignedInfo/ds:Reference", "URI", "")
    assert code_of(element) == "saml.signature_reference_mismatch"


def test_two_references_are_refused() -> None:
    element = etree.fromstring(signed())
    reference = element.find("ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert reference is not None
    reference.addnext(copy.deepcopy(reference))
    assert code_of(element) == "saml.signature_reference_mismatch"


@pytest.mark.parametrize(
    "attribute", ["ID", "Id", "id", "{http://www.w3.org/XML/1998/namespace}id"]
)
def test_a_duplicate_id_anywhere_is_refused(attribute: str) -> None:
    element = etree.fromstring(signed())
    decoy = etree.SubElement(element.find("saml:Subject", NS), "{urn:x}Decoy")  # type: ignore[arg-type]
    decoy.set(attribute, "_a1")
    assert code_of(element) == "saml.signature_reference_mismatch"


def test_a_ds_object_is_refused() -> None:
    element = etree.fromstring(signed())
    signature = element.find("ds:Signature", NS)
    hidden = copy.deepcopy(element.find("saml:Subject", NS))
    etree.SubElement(signature, qname(DS, "Object")).append(hidden)  # type: ignore[arg-type]
    assert code_of(element) == "saml.signature_invalid"


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [
        (
            "ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        ),
        (
            "ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod",
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        ),
        (
            "ds:Signature/ds:SignedInfo/ds:SignatureMethod",
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        ),
        ("ds:Signature/ds:SignedInfo/ds:SignatureMethod", dsig.RSA_SHA1),
        ("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod", dsig.SHA1),
        (
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod",
            "http://www.w3.org/2001/04/xmldsig-more#md5",
        ),
        (
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
        ),
        (
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform",
            "http://www.w3.org/TR/1999/REC-xslt-19991116",
        ),
    ],
)
def test_algorithms_outside_the_allow_list_are_refused(path: str, algorithm: str) -> None:
    assert code_of(_edit(signed(), path, "Algorithm", algorithm)) == "saml.algorithm_not_allowed"


def test_sha1_verifies_only_when_allowed() -> None:
    xml = signed(signature_algorithm=dsig.RSA_SHA1, digest_algorithm=dsig.SHA1)
    assert code_of(xml) == "saml.algorithm_not_allowed"
    verify(xml, allow_sha1=True)


def test_a_sha256_signature_with_a_sha1_digest_is_refused() -> None:
    assert code_of(signed(digest_algorithm=dsig.SHA1)) == "saml.algorithm_not_allowed"


def test_unknown_children_in_the_signature_are_refused() -> None:
    element = etree.fromstring(signed())
    signed_info = element.find("ds:SignedInfo", NS) or element.find(
        "ds:Signature/ds:SignedInfo", NS
    )
    assert signed_info is not None
    etree.SubElement(signed_info, "{urn:x}Extra")
    assert code_of(element) == "saml.signature_invalid"


def test_no_certificate_is_a_configuration_error() -> None:
    with pytest.raises(InvalidSettingError):
        dsig.verify_signed_element(etree.fromstring(signed()), certificates=[])
    with pytest.raises(InvalidSettingError):
        dsig.verify_signed_element(etree.fromstring(signed()), certificates=["not a certificate"])


# --- signing -------------------------------------------------------------------------------------


def test_the_signature_goes_after_the_issuer() -> None:
    element = etree.fromstring(signed())
    assert [etree.QName(child).localname for child in element] == ["Issuer", "Signature", "Subject"]


def test_the_signature_goes_first_without_issuer_or_after_a_named_child() -> None:
    bare = f'<saml:Assertion xmlns:saml="{SAML}" ID="_b"><saml:Subject/></saml:Assertion>'.encode()
    assert etree.QName(etree.fromstring(signed(bare))[0]).localname == "Signature"
    after = etree.fromstring(signed(bare, insert_after=qname(SAML, "Subject")))
    assert [etree.QName(child).localname for child in after] == ["Subject", "Signature"]
    verify(etree.tostring(after))


def test_signing_refuses_bad_input_and_leaves_no_template() -> None:
    pair = keys("idp")
    no_id = etree.fromstring(f'<saml:Assertion xmlns:saml="{SAML}"/>'.encode())
    with pytest.raises(InvalidSettingError):
        dsig.sign_element(no_id, key_pem=pair.key_pem, cert_pem=pair.cert_pem)
    element = etree.fromstring(ASSERTION)
    with pytest.raises(InvalidSettingError):
        dsig.sign_element(
            element, key_pem=pair.key_pem, cert_pem=pair.cert_pem, signature_algorithm="x"
        )
    with pytest.raises(InvalidSettingError):
        dsig.sign_element(
            element, key_pem=pair.key_pem, cert_pem=pair.cert_pem, digest_algorithm="x"
        )
    with pytest.raises(InvalidSettingError):
        dsig.sign_element(element, key_pem=b"garbage", cert_pem=pair.cert_pem)
    assert element.find("ds:Signature", NS) is None


# --- raw signatures (HTTP-Redirect binding) ------------------------------------------------------


def test_raw_signatures_verify_and_detect_changes() -> None:
    data = b"SAMLRequest=abc&RelayState=%2Fnext&SigAlg=x"
    signature = dsig.sign_bytes(data, key_pem=keys("idp").key_pem)
    dsig.verify_bytes(
        data, signature, certificates=[keys("idp").cert_pem], algorithm=dsig.RSA_SHA256
    )
    for changed, certificate in ((data + b"x", keys("idp")), (data, keys("attacker"))):
        with pytest.raises(SAMLValidationError) as info:
            dsig.verify_bytes(
                changed, signature, certificates=[certificate.cert_pem], algorithm=dsig.RSA_SHA256
            )
        assert info.value.code == "saml.signature_invalid"


def test_raw_sha1_signatures_need_allow_sha1() -> None:
    data = b"payload"
    signature = dsig.sign_bytes(data, key_pem=keys("idp").key_pem, algorithm=dsig.RSA_SHA1)
    with pytest.raises(SAMLValidationError) as info:
        dsig.verify_bytes(
            data, signature, certificates=[keys("idp").cert_pem], algorithm=dsig.RSA_SHA1
        )
    assert info.value.code == "saml.algorithm_not_allowed"
    dsig.verify_bytes(
        data,
        signature,
        certificates=[keys("idp").cert_pem],
        algorithm=dsig.RSA_SHA1,
        allow_sha1=True,
    )
    with pytest.raises(InvalidSettingError):
        dsig.sign_bytes(data, key_pem=keys("idp").key_pem, algorithm="urn:nonsense")


# --- encryption ----------------------------------------------------------------------------------


def encrypted(
    xml: bytes = ASSERTION,
    *,
    wrapper: str = "EncryptedAssertion",
    certificate: bytes | None = None,
    algorithm: str = dsig.AES256_GCM,
) -> etree._Element:
    """``xml`` encrypted for the SP inside a ``saml:<wrapper>``, as received (re-parsed)."""
    holder = etree.Element(qname(SAML, wrapper), nsmap={"saml": SAML})
    holder.append(etree.fromstring(xml))
    dsig.encrypt_element(
        holder[0], cert_pem=certificate or keys("sp").cert_pem, data_algorithm=algorithm
    )
    return etree.fromstring(etree.tostring(holder))


def sp_key() -> str:
    return keys("sp").key_pem.decode()


def decrypt_code(holder: etree._Element, keys_: list[str | bytes] | None = None) -> str:
    with pytest.raises(SAMLValidationError) as info:
        dsig.decrypt_element(
            holder, private_keys=keys_ or [sp_key()], expected=qname(SAML, "Assertion")
        )
    return info.value.code


@pytest.mark.parametrize(
    "algorithm",
    [dsig.AES128_CBC, dsig.AES192_CBC, dsig.AES256_CBC, dsig.AES128_GCM, dsig.AES256_GCM],
)
def test_an_encrypted_assertion_decrypts_in_place(algorithm: str) -> None:
    holder = encrypted(signed(), algorithm=algorithm)
    assertion = dsig.decrypt_element(
        holder, private_keys=[sp_key()], expected=qname(SAML, "Assertion")
    )
    assert assertion.getparent() is holder
    assert assertion.findtext("saml:Subject/saml:NameID", namespaces=NS) == "alice"
    dsig.verify_signed_element(assertion, certificates=[keys("idp").cert_pem])


def test_the_session_key_may_sit_next_to_the_encrypted_data() -> None:
    holder = encrypted()
    data = holder.find("xenc:EncryptedData", NS)
    encrypted_key = holder.find("xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey", NS)
    assert data is not None
    assert encrypted_key is not None
    key_info = encrypted_key.getparent()
    key_info.remove(encrypted_key)  # type: ignore[union-attr]
    holder.append(encrypted_key)
    assertion = dsig.decrypt_element(
        holder, private_keys=[sp_key()], expected=qname(SAML, "Assertion")
    )
    assert assertion.get("ID") == "_a1"


def test_every_sp_key_is_tried_during_a_rollover() -> None:
    holder = encrypted(certificate=keys("sp-new").cert_pem)
    new_key = keys("sp-new").key_pem
    assertion = dsig.decrypt_element(
        holder, private_keys=[sp_key(), new_key], expected=qname(SAML, "Assertion")
    )
    assert assertion.get("ID") == "_a1"


def test_a_foreign_key_cannot_decrypt() -> None:
    assert (
        decrypt_code(encrypted(certificate=keys("attacker").cert_pem)) == "saml.decryption_failed"
    )


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [
        (
            "xenc:EncryptedData/xenc:EncryptionMethod",
            "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
        ),
        ("xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", dsig.RSA_1_5),
    ],
)
def test_weak_encryption_algorithms_are_refused(path: str, algorithm: str) -> None:
    holder = encrypted()
    method = holder.find(path, NS)
    assert method is not None
    method.set("Algorithm", algorithm)
    assert decrypt_code(holder) == "saml.algorithm_not_allowed"


def test_the_plaintext_must_be_the_expected_element() -> None:
    name_id = f'<saml:NameID xmlns:saml="{SAML}">alice</saml:NameID>'.encode()
    assert decrypt_code(encrypted(name_id)) == "saml.decryption_failed"


def test_malformed_encrypted_elements_are_refused() -> None:
    empty = etree.fromstring(f'<saml:EncryptedAssertion xmlns:saml="{SAML}"/>'.encode())
    assert decrypt_code(empty) == "saml.decryption_failed"
    content = encrypted()
    data = content.find("xenc:EncryptedData", NS)
    data.set("Type", "http://www.w3.org/2001/04/xmlenc#Content")  # type: ignore[union-attr]
    assert decrypt_code(content) == "saml.decryption_failed"
    no_key = encrypted()
    key_info = no_key.find("xenc:EncryptedData/ds:KeyInfo", NS)
    key_info.getparent().remove(key_info)  # type: ignore[union-attr]
    assert decrypt_code(no_key) == "saml.decryption_failed"
    cipher = encrypted()
    value = cipher.find("xenc:EncryptedData/xenc:CipherData/xenc:CipherValue", NS)
    value.text = base64.b64encode(b"\0" * 64).decode()  # type: ignore[union-attr]
    assert decrypt_code(cipher) == "saml.decryption_failed"


def test_decrypting_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(InvalidSettingError) as info:
        dsig.decrypt_element(encrypted(), private_keys=[], expected=qname(SAML, "Assertion"))
    assert info.value.key == "sp.privateKey"


# --- key material normalisation ------------------------------------------------------------------


def test_private_keys_are_accepted_as_pkcs1_pkcs8_or_base64_body() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = rsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forms: list[str | bytes] = [pkcs1, pkcs1.decode(), base64.b64encode(der).decode()]
    normalized = {dsig.normalize_private_key(form) for form in forms}
    assert len(normalized) == 1
    assert next(iter(normalized)).startswith("-----BEGIN PRIVATE KEY-----")
    with pytest.raises(InvalidSettingError) as info:
        dsig.normalize_private_key("nonsense", key="sp.privateKey")
    assert info.value.key == "sp.privateKey"


def test_a_non_certificate_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidSettingError) as info:
        dsig.normalize_certificate("bm90IGEgY2VydA==", key="idp.x509cert")
    assert info.value.key == "idp.x509cert"


def test_an_id_registered_by_a_dtd_aware_parser_is_refused_too() -> None:
    # authkit's parser never loads a DTD; a caller's tree might. xmlsec's own ID table then holds
    # the decoy, and registering the signed element's ID fails closed.
    xml = signed().replace(b"</saml:Subject>", b'<x foo="_a1"/></saml:Subject>')
    document = b"<!DOCTYPE saml:Assertion [<!ATTLIST x foo ID #IMPLIED>]>" + xml
    element = etree.fromstring(document, etree.XMLParser(load_dtd=True))
    with pytest.raises(SAMLValidationError) as info:
        dsig.verify_signed_element(element, certificates=[keys("idp").cert_pem])
    assert info.value.code == "saml.signature_reference_mismatch"
