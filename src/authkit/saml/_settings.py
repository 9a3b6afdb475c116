"""SAML service provider settings, read from the python3-saml / invenio-saml settings dict.

:meth:`SAMLSettings.from_dict` takes the dict python3-saml's ``OneLogin_Saml2_Settings`` takes
(and invenio-saml's ``SSO_SAML_IDPS[...]["settings"]`` holds), unchanged: ``strict``, ``debug``,
``sp``, ``idp``, ``security``, ``contactPerson``, ``organization``. The result is a tree of
frozen attrs values with snake_case fields; :meth:`SAMLSettings.to_dict` gives the dict back.

Differences from python3-saml, all on the safe side and all documented in ``docs/saml.md``:

- an unknown key is an error (``UnknownSettingError``, with the likely intended key): a typo such
  as ``wantAssertionSigned`` must not silently switch a check off;
- ``security.wantAssertionsSigned`` defaults to **true**, and a Response with no verified
  signature at all is always refused;
- validation is always strict: ``strict: false`` is accepted for compatibility, with a warning,
  and changes nothing;
- trust in the IdP comes from its certificate (``idp.x509cert`` or ``idp.x509certMulti``).
  ``idp.certFingerprint`` alone is refused: it would mean trusting the certificate the message
  itself carries in ``ds:KeyInfo`` whenever its hash matches (a SHA-1 hash by python3-saml's
  default). Given together with a certificate, the fingerprint must match it;
- SHA-1 is refused, incoming and outgoing, unless ``security.allow_sha1`` is true, whatever
  ``rejectDeprecatedAlgorithm`` says;
- ``security.signMetadata`` is a boolean (the python3-saml dict form naming key files would make
  settings do file I/O); metadata is signed with ``sp.privateKey``.

authkit's own additions use snake_case keys so they never collide with python3-saml's:
``security.clock_skew`` (seconds, default 180), ``security.allow_unsolicited`` (IdP-initiated
responses, default false), ``security.allow_sha1`` (default false),
``security.max_message_size`` (bytes, default 512 KiB) and ``sp.private_key_new`` (the private
key of ``sp.x509certNew``, to decrypt during a key rollover).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import warnings
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from authkit.config._validators import is_bool, is_str, one_of, optional, str_tuple, url
from authkit.errors import (
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.saml._xml import DEFAULT_MAX_SIZE, parse_instant
from authkit.saml._xmldsig import (
    ECDSA_SHA256,
    ECDSA_SHA384,
    ECDSA_SHA512,
    RSA_SHA1,
    RSA_SHA256,
    RSA_SHA384,
    RSA_SHA512,
    SHA1,
    SHA256,
    SHA384,
    SHA512,
    normalize_certificate,
    normalize_private_key,
)

__all__ = [
    "AC_PASSWORD_PROTECTED_TRANSPORT",
    "BINDING_HTTP_POST",
    "BINDING_HTTP_REDIRECT",
    "NAMEID_EMAIL_ADDRESS",
    "NAMEID_PERSISTENT",
    "NAMEID_TRANSIENT",
    "NAMEID_UNSPECIFIED",
    "AttributeConsumingService",
    "ContactPerson",
    "IdPSettings",
    "Organization",
    "RequestedAttribute",
    "SAMLSettings",
    "SPSettings",
    "SecuritySettings",
]

BINDING_HTTP_REDIRECT: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_HTTP_POST: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
NAMEID_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_EMAIL_ADDRESS: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
AC_PASSWORD_PROTECTED_TRANSPORT: Final = (
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)

_BINDINGS = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
_SIGNATURE_ALGORITHMS = (
    RSA_SHA256,
    RSA_SHA384,
    RSA_SHA512,
    ECDSA_SHA256,
    ECDSA_SHA384,
    ECDSA_SHA512,
)
_DIGEST_ALGORITHMS = (SHA256, SHA384, SHA512)
_COMPARISONS = ("exact", "minimum", "maximum", "better")
_CONTACT_TYPES = ("technical", "support", "administrative", "billing", "other")
_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _certificate(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        normalize_certificate(value, key=f"{type(inst).__name__}.{attribute.name}")


def _certificates(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    str_tuple(inst, attribute, value)
    for item in value:
        normalize_certificate(item, key=f"{type(inst).__name__}.{attribute.name}")


def _private_key(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        normalize_private_key(value, key=f"{type(inst).__name__}.{attribute.name}")


# --- values --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RequestedAttribute:
    """An attribute the SP asks for in its metadata (``md:RequestedAttribute``).

    Args:
        name: The attribute ``Name`` (an ``urn:oid:`` name, usually).
        name_format: Its ``NameFormat``, if any.
        friendly_name: Its ``FriendlyName``, if any.
        is_required: ``isRequired``.
        values: Requested values (``saml:AttributeValue``), rarely used.
    """

    name: str = attrs.field(validator=is_str)
    name_format: str | None = attrs.field(default=None, validator=optional(is_str))
    friendly_name: str | None = attrs.field(default=None, validator=optional(is_str))
    is_required: bool = attrs.field(default=False, validator=is_bool)
    values: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=str_tuple)


@attrs.frozen(kw_only=True)
class AttributeConsumingService:
    """The SP metadata's ``md:AttributeConsumingService`` (``sp.attributeConsumingService``).

    Args:
        service_name: ``ServiceName``.
        service_description: ``ServiceDescription``, if any.
        requested_attributes: The attributes asked for.
        index: The service's ``index`` (sent as ``AttributeConsumingServiceIndex``).
    """

    service_name: str = attrs.field(validator=is_str)
    service_description: str | None = attrs.field(default=None, validator=optional(is_str))
    requested_attributes: tuple[RequestedAttribute, ...] = attrs.field(default=(), converter=_tuple)
    index: int = 1


@attrs.frozen(kw_only=True)
class ContactPerson:
    """A metadata ``md:ContactPerson`` (``contactPerson.<type>``)."""

    contact_type: str = attrs.field(validator=one_of(_CONTACT_TYPES))
    given_name: str = attrs.field(validator=is_str)
    email_address: str = attrs.field(validator=is_str)


@attrs.frozen(kw_only=True)
class Organization:
    """A metadata ``md:Organization`` in one language (``organization.<lang>``)."""

    lang: str = attrs.field(validator=is_str)
    name: str = attrs.field(validator=is_str)
    display_name: str = attrs.field(validator=is_str)
    url: str = attrs.field(validator=is_str)


@attrs.frozen(kw_only=True)
class SPSettings:
    """This service provider (the ``sp`` section).

    Args:
        entity_id: ``sp.entityId``.
        acs_url: ``sp.assertionConsumerService.url``, where the IdP posts Responses.
        acs_binding: ``sp.assertionConsumerService.binding`` (HTTP-POST).
        slo_url: ``sp.singleLogoutService.url``, if the SP takes part in single logout.
        slo_binding: ``sp.singleLogoutService.binding`` (HTTP-Redirect).
        name_id_format: ``sp.NameIDFormat``, asked for in the AuthnRequest's NameIDPolicy.
        x509cert: ``sp.x509cert`` (PEM): published in metadata for signing and encryption.
        private_key: ``sp.privateKey`` (PEM): signs requests and metadata, decrypts.
        x509cert_new: ``sp.x509certNew``: the next certificate during a key rollover,
            published alongside the current one.
        private_key_new: ``sp.private_key_new`` (authkit): the key of ``x509cert_new``, also
            tried when decrypting.
        attribute_consuming_service: ``sp.attributeConsumingService``, if any.
    """

    entity_id: str = attrs.field(validator=is_str)
    acs_url: str = attrs.field(validator=url)
    acs_binding: str = attrs.field(
        default=BINDING_HTTP_POST, validator=one_of((BINDING_HTTP_POST,))
    )
    slo_url: str | None = attrs.field(default=None, validator=optional(url))
    slo_binding: str = attrs.field(default=BINDING_HTTP_REDIRECT, validator=one_of(_BINDINGS))
    name_id_format: str = attrs.field(default=NAMEID_UNSPECIFIED, validator=is_str)
    x509cert: str | None = attrs.field(default=None, validator=_certificate)
    private_key: str | None = attrs.field(default=None, repr=False, validator=_private_key)
    x509cert_new: str | None = attrs.field(default=None, validator=_certificate)
    private_key_new: str | None = attrs.field(default=None, repr=False, validator=_private_key)
    attribute_consuming_service: AttributeConsumingService | None = None

    @property
    def decryption_keys(self) -> tuple[str, ...]:
        """The private keys to try when decrypting: the current one, then the new one."""
        return tuple(k for k in (self.private_key, self.private_key_new) if k)


@attrs.frozen(kw_only=True)
class IdPSettings:
    """The identity provider this SP trusts (the ``idp`` section).

    Args:
        entity_id: ``idp.entityId``: the expected Issuer of Responses and Assertions.
        sso_url: ``idp.singleSignOnService.url``.
        sso_binding: ``idp.singleSignOnService.binding``: how AuthnRequests are sent
            (HTTP-Redirect or HTTP-POST).
        slo_url: ``idp.singleLogoutService.url``, if any.
        slo_response_url: ``idp.singleLogoutService.responseUrl``, if it differs.
        slo_binding: ``idp.singleLogoutService.binding``.
        signing_certificates: ``idp.x509cert`` and/or ``idp.x509certMulti.signing`` (PEM): the
            only certificates whose signatures are trusted.
        encryption_certificates: ``idp.x509cert`` and/or ``idp.x509certMulti.encryption``: used
            to encrypt a NameID sent to the IdP.
    """

    entity_id: str = attrs.field(validator=is_str)
    sso_url: str = attrs.field(validator=url)
    sso_binding: str = attrs.field(default=BINDING_HTTP_REDIRECT, validator=one_of(_BINDINGS))
    slo_url: str | None = attrs.field(default=None, validator=optional(url))
    slo_response_url: str | None = attrs.field(default=None, validator=optional(url))
    slo_binding: str = attrs.field(default=BINDING_HTTP_REDIRECT, validator=one_of(_BINDINGS))
    signing_certificates: tuple[str, ...] = attrs.field(converter=_tuple, validator=_certificates)
    encryption_certificates: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, validator=_certificates
    )

    @signing_certificates.validator
    def _at_least_one(self, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise MissingSettingError(
                "the IdP's signing certificate is required: authkit verifies every Response",
                key="idp.x509cert",
            )


@attrs.frozen(kw_only=True)
class SecuritySettings:
    """The ``security`` section: what is signed, encrypted and required.

    Field names are the python3-saml keys in snake_case (``wantAssertionsSigned`` →
    ``want_assertions_signed``). Defaults are python3-saml's except where noted.

    Args:
        authn_requests_signed: Sign AuthnRequests.
        logout_request_signed: Sign LogoutRequests.
        logout_response_signed: Sign LogoutResponses.
        sign_metadata: Sign the SP metadata.
        want_messages_signed: Require a signed Response (and signed logout messages).
        want_assertions_signed: Require a signed Assertion. **Default true** (python3-saml:
            false).
        want_assertions_encrypted: Require an EncryptedAssertion.
        want_name_id: Require a NameID.
        want_name_id_encrypted: Require an EncryptedID.
        want_attribute_statement: Require an AttributeStatement.
        name_id_encrypted: Encrypt the NameID of LogoutRequests sent to the IdP.
        requested_authn_context: AuthnContextClassRef values to request (python3-saml
            ``True`` means PasswordProtectedTransport, ``False`` none).
        requested_authn_context_comparison: ``exact``, ``minimum``, ``maximum`` or ``better``.
        fail_on_authn_context_mismatch: Refuse an Assertion whose AuthnContextClassRef was not
            requested.
        metadata_valid_until: ``validUntil`` of the SP metadata, if any.
        metadata_cache_duration: ``cacheDuration`` of the SP metadata (xs:duration), if any.
        signature_algorithm: Algorithm of the signatures authkit makes.
        digest_algorithm: Digest of the signatures authkit makes.
        reject_deprecated_algorithm: Kept for compatibility: SHA-1 is refused unless
            ``allow_sha1``, whatever this says.
        allow_single_label_domains: Accept URLs whose host has no dot (``http://sso/``).
        allow_repeat_attribute_name: Merge Attributes sent twice under one Name instead of
            refusing the Assertion.
        relax_destination_validation: Accept a Response with no ``Destination`` (a wrong one is
            always refused).
        destination_strictly_matches: Compare ``Destination``/``Recipient`` with the ACS URL
            character for character (default: scheme and host case-insensitively).
        lowercase_urlencoding: Kept for compatibility: authkit verifies Redirect-binding
            signatures over the query string exactly as received, so encoding case never matters.
        want_xml_validation: Kept for compatibility: authkit checks structure, not the XSD.
        reject_unsolicited_responses_with_in_response_to: Kept for compatibility: authkit
            always refuses an ``InResponseTo`` it did not send.
        clock_skew: Tolerance on every time check (``clock_skew``, seconds; default 180).
        allow_unsolicited: Accept IdP-initiated Responses (``allow_unsolicited``; default false).
        allow_sha1: Accept and make SHA-1 signatures (``allow_sha1``; default false).
        max_message_size: Largest accepted message, bytes of XML (``max_message_size``).
    """

    authn_requests_signed: bool = attrs.field(default=False, validator=is_bool)
    logout_request_signed: bool = attrs.field(default=False, validator=is_bool)
    logout_response_signed: bool = attrs.field(default=False, validator=is_bool)
    sign_metadata: bool = attrs.field(default=False, validator=is_bool)
    want_messages_signed: bool = attrs.field(default=False, validator=is_bool)
    want_assertions_signed: bool = attrs.field(default=True, validator=is_bool)
    want_assertions_encrypted: bool = attrs.field(default=False, validator=is_bool)
    want_name_id: bool = attrs.field(default=True, validator=is_bool)
    want_name_id_encrypted: bool = attrs.field(default=False, validator=is_bool)
    want_attribute_statement: bool = attrs.field(default=True, validator=is_bool)
    name_id_encrypted: bool = attrs.field(default=False, validator=is_bool)
    requested_authn_context: tuple[str, ...] = attrs.field(
        default=(AC_PASSWORD_PROTECTED_TRANSPORT,), converter=_tuple, validator=str_tuple
    )
    requested_authn_context_comparison: str = attrs.field(
        default="exact", validator=one_of(_COMPARISONS)
    )
    fail_on_authn_context_mismatch: bool = attrs.field(default=False, validator=is_bool)
    metadata_valid_until: datetime | None = None
    metadata_cache_duration: str | None = attrs.field(default=None, validator=optional(is_str))
    signature_algorithm: str = attrs.field(default=RSA_SHA256, validator=is_str)
    digest_algorithm: str = attrs.field(default=SHA256, validator=is_str)
    reject_deprecated_algorithm: bool = attrs.field(default=True, validator=is_bool)
    allow_single_label_domains: bool = attrs.field(default=False, validator=is_bool)
    allow_repeat_attribute_name: bool = attrs.field(default=False, validator=is_bool)
    relax_destination_validation: bool = attrs.field(default=False, validator=is_bool)
    destination_strictly_matches: bool = attrs.field(default=False, validator=is_bool)
    lowercase_urlencoding: bool = attrs.field(default=False, validator=is_bool)
    want_xml_validation: bool = attrs.field(default=True, validator=is_bool)
    reject_unsolicited_responses_with_in_response_to: bool = attrs.field(
        default=True, validator=is_bool
    )
    clock_skew: timedelta = timedelta(seconds=180)
    allow_unsolicited: bool = attrs.field(default=False, validator=is_bool)
    allow_sha1: bool = attrs.field(default=False, validator=is_bool)
    max_message_size: int = DEFAULT_MAX_SIZE

    def __attrs_post_init__(self) -> None:
        allowed_signatures = _SIGNATURE_ALGORITHMS + ((RSA_SHA1,) if self.allow_sha1 else ())
        allowed_digests = _DIGEST_ALGORITHMS + ((SHA1,) if self.allow_sha1 else ())
        if self.signature_algorithm not in allowed_signatures:
            raise InvalidSettingError(
                f"expected one of {', '.join(allowed_signatures)}, got "
                f"{self.signature_algorithm!r}",
                key="security.signatureAlgorithm",
                hint="SHA-1 needs security.allow_sha1"
                if self.signature_algorithm == RSA_SHA1
                else None,
            )
        if self.digest_algorithm not in allowed_digests:
            raise InvalidSettingError(
                f"expected one of {', '.join(allowed_digests)}, got {self.digest_algorithm!r}",
                key="security.digestAlgorithm",
                hint="SHA-1 needs security.allow_sha1" if self.digest_algorithm == SHA1 else None,
            )
        if self.clock_skew < timedelta(0) or self.clock_skew > timedelta(hours=1):
            raise InvalidSettingError(
                "expected a number of seconds between 0 and 3600", key="security.clock_skew"
            )
        if self.max_message_size < 1024:
            raise InvalidSettingError(
                "expected a number of bytes of at least 1024", key="security.max_message_size"
            )
        if self.metadata_cache_duration is not None and not _DURATION.fullmatch(
            self.metadata_cache_duration
        ):
            raise InvalidSettingError(
                "expected an xs:duration such as 'PT604800S', got "
                f"{self.metadata_cache_duration!r}",
                key="security.metadataCacheDuration",
            )


@attrs.frozen(kw_only=True)
class SAMLSettings:
    """Everything a :class:`~authkit.saml.ServiceProvider` needs, for one IdP.

    Build it with :meth:`from_dict` from a python3-saml / invenio-saml settings dict, or directly.
    Cross-section consistency (a signing option needs ``sp.privateKey``...) is checked at
    construction.

    Args:
        sp: This service provider.
        idp: The identity provider.
        security: What is signed, encrypted and required.
        contacts: ``contactPerson`` entries for the SP metadata.
        organizations: ``organization`` entries for the SP metadata, one per language.
        strict: ``strict`` as given (authkit always validates strictly).
        debug: ``debug`` as given (no effect: errors always carry their code and message).
    """

    sp: SPSettings
    idp: IdPSettings
    security: SecuritySettings = attrs.field(factory=SecuritySettings)
    contacts: tuple[ContactPerson, ...] = attrs.field(default=(), converter=_tuple)
    organizations: tuple[Organization, ...] = attrs.field(default=(), converter=_tuple)
    strict: bool = attrs.field(default=True, validator=is_bool)
    debug: bool = attrs.field(default=False, validator=is_bool)

    def __attrs_post_init__(self) -> None:
        _check_consistency(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SAMLSettings:
        """Read a python3-saml / invenio-saml settings dict, unchanged.

        Raises:
            ConfigurationError: A subclass naming the key path (``"idp.x509cert"``):
                ``UnknownSettingError`` for a key authkit does not know (with the likely
                intended one), ``MissingSettingError``, ``InvalidSettingError``.
        """
        return _read_settings(data)

    def to_dict(self) -> dict[str, Any]:
        """The python3-saml settings dict (``from_dict(s.to_dict()) == s``)."""
        return _write_settings(self)


def _check_consistency(settings: SAMLSettings) -> None:
    sp, idp, security = settings.sp, settings.idp, settings.security
    _check_pair(sp.private_key, sp.x509cert, "sp.privateKey", "sp.x509cert")
    _check_pair(sp.private_key_new, sp.x509cert_new, "sp.private_key_new", "sp.x509certNew")
    signing_options = {
        "security.authnRequestsSigned": security.authn_requests_signed,
        "security.logoutRequestSigned": security.logout_request_signed,
        "security.logoutResponseSigned": security.logout_response_signed,
        "security.signMetadata": security.sign_metadata,
        "security.wantAssertionsEncrypted": security.want_assertions_encrypted,
        "security.wantNameIdEncrypted": security.want_name_id_encrypted,
    }
    for option, enabled in signing_options.items():
        if enabled and not (sp.private_key and sp.x509cert):
            raise MissingSettingError(
                f"{option} is true, so the SP needs a key pair (sp.privateKey and sp.x509cert)",
                key="sp.privateKey" if not sp.private_key else "sp.x509cert",
            )
    if security.name_id_encrypted and not idp.encryption_certificates:
        raise MissingSettingError(
            "security.nameIdEncrypted is true, so the IdP's encryption certificate is needed",
            key="idp.x509cert",
        )


def _check_pair(private_key: str | None, certificate: str | None, key: str, cert: str) -> None:
    if private_key is None:
        return
    if certificate is None:
        raise MissingSettingError(f"{key} is set, so {cert} is needed too", key=cert)
    public = serialization.load_pem_private_key(
        normalize_private_key(private_key).encode("ascii"), password=None
    ).public_key()
    certificate_key = x509.load_pem_x509_certificate(
        normalize_certificate(certificate).encode("ascii")
    ).public_key()
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if public.public_bytes(*spki) != certificate_key.public_bytes(*spki):
        raise InvalidSettingError(f"the key does not belong to the certificate in {cert}", key=key)


# --- reading the python3-saml dict ---------------------------------------------------------------

_TOP_KEYS = (
    "strict",
    "debug",
    "sp",
    "idp",
    "security",
    "contactPerson",
    "organization",
    "custom_base_path",
    "compress",
)
_SP_KEYS = (
    "entityId",
    "assertionConsumerService",
    "singleLogoutService",
    "NameIDFormat",
    "x509cert",
    "privateKey",
    "x509certNew",
    "private_key_new",
    "attributeConsumingService",
)
_IDP_KEYS = (
    "entityId",
    "singleSignOnService",
    "singleLogoutService",
    "x509cert",
    "x509certMulti",
    "certFingerprint",
    "certFingerprintAlgorithm",
)
_ENDPOINT_KEYS = ("url", "binding")
_SLO_KEYS = ("url", "binding", "responseUrl")

#: python3-saml boolean security keys -> SecuritySettings fields.
_SECURITY_BOOLS: Final = {
    "authnRequestsSigned": "authn_requests_signed",
    "logoutRequestSigned": "logout_request_signed",
    "logoutResponseSigned": "logout_response_signed",
    "wantMessagesSigned": "want_messages_signed",
    "wantAssertionsSigned": "want_assertions_signed",
    "wantAssertionsEncrypted": "want_assertions_encrypted",
    "wantNameId": "want_name_id",
    "wantNameIdEncrypted": "want_name_id_encrypted",
    "wantAttributeStatement": "want_attribute_statement",
    "nameIdEncrypted": "name_id_encrypted",
    "failOnAuthnContextMismatch": "fail_on_authn_context_mismatch",
    "rejectDeprecatedAlgorithm": "reject_deprecated_algorithm",
    "allowSingleLabelDomains": "allow_single_label_domains",
    "allowRepeatAttributeName": "allow_repeat_attribute_name",
    "relaxDestinationValidation": "relax_destination_validation",
    "destinationStrictlyMatches": "destination_strictly_matches",
    "lowercaseUrlencoding": "lowercase_urlencoding",
    "wantXMLValidation": "want_xml_validation",
    "rejectUnsolicitedResponsesWithInResponseTo": (
        "reject_unsolicited_responses_with_in_response_to"
    ),
    "allow_unsolicited": "allow_unsolicited",
    "allow_sha1": "allow_sha1",
}
_SECURITY_KEYS = (
    *_SECURITY_BOOLS,
    "signMetadata",
    "requestedAuthnContext",
    "requestedAuthnContextComparison",
    "metadataValidUntil",
    "metadataCacheDuration",
    "signatureAlgorithm",
    "digestAlgorithm",
    "clock_skew",
    "max_message_size",
)


class _Section:
    """One mapping of the settings dict, read with its dotted path for error messages."""

    def __init__(self, data: Any, path: str, known: Collection[str]) -> None:
        if not isinstance(data, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {type(data).__name__}", key=path)
        self.data = data
        self.path = path
        for name in data:
            if name not in known:
                close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
                raise UnknownSettingError(
                    "authkit does not know this setting",
                    key=self.key(str(name)),
                    hint=f"did you mean {self.key(close[0])!r}?" if close else None,
                )

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def present(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and value != ""

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise MissingSettingError("this setting is required", key=self.key(name))
            return None
        if not isinstance(value, str):
            raise InvalidSettingError(f"expected a string, got {value!r}", key=self.key(name))
        return value

    def url(self, name: str, *, required: bool = False, single_label: bool) -> str | None:
        value = self.string(name, required=required)
        if value is not None:
            _check_url(value, self.key(name), single_label)
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise InvalidSettingError(f"expected true or false, got {value!r}", key=self.key(name))
        return value

    def section(self, name: str, known: Collection[str], *, required: bool = False) -> _Section:
        value = self.data.get(name)
        if value is None:
            if required:
                raise MissingSettingError("this section is required", key=self.key(name))
            value = {}
        return _Section(value, self.key(name), known)


def _check_url(value: str, key: str, single_label: bool) -> None:
    expected = "an absolute http(s) URL"
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise InvalidSettingError(f"expected {expected}, got {value!r}", key=key)
    if not single_label and "." not in host and ":" not in host and host != "localhost":
        raise InvalidSettingError(
            f"expected {expected} with a dotted host name, got {value!r}",
            key=key,
            hint="set security.allowSingleLabelDomains to accept single-label hosts",
        )


def _read_settings(data: Mapping[str, Any]) -> SAMLSettings:
    top = _Section(data, "", _TOP_KEYS)
    strict = top.boolean("strict")
    if strict is False:
        warnings.warn(
            "SAML settings say strict: false; authkit always validates strictly",
            UserWarning,
            stacklevel=3,
        )
    security_section = top.section("security", _SECURITY_KEYS)
    security = _read_security(security_section)
    single_label = security.allow_single_label_domains
    sp = _read_sp(top.section("sp", _SP_KEYS, required=True), single_label)
    idp = _read_idp(top.section("idp", _IDP_KEYS, required=True), single_label)
    compress = top.section("compress", ("requests", "responses"))
    compress.boolean("requests")
    compress.boolean("responses")
    top.string("custom_base_path")
    return SAMLSettings(
        sp=sp,
        idp=idp,
        security=security,
        contacts=_read_contacts(top),
        organizations=_read_organizations(top),
        strict=True if strict is None else strict,
        debug=bool(top.boolean("debug")),
    )


def _read_security(section: _Section) -> SecuritySettings:
    values: dict[str, Any] = {}
    for key, field in _SECURITY_BOOLS.items():
        flag = section.boolean(key)
        if flag is not None:
            values[field] = flag
    sign_metadata = section.data.get("signMetadata")
    if isinstance(sign_metadata, Mapping):
        raise InvalidSettingError(
            "expected true or false: authkit signs metadata with sp.privateKey / sp.x509cert "
            "(the keyFileName/certFileName form is not supported)",
            key=section.key("signMetadata"),
        )
    if sign_metadata is not None:
        values["sign_metadata"] = section.boolean("signMetadata")

    requested = section.data.get("requestedAuthnContext")
    if requested is True:
        values["requested_authn_context"] = (AC_PASSWORD_PROTECTED_TRANSPORT,)
    elif requested is False:
        values["requested_authn_context"] = ()
    elif requested is not None:
        if not isinstance(requested, list | tuple) or not all(
            isinstance(v, str) for v in requested
        ):
            raise InvalidSettingError(
                f"expected true, false or a list of AuthnContextClassRef URIs, got {requested!r}",
                key=section.key("requestedAuthnContext"),
            )
        values["requested_authn_context"] = tuple(requested)
    comparison = section.string("requestedAuthnContextComparison")
    if comparison is not None:
        if comparison not in _COMPARISONS:
            raise InvalidSettingError(
                f"expected one of {', '.join(_COMPARISONS)}, got {comparison!r}",
                key=section.key("requestedAuthnContextComparison"),
            )
        values["requested_authn_context_comparison"] = comparison

    valid_until = section.string("metadataValidUntil")
    if valid_until is not None:
        try:
            values["metadata_valid_until"] = parse_instant(valid_until, what="metadataValidUntil")
        except Exception:
            raise InvalidSettingError(
                f"expected a date-time such as '2030-01-01T00:00:00Z', got {valid_until!r}",
                key=section.key("metadataValidUntil"),
            ) from None
    duration = section.data.get("metadataCacheDuration")
    if isinstance(duration, int) and not isinstance(duration, bool):
        values["metadata_cache_duration"] = f"PT{duration}S"
    elif duration is not None:
        values["metadata_cache_duration"] = section.string("metadataCacheDuration")

    for key, field in (
        ("signatureAlgorithm", "signature_algorithm"),
        ("digestAlgorithm", "digest_algorithm"),
    ):
        algorithm = section.string(key)
        if algorithm is not None:
            values[field] = algorithm
    skew = section.data.get("clock_skew")
    if skew is not None:
        if isinstance(skew, bool) or not isinstance(skew, int | float):
            raise InvalidSettingError(
                f"expected a number of seconds, got {skew!r}", key=section.key("clock_skew")
            )
        values["clock_skew"] = timedelta(seconds=skew)
    size = section.data.get("max_message_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise InvalidSettingError(
                f"expected a number of bytes, got {size!r}", key=section.key("max_message_size")
            )
        values["max_message_size"] = size
    return SecuritySettings(**values)


def _read_sp(section: _Section, single_label: bool) -> SPSettings:
    acs = section.section("assertionConsumerService", _ENDPOINT_KEYS, required=True)
    slo = section.section("singleLogoutService", _SLO_KEYS)
    acs_binding = acs.string("binding") or BINDING_HTTP_POST
    if acs_binding != BINDING_HTTP_POST:
        raise InvalidSettingError(
            f"expected {BINDING_HTTP_POST} (the only binding for Responses authkit accepts), "
            f"got {acs_binding!r}",
            key=acs.key("binding"),
        )
    certificate = _read_certificate(section, "x509cert")
    certificate_new = _read_certificate(section, "x509certNew")
    return SPSettings(
        entity_id=_required(section, "entityId"),
        acs_url=acs.url("url", required=True, single_label=single_label) or "",
        acs_binding=acs_binding,
        slo_url=slo.url("url", single_label=single_label),
        slo_binding=_binding(slo, BINDING_HTTP_REDIRECT),
        name_id_format=section.string("NameIDFormat") or NAMEID_UNSPECIFIED,
        x509cert=certificate,
        private_key=_read_private_key(section, "privateKey"),
        x509cert_new=certificate_new,
        private_key_new=_read_private_key(section, "private_key_new"),
        attribute_consuming_service=_read_acs(section),
    )


def _read_idp(section: _Section, single_label: bool) -> IdPSettings:
    sso = section.section("singleSignOnService", _ENDPOINT_KEYS, required=True)
    slo = section.section("singleLogoutService", _SLO_KEYS)
    signing: list[str] = []
    encryption: list[str] = []
    single = _read_certificate(section, "x509cert")
    if single is not None:
        signing.append(single)
        encryption.append(single)
    multi = section.section("x509certMulti", ("signing", "encryption"))
    for use, target in (("signing", signing), ("encryption", encryption)):
        listed = multi.data.get(use)
        if listed is None:
            continue
        if not isinstance(listed, list | tuple):
            raise InvalidSettingError("expected a list of certificates", key=multi.key(use))
        for index, item in enumerate(listed):
            pem = normalize_certificate(item, key=f"{multi.key(use)}[{index}]")
            if pem not in target:
                target.append(pem)

    fingerprint = section.string("certFingerprint")
    algorithm = section.string("certFingerprintAlgorithm") or "sha1"
    if algorithm not in ("sha1", "sha256", "sha384", "sha512"):
        raise InvalidSettingError(
            f"expected sha1, sha256, sha384 or sha512, got {algorithm!r}",
            key=section.key("certFingerprintAlgorithm"),
        )
    if fingerprint is not None:
        if not signing:
            raise InvalidSettingError(
                "a fingerprint alone is not accepted: it would trust the certificate the "
                "message carries in its KeyInfo",
                key=section.key("certFingerprint"),
                hint="configure idp.x509cert with the IdP's signing certificate (from its "
                "metadata)",
            )
        wanted = fingerprint.replace(":", "").lower()
        if not any(_fingerprint(pem, algorithm) == wanted for pem in signing):
            raise InvalidSettingError(
                "does not match the configured IdP certificate", key=section.key("certFingerprint")
            )
    if not signing:
        raise MissingSettingError(
            "the IdP's signing certificate is required: authkit verifies every Response",
            key=section.key("x509cert"),
        )
    return IdPSettings(
        entity_id=_required(section, "entityId"),
        sso_url=sso.url("url", required=True, single_label=single_label) or "",
        sso_binding=_binding(sso, BINDING_HTTP_REDIRECT),
        slo_url=slo.url("url", single_label=single_label),
        slo_response_url=slo.url("responseUrl", single_label=single_label),
        slo_binding=_binding(slo, BINDING_HTTP_REDIRECT),
        signing_certificates=tuple(signing),
        encryption_certificates=tuple(encryption),
    )


def _fingerprint(pem: str, algorithm: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(
        serialization.Encoding.DER
    )
    return hashlib.new(algorithm, der).hexdigest()


def _required(section: _Section, name: str) -> str:
    value = section.string(name, required=True)
    assert value is not None
    return value


def _binding(section: _Section, default: str) -> str:
    binding = section.string("binding") or default
    if binding not in _BINDINGS:
        raise InvalidSettingError(
            f"expected {BINDING_HTTP_REDIRECT} or {BINDING_HTTP_POST}, got {binding!r}",
            key=section.key("binding"),
        )
    return binding


def _read_certificate(section: _Section, name: str) -> str | None:
    value = section.data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | bytes):
        raise InvalidSettingError("expected a PEM certificate", key=section.key(name))
    return normalize_certificate(value, key=section.key(name))


def _read_private_key(section: _Section, name: str) -> str | None:
    value = section.data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | bytes):
        raise InvalidSettingError("expected a PEM private key", key=section.key(name))
    return normalize_private_key(value, key=section.key(name))


def _read_acs(section: _Section) -> AttributeConsumingService | None:
    if not section.data.get("attributeConsumingService"):
        return None
    acs = section.section(
        "attributeConsumingService",
        ("serviceName", "serviceDescription", "requestedAttributes", "index"),
    )
    requested = acs.data.get("requestedAttributes", [])
    if not isinstance(requested, list | tuple):
        raise InvalidSettingError("expected a list", key=acs.key("requestedAttributes"))
    attributes = []
    for index, item in enumerate(requested):
        entry = _Section(
            item,
            f"{acs.key('requestedAttributes')}[{index}]",
            ("name", "isRequired", "nameFormat", "friendlyName", "attributeValue"),
        )
        values = entry.data.get("attributeValue", [])
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise InvalidSettingError("expected a list of strings", key=entry.key("attributeValue"))
        attributes.append(
            RequestedAttribute(
                name=_required(entry, "name"),
                name_format=entry.string("nameFormat"),
                friendly_name=entry.string("friendlyName"),
                is_required=bool(entry.boolean("isRequired")),
                values=tuple(values),
            )
        )
    index_value = acs.data.get("index", 1)
    try:
        service_index = int(index_value)
    except (TypeError, ValueError):
        raise InvalidSettingError(
            f"expected an integer, got {index_value!r}", key=acs.key("index")
        ) from None
    return AttributeConsumingService(
        service_name=_required(acs, "serviceName"),
        service_description=acs.string("serviceDescription"),
        requested_attributes=tuple(attributes),
        index=service_index,
    )


def _read_contacts(top: _Section) -> tuple[ContactPerson, ...]:
    contacts = top.section("contactPerson", _CONTACT_TYPES)
    result = []
    for contact_type in contacts.data:
        entry = contacts.section(contact_type, ("givenName", "emailAddress"))
        result.append(
            ContactPerson(
                contact_type=contact_type,
                given_name=_required(entry, "givenName"),
                email_address=_required(entry, "emailAddress"),
            )
        )
    return tuple(result)


def _read_organizations(top: _Section) -> tuple[Organization, ...]:
    data = top.data.get("organization") or {}
    if not isinstance(data, Mapping):
        raise InvalidSettingError("expected a mapping of languages", key="organization")
    result = []
    for lang in data:
        entry = _Section(data[lang], f"organization.{lang}", ("name", "displayname", "url"))
        result.append(
            Organization(
                lang=str(lang),
                name=_required(entry, "name"),
                display_name=_required(entry, "displayname"),
                url=_required(entry, "url"),
            )
        )
    return tuple(result)


# --- writing it back -----------------------------------------------------------------------------


def _write_settings(settings: SAMLSettings) -> dict[str, Any]:
    sp, idp, security = settings.sp, settings.idp, settings.security
    sp_dict: dict[str, Any] = {
        "entityId": sp.entity_id,
        "assertionConsumerService": {"url": sp.acs_url, "binding": sp.acs_binding},
        "NameIDFormat": sp.name_id_format,
    }
    if sp.slo_url:
        sp_dict["singleLogoutService"] = {"url": sp.slo_url, "binding": sp.slo_binding}
    for key, value in (
        ("x509cert", sp.x509cert),
        ("privateKey", sp.private_key),
        ("x509certNew", sp.x509cert_new),
        ("private_key_new", sp.private_key_new),
    ):
        if value:
            sp_dict[key] = value
    if sp.attribute_consuming_service is not None:
        service = sp.attribute_consuming_service
        service_dict: dict[str, Any] = {
            "serviceName": service.service_name,
            "index": service.index,
            "requestedAttributes": [_write_requested(a) for a in service.requested_attributes],
        }
        if service.service_description is not None:
            service_dict["serviceDescription"] = service.service_description
        sp_dict["attributeConsumingService"] = service_dict

    idp_dict: dict[str, Any] = {
        "entityId": idp.entity_id,
        "singleSignOnService": {"url": idp.sso_url, "binding": idp.sso_binding},
    }
    if idp.slo_url:
        slo: dict[str, Any] = {"url": idp.slo_url, "binding": idp.slo_binding}
        if idp.slo_response_url:
            slo["responseUrl"] = idp.slo_response_url
        idp_dict["singleLogoutService"] = slo
    idp_dict["x509certMulti"] = {
        "signing": list(idp.signing_certificates),
        "encryption": list(idp.encryption_certificates),
    }

    security_dict: dict[str, Any] = {
        key: getattr(security, field) for key, field in _SECURITY_BOOLS.items()
    }
    security_dict.update(
        signMetadata=security.sign_metadata,
        requestedAuthnContext=list(security.requested_authn_context) or False,
        requestedAuthnContextComparison=security.requested_authn_context_comparison,
        signatureAlgorithm=security.signature_algorithm,
        digestAlgorithm=security.digest_algorithm,
        clock_skew=security.clock_skew.total_seconds(),
        max_message_size=security.max_message_size,
    )
    if security.metadata_valid_until is not None:
        security_dict["metadataValidUntil"] = security.metadata_valid_until.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    if security.metadata_cache_duration is not None:
        security_dict["metadataCacheDuration"] = security.metadata_cache_duration

    result: dict[str, Any] = {
        "strict": settings.strict,
        "debug": settings.debug,
        "sp": sp_dict,
        "idp": idp_dict,
        "security": security_dict,
    }
    if settings.contacts:
        result["contactPerson"] = {
            c.contact_type: {"givenName": c.given_name, "emailAddress": c.email_address}
            for c in settings.contacts
        }
    if settings.organizations:
        result["organization"] = {
            o.lang: {"name": o.name, "displayname": o.display_name, "url": o.url}
            for o in settings.organizations
        }
    return result


def _write_requested(attribute: RequestedAttribute) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": attribute.name, "isRequired": attribute.is_required}
    if attribute.name_format is not None:
        entry["nameFormat"] = attribute.name_format
    if attribute.friendly_name is not None:
        entry["friendlyName"] = attribute.friendly_name
    if attribute.values:
        entry["attributeValue"] = list(attribute.values)
    return entry
