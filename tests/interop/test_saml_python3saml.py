"""Interop with python3-saml (OneLogin), an independent SAML implementation, both ways.

python3-saml reads the wall clock, so the messages it checks are built at the current time.
"""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from authkit.saml import MemoryReplayCache, SAMLSettings, ServiceProvider
from authkit.saml._bindings import decode_redirect
from authkit.saml._xml import qname
from authkit.saml._xmldsig import decrypt_element, verify_signed_element
from authkit.testing._saml_builder import (
    KeyPair,
    ResponseSpec,
    SAMLResponseBuilder,
    generate_key_pair,
)

pytestmark = pytest.mark.interop

SP_ENTITY_ID = "https://sp.example.org/saml/metadata"
ACS_URL = "https://sp.example.org/saml/acs"
IDP_ENTITY_ID = "https://idp.example.org/idp/shibboleth"
REQUEST_ID = "_0f1e2d3c4b5a69788796a5b4c3d2e1f00112233"
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
# What python3-saml needs to know of the request that reached the ACS URL.
REQUEST_DATA = {
    "https": "on",
    "http_host": "sp.example.org",
    "script_name": "/saml/acs",
    "get_data": {},
    "post_data": {},
}


@functools.cache
def keys(role: str) -> KeyPair:
    return generate_key_pair(now=datetime.now(UTC), common_name=f"interop {role}")


def settings_dict(**security: Any) -> dict[str, Any]:
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": SP_ENTITY_ID,
            "assertionConsumerService": {
                "url": ACS_URL,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
            "singleLogoutService": {
                "url": "https://sp.example.org/saml/sls",
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            },
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "x509cert": keys("sp").cert_base64,
            "privateKey": keys("sp").key_pem.decode(),
        },
        "idp": {
            "entityId": IDP_ENTITY_ID,
            "singleSignOnService": {
                "url": "https://idp.example.org/idp/profile/SAML2/Redirect/SSO",
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            },
            "x509cert": keys("idp").cert_base64,
        },
        "security": {"wantAssertionsSigned": True, **security},
    }


def onelogin(**security: Any) -> OneLogin_Saml2_Settings:
    return OneLogin_Saml2_Settings(settings_dict(**security))


def response_spec(**changes: Any) -> ResponseSpec:
    return ResponseSpec(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        request_id=REQUEST_ID,
        now=datetime.now(UTC),
        attributes={MAIL: ["alice@example.org"], "urn:oid:2.5.4.42": ["Alice"]},
        friendly_names={MAIL: "mail"},
        sp_certificate=keys("sp").cert_pem,
        **changes,
    )


def idp() -> SAMLResponseBuilder:
    return SAMLResponseBuilder(entity_id=IDP_ENTITY_ID, key_pair=keys("idp"))


# --- python3-saml accepts what authkit produces --------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "security"),
    [
        ({}, {}),
        ({"sign_response": True}, {"wantMessagesSigned": True}),
        (
            {
                "encrypt_assertion": True,
                "encryption_algorithm": "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            },
            {"wantAssertionsEncrypted": True},
        ),
        ({"encrypt_assertion": True, "sign_response": True}, {"wantAssertionsEncrypted": True}),
        ({"encrypt_name_id": True}, {"wantNameIdEncrypted": True}),
    ],
    ids=[
        "signed-assertion",
        "both-signed",
        "encrypted-cbc",
        "encrypted-gcm-signed",
        "encrypted-id",
    ],
)
def test_python3_saml_accepts_responses_from_the_builder(
    changes: dict[str, Any], security: dict[str, Any]
) -> None:
    response = OneLogin_Saml2_Response(
        onelogin(**security), idp().build_base64(response_spec(**changes))
    )
    assert response.is_valid(REQUEST_DATA, REQUEST_ID, raise_exceptions=True)
    assert response.get_nameid() == "alice@example.org"
    assert response.get_attributes()[MAIL] == ["alice@example.org"]
    assert response.get_session_index()


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("wrong_audience", "not a valid audience"),
        ("wrong_issuer", "Invalid issuer"),
        ("expired", "Could not validate timestamp"),
        ("unsigned", "is not signed"),
    ],
)
def test_python3_saml_refuses_the_broken_variants_too(variant: str, message: str) -> None:
    response = OneLogin_Saml2_Response(
        onelogin(), idp().build_base64(response_spec().broken(variant))
    )
    assert not response.is_valid(REQUEST_DATA, REQUEST_ID)
    assert message in (response.get_error() or "")


def _authkit_sp(**security: Any) -> ServiceProvider:
    return ServiceProvider(
        SAMLSettings.from_dict(settings_dict(**security)), replay_cache=MemoryReplayCache()
    )


def test_python3_saml_schema_accepts_the_authn_requests() -> None:
    sp = _authkit_sp(authnRequestsSigned=True)
    redirect = sp.login_request(relay_state="/next")
    query = urlsplit(redirect.url).query
    params = parse_qs(query)
    xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(params["SAMLRequest"][0])
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-protocol-2.0.xsd"), str)
    signed_query = query.rsplit("&Signature=", 1)[0]
    assert OneLogin_Saml2_Utils.validate_binary_sign(
        signed_query,
        base64.b64decode(params["Signature"][0]),
        keys("sp").cert_pem.decode(),
        params["SigAlg"][0],
    )

    post = sp.login_request(binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    xml = base64.b64decode(post.fields["SAMLRequest"])
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-protocol-2.0.xsd"), str)
    assert OneLogin_Saml2_Utils.validate_sign(
        xml, keys("sp").cert_pem.decode(), xpath="/samlp:AuthnRequest/ds:Signature"
    )


def test_python3_saml_schema_accepts_the_sp_metadata_and_its_signature() -> None:
    new = keys("sp-new")
    data = settings_dict(signMetadata=True, wantAssertionsEncrypted=True)
    data["sp"]["x509certNew"] = new.cert_base64
    data["sp"]["attributeConsumingService"] = {
        "serviceName": "Repository",
        "requestedAttributes": [{"name": MAIL, "friendlyName": "mail", "isRequired": True}],
    }
    data["organization"] = {
        "en": {"name": "ex", "displayname": "Example", "url": "https://example.org"}
    }
    data["contactPerson"] = {"technical": {"givenName": "Ops", "emailAddress": "ops@example.org"}}
    metadata = ServiceProvider(SAMLSettings.from_dict(data)).metadata()
    assert not isinstance(
        OneLogin_Saml2_XML.validate_xml(metadata, "saml-schema-metadata-2.0.xsd"), str
    )
    assert OneLogin_Saml2_Utils.validate_metadata_sign(metadata, keys("sp").cert_pem.decode())
    # python3-saml's own settings checker reads the same settings dict.
    onelogin_metadata = OneLogin_Saml2_Settings(settings_dict()).get_sp_metadata()
    assert OneLogin_Saml2_Settings(settings_dict()).validate_metadata(onelogin_metadata) == []
    assert OneLogin_Saml2_Settings(settings_dict()).validate_metadata(metadata) == []


# --- authkit accepts what python3-saml produces --------------------------------------------------


def test_authkit_accepts_an_assertion_signed_by_python3_saml() -> None:
    response = idp().build_element(response_spec(sign_assertion=False))
    assertion = response.find("saml:Assertion", NS)
    assert assertion is not None
    signed = OneLogin_Saml2_Utils.add_sign(
        etree.tostring(assertion), keys("idp").key_pem.decode(), keys("idp").cert_pem.decode()
    )
    response.replace(assertion, etree.fromstring(signed))
    authn = _authkit_sp().process_response(
        base64.b64encode(etree.tostring(response)).decode(), request_id=REQUEST_ID
    )
    assert authn.name_id == "alice@example.org"
    assert authn.assertion_signed


def test_authkit_verifies_metadata_signed_by_python3_saml() -> None:
    metadata = OneLogin_Saml2_Settings(settings_dict()).get_sp_metadata()
    signed = OneLogin_Saml2_Metadata.sign_metadata(
        metadata, keys("sp").key_pem.decode(), keys("sp").cert_pem.decode()
    )
    verify_signed_element(etree.fromstring(signed), certificates=[keys("sp").cert_pem])


def test_authkit_decrypts_a_name_id_encrypted_by_python3_saml() -> None:
    encrypted = OneLogin_Saml2_Utils.generate_name_id(
        "alice@example.org",
        SP_ENTITY_ID,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        keys("sp").cert_pem.decode(),
    )
    # python3-saml returns the element without its namespace declaration: give it one.
    container = etree.fromstring(f'<c xmlns:saml="{NS["saml"]}">{encrypted}</c>'.encode())
    wrapper = container[0]
    assert wrapper.tag == qname(NS["saml"], "EncryptedID")
    name_id = decrypt_element(
        wrapper, private_keys=[keys("sp").key_pem], expected=qname(NS["saml"], "NameID")
    )
    assert name_id.text == "alice@example.org"


def test_authkit_verifies_a_redirect_query_signed_by_python3_saml() -> None:
    logout = (
        b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        b'ID="_1" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"/>'
    )
    saml_request = OneLogin_Saml2_Utils.deflate_and_base64_encode(logout)
    algorithm = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    signed_query = OneLogin_Saml2_Auth._build_sign_query(
        saml_request, "/back", algorithm, "SAMLRequest"
    )
    signature = OneLogin_Saml2_Utils.sign_binary(signed_query, keys("idp").key_pem.decode())
    query = f"{signed_query}&Signature={quote(base64.b64encode(signature).decode(), safe='')}"
    message = decode_redirect(query, param="SAMLRequest")
    message.verify(certificates=[keys("idp").cert_pem])
    assert message.xml == logout
    assert message.relay_state == "/back"
