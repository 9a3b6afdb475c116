"""Single logout: LogoutRequest and LogoutResponse, sent and received, Redirect and POST."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree
from saml_sp_kit import IDP_ENTITY_ID, NOW, NS, SP_ENTITY_ID, keys, settings_dict

from authkit.errors import MissingSettingError, SAMLValidationError
from authkit.saml import SAMLSettings, ServiceProvider
from authkit.saml._bindings import decode_redirect, encode_redirect
from authkit.saml._xml import format_instant
from authkit.saml._xmldsig import (
    RSA_SHA256,
    decrypt_element,
    encrypt_element,
    sign_element,
    verify_signed_element,
)

POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SP_SLO = "https://sp.example.org/saml/sls"
IDP_SLO = "https://idp.example.org/idp/profile/SAML2/Redirect/SLO"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def make_sp(**security: Any) -> ServiceProvider:
    data = settings_dict(sp={"singleLogoutService": {"url": SP_SLO}}, **security)
    data["idp"]["singleLogoutService"] = {"url": IDP_SLO}
    return ServiceProvider(SAMLSettings.from_dict(data))


def query(url: str) -> str:
    return urlsplit(url).query


# --- SP-initiated: the request we send -----------------------------------------------------------


def test_a_logout_request_names_the_login_and_goes_to_the_idp() -> None:
    message = make_sp().logout_request(
        name_id="u-123", name_id_format=PERSISTENT, session_index="_s1", relay_state="/", now=NOW
    )
    assert message.url.startswith(IDP_SLO + "?SAMLRequest=")
    received = decode_redirect(query(message.url), param="SAMLRequest")
    assert received.relay_state == "/"
    assert not received.signed
    root = etree.fromstring(received.xml)
    assert root.tag == f"{{{SAMLP}}}LogoutRequest"
    assert root.get("ID") == message.id
    assert root.get("Destination") == IDP_SLO
    assert root.get("IssueInstant") == format_instant(NOW)
    assert root.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    name_id = root.find("saml:NameID", NS)
    assert name_id is not None
    assert name_id.text == "u-123"
    assert name_id.get("Format") == PERSISTENT
    assert root.findtext("samlp:SessionIndex", namespaces=NS) == "_s1"


def test_a_signed_logout_request_over_redirect_and_post() -> None:
    sp = make_sp(logoutRequestSigned=True)
    redirect = sp.logout_request(name_id="u-123", now=NOW)
    decode_redirect(query(redirect.url), param="SAMLRequest").verify(
        certificates=[keys("sp").cert_pem]
    )
    post = sp.logout_request(name_id="u-123", binding=POST, now=NOW)
    assert post.form is not None
    assert post.url == IDP_SLO
    root = etree.fromstring(base64.b64decode(post.fields["SAMLRequest"]))
    verify_signed_element(root, certificates=[keys("sp").cert_pem])


def test_the_name_id_is_encrypted_for_the_idp_when_configured() -> None:
    message = make_sp(nameIdEncrypted=True).logout_request(name_id="u-123", now=NOW)
    root = etree.fromstring(decode_redirect(query(message.url), param="SAMLRequest").xml)
    assert root.find("saml:NameID", NS) is None
    wrapper = root.find("saml:EncryptedID", NS)
    assert wrapper is not None
    name_id = decrypt_element(
        wrapper, private_keys=[keys("idp").key_pem], expected=f"{{{SAML}}}NameID"
    )
    assert name_id.text == "u-123"


def test_logout_needs_an_idp_single_logout_service() -> None:
    sp = ServiceProvider(SAMLSettings.from_dict(settings_dict()))
    with pytest.raises(MissingSettingError) as info:
        sp.logout_request(name_id="u-123", now=NOW)
    assert info.value.key == "idp.singleLogoutService.url"


# --- SP-initiated: the IdP's answer --------------------------------------------------------------


def idp_logout_response(
    in_response_to: str,
    *,
    status: str = "urn:oasis:names:tc:SAML:2.0:status:Success",
    issuer: str = IDP_ENTITY_ID,
    destination: str = SP_SLO,
) -> etree._Element:
    root = etree.Element(
        f"{{{SAMLP}}}LogoutResponse",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID="_idp_response",
        Version="2.0",
        IssueInstant=format_instant(NOW),
        Destination=destination,
        InResponseTo=in_response_to,
    )
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    status_node = etree.SubElement(root, f"{{{SAMLP}}}Status")
    etree.SubElement(status_node, f"{{{SAMLP}}}StatusCode", Value=status)
    return root


def redirect_query(root: etree._Element, param: str, *, signer: str | None = "idp") -> str:
    url = encode_redirect(
        SP_SLO,
        etree.tostring(root),
        param=param,
        relay_state="/bye",
        key_pem=keys(signer).key_pem if signer else None,
        signature_algorithm=RSA_SHA256 if signer else None,
    )
    return query(url)


def test_a_signed_logout_response_over_redirect_is_accepted() -> None:
    sp = make_sp(wantMessagesSigned=True)
    request = sp.logout_request(name_id="u-123", now=NOW)
    result = sp.process_logout_response(
        request_id=request.id,
        query_string=redirect_query(idp_logout_response(request.id), "SAMLResponse"),
    )
    assert result.in_response_to == request.id
    assert result.relay_state == "/bye"


def test_a_signed_logout_response_over_post_is_accepted_and_tampering_refused() -> None:
    sp = make_sp(wantMessagesSigned=True)
    root = idp_logout_response("_req")
    sign_element(root, key_pem=keys("idp").key_pem, cert_pem=keys("idp").cert_pem)
    xml = etree.tostring(root)
    form = {"SAMLResponse": base64.b64encode(xml).decode(), "RelayState": "/bye"}
    assert sp.process_logout_response(request_id="_req", form=form).relay_state == "/bye"
    tampered = xml.replace(b'ID="_idp_response"', b'ID="_idp_response2"').replace(
        b'URI="#_idp_response"', b'URI="#_idp_response2"'
    )
    with pytest.raises(SAMLValidationError) as info:
        sp.process_logout_response(
            request_id="_req", form={"SAMLResponse": base64.b64encode(tampered).decode()}
        )
    assert info.value.code == "saml.signature_invalid"


@pytest.mark.parametrize(
    ("kwargs", "signer", "request_id", "code"),
    [
        ({}, None, "_req", "saml.signature_missing"),
        ({}, "attacker", "_req", "saml.signature_invalid"),
        ({}, "idp", "_other", "saml.in_response_to_mismatch"),
        ({"issuer": "https://evil.example/idp"}, "idp", "_req", "saml.issuer_mismatch"),
        ({"destination": "https://evil.example/sls"}, "idp", "_req", "saml.destination_mismatch"),
        (
            {"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"},
            "idp",
            "_req",
            "saml.status_not_success",
        ),
    ],
)
def test_a_bad_logout_response_is_refused(
    kwargs: dict[str, str], signer: str | None, request_id: str, code: str
) -> None:
    sp = make_sp(wantMessagesSigned=True)
    query_string = redirect_query(
        idp_logout_response("_req", **kwargs), "SAMLResponse", signer=signer
    )
    with pytest.raises(SAMLValidationError) as info:
        sp.process_logout_response(request_id=request_id, query_string=query_string)
    assert info.value.code == code


def test_an_unsigned_logout_response_is_accepted_when_signatures_are_not_wanted() -> None:
    query_string = redirect_query(idp_logout_response("_req"), "SAMLResponse", signer=None)
    assert make_sp().process_logout_response(request_id="_req", query_string=query_string)


def test_a_logout_message_without_its_field_is_malformed() -> None:
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_logout_response(request_id="_req", form={})
    assert info.value.code == "saml.malformed"


# --- IdP-initiated -------------------------------------------------------------------------------


def idp_logout_request(
    *, not_on_or_after: str | None = None, encrypt: bool = False
) -> etree._Element:
    root = etree.Element(
        f"{{{SAMLP}}}LogoutRequest",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID="_idp_request",
        Version="2.0",
        IssueInstant=format_instant(NOW),
        Destination=SP_SLO,
    )
    if not_on_or_after:
        root.set("NotOnOrAfter", not_on_or_after)
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = IDP_ENTITY_ID
    name_id = etree.SubElement(root, f"{{{SAML}}}NameID", Format=PERSISTENT)
    name_id.text = "u-123"
    if encrypt:
        wrapper = etree.Element(f"{{{SAML}}}EncryptedID", nsmap={"saml": SAML})
        root.replace(name_id, wrapper)
        wrapper.append(name_id)
        encrypt_element(name_id, cert_pem=keys("sp").cert_pem)
    for index in ("_s1", "_s2"):
        etree.SubElement(root, f"{{{SAMLP}}}SessionIndex").text = index
    return etree.fromstring(etree.tostring(root))


def test_an_idp_logout_request_is_validated_and_answered() -> None:
    sp = make_sp(wantMessagesSigned=True, logoutResponseSigned=True)
    request = sp.process_logout_request(
        query_string=redirect_query(idp_logout_request(), "SAMLRequest"), now=NOW
    )
    assert (request.id, request.name_id, request.name_id_format) == (
        "_idp_request",
        "u-123",
        PERSISTENT,
    )
    assert request.session_indexes == ("_s1", "_s2")
    assert request.relay_state == "/bye"

    answer = sp.logout_response(in_response_to=request.id, relay_state=request.relay_state, now=NOW)
    received = decode_redirect(query(answer.url), param="SAMLResponse")
    received.verify(certificates=[keys("sp").cert_pem])
    root = etree.fromstring(received.xml)
    assert root.get("InResponseTo") == "_idp_request"
    assert root.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith("Success")  # type: ignore[union-attr]
    failed = sp.logout_response(in_response_to=request.id, success=False, binding=POST, now=NOW)
    failed_root = etree.fromstring(base64.b64decode(failed.fields["SAMLResponse"]))
    verify_signed_element(failed_root, certificates=[keys("sp").cert_pem])
    assert failed_root.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith("Responder")  # type: ignore[union-attr]


def test_an_encrypted_name_id_in_an_idp_logout_request_is_decrypted() -> None:
    sp = make_sp()
    request = sp.process_logout_request(
        query_string=redirect_query(idp_logout_request(encrypt=True), "SAMLRequest"), now=NOW
    )
    assert request.name_id == "u-123"


def test_an_expired_or_unsigned_idp_logout_request_is_refused() -> None:
    expired = idp_logout_request(not_on_or_after="2026-01-15T11:00:00Z")
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_logout_request(
            query_string=redirect_query(expired, "SAMLRequest"), now=NOW
        )
    assert info.value.code == "saml.expired"
    unsigned = redirect_query(idp_logout_request(), "SAMLRequest", signer=None)
    with pytest.raises(SAMLValidationError) as info:
        make_sp(wantMessagesSigned=True).process_logout_request(query_string=unsigned, now=NOW)
    assert info.value.code == "saml.signature_missing"


def test_an_idp_logout_request_without_name_id_is_refused() -> None:
    root = idp_logout_request()
    root.remove(root.find("saml:NameID", NS))  # type: ignore[arg-type]
    with pytest.raises(SAMLValidationError) as info:
        make_sp().process_logout_request(query_string=redirect_query(root, "SAMLRequest"), now=NOW)
    assert info.value.code == "saml.name_id_missing"
