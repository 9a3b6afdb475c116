"""Hardened XML parsing: size limit, no DTD, no entities, expected roots, full text values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from authkit.errors import SAMLValidationError
from authkit.saml._xml import (
    decode_base64,
    format_instant,
    parse_instant,
    parse_xml,
    qname,
    text_content,
)

RESPONSE = qname("urn:oasis:names:tc:SAML:2.0:protocol", "Response")
OK = b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"/>'


def code_of(data: bytes, **kwargs: object) -> str:
    with pytest.raises(SAMLValidationError) as info:
        parse_xml(data, expected=(RESPONSE,), **kwargs)  # type: ignore[arg-type]
    return info.value.code


def test_an_expected_root_parses() -> None:
    assert parse_xml(OK, expected=(RESPONSE,)).get("ID") == "_1"


def test_the_size_limit_applies_before_parsing() -> None:
    assert code_of(OK, max_size=len(OK) - 1) == "saml.xml_too_large"
    assert parse_xml(OK, expected=(RESPONSE,), max_size=len(OK)) is not None


@pytest.mark.parametrize(
    "document",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
        b"&lol3;</samlp:Response>",
        # external entity (XXE)
        b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
        b"&xxe;</samlp:Response>",
        # external DTD over the network
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>',
        # an ID declared in a DTD (a signature-wrapping helper)
        b"<!DOCTYPE samlp:Response [<!ATTLIST x Foo ID #IMPLIED>]>" + OK,
        # a bare DOCTYPE
        b"<!DOCTYPE samlp:Response>" + OK,
    ],
    ids=["billion-laughs", "xxe", "external-dtd", "dtd-id", "bare-doctype"],
)
def test_any_doctype_is_refused(document: bytes) -> None:
    assert code_of(document) == "saml.xml_dtd_forbidden"


def test_a_doctype_in_another_encoding_is_refused_after_parsing() -> None:
    document = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:Response>'
    ).encode("utf-16")
    assert b"<!DOCTYPE" not in document
    assert code_of(document) == "saml.xml_dtd_forbidden"


def test_undefined_entities_are_malformed() -> None:
    document = (
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>'
    )
    assert code_of(document) == "saml.xml_malformed"


def test_malformed_and_unexpected_documents_are_refused() -> None:
    assert code_of(b"<samlp:Response") == "saml.xml_malformed"
    assert code_of(b"") == "saml.xml_malformed"
    assert code_of(b"<Response/>") == "saml.unexpected_element"


def test_text_content_skips_comments_and_processing_instructions() -> None:
    element = etree.fromstring(b"<n>alice@evil.com<!---->.example.org<?pi data?>.x</n>")
    assert text_content(element) == "alice@evil.com.example.org.x"
    assert text_content(etree.fromstring(b"<n>plain</n>")) == "plain"
    assert text_content(etree.fromstring(b"<n/>")) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15T12:00:00Z", datetime(2026, 1, 15, 12, tzinfo=UTC)),
        ("2026-01-15T12:00:00.1234567Z", datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-15T13:00:00+01:00", datetime(2026, 1, 15, 12, tzinfo=UTC)),
        ("2026-01-15T12:00:00", datetime(2026, 1, 15, 12, tzinfo=UTC)),
    ],
)
def test_instants_parse_to_aware_utc(value: str, expected: datetime) -> None:
    assert parse_instant(value, what="x") == expected


def test_a_bad_instant_is_malformed() -> None:
    with pytest.raises(SAMLValidationError) as info:
        parse_instant("tomorrow", what="NotOnOrAfter")
    assert info.value.code == "saml.malformed"
    assert "NotOnOrAfter" in info.value.message
    assert parse_instant(None, what="x") is None


def test_instants_format_in_utc() -> None:
    moment = datetime(2026, 1, 15, 13, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_instant(moment) == "2026-01-15T12:00:00Z"


def test_base64_is_decoded_strictly_with_white_space_allowed() -> None:
    assert decode_base64("aGVs\nbG8=") == b"hello"
    assert decode_base64(b"aGVsbG8=") == b"hello"
    for bad in ("aGVsbG8", "aGVs*G8=", "h\u00e9llo"):
        with pytest.raises(SAMLValidationError) as info:
            decode_base64(bad)
        assert info.value.code == "saml.base64_invalid"
    with pytest.raises(SAMLValidationError) as info:
        decode_base64("A" * 3000, max_size=1024)
    assert info.value.code == "saml.xml_too_large"
