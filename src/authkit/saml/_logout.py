"""Single Logout: LogoutRequest and LogoutResponse, sent and received (SAML core §3.7,
profiles §4.4), over HTTP-Redirect or HTTP-POST.

Two flows, each with two messages:

- **SP-initiated**: the person logs out of the application; the SP sends a ``LogoutRequest``
  naming the NameID and SessionIndex of the login (:func:`build_logout_request`) to the IdP's
  SingleLogoutService; the IdP ends its session and answers with a ``LogoutResponse`` that
  :func:`validate_logout_response` checks against the request's ID.
- **IdP-initiated**: the IdP sends a ``LogoutRequest`` (:func:`validate_logout_request` returns
  who to log out); the SP ends the local session and answers with a ``LogoutResponse``
  (:func:`build_logout_response`).

Outgoing messages are signed per ``security.logoutRequestSigned`` / ``logoutResponseSigned``: in
the query for HTTP-Redirect, inside the XML for HTTP-POST. Incoming ones must be signed when
``security.wantMessagesSigned`` is true, and a signature that is present is always verified,
with the IdP's certificate only. They are parsed with the same hardened parser as Responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs
from lxml import etree

from authkit.errors import MissingSettingError, SAMLValidationError
from authkit.saml._authn_request import new_id
from authkit.saml._bindings import (
    decode_post,
    decode_redirect,
    encode_post,
    encode_redirect,
    post_form,
)
from authkit.saml._settings import BINDING_HTTP_POST, SAMLSettings
from authkit.saml._xml import (
    NS_SAML,
    NS_SAMLP,
    format_instant,
    parse_instant,
    parse_xml,
    qname,
    text_content,
)
from authkit.saml._xmldsig import (
    decrypt_element,
    encrypt_element,
    sign_element,
    verify_signed_element,
)

__all__ = [
    "IdPLogoutRequest",
    "LogoutMessage",
    "LogoutResult",
    "build_logout_request",
    "build_logout_response",
    "validate_logout_request",
    "validate_logout_response",
]

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
_LOGOUT_REQUEST = qname(NS_SAMLP, "LogoutRequest")
_LOGOUT_RESPONSE = qname(NS_SAMLP, "LogoutResponse")
_ISSUER = qname(NS_SAML, "Issuer")
_NAME_ID = qname(NS_SAML, "NameID")
_ENCRYPTED_ID = qname(NS_SAML, "EncryptedID")
_SESSION_INDEX = qname(NS_SAMLP, "SessionIndex")
_STATUS = qname(NS_SAMLP, "Status")
_STATUS_CODE = qname(NS_SAMLP, "StatusCode")
_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"


@attrs.frozen(kw_only=True)
class LogoutMessage:
    """A LogoutRequest or LogoutResponse ready to send to the IdP.

    Attributes:
        id: The message ``ID`` (keep a LogoutRequest's to check the IdP's answer).
        binding: The binding used.
        url: The full redirect URL (HTTP-Redirect), or the form's action (HTTP-POST).
        form: HTTP-POST only: an auto-submitting HTML page; ``None`` otherwise.
        fields: HTTP-POST only: the form fields.
        relay_state: The ``RelayState`` sent, if any.
        xml: The message as sent.
    """

    id: str
    binding: str
    url: str
    form: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)
    relay_state: str | None = None
    xml: bytes = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class IdPLogoutRequest:
    """A validated LogoutRequest from the IdP: end these local sessions, then answer.

    Attributes:
        id: The request ``ID`` (the answer's ``InResponseTo``).
        name_id: The NameID of the person to log out.
        name_id_format: Its ``Format``, if sent.
        session_indexes: The ``SessionIndex`` values to end (empty: every session).
        relay_state: The ``RelayState`` to return with the answer.
        not_on_or_after: Until when the request was valid, if sent.
    """

    id: str
    name_id: str
    name_id_format: str | None = None
    session_indexes: tuple[str, ...] = ()
    relay_state: str | None = None
    not_on_or_after: datetime | None = None


@attrs.frozen(kw_only=True)
class LogoutResult:
    """A validated, successful LogoutResponse from the IdP.

    Attributes:
        id: The response ``ID``.
        in_response_to: The LogoutRequest it answers.
        relay_state: The ``RelayState`` returned, if any.
    """

    id: str
    in_response_to: str
    relay_state: str | None = None


# --- outgoing ------------------------------------------------------------------------------------


def _encode(
    settings: SAMLSettings,
    element: etree._Element,
    *,
    destination: str,
    binding: str,
    param: str,
    relay_state: str | None,
    sign: bool,
) -> LogoutMessage:
    sp, security = settings.sp, settings.security
    key = sp.private_key.encode("ascii") if sign and sp.private_key else None
    message_id = element.get("ID", "")
    if binding == BINDING_HTTP_POST:
        if key is not None and sp.x509cert:
            sign_element(
                element,
                key_pem=key,
                cert_pem=sp.x509cert.encode("ascii"),
                signature_algorithm=security.signature_algorithm,
                digest_algorithm=security.digest_algorithm,
            )
        xml = etree.tostring(element, encoding="UTF-8", xml_declaration=False)
        fields = encode_post(xml, param=param, relay_state=relay_state)
        return LogoutMessage(
            id=message_id,
            binding=binding,
            url=destination,
            form=post_form(destination, fields),
            fields=fields,
            relay_state=relay_state,
            xml=xml,
        )
    xml = etree.tostring(element, encoding="UTF-8", xml_declaration=False)
    url = encode_redirect(
        destination,
        xml,
        param=param,
        relay_state=relay_state,
        key_pem=key,
        signature_algorithm=security.signature_algorithm if key is not None else None,
    )
    return LogoutMessage(id=message_id, binding=binding, url=url, relay_state=relay_state, xml=xml)


def _slo_url(settings: SAMLSettings, *, response: bool) -> str:
    idp = settings.idp
    url = (idp.slo_response_url or idp.slo_url) if response else idp.slo_url
    if not url:
        raise MissingSettingError(
            "the IdP has no SingleLogoutService", key="idp.singleLogoutService.url"
        )
    return url


def build_logout_request(
    settings: SAMLSettings,
    *,
    name_id: str,
    now: datetime,
    name_id_format: str | None = None,
    session_index: str | None = None,
    relay_state: str | None = None,
    binding: str | None = None,
) -> LogoutMessage:
    """An SP-initiated LogoutRequest for the login that returned ``name_id``/``session_index``."""
    destination = _slo_url(settings, response=False)
    root = etree.Element(
        _LOGOUT_REQUEST,
        nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
        ID=new_id(),
        Version="2.0",
        IssueInstant=format_instant(now),
        Destination=destination,
    )
    etree.SubElement(root, _ISSUER).text = settings.sp.entity_id
    name = etree.SubElement(root, _NAME_ID)
    name.text = name_id
    if name_id_format:
        name.set("Format", name_id_format)
    if settings.security.name_id_encrypted:
        wrapper = etree.Element(_ENCRYPTED_ID, nsmap={"saml": NS_SAML})
        root.replace(name, wrapper)
        wrapper.append(name)
        encrypt_element(name, cert_pem=settings.idp.encryption_certificates[0].encode("ascii"))
    if session_index:
        etree.SubElement(root, _SESSION_INDEX).text = session_index
    return _encode(
        settings,
        root,
        destination=destination,
        binding=binding or settings.idp.slo_binding,
        param="SAMLRequest",
        relay_state=relay_state,
        sign=settings.security.logout_request_signed,
    )


def build_logout_response(
    settings: SAMLSettings,
    *,
    in_response_to: str,
    now: datetime,
    relay_state: str | None = None,
    status: str = STATUS_SUCCESS,
    binding: str | None = None,
) -> LogoutMessage:
    """The SP's answer to an IdP-initiated LogoutRequest."""
    destination = _slo_url(settings, response=True)
    root = etree.Element(
        _LOGOUT_RESPONSE,
        nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
        ID=new_id(),
        Version="2.0",
        IssueInstant=format_instant(now),
        Destination=destination,
        InResponseTo=in_response_to,
    )
    etree.SubElement(root, _ISSUER).text = settings.sp.entity_id
    status_node = etree.SubElement(root, _STATUS)
    etree.SubElement(status_node, _STATUS_CODE, Value=status)
    return _encode(
        settings,
        root,
        destination=destination,
        binding=binding or settings.idp.slo_binding,
        param="SAMLResponse",
        relay_state=relay_state,
        sign=settings.security.logout_response_signed,
    )


# --- incoming ------------------------------------------------------------------------------------


def _receive(
    settings: SAMLSettings,
    *,
    param: str,
    tag: str,
    query_string: str | None,
    form: Mapping[str, str] | None,
) -> tuple[etree._Element, str | None]:
    """Decode, parse and check the signature of an incoming logout message."""
    security = settings.security
    certificates = settings.idp.signing_certificates
    max_size = security.max_message_size
    if query_string is not None:
        message = decode_redirect(query_string, param=param, max_size=max_size)
        if message.signed or security.want_messages_signed:
            message.verify(certificates=certificates, allow_sha1=security.allow_sha1)
        root = parse_xml(message.xml, expected=(tag,), max_size=max_size)
        if any(child.tag == _SIGNATURE for child in root):
            verify_signed_element(root, certificates=certificates, allow_sha1=security.allow_sha1)
        return root, message.relay_state
    if form is None or param not in form:
        raise SAMLValidationError(f"the request carries no {param}", code="saml.malformed")
    root = parse_xml(
        decode_post(form[param], max_size=max_size), expected=(tag,), max_size=max_size
    )
    signed = any(child.tag == _SIGNATURE for child in root)
    if signed or security.want_messages_signed:
        verify_signed_element(root, certificates=certificates, allow_sha1=security.allow_sha1)
    return root, form.get("RelayState")


def _check_common(settings: SAMLSettings, root: etree._Element, what: str) -> str:
    if root.get("Version") != "2.0":
        raise SAMLValidationError(f"the {what} is not SAML 2.0", code="saml.version_unsupported")
    message_id = root.get("ID")
    if not message_id or not root.get("IssueInstant"):
        raise SAMLValidationError(f"the {what} has no ID or IssueInstant", code="saml.malformed")
    issuers = [child for child in root if child.tag == _ISSUER]
    if len(issuers) != 1 or text_content(issuers[0]).strip() != settings.idp.entity_id:
        raise SAMLValidationError(
            f"the {what} Issuer is not the configured IdP ({settings.idp.entity_id})",
            code="saml.issuer_mismatch",
        )
    destination = root.get("Destination")
    if destination is not None and destination != settings.sp.slo_url:
        raise SAMLValidationError(
            f"the {what} Destination is not this SP's SingleLogoutService ({settings.sp.slo_url})",
            code="saml.destination_mismatch",
        )
    return message_id


def validate_logout_request(
    settings: SAMLSettings,
    *,
    now: datetime,
    query_string: str | None = None,
    form: Mapping[str, str] | None = None,
) -> IdPLogoutRequest:
    """Validate an IdP-initiated LogoutRequest (raw query string, or POST form fields).

    Raises:
        SAMLValidationError: ``saml.signature_missing`` / ``signature_invalid`` (per
            ``wantMessagesSigned``), ``saml.issuer_mismatch``, ``saml.destination_mismatch``,
            ``saml.expired`` (``NotOnOrAfter``), ``saml.name_id_missing``, ``saml.malformed``...
    """
    root, relay_state = _receive(
        settings, param="SAMLRequest", tag=_LOGOUT_REQUEST, query_string=query_string, form=form
    )
    message_id = _check_common(settings, root, "LogoutRequest")
    not_on_or_after = parse_instant(root.get("NotOnOrAfter"), what="NotOnOrAfter")
    if not_on_or_after is not None and not_on_or_after <= now - settings.security.clock_skew:
        raise SAMLValidationError("the LogoutRequest has expired", code="saml.expired")
    name_ids = [child for child in root if child.tag in (_NAME_ID, _ENCRYPTED_ID)]
    if len(name_ids) != 1:
        raise SAMLValidationError("the LogoutRequest names no NameID", code="saml.name_id_missing")
    name_id = name_ids[0]
    if name_id.tag == _ENCRYPTED_ID:
        name_id = decrypt_element(
            name_id, private_keys=settings.sp.decryption_keys, expected=_NAME_ID
        )
    return IdPLogoutRequest(
        id=message_id,
        name_id=text_content(name_id),
        name_id_format=name_id.get("Format"),
        session_indexes=tuple(text_content(child) for child in root if child.tag == _SESSION_INDEX),
        relay_state=relay_state,
        not_on_or_after=not_on_or_after,
    )


def validate_logout_response(
    settings: SAMLSettings,
    *,
    request_id: str,
    query_string: str | None = None,
    form: Mapping[str, str] | None = None,
) -> LogoutResult:
    """Validate the IdP's LogoutResponse to the LogoutRequest ``request_id``.

    Raises:
        SAMLValidationError: as :func:`validate_logout_request`, plus
            ``saml.in_response_to_mismatch`` and ``saml.status_not_success``.
    """
    root, relay_state = _receive(
        settings, param="SAMLResponse", tag=_LOGOUT_RESPONSE, query_string=query_string, form=form
    )
    message_id = _check_common(settings, root, "LogoutResponse")
    if root.get("InResponseTo") != request_id:
        raise SAMLValidationError(
            "the LogoutResponse does not answer the outstanding LogoutRequest",
            code="saml.in_response_to_mismatch",
        )
    codes: list[str] = []
    node = next((child for child in root if child.tag == _STATUS), None)
    while node is not None and len(codes) < 5:
        node = next((child for child in node if child.tag == _STATUS_CODE), None)
        if node is not None:
            codes.append(node.get("Value", ""))
    if not codes or codes[0] != STATUS_SUCCESS:
        raise SAMLValidationError(
            "the IdP did not log the session out (status not Success)",
            code="saml.status_not_success",
            status_codes=tuple(codes),
        )
    return LogoutResult(id=message_id, in_response_to=request_id, relay_state=relay_state)
