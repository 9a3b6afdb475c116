"""IdP settings from SAML 2.0 metadata: one EntityDescriptor, or a federation aggregate.

An IdP publishes what a service provider needs to know about it — entityID, SingleSignOnService
and SingleLogoutService endpoints per binding, signing and encryption certificates, NameID formats,
its ``shibmd:Scope`` values, display names and logos — as SAML 2.0 metadata (OASIS
saml-metadata-2.0-os, with the MDUI, Shibboleth Scope and SAML V2.0 Metadata Interoperability
extensions). A federation (InCommon, eduGAIN, SWAMID…) publishes thousands of entities in one
signed ``EntitiesDescriptor`` aggregate of tens of megabytes.

Theory of operation
-------------------

*Streaming.* Without a signature check, :func:`iter_idps`, :func:`find_idp` and
:func:`list_idps` read the document with :func:`lxml.etree.iterparse`, filtered on the
``EntityDescriptor`` tag: each entity is turned into a small Python value as soon as its end tag
is parsed, then cleared together with every sibling before it, so the tree never holds more than
one entity (bounded memory: a few hundred kilobytes whatever the aggregate's size).
:func:`find_idp` stops reading at the match.

*Signatures.* A federation signs the root ``EntitiesDescriptor`` (enveloped signature,
``Reference URI="#ID"``). Verifying it needs the digest of the whole canonicalised document, which
xmlsec computes over a complete tree: so when a ``certificate`` is given, the document is parsed
once in full, the root signature is verified against that certificate (never against a
certificate inside the document), and the entities are read from that verified tree. Memory is
then proportional to the document (about five times its size with lxml), paid once per
refresh.
The alternative — a streaming first pass that canonicalises and digests the document, then a
second streaming pass — would double the parsing time and reimplement exclusive
canonicalisation outside xmlsec; we chose the single verified tree. Applications that refresh a
federation aggregate should verify it when it is fetched and keep only the
:class:`IdPMetadata` of the IdPs they use (see ``docs/saml-metadata.md``).

*Validity.* ``validUntil`` and ``cacheDuration`` may appear on every ``EntitiesDescriptor``
enclosing an entity, on the ``EntityDescriptor`` and on its ``IDPSSODescriptor``; the effective
value is the earliest ``validUntil`` and the shortest ``cacheDuration``. Expired metadata raises
:class:`~authkit.errors.SAMLValidationError` ``saml.metadata_expired``; when listing an aggregate,
an individually expired entity is skipped instead. :meth:`IdPMetadata.next_refresh` tells when to
fetch again.

*Hardening.* Metadata is parsed with no DTD (a ``DOCTYPE`` is refused before the parser sees
it: libxml2 expands internal entities in attribute values even with ``resolve_entities=False``),
no entity resolution and no network access. ``huge_tree`` stays off: its limits apply per text
node and per nesting depth, not to the document size, and real aggregates (eduGAIN is about
80 MB) stay well inside them.

Errors (all :class:`~authkit.errors.SAMLValidationError` unless noted): ``saml.metadata_invalid``
(not well-formed, not metadata, missing entityID, bad date or duration),
``saml.xml_dtd_forbidden`` (a DOCTYPE, as for every SAML message),
``saml.metadata_expired``, ``saml.metadata_signature_invalid``,
``saml.metadata_entity_not_found``; fetching raises the transport's
:class:`~authkit.errors.ProviderError` subclasses and ``saml.metadata_too_large``
(:class:`~authkit.errors.ProviderResponseError`).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeAlias, cast

import attrs
from lxml import etree

from authkit.errors import InvalidSettingError, ProviderResponseError, SAMLValidationError
from authkit.saml._xml import parse_xml, text_content
from authkit.saml._xmldsig import verify_signed_element
from authkit.transport import HTTPRequest, Timeout, Transport

__all__ = [
    "BINDING_HTTP_POST",
    "BINDING_HTTP_REDIRECT",
    "DEFAULT_MAX_METADATA_BYTES",
    "Endpoint",
    "IdPListing",
    "IdPMetadata",
    "Logo",
    "MetadataSource",
    "Scope",
    "fetch_idp_metadata",
    "fetch_metadata",
    "find_idp",
    "iter_idps",
    "list_idps",
    "parse_idp_metadata",
]

BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"

#: Largest metadata document :func:`fetch_metadata` accepts (eduGAIN is about 80 MB).
DEFAULT_MAX_METADATA_BYTES = 256 * 1024 * 1024

#: Where :meth:`IdPMetadata.next_refresh` lands when the metadata has no cacheDuration.
DEFAULT_REFRESH = timedelta(hours=6)

_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
_DS = "http://www.w3.org/2000/09/xmldsig#"
_MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
_SHIBMD = "urn:mace:shibboleth:metadata:1.0"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_ENTITY = f"{{{_MD}}}EntityDescriptor"
_ENTITIES = f"{{{_MD}}}EntitiesDescriptor"
_IDPSSO = f"{{{_MD}}}IDPSSODescriptor"
_EXTENSIONS = f"{{{_MD}}}Extensions"
_SSO = f"{{{_MD}}}SingleSignOnService"
_SLO = f"{{{_MD}}}SingleLogoutService"
_KEY_DESCRIPTOR = f"{{{_MD}}}KeyDescriptor"
_NAME_ID_FORMAT = f"{{{_MD}}}NameIDFormat"
_ORGANIZATION = f"{{{_MD}}}Organization"
_ORG_DISPLAY_NAME = f"{{{_MD}}}OrganizationDisplayName"
_X509_CERT_PATH = f"{{{_DS}}}KeyInfo/{{{_DS}}}X509Data/{{{_DS}}}X509Certificate"
_UIINFO = f"{{{_MDUI}}}UIInfo"
_SCOPE = f"{{{_SHIBMD}}}Scope"

#: A metadata document to stream: its bytes, a file path, or a binary file object.
MetadataSource: TypeAlias = "bytes | str | os.PathLike[str] | IO[bytes]"

_CertificateArg: TypeAlias = "str | bytes | Sequence[str | bytes] | None"


# --- values ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Endpoint:
    """A protocol endpoint of the IdP.

    Args:
        binding: The SAML binding URI (``urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect``…).
        location: Where messages are sent.
        response_location: Where responses go, when it differs (SingleLogoutService only).
    """

    binding: str
    location: str
    response_location: str | None = None


@attrs.frozen(kw_only=True)
class Logo:
    """An ``mdui:Logo``.

    Args:
        url: The image URL (or ``data:`` URI) as published.
        width: Width in pixels, when published.
        height: Height in pixels, when published.
        lang: The ``xml:lang`` of the logo, when published.
    """

    url: str
    width: int | None = None
    height: int | None = None
    lang: str | None = None


@attrs.frozen
class Scope:
    """A ``shibmd:Scope``: the domains an IdP may assert in scoped attribute values.

    Args:
        value: A domain (``example.org``), or a regular expression when ``regexp`` is true.
        regexp: Whether ``value`` is a regular expression matched against the whole scope.
    """

    value: str
    regexp: bool = False

    def matches(self, scope: str) -> bool:
        """Whether the scope part of a scoped value (after ``@``) is covered by this scope."""
        if self.regexp:
            try:
                return re.fullmatch(self.value, scope) is not None
            except re.error:
                return False
        return scope.casefold() == self.value.casefold()

    def __str__(self) -> str:
        return f"/{self.value}/" if self.regexp else self.value


def _best_lang(names: Mapping[str, str], lang: str | None) -> str | None:
    if not names:
        return None
    for key in (lang, "en", ""):
        if key is not None and key in names:
            return names[key]
    return next(iter(names.values()))


@attrs.frozen(kw_only=True)
class IdPListing:
    """One IdP of a federation, as a discovery page shows it.

    Args:
        entity_id: The IdP's entityID.
        display_names: ``mdui:DisplayName`` by ``xml:lang`` (falls back to the organisation's
            display names when the IdP publishes no UIInfo).
        logos: ``mdui:Logo`` values.
    """

    entity_id: str
    display_names: Mapping[str, str] = attrs.field(factory=dict)
    logos: tuple[Logo, ...] = ()

    def display_name(self, lang: str | None = "en") -> str:
        """The name to show: ``lang`` if published, else English, else any, else the entityID."""
        return _best_lang(self.display_names, lang) or self.entity_id


@attrs.frozen(kw_only=True)
class IdPMetadata:
    """What an IdP's metadata says, as one immutable value.

    Build it with :func:`parse_idp_metadata`, :func:`find_idp`, :func:`iter_idps` or
    :func:`fetch_idp_metadata`; turn it into the python3-saml ``"idp"`` settings section with
    :meth:`to_settings_dict`.

    Args:
        entity_id: The IdP's entityID.
        sso_services: ``SingleSignOnService`` endpoints, in document order.
        slo_services: ``SingleLogoutService`` endpoints, in document order.
        signing_certificates: Base64 DER certificates of ``KeyDescriptor`` elements usable for
            signing (``use="signing"`` or no ``use``), white space removed.
        encryption_certificates: Likewise for encryption (``use="encryption"`` or no ``use``).
        name_id_formats: Published ``NameIDFormat`` values.
        scopes: ``shibmd:Scope`` values (of the IDPSSODescriptor and of the entity).
        display_names: ``mdui:DisplayName`` by ``xml:lang``.
        descriptions: ``mdui:Description`` by ``xml:lang``.
        logos: ``mdui:Logo`` values.
        information_urls: ``mdui:InformationURL`` by ``xml:lang``.
        privacy_statement_urls: ``mdui:PrivacyStatementURL`` by ``xml:lang``.
        organization_display_names: ``md:OrganizationDisplayName`` by ``xml:lang``.
        want_authn_requests_signed: The IDPSSODescriptor's ``WantAuthnRequestsSigned``.
        valid_until: The effective (earliest) ``validUntil``, aware UTC, if any.
        cache_duration: The effective (shortest) ``cacheDuration``, if any.
    """

    entity_id: str
    sso_services: tuple[Endpoint, ...] = ()
    slo_services: tuple[Endpoint, ...] = ()
    signing_certificates: tuple[str, ...] = ()
    encryption_certificates: tuple[str, ...] = ()
    name_id_formats: tuple[str, ...] = ()
    scopes: tuple[Scope, ...] = ()
    display_names: Mapping[str, str] = attrs.field(factory=dict)
    descriptions: Mapping[str, str] = attrs.field(factory=dict)
    logos: tuple[Logo, ...] = ()
    information_urls: Mapping[str, str] = attrs.field(factory=dict)
    privacy_statement_urls: Mapping[str, str] = attrs.field(factory=dict)
    organization_display_names: Mapping[str, str] = attrs.field(factory=dict)
    want_authn_requests_signed: bool = False
    valid_until: datetime | None = None
    cache_duration: timedelta | None = None

    def display_name(self, lang: str | None = "en") -> str:
        """The UIInfo display name in ``lang`` (or English, or any), else the organisation's
        display name, else the entityID."""
        return (
            _best_lang(self.display_names, lang)
            or _best_lang(self.organization_display_names, lang)
            or self.entity_id
        )

    def sso_service(self, binding: str | None = None) -> Endpoint | None:
        """The first SingleSignOnService with ``binding`` (default: Redirect, else POST)."""
        return _pick(self.sso_services, binding)

    def slo_service(self, binding: str | None = None) -> Endpoint | None:
        """The first SingleLogoutService with ``binding`` (default: Redirect, else POST)."""
        return _pick(self.slo_services, binding)

    def is_expired(self, now: datetime) -> bool:
        """Whether ``validUntil`` has passed at ``now``."""
        return self.valid_until is not None and _aware(now) >= self.valid_until

    def scope_allows(self, scope: str) -> bool:
        """Whether ``scope`` (the part after ``@`` of a scoped value) is one of the IdP's."""
        return any(s.matches(scope) for s in self.scopes)

    def next_refresh(
        self,
        now: datetime,
        *,
        default: timedelta = DEFAULT_REFRESH,
        minimum: timedelta = timedelta(minutes=1),
    ) -> datetime:
        """When to fetch this metadata again, if it was fetched at ``now``.

        ``now`` plus ``cacheDuration`` (``default`` when the metadata has none, never less than
        ``minimum``), but no later than ``validUntil``.
        """
        now = _aware(now)
        wait = self.cache_duration if self.cache_duration is not None else default
        due = now + max(wait, minimum)
        if self.valid_until is not None:
            due = min(due, max(self.valid_until, now))
        return due

    def to_settings_dict(
        self, *, sso_binding: str | None = None, slo_binding: str | None = None
    ) -> dict[str, Any]:
        """The python3-saml / invenio-saml ``settings["idp"]`` section for this IdP.

        Shaped like ``OneLogin_Saml2_IdPMetadataParser.parse(...)["idp"]``: ``entityId``,
        ``singleSignOnService`` and ``singleLogoutService`` (``url``, ``binding``, and
        ``responseUrl`` when the IdP publishes a ResponseLocation), and ``x509cert`` when there is
        exactly one certificate, else ``x509certMulti`` (``signing`` / ``encryption``).

        Args:
            sso_binding: Binding of the SingleSignOnService to use. Default: HTTP-Redirect when
                published, else HTTP-POST (python3-saml only looks for HTTP-Redirect).
            slo_binding: Likewise for SingleLogoutService (omitted when the IdP has none).

        Raises:
            SAMLValidationError: ``saml.metadata_invalid`` when the IdP publishes no
                SingleSignOnService with the requested (or a usable) binding.
        """
        sso = self.sso_service(sso_binding)
        if sso is None:
            wanted = sso_binding or f"{BINDING_HTTP_REDIRECT} or {BINDING_HTTP_POST}"
            raise SAMLValidationError(
                f"IdP metadata of {self.entity_id!r} has no SingleSignOnService with binding "
                f"{wanted}",
                code="saml.metadata_invalid",
            )
        idp: dict[str, Any] = {
            "entityId": self.entity_id,
            "singleSignOnService": {"url": sso.location, "binding": sso.binding},
        }
        slo = self.slo_service(slo_binding)
        if slo is not None:
            section = {"url": slo.location, "binding": slo.binding}
            if slo.response_location:
                section["responseUrl"] = slo.response_location
            idp["singleLogoutService"] = section
        signing = list(self.signing_certificates)
        encryption = list(self.encryption_certificates)
        distinct = set(signing) | set(encryption)
        if len(distinct) == 1 and len(signing) <= 1 and len(encryption) <= 1:
            idp["x509cert"] = next(iter(distinct))
        elif distinct:
            multi: dict[str, list[str]] = {}
            if signing:
                multi["signing"] = signing
            if encryption:
                multi["encryption"] = encryption
            idp["x509certMulti"] = multi
        return idp


def _pick(endpoints: Sequence[Endpoint], binding: str | None) -> Endpoint | None:
    wanted = (binding,) if binding else (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
    for want in wanted:
        for endpoint in endpoints:
            if endpoint.binding == want:
                return endpoint
    return None


# --- public functions --------------------------------------------------------------------------


def parse_idp_metadata(
    xml: bytes | str,
    *,
    entity_id: str | None = None,
    certificate: _CertificateArg = None,
    allow_sha1: bool = False,
    now: datetime | None = None,
) -> IdPMetadata:
    """Parse IdP metadata: a single EntityDescriptor or an EntitiesDescriptor aggregate.

    Args:
        xml: The metadata document (bytes, or XML text).
        entity_id: Which entity to pick. Required when the document holds several IdPs; when
            omitted, the document's only IdP is taken.
        certificate: Certificate(s) (PEM or base64 DER) the document's root signature must
            verify with. When given, an unsigned or wrongly signed document is refused.
        allow_sha1: Accept an RSA-SHA1 / SHA-1 metadata signature.
        now: The current time (aware); defaults to the system clock.

    Raises:
        SAMLValidationError: ``saml.metadata_invalid``, ``saml.metadata_expired``,
            ``saml.metadata_signature_invalid`` or ``saml.metadata_entity_not_found`` (no such
            entity, the entity is not a SAML 2.0 IdP, or several IdPs and no ``entity_id``).
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if entity_id is not None:
        return find_idp(data, entity_id, certificate=certificate, allow_sha1=allow_sha1, now=now)
    found: IdPMetadata | None = None
    for idp in _iter_idps(
        data, now=_now(now), certificate=certificate, allow_sha1=allow_sha1, strict_expiry=True
    ):
        if found is not None:
            raise SAMLValidationError(
                "the metadata describes several IdPs: pass entity_id to choose one",
                code="saml.metadata_entity_not_found",
            )
        found = idp
    if found is None:
        raise SAMLValidationError(
            "the metadata describes no SAML 2.0 IdP (no IDPSSODescriptor supporting "
            f"{SAML2_PROTOCOL})",
            code="saml.metadata_entity_not_found",
        )
    return found


def iter_idps(
    source: MetadataSource,
    *,
    certificate: _CertificateArg = None,
    allow_sha1: bool = False,
    now: datetime | None = None,
) -> Iterator[IdPMetadata]:
    """Yield every SAML 2.0 IdP of a metadata document, streaming.

    Entities without an IDPSSODescriptor for SAML 2.0 (service providers, SAML 1.1-only IdPs)
    and individually expired entities are skipped. Memory stays bounded unless ``certificate`` is
    given (see the module documentation).

    Args:
        source: The document: bytes, a file path, or a binary file object.
        certificate: Certificate(s) the root signature must verify with.
        allow_sha1: Accept a SHA-1 metadata signature.
        now: The current time (aware); defaults to the system clock.

    Raises:
        SAMLValidationError: ``saml.metadata_invalid``, ``saml.metadata_expired`` (the whole
            document is expired) or ``saml.metadata_signature_invalid``.
    """
    return _iter_idps(
        source, now=_now(now), certificate=certificate, allow_sha1=allow_sha1, strict_expiry=False
    )


def find_idp(
    source: MetadataSource,
    entity_id: str,
    *,
    certificate: _CertificateArg = None,
    allow_sha1: bool = False,
    now: datetime | None = None,
) -> IdPMetadata:
    """Find the IdP ``entity_id`` in a metadata document, reading no further than the match.

    Args:
        source: The document: bytes, a file path, or a binary file object.
        entity_id: The IdP's entityID.
        certificate: Certificate(s) the root signature must verify with.
        allow_sha1: Accept a SHA-1 metadata signature.
        now: The current time (aware); defaults to the system clock.

    Raises:
        SAMLValidationError: ``saml.metadata_entity_not_found`` (absent, or not a SAML 2.0 IdP),
            ``saml.metadata_expired``, ``saml.metadata_invalid``,
            ``saml.metadata_signature_invalid``.
    """
    current = _now(now)
    for element, inherited in _entity_elements(source, certificate, allow_sha1, current):
        if element.get("entityID") != entity_id:
            continue
        idp = _idp_from_element(element, inherited)
        if idp is None:
            raise SAMLValidationError(
                f"entity {entity_id!r} is in the metadata but is not a SAML 2.0 IdP "
                "(no IDPSSODescriptor supporting the SAML 2.0 protocol)",
                code="saml.metadata_entity_not_found",
            )
        _check_not_expired(idp.valid_until, current, what=f"metadata of {entity_id!r}")
        return idp
    raise SAMLValidationError(
        f"entity {entity_id!r} is not in the metadata",
        code="saml.metadata_entity_not_found",
        hint="check the entityID (it is case-sensitive) and that the aggregate is the right one",
    )


def list_idps(
    source: MetadataSource,
    *,
    certificate: _CertificateArg = None,
    allow_sha1: bool = False,
    now: datetime | None = None,
) -> list[IdPListing]:
    """List the SAML 2.0 IdPs of a metadata document for a discovery page, streaming.

    Returns:
        One :class:`IdPListing` per IdP, in document order (sort by
        :meth:`IdPListing.display_name` for display). Expired entities are left out.

    Raises:
        SAMLValidationError: as :func:`iter_idps`.
    """
    current = _now(now)
    listings: list[IdPListing] = []
    for element, inherited in _entity_elements(source, certificate, allow_sha1, current):
        descriptor = _idp_descriptor(element)
        if descriptor is None:
            continue
        valid_until, _ = _validity(element, descriptor, inherited)
        if valid_until is not None and current >= valid_until:
            continue
        entity_id = element.get("entityID")
        if not entity_id:
            raise _invalid("an EntityDescriptor has no entityID")
        ui = _uiinfo(descriptor)
        display_names = _lang_map(ui, f"{{{_MDUI}}}DisplayName") if ui is not None else {}
        if not display_names:
            org = element.find(_ORGANIZATION)
            if org is not None:
                display_names = _lang_map(org, _ORG_DISPLAY_NAME)
        listings.append(
            IdPListing(
                entity_id=entity_id,
                display_names=display_names,
                logos=_logos(ui) if ui is not None else (),
            )
        )
    return listings


def fetch_metadata(
    url: str,
    transport: Transport,
    *,
    timeout: Timeout | None = None,
    max_bytes: int = DEFAULT_MAX_METADATA_BYTES,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """Fetch a metadata document through ``transport``.

    The transport enforces its own body limit too: ``RequestsTransport`` accepts 5 MB by
    default, so pass ``RequestsTransport(max_body=...)`` for federation aggregates.

    Args:
        url: The metadata URL.
        transport: The HTTP transport.
        timeout: Connect and read timeouts (default: 5 s connect, 30 s read).
        max_bytes: Largest document accepted.
        headers: Extra request headers.

    Raises:
        ProviderTimeoutError: The server did not answer in time (``provider.timeout``).
        ProviderUnreachableError: The server could not be reached (``provider.unreachable``).
        ProviderHTTPError: The server answered with an error status (``provider.http_error``).
        ProviderResponseError: The document is larger than ``max_bytes``
            (``saml.metadata_too_large``).
    """
    request_headers = {
        "accept": "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8",
        **dict(headers or {}),
    }
    request = HTTPRequest(
        method="GET",
        url=url,
        headers=request_headers,
        timeout=timeout or Timeout(connect=5.0, read=30.0),
        provider=url,
    )
    response = transport.send(request)
    response.raise_for_status(provider=url)
    if len(response.body) > max_bytes:
        raise ProviderResponseError(
            f"{url} sent metadata larger than {max_bytes} bytes",
            provider=url,
            code="saml.metadata_too_large",
            hint="raise max_bytes if this aggregate is legitimately that large",
        )
    return response.body


def fetch_idp_metadata(
    url: str,
    transport: Transport,
    *,
    entity_id: str | None = None,
    certificate: _CertificateArg = None,
    allow_sha1: bool = False,
    timeout: Timeout | None = None,
    max_bytes: int = DEFAULT_MAX_METADATA_BYTES,
    now: datetime | None = None,
) -> IdPMetadata:
    """Fetch metadata through ``transport`` and parse one IdP from it.

    Combines :func:`fetch_metadata` and :func:`parse_idp_metadata`; see both for the arguments
    and errors.
    """
    body = fetch_metadata(url, transport, timeout=timeout, max_bytes=max_bytes)
    return parse_idp_metadata(
        body, entity_id=entity_id, certificate=certificate, allow_sha1=allow_sha1, now=now
    )


# --- reading -----------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return _aware(now) if now is not None else datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidSettingError("expected an aware datetime (UTC), got a naive one", key="now")
    return moment.astimezone(UTC)


def _invalid(message: str) -> SAMLValidationError:
    return SAMLValidationError(f"invalid metadata: {message}", code="saml.metadata_invalid")


def _check_not_expired(valid_until: datetime | None, now: datetime, *, what: str) -> None:
    if valid_until is not None and now >= valid_until:
        raise SAMLValidationError(
            f"{what} expired at {valid_until.isoformat()} (validUntil)",
            code="saml.metadata_expired",
            hint="fetch fresh metadata from the federation or the IdP",
        )


def _iter_idps(
    source: MetadataSource,
    *,
    now: datetime,
    certificate: _CertificateArg,
    allow_sha1: bool,
    strict_expiry: bool,
) -> Iterator[IdPMetadata]:
    for element, inherited in _entity_elements(source, certificate, allow_sha1, now):
        idp = _idp_from_element(element, inherited)
        if idp is None:
            continue
        if idp.valid_until is not None and now >= idp.valid_until:
            if strict_expiry:
                _check_not_expired(idp.valid_until, now, what=f"metadata of {idp.entity_id!r}")
            continue
        yield idp


#: validUntil and cacheDuration inherited from the enclosing EntitiesDescriptor elements.
_Inherited: TypeAlias = tuple[datetime | None, timedelta | None]


def _entity_elements(
    source: MetadataSource,
    certificate: _CertificateArg,
    allow_sha1: bool,
    now: datetime,
) -> Iterator[tuple[etree._Element, _Inherited]]:
    """Yield every EntityDescriptor with what it inherits from its ancestors."""
    if certificate is not None:
        yield from _verified_entities(source, certificate, allow_sha1, now)
    else:
        yield from _streamed_entities(source, now)


def _streamed_entities(
    source: MetadataSource, now: datetime
) -> Iterator[tuple[etree._Element, _Inherited]]:
    stream, owned = _open(source)
    try:
        guarded = _GuardedStream(stream)
        events = etree.iterparse(
            guarded,
            events=("end",),
            tag=_ENTITY,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=False,
        )
        ancestors = _AncestorCache(now)
        seen_root = False
        try:
            for _event, element in events:
                if not seen_root:
                    seen_root = True
                    _check_root(element.getroottree())
                parent = element.getparent()
                yield element, ancestors.of(parent)
                # Bounded memory: drop this entity and everything before it.
                element.clear(keep_tail=False)
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
            root = events.root
        except etree.XMLSyntaxError as exc:
            raise _invalid(f"not well-formed XML ({_syntax_reason(exc)})") from exc
        if root is None:
            raise _invalid("empty document")
        if not seen_root:
            _check_root(root.getroottree())
            ancestors.of(root if root.tag == _ENTITIES else None)
    finally:
        if owned:
            stream.close()


def _verified_entities(
    source: MetadataSource,
    certificate: _CertificateArg,
    allow_sha1: bool,
    now: datetime,
) -> Iterator[tuple[etree._Element, _Inherited]]:
    root = _parse_tree(_read_all(source))
    _verify_signature(root, certificate, allow_sha1)
    ancestors = _AncestorCache(now)
    if root.tag == _ENTITY:
        yield root, ancestors.of(None)
        return
    for element in root.iter(_ENTITY):
        yield element, ancestors.of(element.getparent())


def _check_root(tree: etree._ElementTree) -> None:
    docinfo = cast(Any, tree.docinfo)  # the stubs lack .doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refused()
    if tree.getroot().tag not in (_ENTITY, _ENTITIES):
        raise _not_metadata()


def _not_metadata() -> SAMLValidationError:
    return _invalid(
        "the document is not SAML 2.0 metadata (its root element is not an EntityDescriptor "
        "or EntitiesDescriptor)"
    )


def _doctype_refused() -> SAMLValidationError:
    return SAMLValidationError(
        "metadata with a DOCTYPE is refused (DTDs and entity declarations are never processed)",
        code="saml.xml_dtd_forbidden",
    )


class _AncestorCache:
    """Effective validUntil/cacheDuration of enclosing EntitiesDescriptor elements.

    Checks, once per distinct parent, that no enclosing EntitiesDescriptor has expired.
    """

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._parent: etree._Element | None = None
        self._value: _Inherited = (None, None)
        self._filled = False

    def of(self, parent: etree._Element | None) -> _Inherited:
        if self._filled and parent is self._parent:
            return self._value
        valid_until: datetime | None = None
        cache_duration: timedelta | None = None
        node = parent
        while node is not None:
            valid_until = _earliest(valid_until, _valid_until(node))
            cache_duration = _shortest(cache_duration, _cache_duration(node))
            node = node.getparent()
        _check_not_expired(valid_until, self._now, what="the metadata (EntitiesDescriptor)")
        self._parent, self._value, self._filled = parent, (valid_until, cache_duration), True
        return self._value


def _open(source: MetadataSource) -> tuple[IO[bytes], bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | os.PathLike):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise _invalid(f"cannot open {os.fspath(source)!r}: {exc.strerror}") from exc
    if hasattr(source, "read"):
        return source, False
    raise TypeError(
        "metadata source must be bytes, a file path or a binary file object, "
        f"not {type(source).__name__}"
    )


def _read_all(source: MetadataSource) -> bytes:
    stream, owned = _open(source)
    try:
        data = stream.read()
    finally:
        if owned:
            stream.close()
    if not isinstance(data, bytes):
        raise TypeError("metadata file objects must be opened in binary mode")
    return data


def _parse_tree(data: bytes) -> etree._Element:
    """Parse a whole metadata document with the SP's hardened parser (no DTD, no network)."""
    if _prolog_has_doctype(data[:_PROLOG_LIMIT], final=True):  # also in UTF-16
        raise _doctype_refused()
    try:
        return parse_xml(data, expected=(_ENTITY, _ENTITIES), max_size=max(len(data), 1))
    except SAMLValidationError as exc:
        if exc.code == "saml.xml_malformed":
            raise _invalid("not well-formed XML") from None
        if exc.code == "saml.unexpected_element":
            raise _not_metadata() from None
        raise


def _syntax_reason(exc: etree.XMLSyntaxError) -> str:
    line = getattr(exc, "lineno", None)
    reason = (exc.msg or "syntax error").split("\n", 1)[0][:120]
    return f"{reason}, line {line}" if line else reason


def _verify_signature(root: etree._Element, certificate: _CertificateArg, allow_sha1: bool) -> None:
    if isinstance(certificate, str | bytes):
        certificates: list[str | bytes] = [certificate]
    else:
        certificates = list(certificate or ())
    if not certificates:
        raise SAMLValidationError(
            "no certificate given to verify the metadata signature with",
            code="saml.metadata_signature_invalid",
        )
    try:
        verify_signed_element(root, certificates=certificates, allow_sha1=allow_sha1)
    except SAMLValidationError as exc:
        raise SAMLValidationError(
            f"metadata signature check failed: {exc.message}",
            code="saml.metadata_signature_invalid",
            hint="check the federation's signing certificate, or re-fetch the metadata",
        ) from exc


# --- the prolog guard --------------------------------------------------------------------------

_PROLOG_LIMIT = 1024 * 1024


def _prolog_has_doctype(head: bytes, *, final: bool) -> bool | None:
    """Whether the prolog of ``head`` declares a DOCTYPE (``None``: need more bytes).

    Anything of the form ``<!`` in the prolog that is not a comment is treated as a DOCTYPE.
    """
    text = _decode_head(head)
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n\ufeff":
            i += 1
        if i >= n:
            return False if final else None
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return False if final else None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return False if final else None
            i = end + 3
        elif text.startswith("<!", i):
            return True
        elif text.startswith("<", i) and i + 1 >= n and not final:
            return None
        else:
            return False  # the root element (or garbage the parser will reject)


def _decode_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", errors="ignore")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")


class _GuardedStream:
    """A binary stream that refuses a DOCTYPE before the parser reads past the prolog."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._pending = b""
        self._checked = False

    def _check(self) -> None:
        head = b""
        while True:
            chunk = self._raw.read(64 * 1024)
            if not isinstance(chunk, bytes):
                raise TypeError("metadata file objects must be opened in binary mode")
            head += chunk
            verdict = _prolog_has_doctype(head, final=not chunk)
            if verdict:
                raise _doctype_refused()
            if verdict is False:
                break
            if len(head) > _PROLOG_LIMIT:
                raise _invalid("no root element within the first megabyte")
        self._pending = head
        self._checked = True

    def read(self, size: int = -1) -> bytes:
        if not self._checked:
            self._check()
        if self._pending:
            if size is None or size < 0:
                data, self._pending = self._pending + self._raw.read(), b""
                return data
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._raw.read(size)


# --- one entity --------------------------------------------------------------------------------


def _idp_descriptor(entity: etree._Element) -> etree._Element | None:
    for descriptor in entity.iterchildren(_IDPSSO):
        protocols = (descriptor.get("protocolSupportEnumeration") or "").split()
        if SAML2_PROTOCOL in protocols:
            return descriptor
    return None


def _validity(
    entity: etree._Element, descriptor: etree._Element, inherited: _Inherited
) -> tuple[datetime | None, timedelta | None]:
    valid_until, cache_duration = inherited
    for node in (entity, descriptor):
        valid_until = _earliest(valid_until, _valid_until(node))
        cache_duration = _shortest(cache_duration, _cache_duration(node))
    return valid_until, cache_duration


def _idp_from_element(entity: etree._Element, inherited: _Inherited) -> IdPMetadata | None:
    descriptor = _idp_descriptor(entity)
    if descriptor is None:
        return None
    entity_id = entity.get("entityID")
    if not entity_id:
        raise _invalid("an EntityDescriptor has no entityID")
    valid_until, cache_duration = _validity(entity, descriptor, inherited)

    signing: list[str] = []
    encryption: list[str] = []
    for key in descriptor.iterchildren(_KEY_DESCRIPTOR):
        use = key.get("use")
        for cert_element in key.iterfind(_X509_CERT_PATH):
            cert = "".join(_text(cert_element).split())
            if not cert:
                continue
            if use in (None, "signing") and cert not in signing:
                signing.append(cert)
            if use in (None, "encryption") and cert not in encryption:
                encryption.append(cert)

    scopes: list[Scope] = []
    for holder in (descriptor, entity):
        extensions = holder.find(_EXTENSIONS)
        if extensions is None:
            continue
        for scope_element in extensions.iterchildren(_SCOPE):
            scope = _scope(scope_element)
            if scope is not None and scope not in scopes:
                scopes.append(scope)

    ui = _uiinfo(descriptor)
    org = entity.find(_ORGANIZATION)
    return IdPMetadata(
        entity_id=entity_id,
        sso_services=tuple(_endpoints(descriptor, _SSO)),
        slo_services=tuple(_endpoints(descriptor, _SLO)),
        signing_certificates=tuple(signing),
        encryption_certificates=tuple(encryption),
        name_id_formats=tuple(
            t for t in (_text(e) for e in descriptor.iterchildren(_NAME_ID_FORMAT)) if t
        ),
        scopes=tuple(scopes),
        display_names=_lang_map(ui, f"{{{_MDUI}}}DisplayName") if ui is not None else {},
        descriptions=_lang_map(ui, f"{{{_MDUI}}}Description") if ui is not None else {},
        logos=_logos(ui) if ui is not None else (),
        information_urls=_lang_map(ui, f"{{{_MDUI}}}InformationURL") if ui is not None else {},
        privacy_statement_urls=(
            _lang_map(ui, f"{{{_MDUI}}}PrivacyStatementURL") if ui is not None else {}
        ),
        organization_display_names=_lang_map(org, _ORG_DISPLAY_NAME) if org is not None else {},
        want_authn_requests_signed=_boolean(descriptor.get("WantAuthnRequestsSigned")),
        valid_until=valid_until,
        cache_duration=cache_duration,
    )


def _text(element: etree._Element) -> str:
    """The full text content (comments inside cannot truncate it)."""
    if len(element) == 0:
        return (element.text or "").strip()
    return text_content(element).strip()


def _boolean(value: str | None) -> bool:
    return value is not None and value.strip() in ("true", "1")


def _endpoints(descriptor: etree._Element, tag: str) -> Iterator[Endpoint]:
    for element in descriptor.iterchildren(tag):
        binding = element.get("Binding")
        location = element.get("Location")
        if not binding or not location:
            raise _invalid(f"a {etree.QName(tag).localname} has no Binding or Location attribute")
        yield Endpoint(
            binding=binding,
            location=location,
            response_location=element.get("ResponseLocation") or None,
        )


def _scope(element: etree._Element) -> Scope | None:
    value = _text(element)
    if not value:
        return None
    regexp = _boolean(element.get("regexp"))
    if regexp:
        try:
            re.compile(value)
        except re.error as exc:
            raise _invalid("a shibmd:Scope regexp is not a valid regular expression") from exc
    return Scope(value, regexp)


def _uiinfo(descriptor: etree._Element) -> etree._Element | None:
    extensions = descriptor.find(_EXTENSIONS)
    return extensions.find(_UIINFO) if extensions is not None else None


def _lang_map(parent: etree._Element, tag: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for element in parent.iterchildren(tag):
        text = _text(element)
        if text:
            result.setdefault(element.get(_XML_LANG) or "", text)
    return result


def _logos(ui: etree._Element) -> tuple[Logo, ...]:
    logos: list[Logo] = []
    for element in ui.iterchildren(f"{{{_MDUI}}}Logo"):
        url = _text(element)
        if url:
            logos.append(
                Logo(
                    url=url,
                    width=_int_or_none(element.get("width")),
                    height=_int_or_none(element.get("height")),
                    lang=element.get(_XML_LANG),
                )
            )
    return tuple(logos)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


# --- dates and durations -----------------------------------------------------------------------


def _valid_until(element: etree._Element) -> datetime | None:
    value = element.get("validUntil")
    return _parse_datetime(value) if value is not None else None


def _cache_duration(element: etree._Element) -> timedelta | None:
    value = element.get("cacheDuration")
    return _parse_duration(value) if value is not None else None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _shortest(a: timedelta | None, b: timedelta | None) -> timedelta | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _parse_datetime(value: str) -> datetime:
    """An xs:dateTime; no time zone means UTC (SAML core §1.3.3)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _invalid("validUntil is not an xs:dateTime") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def _parse_duration(value: str) -> timedelta:
    """An xs:duration (a year counts 365 days, a month 30). Negative durations are invalid."""
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise _invalid("cacheDuration is not a non-negative xs:duration")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(
        days=parts["years"] * 365 + parts["months"] * 30 + parts["days"],
        hours=parts["hours"],
        minutes=parts["minutes"],
        seconds=parts["seconds"],
    )
