"""Validation of a SAML Response in the Web Browser SSO profile (SAML profiles §4.1.4.3 to 4.1.4.5).

Theory of operation
-------------------

:func:`validate_response` takes the XML bytes a browser posted and either returns a
:class:`SAMLAuthn` or raises :class:`~authkit.errors.SAMLValidationError` whose ``code`` names
the one check that failed. The checks run in this order; each reads only elements that are
either already covered by a verified signature or only ever used to *refuse*:

1. Parse with the hardened parser (:mod:`authkit.saml._xml`): size limit, no DOCTYPE, root must
   be ``samlp:Response``; ``Version`` 2.0, ``ID`` and ``IssueInstant`` present.
2. ``Status``: anything but Success is refused with the IdP's status codes.
3. The Response's own signature, when present, is verified (the whole Response is then
   covered); ``wantMessagesSigned`` requires it.
4. ``Destination`` is the ACS URL; the Response ``Issuer``, when present, is the IdP;
   ``InResponseTo`` is the outstanding request's ID (unsolicited responses only when allowed).
5. Exactly one ``Assertion`` or ``EncryptedAssertion`` in the whole document, and it is a direct
   child of the Response — a second assertion anywhere (Extensions, ds:Object, inside another
   assertion) is refused, which defeats every XML-signature-wrapping layout at once. An
   EncryptedAssertion is decrypted in place with the SP key(s).
6. The Assertion's signature, when present, is verified on *that* element object;
   ``wantAssertionsSigned`` requires it, and at least one of Response and Assertion must carry a
   verified signature. From here on every value is read from the verified assertion element (or
   from inside the verified Response), never found again by searching the document.
7. Assertion ``Version``, ``Issuer``; ``Subject`` with a NameID (an EncryptedID is decrypted now,
   after the signature check that covers it) and a bearer ``SubjectConfirmation`` whose data has
   the right ``Recipient``, a future ``NotOnOrAfter``, no ``NotBefore`` and the right
   ``InResponseTo``.
8. ``Conditions``: ``NotBefore``/``NotOnOrAfter`` with the configured clock skew, and an
   ``AudienceRestriction`` naming this SP.
9. ``AuthnStatement``: ``SessionNotOnOrAfter`` still ahead, the AuthnContextClassRef one that
   was requested (when ``failOnAuthnContextMismatch``).
10. Attributes (``EncryptedAttribute`` decrypted); a repeated attribute name is refused unless
    ``allowRepeatAttributeName``.
11. Replay: the assertion ID is recorded in the replay cache until the assertion expires; a
    second use is refused. This comes last so that a rejected response never consumes an ID.

Values are full text content (comments and processing instructions inside cannot truncate
them). Error messages name the check and the expected (configured) value, never the received
markup.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import attrs
from lxml import etree

from authkit.errors import SAMLValidationError
from authkit.saml._replay import ReplayCache
from authkit.saml._settings import SAMLSettings
from authkit.saml._xml import (
    NS_DS,
    NS_SAML,
    NS_SAMLP,
    NS_XSI,
    parse_instant,
    parse_xml,
    qname,
    text_content,
)
from authkit.saml._xmldsig import decrypt_element, verify_signed_element

__all__ = ["SAMLAttribute", "SAMLAuthn", "validate_response"]

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

_RESPONSE = qname(NS_SAMLP, "Response")
_STATUS = qname(NS_SAMLP, "Status")
_STATUS_CODE = qname(NS_SAMLP, "StatusCode")
_STATUS_MESSAGE = qname(NS_SAMLP, "StatusMessage")
_ISSUER = qname(NS_SAML, "Issuer")
_SIGNATURE = qname(NS_DS, "Signature")
_ASSERTION = qname(NS_SAML, "Assertion")
_ENCRYPTED_ASSERTION = qname(NS_SAML, "EncryptedAssertion")
_SUBJECT = qname(NS_SAML, "Subject")
_NAME_ID = qname(NS_SAML, "NameID")
_ENCRYPTED_ID = qname(NS_SAML, "EncryptedID")
_SUBJECT_CONFIRMATION = qname(NS_SAML, "SubjectConfirmation")
_SUBJECT_CONFIRMATION_DATA = qname(NS_SAML, "SubjectConfirmationData")
_CONDITIONS = qname(NS_SAML, "Conditions")
_AUDIENCE_RESTRICTION = qname(NS_SAML, "AudienceRestriction")
_AUDIENCE = qname(NS_SAML, "Audience")
_AUTHN_STATEMENT = qname(NS_SAML, "AuthnStatement")
_AUTHN_CONTEXT = qname(NS_SAML, "AuthnContext")
_AUTHN_CONTEXT_CLASS_REF = qname(NS_SAML, "AuthnContextClassRef")
_ATTRIBUTE_STATEMENT = qname(NS_SAML, "AttributeStatement")
_ATTRIBUTE = qname(NS_SAML, "Attribute")
_ENCRYPTED_ATTRIBUTE = qname(NS_SAML, "EncryptedAttribute")
_ATTRIBUTE_VALUE = qname(NS_SAML, "AttributeValue")
_XSI_NIL = qname(NS_XSI, "nil")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@attrs.frozen(kw_only=True)
class SAMLAttribute:
    """One ``saml:Attribute`` as sent, with its naming details (for attribute mapping).

    Attributes:
        name: ``Name`` (``urn:oid:0.9.2342.19200300.100.1.3``...).
        name_format: ``NameFormat``, if sent.
        friendly_name: ``FriendlyName`` (``mail``...), if sent.
        values: The values, in order, as full text content (``xsi:nil`` values skipped).
    """

    name: str
    name_format: str | None = None
    friendly_name: str | None = None
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SAMLAuthn:
    """A validated authentication: who the IdP says signed in, and what it says about them.

    Attributes:
        issuer: The IdP's entityID (the assertion's verified Issuer).
        name_id: The NameID value (full text content), or ``None`` when the IdP sent none and
            ``wantNameId`` is false.
        name_id_format: The NameID ``Format``, if sent.
        name_id_name_qualifier: The NameID ``NameQualifier``, if sent.
        name_id_sp_name_qualifier: The NameID ``SPNameQualifier``, if sent.
        session_index: The AuthnStatement's ``SessionIndex`` (needed for single logout).
        session_not_on_or_after: The AuthnStatement's ``SessionNotOnOrAfter``, if sent.
        authn_instant: The AuthnStatement's ``AuthnInstant``.
        authn_context_class_ref: The ``AuthnContextClassRef``, if sent.
        attributes: Values by attribute ``Name`` as sent.
        attribute_details: The attributes with their ``NameFormat`` and ``FriendlyName``.
        assertion_id: The Assertion's ``ID`` (now recorded in the replay cache).
        response_id: The Response's ``ID``.
        in_response_to: The ``InResponseTo`` (``None`` for an unsolicited response).
        not_on_or_after: Until when the assertion itself was valid.
        response_signed: Whether the Response carried a verified signature.
        assertion_signed: Whether the Assertion carried a verified signature.
        assertion_encrypted: Whether the Assertion arrived encrypted.
    """

    issuer: str
    name_id: str | None
    name_id_format: str | None = None
    name_id_name_qualifier: str | None = None
    name_id_sp_name_qualifier: str | None = None
    session_index: str | None = None
    session_not_on_or_after: datetime | None = None
    authn_instant: datetime | None = None
    authn_context_class_ref: str | None = None
    attributes: dict[str, list[str]] = attrs.field(factory=dict)
    attribute_details: tuple[SAMLAttribute, ...] = ()
    assertion_id: str
    response_id: str
    in_response_to: str | None = None
    not_on_or_after: datetime | None = None
    response_signed: bool = False
    assertion_signed: bool = False
    assertion_encrypted: bool = False


def _error(message: str, code: str, hint: str | None = None) -> SAMLValidationError:
    return SAMLValidationError(message, code=code, hint=hint)


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    return list(parent.iterchildren(tag))


def _at_most_one(parent: etree._Element, tag: str, what: str) -> etree._Element | None:
    found = _children(parent, tag)
    if len(found) > 1:
        raise _error(f"{what} appears more than once", "saml.malformed")
    return found[0] if found else None


class _Children:
    """The direct children of an element by tag, read in one pass."""

    def __init__(self, parent: etree._Element) -> None:
        self._by_tag: dict[object, list[etree._Element]] = {}
        for child in parent:
            self._by_tag.setdefault(child.tag, []).append(child)

    def all(self, tag: str) -> list[etree._Element]:
        return self._by_tag.get(tag, [])

    def at_most_one(self, tag: str, what: str) -> etree._Element | None:
        found = self._by_tag.get(tag)
        if not found:
            return None
        if len(found) > 1:
            raise _error(f"{what} appears more than once", "saml.malformed")
        return found[0]


def _printable(value: str, limit: int = 120) -> str:
    """Reduce a remote string to something safe to put in a log line or a message."""
    cleaned = re.sub(r"[^\w:./@ -]", "?", value)
    return cleaned[:limit]


def _same_url(received: str, expected: str, *, strict: bool) -> bool:
    if strict or received == expected:
        return received == expected
    a, b = urlsplit(received), urlsplit(expected)
    try:
        port_a = a.port or _DEFAULT_PORTS.get(a.scheme.lower())
        port_b = b.port or _DEFAULT_PORTS.get(b.scheme.lower())
    except ValueError:
        return False
    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "") == (b.hostname or "")
        and port_a == port_b
        and (a.path or "/") == (b.path or "/")
        and a.query == b.query
    )


def validate_response(
    xml: bytes,
    *,
    settings: SAMLSettings,
    request_id: str | None,
    now: datetime,
    replay_cache: ReplayCache,
) -> SAMLAuthn:
    """Validate a Response (XML bytes) for ``settings``; see the module docstring for the order.

    Args:
        xml: The Response document, base64-decoded.
        settings: The SP's settings for the IdP the Response claims to come from.
        request_id: The ID of the AuthnRequest this Response answers, ``None`` for an
            IdP-initiated (unsolicited) Response.
        now: The current time, aware.
        replay_cache: Where accepted assertion IDs are recorded.

    Raises:
        SAMLValidationError: With the ``code`` of the failed check.
    """
    return _ResponseValidation(settings, request_id, now).run(xml, replay_cache)


class _ResponseValidation:
    def __init__(self, settings: SAMLSettings, request_id: str | None, now: datetime) -> None:
        self.settings = settings
        self.sp = settings.sp
        self.idp = settings.idp
        self.security = settings.security
        self.request_id = request_id
        self.now = now
        self.skew = settings.security.clock_skew
        self.certificates = settings.idp.signing_certificates

    # -- the steps ---------------------------------------------------------------------------

    def run(self, xml: bytes, replay_cache: ReplayCache) -> SAMLAuthn:
        response = parse_xml(xml, expected=(_RESPONSE,), max_size=self.security.max_message_size)
        if response.get("Version") != "2.0":
            raise _error("the Response is not SAML 2.0", "saml.version_unsupported")
        response_id = response.get("ID")
        if not response_id or not response.get("IssueInstant"):
            raise _error("the Response has no ID or IssueInstant", "saml.malformed")
        children = _Children(response)
        self._check_status(children)
        response_signed = self._verify_response_signature(response, children)
        self._check_destination(response)
        issuer = children.at_most_one(_ISSUER, "the Response Issuer")
        if issuer is not None:
            self._check_issuer(issuer, "Response")
        in_response_to = response.get("InResponseTo")
        self._check_in_response_to(in_response_to)

        assertion, encrypted = self._the_assertion(response)
        parts = _Children(assertion)
        assertion_signed = self._verify_assertion_signature(assertion, parts, response_signed)
        authn = self._read_assertion(
            assertion,
            parts,
            response_id=response_id,
            in_response_to=in_response_to,
            response_signed=response_signed,
            assertion_signed=assertion_signed,
            encrypted=encrypted,
        )
        self._check_replay(authn, replay_cache)
        return authn

    def _check_status(self, children: _Children) -> None:
        status = children.at_most_one(_STATUS, "Status")
        if status is None:
            raise _error("the Response has no Status", "saml.malformed")
        codes: list[str] = []
        node: etree._Element | None = _at_most_one(status, _STATUS_CODE, "StatusCode")
        while node is not None and len(codes) < 5:
            codes.append(node.get("Value", ""))
            node = _at_most_one(node, _STATUS_CODE, "StatusCode")
        if codes and codes[0] == STATUS_SUCCESS:
            return
        shown = " / ".join(_printable(code.rpartition(":")[2]) for code in codes) or "(none)"
        message = _at_most_one(status, _STATUS_MESSAGE, "StatusMessage")
        hint = None
        if message is not None and text_content(message).strip():
            hint = "the IdP said: " + _printable(text_content(message).strip(), 200)
        raise SAMLValidationError(
            f"the IdP answered with status {shown}, not Success",
            code="saml.status_not_success",
            hint=hint,
            status_codes=tuple(codes),
        )

    def _verify_response_signature(self, response: etree._Element, children: _Children) -> bool:
        if not children.all(_SIGNATURE):
            if self.security.want_messages_signed:
                raise _error(
                    "the Response is not signed and security.wantMessagesSigned requires it",
                    "saml.signature_missing",
                )
            return False
        verify_signed_element(
            response, certificates=self.certificates, allow_sha1=self.security.allow_sha1
        )
        return True

    def _check_destination(self, response: etree._Element) -> None:
        destination = response.get("Destination")
        if destination is None and self.security.relax_destination_validation:
            return
        if destination is None or not _same_url(
            destination, self.sp.acs_url, strict=self.security.destination_strictly_matches
        ):
            raise _error(
                f"the Response Destination is not this SP's ACS URL ({self.sp.acs_url})",
                "saml.destination_mismatch",
                hint="check sp.assertionConsumerService.url against what the IdP has registered",
            )

    def _check_issuer(self, issuer: etree._Element, what: str) -> None:
        value = text_content(issuer).strip()
        issuer_format = issuer.get("Format")
        if value != self.idp.entity_id or issuer_format not in (None, _ENTITY_FORMAT):
            raise _error(
                f"the {what} Issuer is not the configured IdP ({self.idp.entity_id})",
                "saml.issuer_mismatch",
                hint="check idp.entityId",
            )

    def _check_in_response_to(self, in_response_to: str | None) -> None:
        if self.request_id is None:
            if not self.security.allow_unsolicited:
                raise _error(
                    "an unsolicited (IdP-initiated) Response is refused",
                    "saml.unsolicited_response",
                    hint="pass the request_id of the AuthnRequest, or set "
                    "security.allow_unsolicited for this IdP",
                )
            if in_response_to is not None:
                raise _error(
                    "the Response answers a request this SP has no record of",
                    "saml.in_response_to_mismatch",
                )
        elif in_response_to != self.request_id:
            raise _error(
                "the Response InResponseTo is not the ID of the outstanding AuthnRequest",
                "saml.in_response_to_mismatch",
                hint="the login may have been started in another browser tab or session",
            )

    def _the_assertion(self, response: etree._Element) -> tuple[etree._Element, bool]:
        everywhere = list(response.iter(_ASSERTION, _ENCRYPTED_ASSERTION))
        if len(everywhere) != 1 or everywhere[0].getparent() is not response:
            raise _error(
                "the Response must contain exactly one assertion, directly inside it",
                "saml.assertion_count",
            )
        found = everywhere[0]
        if found.tag == _ASSERTION:
            if self.security.want_assertions_encrypted:
                raise _error(
                    "the Assertion is not encrypted and security.wantAssertionsEncrypted "
                    "requires it",
                    "saml.assertion_not_encrypted",
                )
            return found, False
        assertion = decrypt_element(
            found, private_keys=self.sp.decryption_keys, expected=_ASSERTION
        )
        if len(list(assertion.iter(_ASSERTION, _ENCRYPTED_ASSERTION))) != 1:
            raise _error(
                "the decrypted assertion contains another assertion", "saml.assertion_count"
            )
        return assertion, True

    def _verify_assertion_signature(
        self, assertion: etree._Element, parts: _Children, response_signed: bool
    ) -> bool:
        if not parts.all(_SIGNATURE):
            if self.security.want_assertions_signed:
                raise _error(
                    "the Assertion is not signed and security.wantAssertionsSigned requires it",
                    "saml.signature_missing",
                )
            if not response_signed:
                raise _error(
                    "neither the Response nor the Assertion is signed", "saml.signature_missing"
                )
            return False
        verify_signed_element(
            assertion, certificates=self.certificates, allow_sha1=self.security.allow_sha1
        )
        return True

    def _read_assertion(
        self,
        assertion: etree._Element,
        parts: _Children,
        *,
        response_id: str,
        in_response_to: str | None,
        response_signed: bool,
        assertion_signed: bool,
        encrypted: bool,
    ) -> SAMLAuthn:
        if assertion.get("Version") != "2.0":
            raise _error("the Assertion is not SAML 2.0", "saml.version_unsupported")
        assertion_id = assertion.get("ID")
        if not assertion_id or not assertion.get("IssueInstant"):
            raise _error("the Assertion has no ID or IssueInstant", "saml.malformed")
        issuer = parts.at_most_one(_ISSUER, "the Assertion Issuer")
        if issuer is None:
            raise _error("the Assertion has no Issuer", "saml.issuer_mismatch")
        self._check_issuer(issuer, "Assertion")

        subject_node = parts.at_most_one(_SUBJECT, "Subject")
        if subject_node is None:
            raise _error("the Assertion has no Subject", "saml.malformed")
        subject = _Children(subject_node)
        name_id = self._name_id(subject)
        scd_not_on_or_after = self._check_subject_confirmation(subject)
        not_on_or_after = self._check_conditions(parts)
        statement = self._authn_statement(parts)
        details = self._attributes(parts)

        session_index = statement.get("SessionIndex")
        session_end = parse_instant(
            statement.get("SessionNotOnOrAfter"), what="SessionNotOnOrAfter"
        )
        if session_end is not None and session_end <= self.now - self.skew:
            raise _error("the IdP session (SessionNotOnOrAfter) has ended", "saml.session_expired")
        class_ref = self._check_authn_context(statement)

        attributes: dict[str, list[str]] = {}
        for attribute in details:
            attributes.setdefault(attribute.name, []).extend(attribute.values)
        expiry = max(d for d in (not_on_or_after, scd_not_on_or_after) if d is not None)
        return SAMLAuthn(
            issuer=self.idp.entity_id,
            name_id=name_id.value if name_id else None,
            name_id_format=name_id.format if name_id else None,
            name_id_name_qualifier=name_id.name_qualifier if name_id else None,
            name_id_sp_name_qualifier=name_id.sp_name_qualifier if name_id else None,
            session_index=session_index,
            session_not_on_or_after=session_end,
            authn_instant=parse_instant(statement.get("AuthnInstant"), what="AuthnInstant"),
            authn_context_class_ref=class_ref,
            attributes=attributes,
            attribute_details=details,
            assertion_id=assertion_id,
            response_id=response_id,
            in_response_to=in_response_to,
            not_on_or_after=expiry,
            response_signed=response_signed,
            assertion_signed=assertion_signed,
            assertion_encrypted=encrypted,
        )

    def _name_id(self, subject: _Children) -> _NameID | None:
        encrypted = subject.at_most_one(_ENCRYPTED_ID, "EncryptedID")
        plain = subject.at_most_one(_NAME_ID, "NameID")
        if encrypted is not None and plain is not None:
            raise _error("the Subject has both a NameID and an EncryptedID", "saml.malformed")
        if encrypted is None and self.security.want_name_id_encrypted:
            raise _error(
                "the NameID is not encrypted and security.wantNameIdEncrypted requires it",
                "saml.name_id_not_encrypted",
            )
        if encrypted is not None:
            plain = decrypt_element(
                encrypted, private_keys=self.sp.decryption_keys, expected=_NAME_ID
            )
        if plain is None or not text_content(plain):
            if self.security.want_name_id:
                raise _error(
                    "the Assertion has no NameID and security.wantNameId requires one",
                    "saml.name_id_missing",
                )
            return None
        sp_name_qualifier = plain.get("SPNameQualifier")
        if sp_name_qualifier is not None and sp_name_qualifier != self.sp.entity_id:
            raise _error(
                f"the NameID SPNameQualifier is not this SP's entityId ({self.sp.entity_id})",
                "saml.sp_name_qualifier_mismatch",
            )
        return _NameID(
            value=text_content(plain),
            format=plain.get("Format"),
            name_qualifier=plain.get("NameQualifier"),
            sp_name_qualifier=sp_name_qualifier,
        )

    def _check_subject_confirmation(self, subject: _Children) -> datetime:
        bearers = [sc for sc in subject.all(_SUBJECT_CONFIRMATION) if sc.get("Method") == CM_BEARER]
        if not bearers:
            raise _error(
                "the Subject has no bearer SubjectConfirmation", "saml.subject_confirmation_missing"
            )
        first_error: SAMLValidationError | None = None
        for confirmation in bearers:
            try:
                return self._check_bearer(confirmation)
            except SAMLValidationError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def _check_bearer(self, confirmation: etree._Element) -> datetime:
        data = _at_most_one(confirmation, _SUBJECT_CONFIRMATION_DATA, "SubjectConfirmationData")
        if data is None:
            raise _error(
                "the bearer SubjectConfirmation has no SubjectConfirmationData",
                "saml.subject_confirmation_invalid",
            )
        recipient = data.get("Recipient")
        if recipient is None or not _same_url(
            recipient, self.sp.acs_url, strict=self.security.destination_strictly_matches
        ):
            raise _error(
                f"the SubjectConfirmationData Recipient is not this SP's ACS URL "
                f"({self.sp.acs_url})",
                "saml.recipient_mismatch",
            )
        if data.get("NotBefore") is not None:
            raise _error(
                "a bearer SubjectConfirmationData must not have NotBefore (profiles §4.1.4.2)",
                "saml.subject_confirmation_invalid",
            )
        not_on_or_after = parse_instant(data.get("NotOnOrAfter"), what="NotOnOrAfter")
        if not_on_or_after is None:
            raise _error(
                "the bearer SubjectConfirmationData has no NotOnOrAfter",
                "saml.subject_confirmation_invalid",
            )
        if not_on_or_after <= self.now - self.skew:
            raise _error(
                "the bearer SubjectConfirmationData has expired (NotOnOrAfter)",
                "saml.subject_confirmation_expired",
                hint="check the clocks of the SP and the IdP, or security.clock_skew",
            )
        if data.get("InResponseTo") != self.request_id:
            raise _error(
                "the SubjectConfirmationData InResponseTo is not the outstanding request",
                "saml.in_response_to_mismatch",
            )
        return not_on_or_after

    def _check_conditions(self, parts: _Children) -> datetime | None:
        conditions = parts.at_most_one(_CONDITIONS, "Conditions")
        if conditions is None:
            raise _error(
                "the Assertion has no Conditions (and so no AudienceRestriction)",
                "saml.audience_mismatch",
            )
        not_before = parse_instant(conditions.get("NotBefore"), what="NotBefore")
        not_on_or_after = parse_instant(conditions.get("NotOnOrAfter"), what="NotOnOrAfter")
        if not_before is not None and not_before > self.now + self.skew:
            raise _error(
                "the Assertion is not valid yet (Conditions NotBefore)",
                "saml.not_yet_valid",
                hint="check the clocks of the SP and the IdP, or security.clock_skew",
            )
        if not_on_or_after is not None and not_on_or_after <= self.now - self.skew:
            raise _error(
                "the Assertion has expired (Conditions NotOnOrAfter)",
                "saml.expired",
                hint="check the clocks of the SP and the IdP, or security.clock_skew",
            )
        restrictions = _children(conditions, _AUDIENCE_RESTRICTION)
        if not restrictions or not all(
            any(text_content(a).strip() == self.sp.entity_id for a in _children(r, _AUDIENCE))
            for r in restrictions
        ):
            raise _error(
                f"the Assertion is not meant for this SP (no AudienceRestriction naming "
                f"{self.sp.entity_id})",
                "saml.audience_mismatch",
                hint="check sp.entityId against the SP entityID registered at the IdP",
            )
        return not_on_or_after

    def _authn_statement(self, parts: _Children) -> etree._Element:
        statements = parts.all(_AUTHN_STATEMENT)
        if not statements:
            raise _error("the Assertion has no AuthnStatement", "saml.authn_statement_missing")
        if len(statements) > 1:
            raise _error("the Assertion has more than one AuthnStatement", "saml.malformed")
        return statements[0]

    def _check_authn_context(self, statement: etree._Element) -> str | None:
        context = _at_most_one(statement, _AUTHN_CONTEXT, "AuthnContext")
        class_ref_node = (
            None if context is None else _at_most_one(context, _AUTHN_CONTEXT_CLASS_REF, "ref")
        )
        class_ref = None if class_ref_node is None else text_content(class_ref_node).strip()
        requested = self.security.requested_authn_context
        if (
            self.security.fail_on_authn_context_mismatch
            and requested
            and class_ref not in requested
        ):
            raise _error(
                f"the AuthnContextClassRef is not one that was requested ({', '.join(requested)})",
                "saml.authn_context_mismatch",
            )
        return class_ref

    def _attributes(self, parts: _Children) -> tuple[SAMLAttribute, ...]:
        statements = parts.all(_ATTRIBUTE_STATEMENT)
        if not statements and self.security.want_attribute_statement:
            raise _error(
                "the Assertion has no AttributeStatement and security.wantAttributeStatement "
                "requires one",
                "saml.attribute_statement_missing",
            )
        result: list[SAMLAttribute] = []
        seen: dict[str, int] = {}
        for statement in statements:
            for node in list(statement):
                if node.tag == _ENCRYPTED_ATTRIBUTE:
                    node = decrypt_element(
                        node, private_keys=self.sp.decryption_keys, expected=_ATTRIBUTE
                    )
                elif node.tag != _ATTRIBUTE:
                    continue
                attribute = _read_attribute(node)
                if attribute.name in seen:
                    if not self.security.allow_repeat_attribute_name:
                        raise _error(
                            "an attribute Name appears twice; set "
                            "security.allowRepeatAttributeName to merge them",
                            "saml.duplicate_attribute",
                        )
                    index = seen[attribute.name]
                    result[index] = attrs.evolve(
                        result[index], values=result[index].values + attribute.values
                    )
                    continue
                seen[attribute.name] = len(result)
                result.append(attribute)
        return tuple(result)

    def _check_replay(self, authn: SAMLAuthn, replay_cache: ReplayCache) -> None:
        expires = (authn.not_on_or_after or self.now) + self.skew
        first_use = replay_cache.check_and_store(
            authn.assertion_id, issuer=authn.issuer, expires_at=expires, now=self.now
        )
        if not first_use:
            raise _error(
                "this assertion was already used (replay)",
                "saml.replayed",
                hint="a browser may have re-posted the login form",
            )


@attrs.frozen
class _NameID:
    value: str
    format: str | None
    name_qualifier: str | None
    sp_name_qualifier: str | None


def _read_attribute(node: etree._Element) -> SAMLAttribute:
    name = node.get("Name")
    if not name:
        raise _error("an Attribute has no Name", "saml.malformed")
    values = tuple(
        text_content(value)
        for value in node
        if value.tag == _ATTRIBUTE_VALUE and value.get(_XSI_NIL) not in ("true", "1")
    )
    return SAMLAttribute(
        name=name,
        name_format=node.get("NameFormat"),
        friendly_name=node.get("FriendlyName"),
        values=values,
    )
