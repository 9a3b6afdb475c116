"""Response validation: each check refused by a Response that fails exactly that check.

Every Response here is built by the test IdP (:mod:`authkit.testing._saml_builder`) and signed
with real keys by xmlsec; forged ones are edited with lxml the way an attacker would.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import attrs
import pytest
from lxml import etree
from saml_sp_kit import (
    ACS_URL,
    AFFILIATION,
    GIVEN_NAME,
    IDP_ENTITY_ID,
    MAIL,
    NOW,
    REQUEST_ID,
    SP_ENTITY_ID,
    b64,
    find,
    idp,
    keys,
    make_sp,
    settings_dict,
    sign,
    spec,
)

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml import (
    MemoryReplayCache,
    SAMLSettings,
    ServiceProvider,
    StateStoreReplayCache,
)
from authkit.saml._xmldsig import RSA_SHA1, SHA1
from authkit.stores import MemoryStateStore
from authkit.testing._saml_builder import SAMLResponseBuilder

SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def refused(sp: ServiceProvider, response: str, *, request_id: str | None = REQUEST_ID) -> str:
    """Process ``response`` expecting a refusal; return the error code."""
    with pytest.raises(SAMLValidationError) as info:
        sp.process_response(response, request_id=request_id, now=NOW)
    return info.value.code


# --- accepted ------------------------------------------------------------------------------------


def test_a_signed_assertion_is_accepted_with_its_values() -> None:
    sp = make_sp()
    authn = sp.process_response(idp().build_base64(spec()), request_id=REQUEST_ID, now=NOW)
    assert authn.issuer == IDP_ENTITY_ID
    assert authn.name_id == "alice@example.org"
    assert authn.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert authn.name_id_sp_name_qualifier == SP_ENTITY_ID
    assert authn.session_index
    assert authn.session_index.startswith("_")
    assert authn.attributes == {
        MAIL: ["alice@example.org"],
        GIVEN_NAME: ["Alice"],
        AFFILIATION: ["member", "staff"],
    }
    details = {a.name: a for a in authn.attribute_details}
    assert details[MAIL].friendly_name == "mail"
    assert details[AFFILIATION].friendly_name is None
    assert authn.in_response_to == REQUEST_ID
    assert authn.not_on_or_after == NOW + timedelta(minutes=5)
    assert authn.session_not_on_or_after == NOW + timedelta(hours=8)
    assert authn.authn_instant == NOW
    assert (authn.assertion_signed, authn.response_signed, authn.assertion_encrypted) == (
        True,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("changes", "security"),
    [
        ({"sign_response": True}, {}),
        ({"sign_response": True, "sign_assertion": False}, {"wantAssertionsSigned": False}),
        ({"sign_response": True}, {"wantMessagesSigned": True}),
        ({"encrypt_assertion": True}, {}),
        ({"encrypt_assertion": True, "sign_response": True}, {"wantAssertionsEncrypted": True}),
        ({"encrypt_name_id": True}, {"wantNameIdEncrypted": True}),
        ({"encrypt_attributes": True}, {}),
        (
            {
                "encrypt_assertion": True,
                "encrypt_name_id": True,
                "encrypt_attributes": True,
                "sign_response": True,
                "encryption_algorithm": "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            },
            {},
        ),
    ],
)
def test_each_protection_layout_is_accepted(
    changes: dict[str, Any], security: dict[str, Any]
) -> None:
    sp = make_sp(**security)
    authn = sp.process_response(idp().build_base64(spec(**changes)), request_id=REQUEST_ID, now=NOW)
    assert authn.name_id == "alice@example.org"
    assert authn.attributes[MAIL] == ["alice@example.org"]
    assert authn.response_signed is changes.get("sign_response", False)
    assert authn.assertion_encrypted is changes.get("encrypt_assertion", False)


def test_an_unsolicited_response_is_accepted_when_allowed() -> None:
    sp = make_sp(allow_unsolicited=True)
    authn = sp.process_response(idp().build_base64(spec(request_id=None)), request_id=None, now=NOW)
    assert authn.in_response_to is None


def test_the_clock_skew_tolerates_a_late_message_up_to_its_limit() -> None:
    response = spec(not_on_or_after=NOW + timedelta(minutes=1))
    late = NOW + timedelta(minutes=1, seconds=179)
    authn = make_sp().process_response(
        idp().build_base64(response), request_id=REQUEST_ID, now=late
    )
    assert authn.name_id == "alice@example.org"
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_response(
            idp().build_base64(response), request_id=REQUEST_ID, now=late + timedelta(seconds=1)
        )
    assert info.value.code == "saml.expired"
    strict = make_sp(clock_skew=0)
    with pytest.raises(SAMLValidationError) as info:
        strict.process_response(
            idp().build_base64(response),
            request_id=REQUEST_ID,
            now=NOW + timedelta(minutes=1),
        )
    assert info.value.code == "saml.expired"


# --- one broken check each -----------------------------------------------------------------------

BROKEN = [
    ("expired", "saml.expired"),
    ("not_yet_valid", "saml.not_yet_valid"),
    ("wrong_audience", "saml.audience_mismatch"),
    ("no_audience", "saml.audience_mismatch"),
    ("wrong_recipient", "saml.recipient_mismatch"),
    ("wrong_destination", "saml.destination_mismatch"),
    ("no_destination", "saml.destination_mismatch"),
    ("wrong_issuer", "saml.issuer_mismatch"),
    ("wrong_assertion_issuer", "saml.issuer_mismatch"),
    ("status_failure", "saml.status_not_success"),
    ("wrong_in_response_to", "saml.in_response_to_mismatch"),
    ("wrong_subject_in_response_to", "saml.in_response_to_mismatch"),
    ("subject_expired", "saml.subject_confirmation_expired"),
    ("session_expired", "saml.session_expired"),
    ("unsigned", "saml.signature_missing"),
    ("wrong_version", "saml.version_unsupported"),
    ("no_name_id", "saml.name_id_missing"),
    ("no_attribute_statement", "saml.attribute_statement_missing"),
]


@pytest.mark.parametrize(("variant", "code"), BROKEN)
def test_a_response_failing_one_check_is_refused_with_its_code(variant: str, code: str) -> None:
    assert refused(make_sp(), idp().build_base64(spec().broken(variant))) == code


@pytest.mark.parametrize(
    ("variant", "security"),
    [
        ("no_name_id", {"wantNameId": False}),
        ("no_attribute_statement", {"wantAttributeStatement": False}),
        ("no_destination", {"relaxDestinationValidation": True}),
        ("wrong_authn_context", {}),
    ],
)
def test_the_optional_checks_pass_when_switched_off(variant: str, security: dict[str, Any]) -> None:
    authn = make_sp(**security).process_response(
        idp().build_base64(spec().broken(variant)), request_id=REQUEST_ID, now=NOW
    )
    assert authn.issuer == IDP_ENTITY_ID


def test_a_non_success_status_carries_the_idp_status_codes() -> None:
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_response(
            idp().build_base64(spec().broken("status_failure")), request_id=REQUEST_ID, now=NOW
        )
    assert info.value.status_codes == (
        "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
    )
    assert "AuthnFailed" in info.value.message
    assert info.value.hint == "the IdP said: Authentication failed"


def test_the_authn_context_must_be_a_requested_one_when_configured() -> None:
    sp = make_sp(failOnAuthnContextMismatch=True)
    assert (
        refused(sp, idp().build_base64(spec().broken("wrong_authn_context")))
        == "saml.authn_context_mismatch"
    )
    assert sp.process_response(idp().build_base64(spec()), request_id=REQUEST_ID, now=NOW)


def test_an_unsolicited_response_is_refused_by_default() -> None:
    response = idp().build_base64(spec(request_id=None))
    assert refused(make_sp(), response, request_id=None) == "saml.unsolicited_response"


def test_an_answer_to_an_unknown_request_is_refused_even_when_unsolicited_are_allowed() -> None:
    response = idp().build_base64(spec())
    assert (
        refused(make_sp(allow_unsolicited=True), response, request_id=None)
        == "saml.in_response_to_mismatch"
    )


def test_a_response_to_another_request_is_refused() -> None:
    response = idp().build_base64(spec())
    assert refused(make_sp(), response, request_id="_another") == "saml.in_response_to_mismatch"


def test_want_messages_signed_refuses_a_response_with_only_a_signed_assertion() -> None:
    sp = make_sp(wantMessagesSigned=True)
    assert refused(sp, idp().build_base64(spec())) == "saml.signature_missing"


def test_want_assertions_signed_is_on_by_default() -> None:
    response = idp().build_base64(spec(sign_response=True, sign_assertion=False))
    assert refused(make_sp(), response) == "saml.signature_missing"


def test_a_response_with_no_signature_at_all_is_refused_whatever_the_settings() -> None:
    response = idp().build_base64(spec(sign_assertion=False))
    assert refused(make_sp(wantAssertionsSigned=False), response) == "saml.signature_missing"


def test_want_assertions_encrypted_refuses_a_plain_assertion() -> None:
    response = idp().build_base64(spec())
    assert refused(make_sp(wantAssertionsEncrypted=True), response) == (
        "saml.assertion_not_encrypted"
    )


def test_want_name_id_encrypted_refuses_a_plain_name_id() -> None:
    response = idp().build_base64(spec())
    assert refused(make_sp(wantNameIdEncrypted=True), response) == "saml.name_id_not_encrypted"


def test_an_assertion_encrypted_for_another_key_is_refused() -> None:
    response = idp().build_base64(
        spec(encrypt_assertion=True, sp_certificate=keys("attacker").cert_pem)
    )
    assert refused(make_sp(), response) == "saml.decryption_failed"


def test_the_new_key_decrypts_during_a_rollover() -> None:
    new = keys("sp-new")
    response = idp().build_base64(spec(encrypt_assertion=True, sp_certificate=new.cert_pem))
    rollover = {"x509certNew": new.cert_base64, "private_key_new": new.key_pem.decode()}
    authn = make_sp(sp=rollover).process_response(response, request_id=REQUEST_ID, now=NOW)
    assert authn.assertion_encrypted
    only_new_cert = {"x509certNew": new.cert_base64}
    assert refused(make_sp(sp=only_new_cert), response) == "saml.decryption_failed"


def test_an_encrypted_assertion_without_a_configured_sp_key_is_a_configuration_error() -> None:
    settings = settings_dict()
    del settings["sp"]["privateKey"]
    del settings["sp"]["x509cert"]
    sp = ServiceProvider(SAMLSettings.from_dict(settings))
    with pytest.raises(InvalidSettingError) as info:
        sp.process_response(
            idp().build_base64(spec(encrypt_assertion=True)), request_id=REQUEST_ID, now=NOW
        )
    assert info.value.key == "sp.privateKey"


def test_sha1_signatures_are_refused_unless_allowed() -> None:
    response = idp().build_base64(spec(signature_algorithm=RSA_SHA1, digest_algorithm=SHA1))
    assert refused(make_sp(), response) == "saml.algorithm_not_allowed"
    authn = make_sp(allow_sha1=True).process_response(response, request_id=REQUEST_ID, now=NOW)
    assert authn.assertion_signed


# --- replay --------------------------------------------------------------------------------------


def test_an_assertion_is_accepted_once() -> None:
    sp = make_sp()
    response = idp().build_base64(spec())
    sp.process_response(response, request_id=REQUEST_ID, now=NOW)
    assert refused(sp, response) == "saml.replayed"


def test_a_refused_response_does_not_consume_its_assertion_id() -> None:
    sp = make_sp()
    response = idp().build_base64(spec())
    assert refused(sp, response, request_id="_other") == "saml.in_response_to_mismatch"
    assert sp.process_response(response, request_id=REQUEST_ID, now=NOW)


def test_the_replay_cache_keeps_the_id_until_the_assertion_expires(clock: Any) -> None:
    store = MemoryStateStore(clock=clock)
    settings = SAMLSettings.from_dict(settings_dict())
    response = idp().build_base64(spec())
    first = ServiceProvider(settings, replay_cache=StateStoreReplayCache(store))
    second = ServiceProvider(settings, replay_cache=StateStoreReplayCache(store))
    first.process_response(response, request_id=REQUEST_ID, now=NOW)
    # Another worker sharing the store sees the replay.
    assert refused(second, response) == "saml.replayed"
    assert len(store) == 1
    clock.advance(5 * 60 + 180 + 1)  # lifetime + clock skew
    assert len(store) == 0


# --- XML signature wrapping (Somorovsky et al., the eight XSW layouts) ----------------------------


def _evil_copy(assertion: etree._Element) -> etree._Element:
    """A copy of the assertion claiming to be mallory, with its signature removed."""
    evil = copy.deepcopy(assertion)
    for signature in evil.findall(f"{DS}Signature"):
        evil.remove(signature)
    find(evil, "saml:Subject/saml:NameID").text = "mallory@example.org"
    evil.set("ID", "_evil")
    return evil


def _signed_response(**changes: Any) -> etree._Element:
    return idp().build_element(spec(**changes))


def _xsw(layout: int) -> etree._Element:
    if layout in (1, 2):
        original = _signed_response(sign_response=True, sign_assertion=False)
        evil = copy.deepcopy(original)
        signature = find(evil, "ds:Signature")
        assertion = find(evil, "saml:Assertion")
        find(assertion, "saml:Subject/saml:NameID").text = "mallory@example.org"
        evil.set("ID", "_evil_response")
        inner = copy.deepcopy(original)
        inner.remove(find(inner, "ds:Signature"))
        if layout == 1:
            signature.append(inner)  # the signed original hidden inside the Signature
        else:
            signature.addprevious(inner)  # ... or next to it
        return evil
    response = _signed_response()
    original = find(response, "saml:Assertion")
    evil = _evil_copy(original)
    if layout == 3:  # evil assertion first, the signed one after it
        original.addprevious(evil)
    elif layout == 4:  # the signed assertion inside the evil one
        response.replace(original, evil)
        evil.append(original)
    elif layout == 5:  # the evil one keeps the original signature; a copy goes to the end
        signature = find(original, "ds:Signature")
        evil.set("ID", original.get("ID", ""))
        find(evil, "saml:Issuer").addnext(copy.deepcopy(signature))
        response.replace(original, evil)
        unsigned = copy.deepcopy(original)
        unsigned.remove(find(unsigned, "ds:Signature"))
        response.append(unsigned)
    elif layout == 6:  # the evil one's signature holds the original in a ds:Object
        signature = copy.deepcopy(find(original, "ds:Signature"))
        evil.set("ID", original.get("ID", ""))
        find(evil, "saml:Issuer").addnext(signature)
        obj = etree.SubElement(signature, f"{DS}Object")
        obj.append(original)
        response.append(evil)
    elif layout == 7:  # the original hidden in samlp:Extensions
        extensions = etree.Element(f"{SAMLP}Extensions")
        find(response, "saml:Issuer").addnext(extensions)
        response.replace(original, evil)
        extensions.append(original)
    elif layout == 8:  # the original, unsigned, in the ds:Object of the evil one's signature
        signature = copy.deepcopy(find(original, "ds:Signature"))
        evil.set("ID", original.get("ID", ""))
        find(evil, "saml:Issuer").addnext(signature)
        unsigned = copy.deepcopy(original)
        unsigned.remove(find(unsigned, "ds:Signature"))
        etree.SubElement(signature, f"{DS}Object").append(unsigned)
        response.replace(original, evil)
    return response


@pytest.mark.parametrize(
    ("layout", "code"),
    [
        (1, "saml.signature_invalid"),  # a Response inside ds:Signature
        (2, "saml.signature_reference_mismatch"),  # Reference to a detached copy
        (3, "saml.assertion_count"),
        (4, "saml.assertion_count"),
        (5, "saml.assertion_count"),
        (6, "saml.assertion_count"),
        (7, "saml.assertion_count"),
        (8, "saml.assertion_count"),
    ],
)
def test_every_signature_wrapping_layout_is_refused(layout: int, code: str) -> None:
    security = {"wantAssertionsSigned": False} if layout in (1, 2) else {}
    assert refused(make_sp(**security), b64(_xsw(layout))) == code


def test_a_wrapped_response_reusing_the_signed_id_is_refused_as_a_duplicate_id() -> None:
    evil = _xsw(2)
    evil.set("ID", find(evil, "samlp:Response").get("ID", ""))
    sp = make_sp(wantAssertionsSigned=False)
    assert refused(sp, b64(evil)) == "saml.signature_reference_mismatch"


def test_an_element_elsewhere_with_the_signed_assertion_id_is_refused() -> None:
    response = _signed_response()
    assertion_id = find(response, "saml:Assertion").get("ID", "")
    extensions = etree.Element(f"{SAMLP}Extensions")
    etree.SubElement(extensions, "{urn:example}Decoy", ID=assertion_id)
    find(response, "saml:Issuer").addnext(extensions)
    assert refused(make_sp(), b64(response)) == "saml.signature_reference_mismatch"


def test_an_xml_id_attribute_duplicating_the_signed_id_is_refused() -> None:
    response = _signed_response()
    assertion_id = find(response, "saml:Assertion").get("ID", "")
    extensions = etree.Element(f"{SAMLP}Extensions")
    decoy = etree.SubElement(extensions, "{urn:example}Decoy")
    decoy.set("{http://www.w3.org/XML/1998/namespace}id", assertion_id)
    find(response, "saml:Issuer").addnext(extensions)
    assert refused(make_sp(), b64(response)) == "saml.signature_reference_mismatch"


def test_a_response_signature_referencing_the_assertion_is_refused() -> None:
    response = _signed_response()
    signature = copy.deepcopy(find(response, "saml:Assertion/ds:Signature"))
    find(response, "saml:Issuer").addnext(signature)  # now a Response "signature"
    assert refused(make_sp(), b64(response)) == "saml.signature_reference_mismatch"


def test_two_assertions_are_refused() -> None:
    response = _signed_response()
    second = idp().build_element(spec())
    response.append(find(second, "saml:Assertion"))
    assert refused(make_sp(), b64(response)) == "saml.assertion_count"


def test_an_assertion_outside_the_response_children_is_refused() -> None:
    response = _signed_response()
    assertion = find(response, "saml:Assertion")
    extensions = etree.Element(f"{SAMLP}Extensions")
    find(response, "saml:Issuer").addnext(extensions)
    extensions.append(assertion)
    assert refused(make_sp(), b64(response)) == "saml.assertion_count"


# --- signature stripping, foreign keys, tampering, comments ---------------------------------------


def test_a_stripped_assertion_signature_is_refused() -> None:
    response = _signed_response()
    assertion = find(response, "saml:Assertion")
    assertion.remove(find(assertion, "ds:Signature"))
    assert refused(make_sp(), b64(response)) == "saml.signature_missing"


def test_stripping_both_signatures_is_refused_even_when_assertions_need_not_be_signed() -> None:
    response = _signed_response(sign_response=True)
    response.remove(find(response, "ds:Signature"))
    assertion = find(response, "saml:Assertion")
    assertion.remove(find(assertion, "ds:Signature"))
    assert refused(make_sp(wantAssertionsSigned=False), b64(response)) == "saml.signature_missing"


def test_a_response_signed_by_an_attacker_key_in_keyinfo_is_refused() -> None:
    attacker = SAMLResponseBuilder(entity_id=IDP_ENTITY_ID, key_pair=keys("attacker"))
    response = attacker.build_element(spec(name_id="mallory@example.org"))
    x509 = find(response, "saml:Assertion/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    assert x509.text
    assert x509.text.replace("\n", "") == keys("attacker").cert_base64
    assert refused(make_sp(), b64(response)) == "saml.signature_invalid"


def test_the_configured_certificate_in_keyinfo_does_not_help_a_foreign_signature() -> None:
    attacker = SAMLResponseBuilder(entity_id=IDP_ENTITY_ID, key_pair=keys("attacker"))
    response = attacker.build_element(spec(name_id="mallory@example.org"))
    x509 = find(response, "saml:Assertion/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    x509.text = keys("idp").cert_base64  # claims to be the IdP's certificate
    assert refused(make_sp(), b64(response)) == "saml.signature_invalid"


@pytest.mark.parametrize(
    "path",
    [
        "saml:Assertion/saml:Subject/saml:NameID",
        "saml:Assertion/saml:AttributeStatement/saml:Attribute/saml:AttributeValue",
        "saml:Assertion/saml:Conditions/saml:AudienceRestriction/saml:Audience",
    ],
)
def test_tampering_after_signing_is_refused(path: str) -> None:
    response = _signed_response()
    find(response, path).text = "mallory@example.org"
    assert refused(make_sp(), b64(response)) == "saml.signature_invalid"


def test_a_tampered_signed_response_is_refused() -> None:
    response = _signed_response(sign_response=True)
    find(response, "saml:Assertion/saml:Subject/saml:NameID").text = "mallory@example.org"
    assert refused(make_sp(), b64(response)) == "saml.signature_invalid"


def test_a_comment_inside_the_name_id_cannot_truncate_it() -> None:
    # The IdP signs "alice@evil.com.example.org"; exclusive c14n ignores comments, so an attacker
    # can insert one after signing without breaking the signature.
    response = _signed_response(name_id="alice@evil.com.example.org")
    name_id = find(response, "saml:Assertion/saml:Subject/saml:NameID")
    name_id.text = "alice@evil.com"
    comment = etree.Comment("")
    comment.tail = ".example.org"
    name_id.append(comment)
    xml = etree.tostring(response)
    assert b"alice@evil.com<!---->.example.org" in xml
    authn = make_sp().process_response(b64(xml), request_id=REQUEST_ID, now=NOW)
    assert authn.name_id == "alice@evil.com.example.org"


def test_a_comment_inside_an_attribute_value_cannot_truncate_it() -> None:
    response = _signed_response()
    value = find(
        response, "saml:Assertion/saml:AttributeStatement/saml:Attribute/saml:AttributeValue"
    )
    assert value.text == "alice@example.org"
    value.text = "alice@"
    comment = etree.Comment("x")
    comment.tail = "example.org"
    value.append(comment)
    authn = make_sp().process_response(b64(response), request_id=REQUEST_ID, now=NOW)
    assert authn.attributes[MAIL] == ["alice@example.org"]


def test_a_doctype_in_the_response_is_refused() -> None:
    xml = idp().build(spec())
    body = xml.split(b"?>", 1)[1]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + body
    )
    assert refused(make_sp(), b64(bomb)) == "saml.xml_dtd_forbidden"


def test_garbage_is_refused_with_a_code() -> None:
    sp = make_sp()
    assert refused(sp, "not base64 !") == "saml.base64_invalid"
    assert refused(sp, b64(b"<unclosed")) == "saml.xml_malformed"
    assert refused(
        sp, b64(b"<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>")
    ) == ("saml.unexpected_element")
    huge = b64(b"<a>" + b"x" * (600 * 1024) + b"</a>")
    assert refused(sp, huge) == "saml.xml_too_large"


# --- protocol details that need a custom (re-signed) assertion ------------------------------------


def _custom(edit: Any, **changes: Any) -> str:
    """A Response whose assertion is edited by ``edit`` before the IdP signs it."""
    response = idp().build_element(spec(sign_assertion=False, **changes))
    assertion = find(response, "saml:Assertion")
    edit(assertion)
    sign(assertion)
    return b64(response)


def test_a_foreign_sp_name_qualifier_is_refused() -> None:
    def edit(assertion: etree._Element) -> None:
        find(assertion, "saml:Subject/saml:NameID").set("SPNameQualifier", "https://other.example")

    assert refused(make_sp(), _custom(edit)) == "saml.sp_name_qualifier_mismatch"


def test_a_subject_without_bearer_confirmation_is_refused() -> None:
    def edit(assertion: etree._Element) -> None:
        confirmation = find(assertion, "saml:Subject/saml:SubjectConfirmation")
        confirmation.set("Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")

    assert refused(make_sp(), _custom(edit)) == "saml.subject_confirmation_missing"


@pytest.mark.parametrize(
    "edit_data",
    [
        lambda data: data.set("NotBefore", "2026-01-15T11:00:00Z"),
        lambda data: data.attrib.pop("NotOnOrAfter"),
    ],
    ids=["with-not-before", "without-not-on-or-after"],
)
def test_a_malformed_bearer_confirmation_is_refused(edit_data: Any) -> None:
    def edit(assertion: etree._Element) -> None:
        edit_data(
            find(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
        )

    assert refused(make_sp(), _custom(edit)) == "saml.subject_confirmation_invalid"


def test_one_valid_bearer_confirmation_among_several_is_enough() -> None:
    def edit(assertion: etree._Element) -> None:
        confirmation = find(assertion, "saml:Subject/saml:SubjectConfirmation")
        wrong = copy.deepcopy(confirmation)
        find(wrong, "saml:SubjectConfirmationData").set("Recipient", "https://evil.example/acs")
        confirmation.addprevious(wrong)

    authn = make_sp().process_response(_custom(edit), request_id=REQUEST_ID, now=NOW)
    assert authn.name_id == "alice@example.org"


def test_a_repeated_attribute_name_is_refused_unless_allowed() -> None:
    def edit(assertion: etree._Element) -> None:
        statement = find(assertion, "saml:AttributeStatement")
        statement.append(copy.deepcopy(find(statement, "saml:Attribute")))

    response = _custom(edit)
    assert refused(make_sp(), response) == "saml.duplicate_attribute"
    authn = make_sp(allowRepeatAttributeName=True).process_response(
        response, request_id=REQUEST_ID, now=NOW
    )
    assert authn.attributes[MAIL] == ["alice@example.org", "alice@example.org"]


def test_nil_attribute_values_are_skipped_and_empty_ones_kept() -> None:
    def edit(assertion: etree._Element) -> None:
        attribute = find(assertion, "saml:AttributeStatement/saml:Attribute")
        nil = etree.SubElement(attribute, f"{SAML}AttributeValue")
        nil.set("{http://www.w3.org/2001/XMLSchema-instance}nil", "true")
        etree.SubElement(attribute, f"{SAML}AttributeValue")

    authn = make_sp().process_response(_custom(edit), request_id=REQUEST_ID, now=NOW)
    assert authn.attributes[MAIL] == ["alice@example.org", ""]


def test_an_issuer_with_a_non_entity_format_is_refused() -> None:
    def edit(assertion: etree._Element) -> None:
        find(assertion, "saml:Issuer").set(
            "Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        )

    assert refused(make_sp(), _custom(edit)) == "saml.issuer_mismatch"


def test_an_assertion_without_authn_statement_is_refused() -> None:
    def edit(assertion: etree._Element) -> None:
        assertion.remove(find(assertion, "saml:AuthnStatement"))

    assert refused(make_sp(), _custom(edit)) == "saml.authn_statement_missing"


def test_an_assertion_without_conditions_is_refused() -> None:
    def edit(assertion: etree._Element) -> None:
        assertion.remove(find(assertion, "saml:Conditions"))

    assert refused(make_sp(), _custom(edit)) == "saml.audience_mismatch"


def test_a_bad_timestamp_is_refused_as_malformed() -> None:
    def edit(assertion: etree._Element) -> None:
        find(assertion, "saml:Conditions").set("NotBefore", "yesterday")

    assert refused(make_sp(), _custom(edit)) == "saml.malformed"


def test_destination_comparison_ignores_host_case_and_default_port_unless_strict() -> None:
    response = idp().build_base64(
        spec(destination="https://SP.example.org:443/saml/acs", recipient=ACS_URL)
    )
    assert make_sp().process_response(response, request_id=REQUEST_ID, now=NOW)
    assert refused(make_sp(destinationStrictlyMatches=True), response) == (
        "saml.destination_mismatch"
    )


def test_error_messages_do_not_echo_the_received_values() -> None:
    response = idp().build_base64(
        spec(response_issuer="https://evil.example/<script>alert(1)</script>")
    )
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_response(response, request_id=REQUEST_ID, now=NOW)
    assert "evil" not in str(info.value)
    assert IDP_ENTITY_ID in str(info.value)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(InvalidSettingError):
        make_sp().process_response(
            idp().build_base64(spec()), request_id=REQUEST_ID, now=NOW.replace(tzinfo=None)
        )


def test_the_default_replay_cache_is_a_memory_one() -> None:
    sp = ServiceProvider(SAMLSettings.from_dict(settings_dict()))
    response = idp().build_base64(spec())
    sp.process_response(response, request_id=REQUEST_ID, now=NOW)
    assert refused(sp, response) == "saml.replayed"
    assert isinstance(MemoryReplayCache(), StateStoreReplayCache)


def test_the_builder_refuses_an_unknown_variant() -> None:
    with pytest.raises(ValueError, match="unknown variant"):
        spec().broken("nonsense")
    assert attrs.evolve(spec(), name_id="bob").name_id == "bob"


def test_a_second_assertion_hidden_inside_an_encrypted_one_is_refused() -> None:
    from authkit.saml._xmldsig import encrypt_element

    response = idp().build_element(spec())
    assertion = find(response, "saml:Assertion")
    hidden = _evil_copy(assertion)
    advice = etree.Element(f"{SAML}Advice")
    find(assertion, "saml:Conditions").addnext(advice)
    advice.append(hidden)
    assertion.remove(find(assertion, "ds:Signature"))
    sign(assertion)  # even a validly signed outer assertion may not carry another one
    wrapper = etree.Element(f"{SAML}EncryptedAssertion")
    response.replace(assertion, wrapper)
    wrapper.append(assertion)
    encrypt_element(assertion, cert_pem=keys("sp").cert_pem)
    assert refused(make_sp(), b64(response)) == "saml.assertion_count"
