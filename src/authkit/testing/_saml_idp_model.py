"""The values of the SAML test IdP: who can sign in, which SPs it serves, what it saw and sent.

:class:`SAMLUser` and :class:`SAMLRelyingParty` configure a
:class:`~authkit.testing.SAMLIdentityProvider` (frozen attrs classes, validated at construction);
the other classes are what it records for a test to assert on (the requests it received, the
messages it sent, the sessions it holds). :func:`read_post_form` reads the auto-posting HTML form
the IdP answers with, as a browser would, for tests that drive the IdP with ``requests``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs
from lxml import etree

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml._attributes import DEFAULT_ATTRIBUTE_REGISTRY
from authkit.saml._settings import (
    BINDING_HTTP_POST,
    BINDING_HTTP_REDIRECT,
    NAMEID_EMAIL_ADDRESS,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
)
from authkit.saml._xml import NS_DS, NS_MD, parse_xml, qname, text_content
from authkit.saml._xmldsig import AES256_GCM, RSA_SHA256, SHA256, normalize_certificate

__all__ = [
    "DEMO_SAML_PASSWORD",
    "DEMO_SAML_RELYING_PARTY",
    "DEMO_SAML_USER",
    "DEMO_SP_ACS_URL",
    "DEMO_SP_ENTITY_ID",
    "DEMO_SP_SLO_URL",
    "IssuedResponse",
    "PostForm",
    "ReceivedAuthnRequest",
    "ReceivedLogoutRequest",
    "ReceivedLogoutResponse",
    "Rejection",
    "SAMLMessage",
    "SAMLRelyingParty",
    "SAMLSession",
    "SAMLUser",
    "read_post_form",
]

_BINDINGS: Final = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
_MAIL_NAMES: Final = frozenset(n.casefold() for n in DEFAULT_ATTRIBUTE_REGISTRY.names_for("mail"))

AttributeNames = Literal["uri", "friendly"]

_X509_CERTIFICATE: Final = "/".join(
    qname(NS_DS, tag) for tag in ("KeyInfo", "X509Data", "X509Certificate")
)


# --- validators ----------------------------------------------------------------------------------


def _text(owner: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidSettingError(
                f"expected a non-empty string, got {value!r}", key=f"{owner}.{attribute.name}"
            )

    return check


def _optional_text(owner: str) -> Any:
    check = _text(owner)

    def optional(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)

    return optional


def _http_url(owner: str, *, optional: bool = False) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidSettingError(
                f"expected an http(s) URL, got {value!r}", key=f"{owner}.{attribute.name}"
            )

    return check


def _boolean(owner: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise InvalidSettingError(
                f"expected true or false, got {value!r}", key=f"{owner}.{attribute.name}"
            )

    return check


def _attribute_values(value: Any) -> Any:
    """``{"mail": "a@b"}`` or ``{"mail": ["a@b"]}`` → ``{"mail": ("a@b",)}``; others unchanged."""
    if not isinstance(value, Mapping):
        return value
    converted: dict[Any, Any] = {}
    for name, values in value.items():
        converted[name] = (values,) if isinstance(values, str) else values
        if isinstance(converted[name], list):
            converted[name] = tuple(converted[name])
    return converted


def _attributes(owner: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        key = f"{owner}.{attribute.name}"
        if not isinstance(value, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {value!r}", key=key)
        for name, values in value.items():
            if not isinstance(name, str) or not name:
                raise InvalidSettingError(f"expected attribute names, got {name!r}", key=key)
            if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
                raise InvalidSettingError(
                    f"expected a string or a list of strings for {name!r}, got {values!r}",
                    key=key,
                )

    return check


def _certificate_pem(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return normalize_certificate(value)
        except (InvalidSettingError, ValueError):
            return value  # the validator names the field
    return value


def _certificate(owner: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value.startswith("-----BEGIN CERTIFICATE-----"):
            raise InvalidSettingError(
                "expected an X.509 certificate (PEM or its base64 body)",
                key=f"{owner}.{attribute.name}",
            )

    return check


# --- configuration ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SAMLUser:
    """A person who can sign in at the test IdP.

    Args:
        username: What the person types in the login form; also the NameID of the
            ``unspecified`` format, and the seed of the ``persistent`` one.
        password: The password of the login form; ``None``: the person can only be signed in
            automatically (:meth:`~authkit.testing.SAMLIdentityProvider.login_as`).
        name_id: The NameID sent whatever the format (but ``transient``, always fresh). By
            default it is derived from the format: the ``mail`` attribute for ``emailAddress``,
            an opaque value per SP for ``persistent``, a random one for ``transient``, the
            username otherwise.
        attributes: Attribute values by name: a friendly name (``mail``, ``givenName``, ``sn``,
            ``eduPersonPrincipalName``, ``eduPersonEntitlement``, ``isMemberOf``…) or a full
            ``urn:oid:``/``urn:mace:`` name. A single string is one value.
    """

    username: str = attrs.field(validator=_text("SAMLUser"))
    password: str | None = attrs.field(
        default=None, repr=False, validator=_optional_text("SAMLUser")
    )
    name_id: str | None = attrs.field(default=None, validator=_optional_text("SAMLUser"))
    attributes: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_attribute_values, validator=_attributes("SAMLUser")
    )

    @property
    def email(self) -> str | None:
        """The first ``mail`` value (under any of its names), if any."""
        for name, values in self.attributes.items():
            if name.casefold() in _MAIL_NAMES and values:
                return values[0]
        return None

    def name_id_for(self, name_id_format: str, *, idp_entity_id: str, sp_entity_id: str) -> str:
        """The NameID this user gets in ``name_id_format`` at SP ``sp_entity_id``.

        Raises:
            InvalidSettingError: ``emailAddress`` was asked for and the user has no ``mail``
                (``testing.no_name_id``).
        """
        if name_id_format == NAMEID_TRANSIENT:
            return "_" + secrets.token_hex(16)
        if self.name_id is not None:
            return self.name_id
        if name_id_format == NAMEID_EMAIL_ADDRESS:
            if self.email is None:
                raise InvalidSettingError(
                    f"user {self.username!r} has no mail attribute for an emailAddress NameID",
                    key="SAMLUser.attributes",
                    code="testing.no_name_id",
                )
            return self.email
        if name_id_format == NAMEID_PERSISTENT:
            seed = f"{idp_entity_id}\0{sp_entity_id}\0{self.username}".encode()
            digest = hashlib.sha256(seed).digest()[:20]
            return base64.b64encode(digest).decode("ascii")
        return self.username


def _binding(owner: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in _BINDINGS:
            raise InvalidSettingError(
                f"expected {BINDING_HTTP_REDIRECT} or {BINDING_HTTP_POST}, got {value!r}",
                key=f"{owner}.{attribute.name}",
            )

    return check


@attrs.frozen(kw_only=True)
class SAMLRelyingParty:
    """A service provider registered at the test IdP (a *relying party*, in the IdP's words).

    Build one by hand or from the SP's metadata (:meth:`from_metadata`).

    Args:
        entity_id: The SP's entityID (the ``Issuer`` of its requests, the ``Audience``).
        acs_url: Its Assertion Consumer Service (HTTP-POST): where Responses are posted. An
            AuthnRequest naming another ``AssertionConsumerServiceURL`` is refused.
        slo_url: Its Single Logout Service, if it takes part in single logout.
        slo_response_url: Where LogoutResponses go, when not to ``slo_url``.
        slo_binding: The binding of ``slo_url`` (HTTP-Redirect or HTTP-POST).
        certificate: Its certificate (PEM or base64 body): verifies its signed AuthnRequests and
            logout messages, and encrypts for it unless ``encryption_certificate`` is set.
        encryption_certificate: The certificate to encrypt assertions for, when another one.
        sign_assertion: Sign the Assertion.
        sign_response: Sign the Response.
        encrypt_assertion: Encrypt the Assertion (needs a certificate).
        sign_logout_messages: Sign the LogoutRequests and LogoutResponses sent to it.
        require_signed_messages: Refuse its AuthnRequests and logout messages when unsigned
            (signed ones are verified whenever a certificate is known).
        name_id_format: The NameID format to send when the AuthnRequest's ``NameIDPolicy``
            names none (or ``unspecified``), and in unsolicited Responses; ``None``: the IdP's
            default. (A format the request names wins; a test forces one with
            ``response_options(name_id_format=…)``.)
        attribute_names: ``"uri"``: attributes go out under their ``urn:oid`` name (with
            ``FriendlyName``), as the REFEDS/SAML2Int profiles ask; ``"friendly"``: under the
            names the users were given, with the ``basic`` name format.
        extra_attributes: Attributes added to every Response for this SP.
        signature_algorithm: Algorithm of the IdP's signatures for this SP.
        digest_algorithm: Digest of the IdP's signatures for this SP.
        encryption_algorithm: Content encryption algorithm of encrypted assertions.

    Raises:
        InvalidSettingError: A bad value, named in the error's ``key``.
    """

    entity_id: str = attrs.field(validator=_text("SAMLRelyingParty"))
    acs_url: str = attrs.field(validator=_http_url("SAMLRelyingParty"))
    slo_url: str | None = attrs.field(
        default=None, validator=_http_url("SAMLRelyingParty", optional=True)
    )
    slo_response_url: str | None = attrs.field(
        default=None, validator=_http_url("SAMLRelyingParty", optional=True)
    )
    slo_binding: str = attrs.field(
        default=BINDING_HTTP_REDIRECT, validator=_binding("SAMLRelyingParty")
    )
    certificate: str | None = attrs.field(
        default=None,
        repr=False,
        converter=_certificate_pem,
        validator=_certificate("SAMLRelyingParty"),
    )
    encryption_certificate: str | None = attrs.field(
        default=None,
        repr=False,
        converter=_certificate_pem,
        validator=_certificate("SAMLRelyingParty"),
    )
    sign_assertion: bool = attrs.field(default=True, validator=_boolean("SAMLRelyingParty"))
    sign_response: bool = attrs.field(default=False, validator=_boolean("SAMLRelyingParty"))
    encrypt_assertion: bool = attrs.field(default=False, validator=_boolean("SAMLRelyingParty"))
    sign_logout_messages: bool = attrs.field(default=True, validator=_boolean("SAMLRelyingParty"))
    require_signed_messages: bool = attrs.field(
        default=False, validator=_boolean("SAMLRelyingParty")
    )
    name_id_format: str | None = attrs.field(
        default=None, validator=_optional_text("SAMLRelyingParty")
    )
    attribute_names: AttributeNames = attrs.field(default="uri")
    extra_attributes: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_attribute_values, validator=_attributes("SAMLRelyingParty")
    )
    signature_algorithm: str = attrs.field(default=RSA_SHA256, validator=_text("SAMLRelyingParty"))
    digest_algorithm: str = attrs.field(default=SHA256, validator=_text("SAMLRelyingParty"))
    encryption_algorithm: str = attrs.field(default=AES256_GCM, validator=_text("SAMLRelyingParty"))

    @attribute_names.validator
    def _check_attribute_names(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in ("uri", "friendly"):
            raise InvalidSettingError(
                f"expected 'uri' or 'friendly', got {value!r}",
                key="SAMLRelyingParty.attribute_names",
            )

    def __attrs_post_init__(self) -> None:
        if self.encrypt_assertion and self.encrypting_certificate is None:
            raise InvalidSettingError(
                "encrypt_assertion needs the SP's certificate (certificate or "
                "encryption_certificate)",
                key="SAMLRelyingParty.encrypt_assertion",
            )

    @property
    def encrypting_certificate(self) -> str | None:
        """The certificate assertions are encrypted for (PEM), if any."""
        return self.encryption_certificate or self.certificate

    @property
    def logout_response_url(self) -> str | None:
        """Where LogoutResponses to this SP go."""
        return self.slo_response_url or self.slo_url

    @classmethod
    def from_metadata(cls, xml: bytes | str, **overrides: Any) -> SAMLRelyingParty:
        """A relying party from the SP's metadata (an ``md:EntityDescriptor``).

        Takes the entityID, the HTTP-POST AssertionConsumerService (the default one, else the
        lowest index), the first SingleLogoutService (HTTP-Redirect preferred), the first
        NameIDFormat (but ``unspecified``), the signing certificate, and the encryption
        certificate — when the SP publishes one for encryption, its assertions are encrypted.
        ``AuthnRequestsSigned="true"`` makes signed requests required. ``overrides`` replace
        any field.

        Raises:
            InvalidSettingError: Not SP metadata, or no usable ACS
                (``testing.sp_metadata_invalid``); or a bad override.
        """
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        try:
            root = parse_xml(data, expected={qname(NS_MD, "EntityDescriptor")})
        except SAMLValidationError as exc:
            raise _metadata_invalid(exc.message) from None
        descriptor = root.find(qname(NS_MD, "SPSSODescriptor"))
        entity_id = root.get("entityID")
        if descriptor is None or not entity_id:
            raise _metadata_invalid("expected an EntityDescriptor with an SPSSODescriptor")
        acs_url = _default_acs(descriptor)
        if acs_url is None:
            raise _metadata_invalid("the SP has no HTTP-POST AssertionConsumerService")
        values: dict[str, Any] = {"entity_id": entity_id, "acs_url": acs_url}
        slo = _first_slo(descriptor)
        if slo is not None:
            values["slo_binding"] = slo.get("Binding")
            values["slo_url"] = slo.get("Location")
            if slo.get("ResponseLocation"):
                values["slo_response_url"] = slo.get("ResponseLocation")
        name_id_format = _child_text(descriptor, qname(NS_MD, "NameIDFormat"))
        if name_id_format and name_id_format != NAMEID_UNSPECIFIED:
            values["name_id_format"] = name_id_format
        signing = _certificates(descriptor, "signing")
        encryption = _certificates(descriptor, "encryption")
        if signing:
            values["certificate"] = signing[0]
        if encryption:
            values["encryption_certificate"] = encryption[0]
            values["encrypt_assertion"] = True
        if descriptor.get("AuthnRequestsSigned") in ("true", "1"):
            values["require_signed_messages"] = True
        values.update(overrides)
        return cls(**values)


def _metadata_invalid(why: str) -> InvalidSettingError:
    return InvalidSettingError(
        f"not usable SP metadata: {why}",
        key="SAMLRelyingParty.from_metadata",
        code="testing.sp_metadata_invalid",
    )


def _default_acs(descriptor: etree._Element) -> str | None:
    services = [
        s
        for s in descriptor.iterchildren(qname(NS_MD, "AssertionConsumerService"))
        if s.get("Binding") == BINDING_HTTP_POST and s.get("Location")
    ]
    if not services:
        return None
    default = next((s for s in services if s.get("isDefault") in ("true", "1")), None)
    if default is None:
        default = min(services, key=lambda s: int(s.get("index") or 0))
    return default.get("Location")


def _first_slo(descriptor: etree._Element) -> etree._Element | None:
    services = [
        s
        for s in descriptor.iterchildren(qname(NS_MD, "SingleLogoutService"))
        if s.get("Binding") in _BINDINGS and s.get("Location")
    ]
    for binding in _BINDINGS:
        for service in services:
            if service.get("Binding") == binding:
                return service
    return None


def _child_text(parent: etree._Element, tag: str) -> str | None:
    node = next(parent.iterchildren(tag), None)
    return None if node is None else text_content(node).strip()


def _certificates(descriptor: etree._Element, use: str) -> list[str]:
    found: list[str] = []
    for key in descriptor.iterchildren(qname(NS_MD, "KeyDescriptor")):
        if key.get("use", use) != use:
            continue
        node = key.find(_X509_CERTIFICATE)
        if node is not None and text_content(node).strip():
            found.append("".join(text_content(node).split()))
    return found


# --- what the IdP received and sent --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReceivedAuthnRequest:
    """An AuthnRequest the IdP accepted (it passed every check).

    Attributes:
        id: The request ``ID`` (the Response's ``InResponseTo``).
        issuer: The SP's entityID.
        binding: How it arrived (HTTP-Redirect or HTTP-POST URI).
        destination: ``Destination``, if sent.
        acs_url: ``AssertionConsumerServiceURL``, if sent.
        protocol_binding: ``ProtocolBinding``, if sent.
        relay_state: ``RelayState``, if sent.
        signed: Whether it was signed (query or XML signature; always verified).
        force_authn: ``ForceAuthn``.
        is_passive: ``IsPassive``.
        name_id_format: The ``NameIDPolicy`` ``Format``, if sent.
        allow_create: The ``NameIDPolicy`` ``AllowCreate``.
        requested_authn_context: The requested ``AuthnContextClassRef`` values.
        authn_context_comparison: The ``RequestedAuthnContext`` ``Comparison``, if sent.
        xml: The request as received.
    """

    id: str
    issuer: str
    binding: str
    destination: str | None = None
    acs_url: str | None = None
    protocol_binding: str | None = None
    relay_state: str | None = None
    signed: bool = False
    force_authn: bool = False
    is_passive: bool = False
    name_id_format: str | None = None
    allow_create: bool = False
    requested_authn_context: tuple[str, ...] = ()
    authn_context_comparison: str | None = None
    xml: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen(kw_only=True)
class ReceivedLogoutRequest:
    """A LogoutRequest an SP sent to the IdP (accepted: signature and issuer checked).

    Attributes:
        id: The request ``ID``.
        issuer: The SP's entityID.
        binding: How it arrived.
        name_id: The NameID (decrypted when it came as an EncryptedID).
        name_id_format: The NameID ``Format``, if sent.
        session_indexes: The ``SessionIndex`` values.
        relay_state: ``RelayState``, if sent.
        signed: Whether it was signed.
        encrypted_name_id: Whether the NameID arrived encrypted.
        status: The status the IdP answered with (``…:Success`` when a session ended).
        xml: The request as received.
    """

    id: str
    issuer: str
    binding: str
    name_id: str
    name_id_format: str | None = None
    session_indexes: tuple[str, ...] = ()
    relay_state: str | None = None
    signed: bool = False
    encrypted_name_id: bool = False
    status: str = ""
    xml: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen(kw_only=True)
class ReceivedLogoutResponse:
    """A LogoutResponse an SP sent back for a LogoutRequest of the IdP.

    Attributes:
        id: The response ``ID``.
        issuer: The SP's entityID.
        in_response_to: The IdP's LogoutRequest ``ID``.
        binding: How it arrived.
        status_codes: The ``StatusCode`` values, outermost first.
        relay_state: ``RelayState``, if sent.
        signed: Whether it was signed.
        xml: The response as received.
    """

    id: str
    issuer: str
    in_response_to: str
    binding: str
    status_codes: tuple[str, ...] = ()
    relay_state: str | None = None
    signed: bool = False
    xml: bytes = attrs.field(default=b"", repr=False)

    @property
    def success(self) -> bool:
        """Whether the top-level status is Success."""
        return bool(self.status_codes) and self.status_codes[0].endswith(":Success")


@attrs.frozen(kw_only=True)
class Rejection:
    """A message the IdP refused, and why.

    Attributes:
        endpoint: ``"sso"``, ``"login"``, ``"unsolicited"`` or ``"slo"``.
        code: The check that failed: ``idp.*`` for the IdP's own checks (``idp.unknown_sp``,
            ``idp.acs_mismatch``…), ``saml.*`` when authkit's parser or signature verifier
            refused the message (``saml.signature_invalid``…).
        message: What was wrong, for a person.
    """

    endpoint: str
    code: str
    message: str


@attrs.frozen(kw_only=True)
class SAMLMessage:
    """A message the IdP sends to an SP through the browser.

    Attributes:
        id: The message ``ID``.
        kind: ``"Response"``, ``"LogoutRequest"`` or ``"LogoutResponse"``.
        binding: HTTP-Redirect or HTTP-POST URI.
        destination: The SP endpoint it is for.
        url: HTTP-Redirect: the full URL to send the browser to; HTTP-POST: ``destination``.
        form: HTTP-POST: the auto-submitting HTML page; ``None`` for HTTP-Redirect.
        fields: HTTP-POST: the form fields (``SAMLResponse``/``SAMLRequest``, ``RelayState``).
        relay_state: ``RelayState``, if any.
        xml: The message as sent (for HTTP-POST, with its XML signature).
    """

    id: str
    kind: str
    binding: str
    destination: str
    url: str
    form: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)
    relay_state: str | None = None
    xml: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen(kw_only=True)
class IssuedResponse:
    """A Response the IdP issued (over HTTP or by :meth:`issue_response`).

    Attributes:
        id: The Response ``ID``.
        sp_entity_id: The SP it is for.
        username: Who signed in (``None`` for a failure status).
        request_id: The AuthnRequest answered (``None``: unsolicited).
        name_id: The NameID sent, if any.
        name_id_format: Its format.
        session_index: The ``SessionIndex`` of the AuthnStatement.
        status: The top-level status code.
        faults: The broken variants and faults applied, in order.
        relay_state: ``RelayState``, if any.
        saml_response: The ``SAMLResponse`` form value (base64), to post again in replay tests.
    """

    id: str
    sp_entity_id: str
    username: str | None
    request_id: str | None
    name_id: str | None
    name_id_format: str | None
    session_index: str | None
    status: str
    faults: tuple[str, ...] = ()
    relay_state: str | None = None
    saml_response: str = attrs.field(default="", repr=False)


@attrs.frozen(kw_only=True)
class SAMLSession:
    """A session the IdP holds for a user at an SP (what single logout ends).

    Attributes:
        session_index: The ``SessionIndex`` sent in the assertion.
        username: Who signed in.
        sp_entity_id: Where.
        name_id: The NameID sent.
        name_id_format: Its format.
    """

    session_index: str
    username: str
    sp_entity_id: str
    name_id: str
    name_id_format: str


# --- reading the auto-posting form ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PostForm:
    """An HTML form as a browser would submit it.

    Attributes:
        action: The ``action`` URL.
        method: The method, upper case.
        fields: The named ``input`` values (the first of each name).
    """

    action: str
    method: str
    fields: Mapping[str, str]


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict[str, str], dict[str, str]]] = []

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs_map = {name: value or "" for name, value in attributes}
        if tag == "form":
            self.forms.append((attrs_map, {}))
        elif tag == "input" and self.forms and "name" in attrs_map:
            self.forms[-1][1].setdefault(attrs_map["name"], attrs_map.get("value", ""))


def read_post_form(page: str | bytes, *, index: int = 0) -> PostForm:
    """Read the ``index``-th form of an HTML page (the IdP's or the SP's auto-posting page).

    Raises:
        InvalidSettingError: The page has no such form (``testing.no_form``).
    """
    reader = _FormReader()
    reader.feed(page.decode("utf-8") if isinstance(page, bytes) else page)
    reader.close()
    if index >= len(reader.forms):
        raise InvalidSettingError(
            f"the page has {len(reader.forms)} form(s), not a form number {index}",
            key="read_post_form.page",
            code="testing.no_form",
        )
    attributes, fields = reader.forms[index]
    return PostForm(
        action=attributes.get("action", ""),
        method=attributes.get("method", "get").upper(),
        fields=dict(fields),
    )


# --- the demo values of the pytest fixtures ------------------------------------------------------

#: The password of :data:`DEMO_SAML_USER` in the login form.
DEMO_SAML_PASSWORD: Final = "alice-password"

#: ``alice``, with the attributes research and education IdPs release.
DEMO_SAML_USER: Final = SAMLUser(
    username="alice",
    password=DEMO_SAML_PASSWORD,
    attributes={
        "mail": ["alice@example.org"],
        "givenName": ["Alice"],
        "sn": ["Liddell"],
        "displayName": ["Alice Liddell"],
        "eduPersonPrincipalName": ["alice@example.org"],
        "eduPersonScopedAffiliation": ["member@example.org", "staff@example.org"],
        "eduPersonEntitlement": ["urn:mace:example.org:entitlement:staff"],
        "isMemberOf": ["staff", "readers"],
    },
)

#: The demo SP: an application on ``http://127.0.0.1:8000`` with authkit's usual SAML paths.
DEMO_SP_ENTITY_ID: Final = "http://127.0.0.1:8000/saml/metadata"
DEMO_SP_ACS_URL: Final = "http://127.0.0.1:8000/saml/acs"
DEMO_SP_SLO_URL: Final = "http://127.0.0.1:8000/saml/sls"
DEMO_SAML_RELYING_PARTY: Final = SAMLRelyingParty(
    entity_id=DEMO_SP_ENTITY_ID, acs_url=DEMO_SP_ACS_URL, slo_url=DEMO_SP_SLO_URL
)
