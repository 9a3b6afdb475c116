"""SAML 2.0 HTTP bindings: HTTP-Redirect (saml-bindings-2.0-os §3.4) and HTTP-POST (§3.5).

Sans-IO: these functions turn a protocol message (XML bytes) into what the browser must be sent —
a URL or an auto-submitting HTML form — and turn what the browser brought back (a raw query
string, a form field) into XML bytes, checking the Redirect binding's query signature.

HTTP-Redirect (§3.4.4.1): the XML is DEFLATE-compressed (raw, RFC 1951), base64-encoded and
URL-encoded into ``SAMLRequest`` or ``SAMLResponse``, followed by ``RelayState``; when signed,
``SigAlg`` is added and the signature is computed over the exact octets
``SAMLRequest=…&RelayState=…&SigAlg=…`` and sent as ``Signature``. The XML itself then carries no
``ds:Signature``. To verify, the *received* URL-encoded values are used, never re-encoded ones:
encoders disagree on case and on which characters to escape (ADFS lowercases), and verifying
what was received makes that irrelevant.

HTTP-POST (§3.5.4): the XML, signed inside when required, is base64-encoded into a hidden form
field that a small HTML page submits to the peer. Every value put in the page is HTML-escaped.
"""

from __future__ import annotations

import base64
import binascii
import html
import zlib
from collections.abc import Mapping, Sequence
from urllib.parse import quote, unquote, unquote_plus

import attrs

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml._xml import DEFAULT_MAX_SIZE, decode_base64
from authkit.saml._xmldsig import sign_bytes, verify_bytes

__all__ = [
    "RedirectMessage",
    "decode_post",
    "decode_redirect",
    "encode_post",
    "encode_redirect",
    "post_form",
]


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes, max_size: int) -> bytes:
    decompressor = zlib.decompressobj(-15)
    try:
        result = decompressor.decompress(data, max_size)
    except zlib.error:
        raise SAMLValidationError(
            "the SAML message is not DEFLATE-compressed as the Redirect binding requires",
            code="saml.malformed",
        ) from None
    if decompressor.unconsumed_tail:
        raise SAMLValidationError(
            f"the SAML message inflates beyond the {max_size}-byte limit",
            code="saml.xml_too_large",
        )
    return result


def _quote(value: str) -> str:
    return quote(value, safe="")


def encode_redirect(
    destination: str,
    xml: bytes,
    *,
    param: str = "SAMLRequest",
    relay_state: str | None = None,
    key_pem: bytes | None = None,
    signature_algorithm: str | None = None,
) -> str:
    """The URL that carries ``xml`` to ``destination`` over HTTP-Redirect.

    Args:
        destination: The peer's endpoint (it may already have a query string).
        xml: The protocol message, unsigned (the Redirect binding signs the query instead).
        param: ``SAMLRequest`` or ``SAMLResponse``.
        relay_state: Opaque state the peer returns unchanged.
        key_pem: Sign the query with this private key (§3.4.4.1); unsigned when ``None``.
        signature_algorithm: The ``SigAlg`` URI, required with ``key_pem``.
    """
    encoded = base64.b64encode(_deflate(xml)).decode("ascii")
    query = f"{param}={_quote(encoded)}"
    if relay_state is not None:
        query += f"&RelayState={_quote(relay_state)}"
    if key_pem is not None:
        if signature_algorithm is None:
            raise InvalidSettingError("a signature algorithm is required to sign the query")
        query += f"&SigAlg={_quote(signature_algorithm)}"
        signature = sign_bytes(
            query.encode("ascii"), key_pem=key_pem, algorithm=signature_algorithm
        )
        query += f"&Signature={_quote(base64.b64encode(signature).decode('ascii'))}"
    separator = "&" if "?" in destination else "?"
    return f"{destination}{separator}{query}"


def encode_post(
    xml: bytes, *, param: str = "SAMLRequest", relay_state: str | None = None
) -> dict[str, str]:
    """The form fields that carry ``xml`` over HTTP-POST (§3.5.4)."""
    fields = {param: base64.b64encode(xml).decode("ascii")}
    if relay_state is not None:
        fields["RelayState"] = relay_state
    return fields


def post_form(action: str, fields: Mapping[str, str]) -> str:
    """A small HTML page that POSTs ``fields`` to ``action`` by itself (a button without
    JavaScript). Every value is HTML-escaped."""
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8"><title>Continue</title></head>\n'
        '<body onload="document.forms[0].submit()">\n'
        f'<form method="post" action="{html.escape(action)}">\n'
        f"{inputs}\n"
        '<noscript><p>JavaScript is off: press Continue.</p><input type="submit" '
        'value="Continue"></noscript>\n'
        "</form>\n</body></html>\n"
    )


def decode_post(value: str | bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """The XML carried in an HTTP-POST ``SAMLResponse``/``SAMLRequest`` field.

    Raises:
        SAMLValidationError: ``saml.base64_invalid`` or ``saml.xml_too_large``.
    """
    return decode_base64(value, max_size=max_size)


@attrs.frozen(kw_only=True)
class RedirectMessage:
    """A message received over HTTP-Redirect.

    Attributes:
        param: ``SAMLRequest`` or ``SAMLResponse``.
        xml: The inflated XML.
        relay_state: ``RelayState``, if sent.
        signature_algorithm: ``SigAlg``, if the query is signed.
        signature: The decoded ``Signature``, if the query is signed.
        signed_octets: The exact query octets the signature covers.
    """

    param: str
    xml: bytes
    relay_state: str | None
    signature_algorithm: str | None
    signature: bytes | None
    signed_octets: bytes

    @property
    def signed(self) -> bool:
        """Whether the query carries a signature (not whether it is valid)."""
        return self.signature is not None

    def verify(self, *, certificates: Sequence[str | bytes], allow_sha1: bool = False) -> None:
        """Verify the query signature with one of ``certificates``.

        Raises:
            SAMLValidationError: ``saml.signature_missing``, ``saml.signature_invalid`` or
                ``saml.algorithm_not_allowed``.
        """
        if self.signature is None or self.signature_algorithm is None:
            raise SAMLValidationError(
                "the Redirect-binding message is not signed", code="saml.signature_missing"
            )
        verify_bytes(
            self.signed_octets,
            self.signature,
            certificates=certificates,
            algorithm=self.signature_algorithm,
            allow_sha1=allow_sha1,
        )


def decode_redirect(
    query_string: str, *, param: str, max_size: int = DEFAULT_MAX_SIZE
) -> RedirectMessage:
    """Decode an HTTP-Redirect message from the raw query string as received.

    Args:
        query_string: The URL's query, still URL-encoded (``SAMLRequest=…&RelayState=…``).
        param: ``SAMLRequest`` or ``SAMLResponse``.
        max_size: Largest accepted XML, after inflating.

    Raises:
        SAMLValidationError: ``saml.malformed`` (missing or repeated parameter, bad encoding),
            ``saml.base64_invalid``, ``saml.xml_too_large``.
    """
    raw: dict[str, str] = {}
    for pair in query_string.lstrip("?").split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name in raw:
            raise SAMLValidationError(
                f"the query repeats the {name} parameter", code="saml.malformed"
            )
        raw[name] = value
    if param not in raw:
        raise SAMLValidationError(f"the query has no {param} parameter", code="saml.malformed")

    octets = f"{param}={raw[param]}"
    if "RelayState" in raw:
        octets += f"&RelayState={raw['RelayState']}"
    signature: bytes | None = None
    algorithm: str | None = None
    if "Signature" in raw or "SigAlg" in raw:
        if "SigAlg" not in raw or "Signature" not in raw:
            raise SAMLValidationError(
                "the query has one of Signature and SigAlg without the other",
                code="saml.malformed",
            )
        octets += f"&SigAlg={raw['SigAlg']}"
        algorithm = unquote_plus(raw["SigAlg"])
        try:
            # base64 may hold "+": decode with unquote, never unquote_plus.
            signature = base64.b64decode(unquote(raw["Signature"]), validate=True)
        except (binascii.Error, ValueError):
            raise SAMLValidationError(
                "the query Signature is not valid base64", code="saml.base64_invalid"
            ) from None

    try:
        compressed = base64.b64decode("".join(unquote(raw[param]).split()), validate=True)
    except (binascii.Error, ValueError):
        raise SAMLValidationError(
            f"the {param} parameter is not valid base64", code="saml.base64_invalid"
        ) from None
    return RedirectMessage(
        param=param,
        xml=_inflate(compressed, max_size),
        relay_state=unquote_plus(raw["RelayState"]) if "RelayState" in raw else None,
        signature_algorithm=algorithm,
        signature=signature,
        signed_octets=octets.encode("ascii", "replace"),
    )
