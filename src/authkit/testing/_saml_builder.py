"""Build SAML Responses as an IdP would, for tests: valid ones and deliberately broken ones.

This is the engine of the test IdP (:class:`authkit.testing.SAMLIdentityProvider` wraps it with
an HTTP endpoint). It generates its own key and self-signed certificate (valid around a given
``now``, never "until 2099"), and issues a ``samlp:Response`` for a given SP — assertion and/or
Response signed, assertion, NameID or attributes encrypted, any NameID format and attributes —
with every field that a validator checks available to be set wrong on purpose::

    idp = SAMLResponseBuilder.generate(entity_id="https://idp.example.org", now=now)
    spec = ResponseSpec(sp_entity_id=..., acs_url=..., request_id=login.id, now=now)
    good = idp.build_base64(spec)
    expired = idp.build_base64(spec.broken("expired"))

Signatures and encryption use :mod:`authkit.saml._xmldsig`, like the SP side: the same xmlsec
binding, in memory.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from authkit.errors import InvalidSettingError
from authkit.saml._authn_request import new_id
from authkit.saml._settings import (
    AC_PASSWORD_PROTECTED_TRANSPORT,
    NAMEID_EMAIL_ADDRESS,
)
from authkit.saml._xml import NS_SAML, NS_SAMLP, NS_XS, NS_XSI, format_instant, qname
from authkit.saml._xmldsig import AES256_GCM, RSA_SHA256, SHA256, encrypt_element, sign_element

__all__ = [
    "BROKEN_VARIANTS",
    "UNSET",
    "KeyPair",
    "ResponseSpec",
    "SAMLResponseBuilder",
    "generate_key_pair",
]

STATUS_SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER: Final = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_AUTHN_FAILED: Final = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
ATTRNAME_FORMAT_URI: Final = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
CM_BEARER: Final = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

#: Names accepted by :meth:`ResponseSpec.broken`, each breaking exactly one check.
BROKEN_VARIANTS: Final = (
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "no_audience",
    "wrong_recipient",
    "wrong_destination",
    "no_destination",
    "wrong_issuer",
    "wrong_assertion_issuer",
    "status_failure",
    "wrong_in_response_to",
    "wrong_subject_in_response_to",
    "subject_expired",
    "session_expired",
    "unsigned",
    "wrong_version",
    "no_name_id",
    "wrong_authn_context",
    "no_attribute_statement",
)


@attrs.frozen(kw_only=True)
class KeyPair:
    """A private key and its self-signed certificate, both PEM.

    Attributes:
        key_pem: The PKCS#8 private key.
        cert_pem: The X.509 certificate.
    """

    key_pem: bytes = attrs.field(repr=False)
    cert_pem: bytes

    @property
    def cert_base64(self) -> str:
        """The certificate's base64 body on one line, as python3-saml settings hold it."""
        lines = self.cert_pem.decode("ascii").strip().splitlines()
        return "".join(line for line in lines if not line.startswith("-----"))


def generate_key_pair(
    *,
    now: datetime,
    common_name: str = "authkit test IdP",
    valid_for: timedelta = timedelta(days=365),
    key_size: int = 2048,
) -> KeyPair:
    """A fresh RSA key and a self-signed certificate valid from a day before ``now``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + valid_for)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )


class _Unset(enum.Enum):
    UNSET = "unset"


#: Marks an override that is not set: the value is derived from the other fields.
UNSET: Final = _Unset.UNSET


@attrs.frozen(kw_only=True)
class ResponseSpec:
    """What the Response says and how it is protected. Defaults give a valid Response.

    Args:
        sp_entity_id: The SP (the Audience).
        acs_url: The SP's ACS URL (Destination and Recipient).
        request_id: The AuthnRequest ID answered (``None``: an unsolicited Response).
        now: The IdP's clock.
        name_id: The NameID value (``None``: no NameID).
        name_id_format: The NameID ``Format``.
        attributes: Attribute values by ``Name``.
        friendly_names: ``FriendlyName`` by attribute ``Name``.
        attribute_name_format: ``NameFormat`` of every attribute.
        authn_context: The AuthnContextClassRef.
        session_index: The SessionIndex (a fresh one by default).
        lifetime: How long the assertion and its bearer confirmation stay valid.
        session_lifetime: Until when the IdP session lasts (SessionNotOnOrAfter).
        sign_assertion: Sign the Assertion.
        sign_response: Sign the Response.
        encrypt_assertion: Encrypt the Assertion for ``sp_certificate``.
        encrypt_name_id: Encrypt the NameID (EncryptedID) for ``sp_certificate``.
        encrypt_attributes: Encrypt each Attribute (EncryptedAttribute).
        sp_certificate: The SP's certificate (PEM), for encryption.
        encryption_algorithm: The content encryption algorithm URI.
        signature_algorithm: The signature algorithm URI.
        digest_algorithm: The digest algorithm URI.
        include_attribute_statement: Emit the AttributeStatement.
        response_issuer / assertion_issuer / audience / recipient / destination /
        in_response_to / subject_in_response_to / status / status_message / version /
        not_before / not_on_or_after / subject_not_on_or_after / session_not_on_or_after:
            Overrides, to break one check on purpose (see :meth:`broken`). A ``destination``
            of ``None`` omits the attribute.
    """

    sp_entity_id: str
    acs_url: str
    request_id: str | None
    now: datetime
    name_id: str | None = "alice@example.org"
    name_id_format: str = NAMEID_EMAIL_ADDRESS
    attributes: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    friendly_names: Mapping[str, str] = attrs.field(factory=dict)
    attribute_name_format: str = ATTRNAME_FORMAT_URI
    authn_context: str = AC_PASSWORD_PROTECTED_TRANSPORT
    session_index: str | None = None
    lifetime: timedelta = timedelta(minutes=5)
    session_lifetime: timedelta = timedelta(hours=8)
    sign_assertion: bool = True
    sign_response: bool = False
    encrypt_assertion: bool = False
    encrypt_name_id: bool = False
    encrypt_attributes: bool = False
    sp_certificate: bytes | None = None
    encryption_algorithm: str = AES256_GCM
    signature_algorithm: str = RSA_SHA256
    digest_algorithm: str = SHA256
    include_attribute_statement: bool = True
    # Overrides for broken variants (UNSET: derived from the fields above).
    response_issuer: str | _Unset | None = UNSET
    assertion_issuer: str | _Unset = UNSET
    audience: str | _Unset | None = UNSET
    recipient: str | _Unset = UNSET
    destination: str | _Unset | None = UNSET
    in_response_to: str | _Unset | None = UNSET
    subject_in_response_to: str | _Unset | None = UNSET
    status: tuple[str, ...] = (STATUS_SUCCESS,)
    status_message: str | None = None
    version: str = "2.0"
    not_before: datetime | None = None
    not_on_or_after: datetime | None = None
    subject_not_on_or_after: datetime | None = None
    session_not_on_or_after: datetime | None = None

    def broken(self, variant: str) -> ResponseSpec:
        """This spec with exactly one thing wrong (one of :data:`BROKEN_VARIANTS`)."""
        long_ago = self.now - timedelta(hours=1)
        later = self.now + timedelta(hours=1)
        variants: dict[str, dict[str, Any]] = {
            "expired": {"not_on_or_after": long_ago},
            "not_yet_valid": {"not_before": later},
            "wrong_audience": {"audience": "https://other-sp.example.net/metadata"},
            "no_audience": {"audience": None},
            "wrong_recipient": {"recipient": "https://evil.example.net/acs"},
            "wrong_destination": {"destination": "https://evil.example.net/acs"},
            "no_destination": {"destination": None},
            "wrong_issuer": {"response_issuer": "https://evil.example.net/idp"},
            "wrong_assertion_issuer": {"assertion_issuer": "https://evil.example.net/idp"},
            "status_failure": {
                "status": (STATUS_RESPONDER, STATUS_AUTHN_FAILED),
                "status_message": "Authentication failed",
            },
            "wrong_in_response_to": {"in_response_to": "_not_the_request"},
            "wrong_subject_in_response_to": {"subject_in_response_to": "_not_the_request"},
            "subject_expired": {"subject_not_on_or_after": long_ago},
            "session_expired": {"session_not_on_or_after": long_ago},
            "unsigned": {"sign_assertion": False, "sign_response": False},
            "wrong_version": {"version": "1.1"},
            "no_name_id": {"name_id": None},
            "wrong_authn_context": {
                "authn_context": "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
            },
            "no_attribute_statement": {"include_attribute_statement": False},
        }
        if variant not in variants:
            raise InvalidSettingError(
                f"unknown variant {variant!r}; known: {', '.join(BROKEN_VARIANTS)}",
                key="ResponseSpec.broken.variant",
            )
        return attrs.evolve(self, **variants[variant])


_T = TypeVar("_T")


def _pick(override: _T | _Unset, default: _T) -> _T:
    return default if isinstance(override, _Unset) else override


class SAMLResponseBuilder:
    """Issues Responses as the IdP ``entity_id`` with ``key_pair``.

    Args:
        entity_id: The IdP's entityID (the Issuer).
        key_pair: Its signing key and certificate.
    """

    def __init__(self, *, entity_id: str, key_pair: KeyPair) -> None:
        self.entity_id = entity_id
        self.key_pair = key_pair

    @classmethod
    def generate(cls, *, entity_id: str, now: datetime) -> SAMLResponseBuilder:
        """A builder with a freshly generated key pair."""
        return cls(entity_id=entity_id, key_pair=generate_key_pair(now=now))

    @property
    def certificate(self) -> str:
        """The IdP certificate's base64 body (for ``idp.x509cert``)."""
        return self.key_pair.cert_base64

    def build_base64(self, spec: ResponseSpec) -> str:
        """The Response as the ``SAMLResponse`` form value (base64)."""
        return base64.b64encode(self.build(spec)).decode("ascii")

    def build(self, spec: ResponseSpec) -> bytes:
        """The Response document (XML bytes)."""
        return etree.tostring(self.build_element(spec), xml_declaration=True, encoding="UTF-8")

    def build_element(self, spec: ResponseSpec) -> etree._Element:
        """The Response as an lxml element (to tamper with in tests)."""
        response = etree.Element(
            qname(NS_SAMLP, "Response"),
            nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
            ID=new_id(),
            Version=spec.version,
            IssueInstant=format_instant(spec.now),
        )
        destination = _pick(spec.destination, spec.acs_url)
        if destination is not None:
            response.set("Destination", destination)
        in_response_to = _pick(spec.in_response_to, spec.request_id)
        if in_response_to is not None:
            response.set("InResponseTo", in_response_to)
        response_issuer = _pick(spec.response_issuer, self.entity_id)
        if response_issuer is not None:
            etree.SubElement(response, qname(NS_SAML, "Issuer")).text = response_issuer
        status = etree.SubElement(response, qname(NS_SAMLP, "Status"))
        parent = status
        for code in spec.status:
            parent = etree.SubElement(parent, qname(NS_SAMLP, "StatusCode"), Value=code)
        if spec.status_message is not None:
            etree.SubElement(status, qname(NS_SAMLP, "StatusMessage")).text = spec.status_message

        if spec.status == (STATUS_SUCCESS,):
            response.append(self._assertion(spec))
        if spec.sign_response:
            self._sign(response, spec)
        # Parse the result again: nodes xmlsec created in memory are invisible to lxml's
        # find()/iter() by tag (their names are not in the document dictionary), and tests
        # edit the tree with those.
        return etree.fromstring(etree.tostring(response))

    def _sign(self, element: etree._Element, spec: ResponseSpec) -> None:
        sign_element(
            element,
            key_pem=self.key_pair.key_pem,
            cert_pem=self.key_pair.cert_pem,
            signature_algorithm=spec.signature_algorithm,
            digest_algorithm=spec.digest_algorithm,
        )

    def _encrypt(
        self, element: etree._Element, wrapper_tag: str, spec: ResponseSpec
    ) -> etree._Element:
        """Wrap ``element`` in ``wrapper_tag`` (in place of it) and encrypt it there."""
        wrapper = etree.Element(qname(NS_SAML, wrapper_tag), nsmap={"saml": NS_SAML})
        parent = element.getparent()
        if parent is not None:
            parent.replace(element, wrapper)
        wrapper.append(element)
        encrypt_element(
            element,
            cert_pem=_need(spec.sp_certificate),
            data_algorithm=spec.encryption_algorithm,
        )
        return wrapper

    def _assertion(self, spec: ResponseSpec) -> etree._Element:
        now = spec.now
        assertion = etree.Element(
            qname(NS_SAML, "Assertion"),
            nsmap={"saml": NS_SAML, "xs": NS_XS, "xsi": NS_XSI},
            ID=new_id(),
            Version=spec.version,
            IssueInstant=format_instant(now),
        )
        issuer = _pick(spec.assertion_issuer, self.entity_id)
        etree.SubElement(assertion, qname(NS_SAML, "Issuer")).text = issuer

        subject = etree.SubElement(assertion, qname(NS_SAML, "Subject"))
        if spec.name_id is not None:
            name_id = etree.SubElement(
                subject,
                qname(NS_SAML, "NameID"),
                Format=spec.name_id_format,
                SPNameQualifier=spec.sp_entity_id,
            )
            name_id.text = spec.name_id
        confirmation = etree.SubElement(
            subject, qname(NS_SAML, "SubjectConfirmation"), Method=CM_BEARER
        )
        data = etree.SubElement(
            confirmation,
            qname(NS_SAML, "SubjectConfirmationData"),
            NotOnOrAfter=format_instant(spec.subject_not_on_or_after or now + spec.lifetime),
            Recipient=_pick(spec.recipient, spec.acs_url),
        )
        subject_in_response_to = _pick(spec.subject_in_response_to, spec.request_id)
        if subject_in_response_to is not None:
            data.set("InResponseTo", subject_in_response_to)

        conditions = etree.SubElement(
            assertion,
            qname(NS_SAML, "Conditions"),
            NotBefore=format_instant(spec.not_before or now - timedelta(seconds=30)),
            NotOnOrAfter=format_instant(spec.not_on_or_after or now + spec.lifetime),
        )
        audience = _pick(spec.audience, spec.sp_entity_id)
        if audience is not None:
            restriction = etree.SubElement(conditions, qname(NS_SAML, "AudienceRestriction"))
            etree.SubElement(restriction, qname(NS_SAML, "Audience")).text = audience

        statement = etree.SubElement(
            assertion,
            qname(NS_SAML, "AuthnStatement"),
            AuthnInstant=format_instant(now),
            SessionIndex=spec.session_index or new_id(),
            SessionNotOnOrAfter=format_instant(
                spec.session_not_on_or_after or now + spec.session_lifetime
            ),
        )
        context = etree.SubElement(statement, qname(NS_SAML, "AuthnContext"))
        etree.SubElement(context, qname(NS_SAML, "AuthnContextClassRef")).text = spec.authn_context

        attributes: list[etree._Element] = []
        if spec.include_attribute_statement:
            attribute_statement = etree.SubElement(assertion, qname(NS_SAML, "AttributeStatement"))
            for name, values in spec.attributes.items():
                attribute = etree.SubElement(
                    attribute_statement,
                    qname(NS_SAML, "Attribute"),
                    Name=name,
                    NameFormat=spec.attribute_name_format,
                )
                if name in spec.friendly_names:
                    attribute.set("FriendlyName", spec.friendly_names[name])
                for value in values:
                    node = etree.SubElement(attribute, qname(NS_SAML, "AttributeValue"))
                    node.set(qname(NS_XSI, "type"), "xs:string")
                    node.text = value
                attributes.append(attribute)

        # Inner encryption first: the assertion signature must cover the encrypted form.
        if spec.encrypt_name_id and spec.name_id is not None:
            self._encrypt(subject[0], "EncryptedID", spec)
        if spec.encrypt_attributes:
            for attribute in attributes:
                self._encrypt(attribute, "EncryptedAttribute", spec)
        if spec.sign_assertion:
            self._sign(assertion, spec)
        if spec.encrypt_assertion:
            holder = etree.Element(qname(NS_SAML, "EncryptedAssertion"), nsmap={"saml": NS_SAML})
            holder.append(assertion)
            encrypt_element(
                assertion,
                cert_pem=_need(spec.sp_certificate),
                data_algorithm=spec.encryption_algorithm,
            )
            return holder
        return assertion


def _need(certificate: bytes | None) -> bytes:
    if certificate is None:
        raise InvalidSettingError(
            "encryption needs the SP's certificate", key="ResponseSpec.sp_certificate"
        )
    return certificate
