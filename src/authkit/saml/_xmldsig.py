"""XML signatures and XML encryption for SAML — the **hazmat** layer.

.. warning::

   This module holds the low-level primitives. Calling them correctly — on the right element,
   with the right certificates, and then reading data *only* from the element that was verified —
   is the job of the recipes above it (:mod:`authkit.saml._response`, the IdP metadata loader).
   Applications should not need it.

Everything goes through the ``xmlsec`` binding in memory: no subprocess, no temporary file.

Verification (:func:`verify_signed_element`) is deliberately narrow, because generality is where
XML-signature wrapping lives (Somorovsky et al., "On Breaking SAML", 2012). It accepts exactly
the signature shape SAML uses (SAML core §5.4):

- one ``ds:Signature``, a direct child of the element it signs;
- one ``ds:Reference`` whose ``URI`` is ``#`` + that element's ``ID`` attribute, and that ID
  value occurs once in the whole document (no other ``ID``/``Id``/``id``/``xml:id`` carries it);
- transforms limited to enveloped-signature and exclusive canonicalization (also enforced inside
  xmlsec), ``SignedInfo`` canonicalized with exclusive c14n, no ``ds:Object``;
- signature and digest algorithms from an allow-list, SHA-1 only when ``allow_sha1``;
- the key comes from the configured certificates only: ``ds:KeyInfo`` is never read, so a
  certificate an attacker puts there is never trusted.

Because the reference must resolve to the element that was passed in, the caller can — and must —
read its data from that very element object afterwards, never by searching the tree again.

Decryption (:func:`decrypt_element`) opens ``saml:EncryptedAssertion``, ``saml:EncryptedID`` and
``saml:EncryptedAttribute`` with the SP's private key(s), trying each (key rollover), with an
allow-list of algorithms: RSA-OAEP for the key transport (RSA PKCS#1 v1.5 is refused: it is the
Bleichenbacher oracle) and AES-CBC/GCM for the content.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, cast

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml._xml import NS_DS, NS_SAML, NS_XENC, qname

if TYPE_CHECKING:
    from xmlsec.constants import __Transform as Transform

__all__ = [
    "AES128_CBC",
    "AES128_GCM",
    "AES192_CBC",
    "AES192_GCM",
    "AES256_CBC",
    "AES256_GCM",
    "ECDSA_SHA256",
    "ECDSA_SHA384",
    "ECDSA_SHA512",
    "ENVELOPED_SIGNATURE",
    "EXC_C14N",
    "RSA_1_5",
    "RSA_OAEP",
    "RSA_OAEP_MGF1P",
    "RSA_SHA1",
    "RSA_SHA256",
    "RSA_SHA384",
    "RSA_SHA512",
    "SHA1",
    "SHA256",
    "SHA384",
    "SHA512",
    "decrypt_element",
    "encrypt_element",
    "normalize_certificate",
    "normalize_private_key",
    "sign_bytes",
    "sign_element",
    "verify_bytes",
    "verify_signed_element",
]

# --- algorithm identifiers (XML-DSig, RFC 6931, XML-Enc 1.1) ------------------------------------

RSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
DSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
ECDSA_SHA1: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"

ENVELOPED_SIGNATURE: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"

AES128_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
AES192_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
AES256_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
AES128_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
AES192_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
AES256_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
RSA_OAEP_MGF1P: Final = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
RSA_OAEP: Final = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
RSA_1_5: Final = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

_TYPE_ELEMENT = "http://www.w3.org/2001/04/xmlenc#Element"

_C = xmlsec.constants
_SIGNATURE_METHODS: Final[dict[str, Transform]] = {
    RSA_SHA256: _C.TransformRsaSha256,
    RSA_SHA384: _C.TransformRsaSha384,
    RSA_SHA512: _C.TransformRsaSha512,
    ECDSA_SHA256: _C.TransformEcdsaSha256,
    ECDSA_SHA384: _C.TransformEcdsaSha384,
    ECDSA_SHA512: _C.TransformEcdsaSha512,
}
_SHA1_SIGNATURE_METHODS: Final[dict[str, Transform]] = {
    RSA_SHA1: _C.TransformRsaSha1,
    DSA_SHA1: _C.TransformDsaSha1,
    ECDSA_SHA1: _C.TransformEcdsaSha1,
}
_DIGEST_METHODS: Final[dict[str, Transform]] = {
    SHA256: _C.TransformSha256,
    SHA384: _C.TransformSha384,
    SHA512: _C.TransformSha512,
}
_SHA1_DIGEST_METHODS: Final[dict[str, Transform]] = {SHA1: _C.TransformSha1}
_REFERENCE_TRANSFORMS: Final = frozenset({ENVELOPED_SIGNATURE, EXC_C14N})

_BLOCK_CIPHERS: Final[dict[str, tuple[Transform, int]]] = {
    AES128_CBC: (_C.TransformAes128Cbc, 16),
    AES192_CBC: (_C.TransformAes192Cbc, 24),
    AES256_CBC: (_C.TransformAes256Cbc, 32),
    AES128_GCM: (_C.TransformAes128Gcm, 16),
    AES192_GCM: (_C.TransformAes192Gcm, 24),
    AES256_GCM: (_C.TransformAes256Gcm, 32),
}
_KEY_TRANSPORTS: Final = frozenset({RSA_OAEP_MGF1P, RSA_OAEP})

_SIGNATURE = qname(NS_DS, "Signature")
_SIGNED_INFO = qname(NS_DS, "SignedInfo")
_SIGNATURE_VALUE = qname(NS_DS, "SignatureValue")
_KEY_INFO = qname(NS_DS, "KeyInfo")
_C14N_METHOD = qname(NS_DS, "CanonicalizationMethod")
_SIGNATURE_METHOD = qname(NS_DS, "SignatureMethod")
_REFERENCE = qname(NS_DS, "Reference")
_TRANSFORMS = qname(NS_DS, "Transforms")
_TRANSFORM = qname(NS_DS, "Transform")
_DIGEST_METHOD = qname(NS_DS, "DigestMethod")
_DIGEST_VALUE = qname(NS_DS, "DigestValue")
_INCLUSIVE_NAMESPACES = qname(EXC_C14N, "InclusiveNamespaces")
_ENCRYPTED_DATA = qname(NS_XENC, "EncryptedData")
_ENCRYPTED_KEY = qname(NS_XENC, "EncryptedKey")
_ENCRYPTION_METHOD = qname(NS_XENC, "EncryptionMethod")
_ISSUER = qname(NS_SAML, "Issuer")

# Every attribute a resolver might take for an ID; the signed ID must not appear in another one.
_ID_COUNT = etree.XPath(
    "count(//@ID[.=$v] | //@Id[.=$v] | //@id[.=$v] | //@xml:id[.=$v])",
    namespaces={"xml": "http://www.w3.org/XML/1998/namespace"},
)


# --- keys and certificates -----------------------------------------------------------------------

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)


def normalize_certificate(value: str | bytes, *, key: str | None = None) -> str:
    """Return ``value`` as one PEM certificate, accepting PEM, bare base64 (as python3-saml
    settings hold it, with or without line breaks) or DER bytes.

    Raises:
        InvalidSettingError: ``value`` is not an X.509 certificate (``key`` names the setting).
    """
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    match = _PEM_CERT.search(raw)
    try:
        if match is None and raw[:1] == b"\x30":  # DER: an ASN.1 SEQUENCE
            der = raw
        else:
            body = match.group(1) if match else raw
            der = base64.b64decode(b"".join(body.split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error):
        raise InvalidSettingError(
            "expected an X.509 certificate (PEM, or its base64 body)", key=key
        ) from None
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def normalize_private_key(value: str | bytes, *, key: str | None = None) -> str:
    """Return ``value`` as an unencrypted PKCS#8 PEM private key, accepting PEM (PKCS#1 or
    PKCS#8) or the bare base64 body python3-saml settings often hold.

    Raises:
        InvalidSettingError: ``value`` is not an unencrypted RSA or EC private key.
    """
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    try:
        if b"-----BEGIN" in raw:
            private = serialization.load_pem_private_key(raw, password=None)
        else:
            der = base64.b64decode(b"".join(raw.split()), validate=True)
            private = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidSettingError(
            "expected an unencrypted private key (PEM, or its base64 body)", key=key
        ) from None
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


@functools.lru_cache(maxsize=256)
def _certificate_key(certificate: str | bytes) -> xmlsec.Key:
    # Only the public key is loaded, not the certificate: xmlsec duplicates the key into every
    # context, and duplicating a key that carries its X.509 certificate costs as much as the
    # signature check itself. The certificate's validity dates are not checked, as in SAML
    # metadata trust: the configured certificate is trusted as a key, until it is replaced.
    pem = normalize_certificate(certificate)
    public_key = x509.load_pem_x509_certificate(pem.encode("ascii")).public_key()
    spki = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        return xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatPem)
    except xmlsec.Error:  # pragma: no cover - cryptography already parsed it
        raise InvalidSettingError("xmlsec cannot load the key of this certificate") from None


@functools.lru_cache(maxsize=64)
def _private_key(pem: str) -> xmlsec.Key:
    try:
        return xmlsec.Key.from_memory(pem.encode("ascii"), xmlsec.constants.KeyDataFormatPem)
    except xmlsec.Error:
        raise InvalidSettingError("xmlsec cannot load this private key") from None


def _trusted_keys(certificates: Sequence[str | bytes]) -> list[xmlsec.Key]:
    if isinstance(certificates, str | bytes):
        certificates = [certificates]
    keys = [_certificate_key(c) for c in certificates]
    if not keys:
        raise InvalidSettingError(
            "no certificate is configured to verify the signature with",
            hint="configure the IdP's signing certificate (idp.x509cert)",
        )
    return keys


# --- verification --------------------------------------------------------------------------------


def verify_signed_element(
    element: etree._Element,
    *,
    certificates: Sequence[str | bytes],
    allow_sha1: bool = False,
) -> None:
    """Verify the ``ds:Signature`` that is a direct child of ``element`` and signs it.

    On return, ``element`` itself (this object, not one found again by searching) is covered by
    a valid signature of one of ``certificates``. Read data from it and its descendants only.

    Args:
        element: The element that must be signed (a Response, an Assertion, metadata...).
        certificates: The trusted signing certificate(s), PEM or base64 body; any one may match.
        allow_sha1: Accept RSA-SHA1/DSA-SHA1 signatures and SHA-1 digests (off by default).

    Raises:
        SAMLValidationError: ``saml.signature_missing`` (no signature child),
            ``saml.signature_invalid`` (malformed, or no certificate verifies it),
            ``saml.signature_reference_mismatch`` (the reference is not to this element's
            unique ID) or ``saml.algorithm_not_allowed``.
        InvalidSettingError: ``certificates`` is empty or holds something that is not a
            certificate.
    """
    what = _local(element.tag)
    # Compare tags in Python: lxml's C tag matching misses nodes xmlsec created in memory.
    signatures = [child for child in element if child.tag == _SIGNATURE]
    if not signatures:
        raise SAMLValidationError(f"the {what} is not signed", code="saml.signature_missing")
    if len(signatures) > 1:
        raise _malformed(what, "it carries more than one ds:Signature")
    signature = signatures[0]

    element_id = element.get("ID")
    if not element_id:
        raise SAMLValidationError(
            f"the signed {what} has no ID attribute", code="saml.signature_reference_mismatch"
        )
    if _ID_COUNT(element, v=element_id) != 1:
        raise SAMLValidationError(
            f"the ID of the signed {what} is not unique in the document (signature wrapping)",
            code="saml.signature_reference_mismatch",
        )
    signature_method, digest_method = _check_signature_shape(
        signature, element_id, what, allow_sha1
    )
    keys = _trusted_keys(certificates)

    for key in keys:
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        # Belt and braces: xmlsec itself refuses any other transform or algorithm.
        ctx.enable_reference_transform(_C.TransformEnveloped)
        ctx.enable_reference_transform(_C.TransformExclC14N)
        ctx.enable_reference_transform(digest_method)
        ctx.enable_signature_transform(_C.TransformExclC14N)
        ctx.enable_signature_transform(signature_method)
        try:
            # Fails if another node already holds this ID in the document's ID table (an
            # xml:id registered by a parser that collects IDs): fail closed.
            ctx.register_id(element, "ID")
        except xmlsec.Error:
            raise SAMLValidationError(
                f"the ID of the signed {what} is not unique in the document (signature wrapping)",
                code="saml.signature_reference_mismatch",
            ) from None
        try:
            ctx.verify(signature)
        except xmlsec.Error:
            continue
        return
    raise SAMLValidationError(
        f"the signature of the {what} does not verify with the configured IdP certificate",
        code="saml.signature_invalid",
        hint="check that idp.x509cert holds the IdP's current signing certificate",
    )


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _malformed(what: str, why: str) -> SAMLValidationError:
    return SAMLValidationError(
        f"the signature of the {what} is malformed: {why}", code="saml.signature_invalid"
    )


def _not_allowed(what: str, kind: str) -> SAMLValidationError:
    return SAMLValidationError(
        f"the signature of the {what} uses a {kind} that is not allowed",
        code="saml.algorithm_not_allowed",
        hint="SHA-256 or stronger is required; SHA-1 only with security.allow_sha1",
    )


def _one_pass(
    parent: etree._Element, allowed: tuple[str, ...], what: str
) -> dict[str, list[etree._Element]]:
    """The element children of ``parent`` by tag; any tag not in ``allowed`` is refused."""
    found: dict[str, list[etree._Element]] = {tag: [] for tag in allowed}
    for child in parent:
        tag = child.tag
        if tag in found:
            found[tag].append(child)
        elif isinstance(tag, str):  # comments and processing instructions are skipped
            # ds:Object, notably, is where wrapping attacks hide the original signed content.
            raise _malformed(what, f"unexpected {_local(tag)} in {_local(parent.tag)}")
    return found


def _exactly_one(found: dict[str, list[etree._Element]], tag: str, what: str) -> etree._Element:
    if len(found[tag]) != 1:
        raise _malformed(what, f"expected one {_local(tag)}")
    return found[tag][0]


def _check_signature_shape(
    signature: etree._Element, element_id: str, what: str, allow_sha1: bool
) -> tuple[Transform, Transform]:
    """Check the ds:Signature is the one narrow shape SAML needs; return its two algorithms."""
    parts = _one_pass(signature, (_SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO), what)
    _exactly_one(parts, _SIGNATURE_VALUE, what)
    if len(parts[_KEY_INFO]) > 1:
        raise _malformed(what, "expected at most one KeyInfo")
    info = _one_pass(
        _exactly_one(parts, _SIGNED_INFO, what),
        (_C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE),
        what,
    )
    if _exactly_one(info, _C14N_METHOD, what).get("Algorithm") != EXC_C14N:
        raise _not_allowed(what, "canonicalization method")
    method_uri = _exactly_one(info, _SIGNATURE_METHOD, what).get("Algorithm", "")
    method = _SIGNATURE_METHODS.get(method_uri)
    if method is None and allow_sha1:
        method = _SHA1_SIGNATURE_METHODS.get(method_uri)
    if method is None:
        raise _not_allowed(what, "signature algorithm")

    if len(info[_REFERENCE]) != 1:
        raise SAMLValidationError(
            f"the signature of the {what} must have exactly one Reference",
            code="saml.signature_reference_mismatch",
        )
    reference_node = info[_REFERENCE][0]
    if reference_node.get("URI") != f"#{element_id}":
        raise SAMLValidationError(
            f"the signature of the {what} references another element",
            code="saml.signature_reference_mismatch",
        )
    reference = _one_pass(reference_node, (_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE), what)
    _exactly_one(reference, _DIGEST_VALUE, what)
    if len(reference[_TRANSFORMS]) > 1:
        raise _malformed(what, "expected at most one Transforms")
    for transforms in reference[_TRANSFORMS]:
        for transform in _one_pass(transforms, (_TRANSFORM,), what)[_TRANSFORM]:
            if transform.get("Algorithm") not in _REFERENCE_TRANSFORMS:
                raise _not_allowed(what, "transform")
            for parameter in transform:
                if isinstance(parameter.tag, str) and parameter.tag != _INCLUSIVE_NAMESPACES:
                    raise _not_allowed(what, "transform parameter")
    digest_uri = _exactly_one(reference, _DIGEST_METHOD, what).get("Algorithm", "")
    digest = _DIGEST_METHODS.get(digest_uri)
    if digest is None and allow_sha1:
        digest = _SHA1_DIGEST_METHODS.get(digest_uri)
    if digest is None:
        raise _not_allowed(what, "digest algorithm")
    return method, digest


# --- signing -------------------------------------------------------------------------------------


def sign_element(
    element: etree._Element,
    *,
    key_pem: bytes,
    cert_pem: bytes,
    signature_algorithm: str = RSA_SHA256,
    digest_algorithm: str = SHA256,
    insert_after: etree.QName | str | None = None,
) -> None:
    """Sign ``element`` in place with an enveloped signature referencing its ``ID``.

    The ``ds:Signature`` (with the certificate in ``ds:KeyInfo``, for the peer's convenience —
    never for its trust) is inserted as a direct child of ``element``: after the child whose tag
    is ``insert_after`` when given, else after a direct ``saml:Issuer`` child when there is one
    (where SAML's schema requires it), else as the first child (metadata).

    Raises:
        InvalidSettingError: the element has no ``ID``, an algorithm is unknown, or the key or
            certificate cannot be loaded.
    """
    element_id = element.get("ID")
    if not element_id:
        raise InvalidSettingError("the element to sign has no ID attribute")
    method = _SIGNATURE_METHODS.get(signature_algorithm) or _SHA1_SIGNATURE_METHODS.get(
        signature_algorithm
    )
    digest = _DIGEST_METHODS.get(digest_algorithm) or _SHA1_DIGEST_METHODS.get(digest_algorithm)
    if method is None:
        raise InvalidSettingError(f"unknown signature algorithm {signature_algorithm!r}")
    if digest is None:
        raise InvalidSettingError(f"unknown digest algorithm {digest_algorithm!r}")

    signature = xmlsec.template.create(element, _C.TransformExclC14N, method, ns="ds")
    reference = xmlsec.template.add_reference(signature, digest, uri=f"#{element_id}")
    xmlsec.template.add_transform(reference, _C.TransformEnveloped)
    xmlsec.template.add_transform(reference, _C.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    xmlsec.template.x509_data_add_certificate(xmlsec.template.add_x509_data(key_info))

    anchor_tag = str(insert_after) if insert_after is not None else _ISSUER
    anchor = next((child for child in element if child.tag == anchor_tag), None)
    if anchor is not None:
        anchor.addnext(signature)
    else:
        element.insert(0, signature)

    try:
        key = xmlsec.Key.from_memory(key_pem, _C.KeyDataFormatPem)
        key.load_cert_from_memory(cert_pem, _C.KeyDataFormatCertPem)
    except xmlsec.Error:
        signature.getparent().remove(signature)  # type: ignore[union-attr]
        raise InvalidSettingError("cannot load the signing key or certificate") from None
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.register_id(element, "ID")
    try:
        ctx.sign(signature)
    except xmlsec.Error:
        signature.getparent().remove(signature)  # type: ignore[union-attr]
        raise InvalidSettingError(
            "xmlsec could not sign: the key does not match the signature algorithm"
        ) from None


def sign_bytes(data: bytes, *, key_pem: bytes, algorithm: str = RSA_SHA256) -> bytes:
    """Sign raw bytes (the HTTP-Redirect binding's query string, SAML bindings §3.4.4.1).

    Raises:
        InvalidSettingError: unknown algorithm or unusable key.
    """
    method = _SIGNATURE_METHODS.get(algorithm) or _SHA1_SIGNATURE_METHODS.get(algorithm)
    if method is None:
        raise InvalidSettingError(f"unknown signature algorithm {algorithm!r}")
    ctx = xmlsec.SignatureContext()
    ctx.key = _private_key(key_pem.decode("ascii"))
    try:
        return ctx.sign_binary(data, method)
    except xmlsec.Error:
        raise InvalidSettingError(
            "xmlsec could not sign: the key does not match the signature algorithm"
        ) from None


def verify_bytes(
    data: bytes,
    signature: bytes,
    *,
    certificates: Sequence[str | bytes],
    algorithm: str,
    allow_sha1: bool = False,
) -> None:
    """Verify a signature over raw bytes with one of ``certificates``.

    Raises:
        SAMLValidationError: ``saml.algorithm_not_allowed`` or ``saml.signature_invalid``.
    """
    method = _SIGNATURE_METHODS.get(algorithm)
    if method is None and allow_sha1:
        method = _SHA1_SIGNATURE_METHODS.get(algorithm)
    if method is None:
        raise SAMLValidationError(
            "the message signature uses an algorithm that is not allowed",
            code="saml.algorithm_not_allowed",
            hint="SHA-256 or stronger is required; SHA-1 only with security.allow_sha1",
        )
    for key in _trusted_keys(certificates):
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        try:
            ctx.verify_binary(data, method, signature)
        except xmlsec.Error:
            continue
        return
    raise SAMLValidationError(
        "the message signature does not verify with the configured IdP certificate",
        code="saml.signature_invalid",
    )


# --- encryption ----------------------------------------------------------------------------------


def _algorithm(node: etree._Element) -> str | None:
    method = node.find(_ENCRYPTION_METHOD)
    return method.get("Algorithm") if method is not None else None


def _decryption_failed(what: str, why: str) -> SAMLValidationError:
    return SAMLValidationError(
        f"cannot decrypt the {what}: {why}",
        code="saml.decryption_failed",
        hint="check that the IdP encrypts for the certificate in sp.x509cert (or x509certNew)",
    )


def decrypt_element(
    wrapper: etree._Element,
    *,
    private_keys: Sequence[str | bytes],
    expected: str,
) -> etree._Element:
    """Decrypt an ``EncryptedAssertion``/``EncryptedID``/``EncryptedAttribute`` in place.

    The ``xenc:EncryptedData`` child of ``wrapper`` is replaced by the decrypted element, which is
    returned; it must be exactly one element with tag ``expected``. The session key may be in
    ``EncryptedData/ds:KeyInfo`` or in a sibling ``xenc:EncryptedKey`` (both layouts are in use).

    Args:
        wrapper: The SAML element holding the encrypted data.
        private_keys: The SP's private keys, tried in order (current, then new during a rollover).
        expected: The tag (Clark notation) the plaintext must be.

    Raises:
        SAMLValidationError: ``saml.decryption_failed`` or ``saml.algorithm_not_allowed``.
        InvalidSettingError: no private key is configured.
    """
    what = _local(wrapper.tag)
    if not private_keys:
        raise InvalidSettingError(
            f"a {what} arrived but no SP private key is configured to decrypt it",
            key="sp.privateKey",
        )
    data_nodes = [child for child in wrapper if child.tag == _ENCRYPTED_DATA]
    if len(data_nodes) != 1:
        raise _decryption_failed(what, "expected one xenc:EncryptedData")
    encrypted_data = data_nodes[0]
    if encrypted_data.get("Type", _TYPE_ELEMENT) != _TYPE_ELEMENT:
        raise _decryption_failed(what, "the encrypted data is not an XML element")
    cipher = _BLOCK_CIPHERS.get(_algorithm(encrypted_data) or "")
    if cipher is None:
        raise SAMLValidationError(
            f"the {what} uses a content encryption algorithm that is not allowed",
            code="saml.algorithm_not_allowed",
            hint="AES-CBC or AES-GCM is required",
        )
    key_size = cipher[1]

    key_info = encrypted_data.find(_KEY_INFO)
    encrypted_keys = [] if key_info is None else key_info.findall(_ENCRYPTED_KEY)
    encrypted_keys += [child for child in wrapper if child.tag == _ENCRYPTED_KEY]
    if not encrypted_keys:
        raise _decryption_failed(what, "no xenc:EncryptedKey")
    for encrypted_key in encrypted_keys:
        if _algorithm(encrypted_key) not in _KEY_TRANSPORTS:
            raise SAMLValidationError(
                f"the {what} uses a key transport algorithm that is not allowed",
                code="saml.algorithm_not_allowed",
                hint="RSA-OAEP is required; RSA PKCS#1 v1.5 is refused (Bleichenbacher)",
            )

    session_key = _unwrap_session_key(encrypted_keys, private_keys, key_size)
    if session_key is None:
        raise _decryption_failed(what, "no configured SP private key opens it")

    ctx = xmlsec.EncryptionContext()
    ctx.key = xmlsec.Key.from_binary_data(_C.KeyDataAes, session_key)
    try:
        result = cast(object, ctx.decrypt(encrypted_data))
    except xmlsec.Error:
        raise _decryption_failed(what, "the ciphertext does not decrypt") from None
    if not isinstance(result, etree._Element):
        raise _decryption_failed(what, "the plaintext is not XML")
    elements = [
        child for child in wrapper if isinstance(child.tag, str) and child.tag != _ENCRYPTED_KEY
    ]
    if len(elements) != 1 or elements[0] is not result or result.tag != expected:
        raise _decryption_failed(what, f"the plaintext is not exactly one {_local(expected)}")
    return result


def _unwrap_session_key(
    encrypted_keys: Sequence[etree._Element],
    private_keys: Sequence[str | bytes],
    key_size: int,
) -> bytes | None:
    for private_key in private_keys:
        pem = private_key.decode("ascii") if isinstance(private_key, bytes) else private_key
        for encrypted_key in encrypted_keys:
            ctx = xmlsec.EncryptionContext()
            ctx.key = _private_key(pem)
            try:
                result = cast(object, ctx.decrypt(encrypted_key))
            except xmlsec.Error:
                continue
            if isinstance(result, bytes) and len(result) == key_size:
                return result
    return None


def encrypt_element(
    element: etree._Element,
    *,
    cert_pem: bytes,
    data_algorithm: str = AES256_GCM,
    key_algorithm: str = RSA_OAEP_MGF1P,
) -> etree._Element:
    """Encrypt ``element`` for the holder of ``cert_pem``; it is replaced in its tree by the
    returned ``xenc:EncryptedData`` (session key RSA-OAEP-wrapped in its ``ds:KeyInfo``).

    Raises:
        InvalidSettingError: unknown algorithm, or the certificate cannot be loaded.
    """
    cipher = _BLOCK_CIPHERS.get(data_algorithm)
    if cipher is None or key_algorithm != RSA_OAEP_MGF1P:
        raise InvalidSettingError("unsupported encryption algorithm")
    cipher_transform, key_size = cipher
    template = xmlsec.template.encrypted_data_create(
        element, cipher_transform, type=_TYPE_ELEMENT, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, _C.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)

    manager = xmlsec.KeysManager()
    try:
        manager.add_key(xmlsec.Key.from_memory(cert_pem, _C.KeyDataFormatCertPem))
    except xmlsec.Error:
        raise InvalidSettingError("cannot load the encryption certificate") from None
    ctx = xmlsec.EncryptionContext(manager)
    ctx.key = xmlsec.Key.generate(_C.KeyDataAes, key_size * 8, _C.KeyDataTypeSession)
    return ctx.encrypt_xml(template, element)
