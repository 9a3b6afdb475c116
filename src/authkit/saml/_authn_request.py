"""The AuthnRequest (SAML core §3.4.1) and the :class:`LoginRequest` that sends it.

The SP asks the IdP to authenticate someone with an ``samlp:AuthnRequest`` naming the SP
(``Issuer``), where to post the answer (``AssertionConsumerServiceURL``, HTTP-POST), and
optionally the NameID format (``NameIDPolicy``), ``ForceAuthn``, ``IsPassive`` and the requested
authentication context. Its ``ID`` must come back as the Response's ``InResponseTo``: the
application keeps :attr:`LoginRequest.id` (in the session, or a state store) and hands it to
:meth:`~authkit.saml.ServiceProvider.process_response`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime

import attrs
from lxml import etree

from authkit.saml._bindings import encode_post, encode_redirect, post_form
from authkit.saml._settings import BINDING_HTTP_POST, NAMEID_UNSPECIFIED, SAMLSettings
from authkit.saml._xml import NS_SAML, NS_SAMLP, format_instant, qname
from authkit.saml._xmldsig import sign_element

__all__ = ["LoginRequest", "build_authn_request", "login_request", "new_id"]


def new_id() -> str:
    """A fresh SAML identifier: 160 random bits, starting with ``_`` (an xs:ID is an NCName)."""
    return "_" + secrets.token_hex(20)


@attrs.frozen(kw_only=True)
class LoginRequest:
    """An AuthnRequest ready to send, and what to remember about it.

    Attributes:
        id: The request ``ID``: keep it, and pass it as ``request_id`` to
            :meth:`~authkit.saml.ServiceProvider.process_response`.
        binding: The binding used (HTTP-Redirect or HTTP-POST URI).
        url: Where to send the browser: the full redirect URL (HTTP-Redirect), or the IdP's
            SSO URL the form posts to (HTTP-POST).
        form: HTTP-POST only: an auto-submitting HTML page to answer with; ``None`` otherwise.
        fields: HTTP-POST only: the form fields (``SAMLRequest``, ``RelayState``), for
            applications that render their own page; empty otherwise.
        relay_state: The ``RelayState`` sent, if any.
        issue_instant: The request's ``IssueInstant``.
        xml: The AuthnRequest as sent (signed inside for HTTP-POST when requests are signed).
    """

    id: str
    binding: str
    url: str
    form: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)
    relay_state: str | None = None
    issue_instant: datetime
    xml: bytes = attrs.field(repr=False)

    @property
    def is_redirect(self) -> bool:
        """Whether the browser is to be redirected to :attr:`url` (else: answer :attr:`form`)."""
        return self.form is None


def build_authn_request(
    settings: SAMLSettings,
    *,
    request_id: str,
    now: datetime,
    force_authn: bool = False,
    is_passive: bool = False,
    name_id_format: str | None = None,
    requested_authn_context: tuple[str, ...] | None = None,
) -> etree._Element:
    """The unsigned ``samlp:AuthnRequest`` element for ``settings``."""
    sp, idp, security = settings.sp, settings.idp, settings.security
    root = etree.Element(
        qname(NS_SAMLP, "AuthnRequest"),
        nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=format_instant(now),
        Destination=idp.sso_url,
        ProtocolBinding=BINDING_HTTP_POST,
        AssertionConsumerServiceURL=sp.acs_url,
    )
    if force_authn:
        root.set("ForceAuthn", "true")
    if is_passive:
        root.set("IsPassive", "true")
    if sp.attribute_consuming_service is not None:
        root.set("AttributeConsumingServiceIndex", str(sp.attribute_consuming_service.index))
    etree.SubElement(root, qname(NS_SAML, "Issuer")).text = sp.entity_id
    policy = etree.SubElement(root, qname(NS_SAMLP, "NameIDPolicy"), AllowCreate="true")
    wanted_format = name_id_format or sp.name_id_format
    if wanted_format and wanted_format != NAMEID_UNSPECIFIED:
        policy.set("Format", wanted_format)
    contexts = (
        security.requested_authn_context
        if requested_authn_context is None
        else requested_authn_context
    )
    if contexts:
        requested = etree.SubElement(
            root,
            qname(NS_SAMLP, "RequestedAuthnContext"),
            Comparison=security.requested_authn_context_comparison,
        )
        for context in contexts:
            etree.SubElement(requested, qname(NS_SAML, "AuthnContextClassRef")).text = context
    return root


def login_request(
    settings: SAMLSettings,
    *,
    now: datetime,
    relay_state: str | None = None,
    binding: str | None = None,
    force_authn: bool = False,
    is_passive: bool = False,
    name_id_format: str | None = None,
    requested_authn_context: tuple[str, ...] | None = None,
) -> LoginRequest:
    """Build, sign when configured, and encode an AuthnRequest for the IdP's SSO binding."""
    request_id = new_id()
    element = build_authn_request(
        settings,
        request_id=request_id,
        now=now,
        force_authn=force_authn,
        is_passive=is_passive,
        name_id_format=name_id_format,
        requested_authn_context=requested_authn_context,
    )
    sp, idp, security = settings.sp, settings.idp, settings.security
    binding = binding or idp.sso_binding
    sign = security.authn_requests_signed
    key = sp.private_key.encode("ascii") if sign and sp.private_key else None
    if binding == BINDING_HTTP_POST:
        if key is not None and sp.x509cert:
            sign_element(
                element,
                key_pem=key,
                cert_pem=sp.x509cert.encode("ascii"),
                signature_algorithm=security.signature_algorithm,
                digest_algorithm=security.digest_algorithm,
            )
        xml = etree.tostring(element, xml_declaration=False, encoding="UTF-8")
        fields = encode_post(xml, param="SAMLRequest", relay_state=relay_state)
        return LoginRequest(
            id=request_id,
            binding=binding,
            url=idp.sso_url,
            form=post_form(idp.sso_url, fields),
            fields=fields,
            relay_state=relay_state,
            issue_instant=now,
            xml=xml,
        )
    xml = etree.tostring(element, xml_declaration=False, encoding="UTF-8")
    url = encode_redirect(
        idp.sso_url,
        xml,
        param="SAMLRequest",
        relay_state=relay_state,
        key_pem=key,
        signature_algorithm=security.signature_algorithm if key is not None else None,
    )
    return LoginRequest(
        id=request_id,
        binding=binding,
        url=url,
        relay_state=relay_state,
        issue_instant=now,
        xml=xml,
    )
