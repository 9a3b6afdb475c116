"""HTTP-Redirect and HTTP-POST bindings, and the AuthnRequest a login sends through them."""

from __future__ import annotations

import base64
import zlib
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from lxml import etree
from saml_sp_kit import ACS_URL, IDP_SSO_URL, NOW, NS, SP_ENTITY_ID, keys, make_sp

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml._bindings import (
    decode_post,
    decode_redirect,
    encode_post,
    encode_redirect,
    post_form,
)
from authkit.saml._xmldsig import RSA_SHA1, RSA_SHA256, verify_signed_element

POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
XML = b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"/>'


def query_of(url: str) -> str:
    return urlsplit(url).query


def inflate(value: str) -> bytes:
    return zlib.decompress(base64.b64decode(value), -15)


# --- HTTP-Redirect -------------------------------------------------------------------------------


def test_redirect_round_trip_with_relay_state() -> None:
    url = encode_redirect("https://idp.example.org/slo", XML, relay_state="/next?a=b&c=d")
    assert url.startswith("https://idp.example.org/slo?SAMLRequest=")
    message = decode_redirect(query_of(url), param="SAMLRequest")
    assert message.xml == XML
    assert message.relay_state == "/next?a=b&c=d"
    assert not message.signed


def test_redirect_keeps_an_existing_query_string() -> None:
    url = encode_redirect("https://idp.example.org/sso?tenant=a", XML)
    assert url.startswith("https://idp.example.org/sso?tenant=a&SAMLRequest=")


def test_a_signed_redirect_verifies_over_the_received_octets() -> None:
    url = encode_redirect(
        "https://idp.example.org/slo",
        XML,
        relay_state="/back",
        key_pem=keys("idp").key_pem,
        signature_algorithm=RSA_SHA256,
    )
    query = query_of(url)
    assert [part.split("=")[0] for part in query.split("&")] == [
        "SAMLRequest",
        "RelayState",
        "SigAlg",
        "Signature",
    ]
    message = decode_redirect(query, param="SAMLRequest")
    assert message.signature_algorithm == RSA_SHA256
    message.verify(certificates=[keys("idp").cert_pem])
    # An encoder that writes lower-case escapes (ADFS) signs what it sent: still verifies.
    lowered = query.replace("%2F", "%2f").replace("%3A", "%3a")
    key = keys("idp").key_pem
    octets = lowered.rsplit("&Signature=", 1)[0].encode()
    from authkit.saml._xmldsig import sign_bytes

    resigned = (
        lowered.rsplit("&Signature=", 1)[0]
        + "&Signature="
        + quote(base64.b64encode(sign_bytes(octets, key_pem=key)).decode(), safe="")
    )
    decode_redirect(resigned, param="SAMLRequest").verify(certificates=[keys("idp").cert_pem])


def test_a_tampered_or_foreign_redirect_signature_is_refused() -> None:
    url = encode_redirect(
        "https://idp.example.org/slo",
        XML,
        relay_state="/back",
        key_pem=keys("idp").key_pem,
        signature_algorithm=RSA_SHA256,
    )
    tampered = query_of(url).replace("RelayState=%2Fback", "RelayState=%2Fevil")
    with pytest.raises(SAMLValidationError) as info:
        decode_redirect(tampered, param="SAMLRequest").verify(certificates=[keys("idp").cert_pem])
    assert info.value.code == "saml.signature_invalid"
    with pytest.raises(SAMLValidationError) as info:
        decode_redirect(query_of(url), param="SAMLRequest").verify(
            certificates=[keys("attacker").cert_pem]
        )
    assert info.value.code == "saml.signature_invalid"


def test_an_unsigned_redirect_cannot_pass_verification() -> None:
    message = decode_redirect(
        query_of(encode_redirect("https://x.example/", XML)), param="SAMLRequest"
    )
    with pytest.raises(SAMLValidationError) as info:
        message.verify(certificates=[keys("idp").cert_pem])
    assert info.value.code == "saml.signature_missing"


def test_a_sha1_redirect_signature_needs_allow_sha1() -> None:
    url = encode_redirect(
        "https://x.example/", XML, key_pem=keys("idp").key_pem, signature_algorithm=RSA_SHA1
    )
    message = decode_redirect(query_of(url), param="SAMLRequest")
    with pytest.raises(SAMLValidationError) as info:
        message.verify(certificates=[keys("idp").cert_pem])
    assert info.value.code == "saml.algorithm_not_allowed"
    message.verify(certificates=[keys("idp").cert_pem], allow_sha1=True)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("RelayState=x", "saml.malformed"),
        ("SAMLRequest=a&SAMLRequest=b", "saml.malformed"),
        ("SAMLRequest=%%%", "saml.base64_invalid"),
        (
            "SAMLRequest=" + quote(base64.b64encode(b"not deflated").decode(), safe=""),
            "saml.malformed",
        ),
        ("SAMLRequest=AAAA&SigAlg=x", "saml.malformed"),
        ("SAMLRequest=AAAA&SigAlg=x&Signature=***", "saml.base64_invalid"),
    ],
)
def test_malformed_redirect_queries_are_refused(query: str, code: str) -> None:
    with pytest.raises(SAMLValidationError) as info:
        decode_redirect(query, param="SAMLRequest")
    assert info.value.code == code


def test_a_deflate_bomb_is_stopped_at_the_size_limit() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"<a>" + b"x" * 50_000_000) + compressor.flush()
    assert len(bomb) < 100_000
    query = "SAMLResponse=" + quote(base64.b64encode(bomb).decode(), safe="")
    with pytest.raises(SAMLValidationError) as info:
        decode_redirect(query, param="SAMLResponse", max_size=1024 * 1024)
    assert info.value.code == "saml.xml_too_large"


def test_signing_a_redirect_needs_an_algorithm() -> None:
    with pytest.raises(InvalidSettingError):
        encode_redirect("https://x.example/", XML, key_pem=keys("idp").key_pem)


# --- HTTP-POST -----------------------------------------------------------------------------------


def test_post_fields_and_form_escape_everything() -> None:
    fields = encode_post(XML, param="SAMLResponse", relay_state='"><script>alert(1)</script>')
    assert decode_post(fields["SAMLResponse"]) == XML
    page = post_form('https://sp.example.org/acs?a=1&b="2"', fields)
    assert "<script>alert" not in page
    assert "&quot;&gt;&lt;script&gt;" in page
    assert 'action="https://sp.example.org/acs?a=1&amp;b=&quot;2&quot;"' in page
    assert 'onload="document.forms[0].submit()"' in page
    assert "<noscript>" in page


# --- the AuthnRequest ----------------------------------------------------------------------------


def authn_request_of(url: str) -> etree._Element:
    params = parse_qs(query_of(url))
    return etree.fromstring(inflate(params["SAMLRequest"][0]))


def test_the_login_request_goes_over_redirect_by_default() -> None:
    login = make_sp().login_request(relay_state="/dashboard", now=NOW)
    assert login.binding == REDIRECT
    assert login.is_redirect
    assert login.form is None
    assert not login.fields
    assert login.url.startswith(IDP_SSO_URL + "?SAMLRequest=")
    assert parse_qs(query_of(login.url))["RelayState"] == ["/dashboard"]
    request = authn_request_of(login.url)
    assert request.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest"
    assert request.get("ID") == login.id
    assert login.id.startswith("_")
    assert len(login.id) == 41
    assert request.get("Version") == "2.0"
    assert request.get("IssueInstant") == "2026-01-15T12:00:00Z"
    assert request.get("Destination") == IDP_SSO_URL
    assert request.get("AssertionConsumerServiceURL") == ACS_URL
    assert request.get("ProtocolBinding") == POST
    assert request.get("ForceAuthn") is None
    assert request.get("IsPassive") is None
    assert request.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    policy = request.find("samlp:NameIDPolicy", NS)
    assert policy is not None
    assert policy.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert policy.get("AllowCreate") == "true"
    contexts = request.find("samlp:RequestedAuthnContext", NS)
    assert contexts is not None
    assert contexts.get("Comparison") == "exact"
    assert [c.text for c in contexts] == [
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    ]
    assert request.find("ds:Signature", NS) is None


def test_each_login_request_has_a_fresh_id() -> None:
    sp = make_sp()
    assert sp.login_request(now=NOW).id != sp.login_request(now=NOW).id


def test_force_authn_is_passive_and_overrides() -> None:
    login = make_sp(requestedAuthnContext=False).login_request(
        force_authn=True,
        is_passive=True,
        name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        now=NOW,
    )
    request = authn_request_of(login.url)
    assert request.get("ForceAuthn") == "true"
    assert request.get("IsPassive") == "true"
    assert request.find("samlp:NameIDPolicy", NS).get("Format").endswith("persistent")  # type: ignore[union-attr]
    assert request.find("samlp:RequestedAuthnContext", NS) is None
    explicit = make_sp().login_request(requested_authn_context=("urn:x",), now=NOW)
    context = authn_request_of(explicit.url).find("samlp:RequestedAuthnContext", NS)
    assert [c.text for c in context] == ["urn:x"]  # type: ignore[union-attr]


def test_a_signed_redirect_login_request_carries_sigalg_and_signature() -> None:
    login = make_sp(authnRequestsSigned=True).login_request(relay_state="/r", now=NOW)
    message = decode_redirect(query_of(login.url), param="SAMLRequest")
    assert message.signature_algorithm == RSA_SHA256
    message.verify(certificates=[keys("sp").cert_pem])
    assert etree.fromstring(message.xml).find("ds:Signature", NS) is None


def test_a_post_login_request_is_an_auto_submitting_form_with_signed_xml() -> None:
    login = make_sp(authnRequestsSigned=True).login_request(
        binding=POST, relay_state="/r&<x>", now=NOW
    )
    assert login.binding == POST
    assert not login.is_redirect
    assert login.url == IDP_SSO_URL
    assert login.fields["RelayState"] == "/r&<x>"
    assert login.form is not None
    assert "/r&amp;&lt;x&gt;" in login.form
    request = etree.fromstring(base64.b64decode(login.fields["SAMLRequest"]))
    assert [etree.QName(c).localname for c in request][:2] == ["Issuer", "Signature"]
    verify_signed_element(request, certificates=[keys("sp").cert_pem])
    assert request.get("ID") == login.id


def test_an_unknown_binding_is_refused() -> None:
    with pytest.raises(InvalidSettingError):
        make_sp().login_request(binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP", now=NOW)


def test_the_idp_binding_setting_picks_post() -> None:
    from saml_sp_kit import settings_dict

    from authkit.saml import SAMLSettings, ServiceProvider

    data = settings_dict()
    data["idp"]["singleSignOnService"]["binding"] = POST
    login = ServiceProvider(SAMLSettings.from_dict(data)).login_request(now=NOW)
    assert login.binding == POST
    assert login.form is not None
