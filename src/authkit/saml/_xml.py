"""Hardened XML parsing for SAML messages, and the namespace constants.

Every SAML message authkit reads comes from a browser, so from anyone. It is parsed here and
nowhere else, with one lxml parser configured against the classic XML attacks:

- the size is checked *before* parsing (``max_size``);
- no DTD is loaded and any ``<!DOCTYPE`` is refused, before and after parsing (entity
  expansion bombs, external entities and DTD-based ID tricks all need one);
- entities are never resolved and the network is never used;
- ``huge_tree`` stays off, so libxml2 keeps its depth and text-node limits;
- the root element must be one of the elements the caller expects.

Text values are read with :func:`text_content`, which joins all text of an element and skips
comments and processing instructions: ``alice@evil.com<!---->.example.org`` reads as the full
``alice@evil.com.example.org`` — the same string the signature covered — never as
``alice@evil.com``.
"""

from __future__ import annotations

import binascii
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, cast

from lxml import etree

from authkit.errors import SAMLValidationError

__all__ = [
    "DEFAULT_MAX_SIZE",
    "NSMAP",
    "NS_DS",
    "NS_MD",
    "NS_SAML",
    "NS_SAMLP",
    "NS_XENC",
    "NS_XS",
    "NS_XSI",
    "decode_base64",
    "format_instant",
    "parse_instant",
    "parse_xml",
    "qname",
    "text_content",
]

NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

NSMAP = {
    "saml": NS_SAML,
    "samlp": NS_SAMLP,
    "md": NS_MD,
    "ds": NS_DS,
    "xenc": NS_XENC,
    "xs": NS_XS,
    "xsi": NS_XSI,
}

#: Default upper bound of a SAML message, in bytes of XML (after base64 decoding). Real
#: responses with many attributes stay well under 100 kB.
DEFAULT_MAX_SIZE = 512 * 1024


def qname(namespace: str, local: str) -> str:
    """The Clark notation ``{namespace}local`` lxml uses for tags."""
    return f"{{{namespace}}}{local}"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


# lxml parsers are not thread-safe for concurrent use of one instance: one per thread.
_PARSERS = threading.local()


def _thread_parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _parser()
    return parser


def parse_xml(
    data: bytes,
    *,
    expected: Collection[str],
    max_size: int = DEFAULT_MAX_SIZE,
) -> etree._Element:
    """Parse an untrusted SAML message and return its root element.

    Args:
        data: The XML document, as bytes.
        expected: The root tags (Clark notation, see :func:`qname`) the caller accepts.
        max_size: Largest accepted document, in bytes.

    Raises:
        SAMLValidationError: ``saml.xml_too_large``, ``saml.xml_dtd_forbidden``,
            ``saml.xml_malformed`` or ``saml.unexpected_element``.
    """
    if len(data) > max_size:
        raise SAMLValidationError(
            f"the SAML message is larger than the {max_size}-byte limit",
            code="saml.xml_too_large",
        )
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _dtd_forbidden()
    try:
        root = etree.fromstring(data, _thread_parser())
    except etree.XMLSyntaxError:
        raise SAMLValidationError(
            "the SAML message is not well-formed XML", code="saml.xml_malformed"
        ) from None
    if root is None:  # pragma: no cover - lxml raises for empty documents
        raise SAMLValidationError("the SAML message is empty", code="saml.xml_malformed")
    docinfo = cast(Any, root.getroottree().docinfo)  # the stubs lack .doctype
    # The byte check above misses a DOCTYPE in another encoding (UTF-16...): check again.
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _dtd_forbidden()
    if root.tag not in expected:
        names = ", ".join(sorted(_local(tag) for tag in expected))
        raise SAMLValidationError(
            f"the SAML message is not a {names} element", code="saml.unexpected_element"
        )
    return root


def _dtd_forbidden() -> SAMLValidationError:
    return SAMLValidationError(
        "the SAML message contains a DOCTYPE, which SAML never needs and authkit refuses",
        code="saml.xml_dtd_forbidden",
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def decode_base64(value: str | bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Decode a base64 form or query value strictly (white space allowed, nothing else).

    Raises:
        SAMLValidationError: ``saml.base64_invalid`` or ``saml.xml_too_large``.
    """
    try:
        raw = value.encode("ascii") if isinstance(value, str) else bytes(value)
    except UnicodeEncodeError:
        raise _base64_invalid() from None
    # Base64 expands by 4/3: refuse before spending time on a huge value.
    if len(raw) > (max_size * 4) // 3 + 1024:
        raise SAMLValidationError(
            f"the SAML message is larger than the {max_size}-byte limit",
            code="saml.xml_too_large",
        )
    try:
        if b"\n" in raw or b"\r" in raw or b" " in raw or b"\t" in raw:
            raw = raw.translate(None, b" \t\r\n")
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise _base64_invalid() from None


def _base64_invalid() -> SAMLValidationError:
    return SAMLValidationError("the SAML message is not valid base64", code="saml.base64_invalid")


def text_content(element: etree._Element) -> str:
    """All the text inside ``element``, comments and processing instructions skipped.

    ``itertext`` yields the text of elements and the tails of every node, but never the text of
    a comment or processing instruction, so a comment cannot cut a value short.
    """
    if len(element) == 0:  # the usual case, and the fast one: no child node at all
        return element.text or ""
    return "".join(cast("list[str]", element.itertext()))


def parse_instant(value: str | None, *, what: str) -> datetime | None:
    """Parse an ``xs:dateTime`` SAML instant into an aware UTC datetime (``None`` stays ``None``).

    SAML requires UTC (core §1.3.3); a ``Z`` or an explicit offset is accepted, a time with no
    zone is read as UTC, as the spec says it is.

    Raises:
        SAMLValidationError: ``saml.malformed`` naming ``what``.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SAMLValidationError(
            f"{what} is not a valid xs:dateTime", code="saml.malformed"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """Format an aware datetime as a SAML instant (UTC, ``Z``, second precision)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
