"""SAMLIdentityProvider driven over real HTTP, as an independent client would.

The SP side is authkit's :class:`~authkit.saml.ServiceProvider` and, for interoperability,
python3-saml; the "browser" is ``requests`` plus ``lxml.html`` to read the auto-posting forms.
Metadata is read with authkit's parser and python3-saml's. Single logout is exercised with
python3-saml as the SP (authkit's SP core has no logout support yet) and with hand-built
messages signed by the SP key.
"""

from __future__ import annotations

import base64
import functools
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
import requests
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from authkit.errors import ConfigurationError, InvalidSettingError, SAMLValidationError
from authkit.saml import (
    LoginRequest,
    SAMLSettings,
    Scope,
    ServiceProvider,
    fetch_idp_metadata,
    parse_idp_metadata,
)
from authkit.saml._bindings import decode_redirect, encode_redirect
from authkit.saml._xmldsig import sign_element, verify_signed_element
from authkit.testing import (
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
    read_post_form,
)
from authkit.testing._saml_builder import KeyPair, generate_key_pair
from authkit.transport import RequestsTransport

pytest_plugins = ["pytester"]  # the authkit fixtures come from the installed pytest11 plugin

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"samlp": SAMLP, "saml": SAML, "md": "urn:oasis:names:tc:SAML:2.0:metadata"}

SP_ID = "http://127.0.0.1:8000/saml/metadata"
ACS = "http://127.0.0.1:8000/saml/acs"
SLS = "http://127.0.0.1:8000/saml/sls"

MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN_NAME = "urn:oid:2.5.4.42"
SN = "urn:oid:2.5.4.4"
EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
ENTITLEMENT = "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"
IS_MEMBER_OF = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"

ALICE = SAMLUser(
    username="alice",
    password="wonderland",
    attributes={
        "mail": "alice@example.org",
        "givenName": "Alice",
        "sn": "Liddell",
        "eduPersonPrincipalName": "alice@example.org",
        "eduPersonEntitlement": [
            "urn:mace:example.org:entitlement:staff",
            "urn:mace:example.org:entitlement:library",
        ],
        "isMemberOf": ["staff", "readers"],
    },
)
BOB = SAMLUser(username="bob", password="builder", attributes={"mail": "bob@example.org"})


@functools.cache
def sp_keys(role: str = "sp") -> KeyPair:
    """One key pair per role for the whole run (RSA generation is slow)."""
    return generate_key_pair(now=datetime.now(UTC), common_name=f"authkit test {role}")


def settings_dict(
    idp: SAMLIdentityProvider,
    *,
    sso_binding: str = REDIRECT,
    sp: dict[str, Any] | None = None,
    idp_extra: dict[str, Any] | None = None,
    **security: Any,
) -> dict[str, Any]:
    keys = sp_keys()
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": SP_ID,
            "assertionConsumerService": {"url": ACS, "binding": POST},
            "singleLogoutService": {"url": SLS, "binding": REDIRECT},
            "NameIDFormat": EMAIL,
            "x509cert": keys.cert_base64,
            "privateKey": keys.key_pem.decode("ascii"),
            **(sp or {}),
        },
        "idp": {**idp.idp_settings(sso_binding=sso_binding), **(idp_extra or {})},
        "security": security,
    }


def authkit_sp(
    idp: SAMLIdentityProvider,
    *,
    register: bool = True,
    party: dict[str, Any] | None = None,
    sso_binding: str = REDIRECT,
    idp_extra: dict[str, Any] | None = None,
    **security: Any,
) -> ServiceProvider:
    """authkit's SP for ``idp``, registered at the IdP from its own metadata."""
    sp = ServiceProvider(
        SAMLSettings.from_dict(
            settings_dict(idp, sso_binding=sso_binding, idp_extra=idp_extra, **security)
        )
    )
    if register:
        idp.add_relying_party(
            SAMLRelyingParty.from_metadata(sp.metadata(), **(party or {})), replace=True
        )
    return sp


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The first form of an HTML page, read with lxml.html (independently of authkit)."""
    form = lxml.html.fromstring(page).forms[0]
    return str(form.action), {k: str(v) for k, v in form.form_values()}


def send(login: LoginRequest) -> requests.Response:
    """Take the browser to the IdP with ``login`` (GET for Redirect, POST for the form)."""
    if login.is_redirect:
        return requests.get(login.url, allow_redirects=False, timeout=5)
    action, fields = form_of(login.form or "")
    return requests.post(action, data=fields, allow_redirects=False, timeout=5)


def sign_in(
    sp: ServiceProvider, *, relay_state: str | None = "/next", binding: str | None = None
) -> tuple[LoginRequest, dict[str, str]]:
    """One SP-initiated login with the IdP approving at once: the fields posted to the ACS."""
    login = sp.login_request(relay_state=relay_state, binding=binding)
    answer = send(login)
    assert answer.status_code == 200, answer.text
    action, fields = form_of(answer.text)
    assert action == ACS
    return login, fields


def refused_code(sp: ServiceProvider, fields: dict[str, str], request_id: str | None) -> str:
    with pytest.raises(SAMLValidationError) as info:
        sp.process_response(fields["SAMLResponse"], request_id=request_id)
    return info.value.code


@pytest.fixture
def idp() -> Iterator[SAMLIdentityProvider]:
    with SAMLIdentityProvider(
        users=[ALICE, BOB],
        auto_login="alice",
        scopes=["example.org"],
        display_name="authkit test IdP",
    ) as running:
        yield running
        assert running.server_errors == []


# -- metadata -----------------------------------------------------------------------------------


def test_metadata_is_served_and_authkit_reads_every_part(idp: SAMLIdentityProvider) -> None:
    answer = requests.get(idp.metadata_url, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/samlmetadata+xml"
    metadata = parse_idp_metadata(answer.content)
    assert metadata.entity_id == idp.issuer == idp.metadata_url
    assert [(e.binding, e.location) for e in metadata.sso_services] == [
        (REDIRECT, idp.sso_url),
        (POST, idp.sso_url),
    ]
    assert [(e.binding, e.location) for e in metadata.slo_services] == [
        (REDIRECT, idp.slo_url),
        (POST, idp.slo_url),
    ]
    assert metadata.signing_certificates == (idp.certificate,)
    assert metadata.encryption_certificates == (idp.certificate,)
    assert set(metadata.name_id_formats) == {
        EMAIL,
        PERSISTENT,
        TRANSIENT,
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    }
    assert metadata.scopes == (Scope("example.org"),)
    assert metadata.display_name() == "authkit test IdP"
    assert metadata.want_authn_requests_signed is False
    assert idp.request_count("metadata") == 1


def test_metadata_through_authkit_transport_configures_an_sp(idp: SAMLIdentityProvider) -> None:
    metadata = fetch_idp_metadata(idp.metadata_url, RequestsTransport())
    settings = settings_dict(idp)
    settings["idp"] = metadata.to_settings_dict()
    sp = ServiceProvider(SAMLSettings.from_dict(settings))
    idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()))
    login, fields = sign_in(sp)
    assert sp.process_response(fields["SAMLResponse"], request_id=login.id).issuer == idp.issuer


def test_python3_saml_parses_the_metadata(idp: SAMLIdentityProvider) -> None:
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(requests.get(idp.metadata_url, timeout=5).text)
    assert parsed["idp"]["entityId"] == idp.issuer
    assert parsed["idp"]["singleSignOnService"] == {"url": idp.sso_url, "binding": REDIRECT}
    assert parsed["idp"]["singleLogoutService"] == {"url": idp.slo_url, "binding": REDIRECT}
    assert parsed["idp"]["x509cert"] == idp.certificate


def test_signed_metadata_verifies_with_the_idp_certificate_only() -> None:
    with SAMLIdentityProvider(sign_metadata=True, want_authn_requests_signed=True) as idp:
        document = requests.get(idp.metadata_url, timeout=5).content
    metadata = parse_idp_metadata(document, certificate=idp.certificate)
    assert metadata.want_authn_requests_signed is True
    with pytest.raises(SAMLValidationError) as info:
        parse_idp_metadata(document, certificate=sp_keys().cert_base64)
    assert info.value.code == "saml.metadata_signature_invalid"


# -- SP-initiated login with authkit's ServiceProvider --------------------------------------------


def test_a_redirect_login_with_a_signed_assertion(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    login, fields = sign_in(sp)
    assert fields["RelayState"] == "/next"
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.issuer == idp.issuer
    assert authn.name_id == "alice@example.org"
    assert authn.name_id_format == EMAIL
    assert authn.assertion_signed
    assert not authn.response_signed
    assert not authn.assertion_encrypted
    assert authn.attributes == {
        MAIL: ["alice@example.org"],
        GIVEN_NAME: ["Alice"],
        SN: ["Liddell"],
        EPPN: ["alice@example.org"],
        ENTITLEMENT: [
            "urn:mace:example.org:entitlement:staff",
            "urn:mace:example.org:entitlement:library",
        ],
        IS_MEMBER_OF: ["staff", "readers"],
    }
    friendly = {a.name: a.friendly_name for a in authn.attribute_details}
    assert friendly[MAIL] == "mail"
    assert friendly[IS_MEMBER_OF] == "isMemberOf"

    received = idp.last_authn_request
    assert received is not None
    assert received.id == login.id == authn.in_response_to
    assert received.issuer == SP_ID
    assert received.binding == REDIRECT
    assert received.acs_url == ACS
    assert received.relay_state == "/next"
    assert received.name_id_format == EMAIL
    assert not received.signed
    assert idp.request_count("sso") == 1
    issued = idp.last_response
    assert issued is not None
    assert issued.request_id == login.id
    assert issued.username == "alice"
    assert idp.sessions[0].session_index == authn.session_index
    assert idp.sessions[0].sp_entity_id == SP_ID


def test_response_and_assertion_both_signed(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, party={"sign_response": True}, wantMessagesSigned=True)
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.response_signed
    assert authn.assertion_signed


def test_an_encrypted_assertion_for_an_sp_that_asks_for_it(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, wantAssertionsEncrypted=True)
    assert idp.relying_parties[SP_ID].encrypt_assertion  # from the SP metadata
    login, fields = sign_in(sp)
    xml = base64.b64decode(fields["SAMLResponse"])
    assert b"EncryptedAssertion" in xml
    assert b"alice@example.org" not in xml
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.assertion_encrypted
    assert authn.name_id == "alice@example.org"


def test_encrypted_name_id_and_attributes_by_response_options(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    with idp.response_options(encrypt_name_id=True, encrypt_attributes=True):
        login, fields = sign_in(sp)
    xml = base64.b64decode(fields["SAMLResponse"])
    assert b"EncryptedID" in xml
    assert b"EncryptedAttribute" in xml
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.name_id == "alice@example.org"
    assert authn.attributes[MAIL] == ["alice@example.org"]
    _, later = sign_in(sp)  # the options ended with the block
    assert b"EncryptedID" not in base64.b64decode(later["SAMLResponse"])


@pytest.mark.parametrize("signed", [False, True])
def test_a_post_binding_login(idp: SAMLIdentityProvider, signed: bool) -> None:
    sp = authkit_sp(idp, sso_binding=POST, authnRequestsSigned=signed)
    login, fields = sign_in(sp)
    assert not login.is_redirect
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.name_id == "alice@example.org"
    received = idp.last_authn_request
    assert received is not None
    assert received.binding == POST
    assert received.signed is signed


def test_a_signed_redirect_request_is_verified(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, authnRequestsSigned=True)
    assert idp.relying_parties[SP_ID].require_signed_messages
    login, fields = sign_in(sp)
    assert "Signature=" in login.url
    sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert idp.last_authn_request is not None
    assert idp.last_authn_request.signed


def test_the_html_login_form(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    idp.login_as(None)
    login = sp.login_request(relay_state="/after")
    page = send(login)
    assert page.status_code == 200
    assert "Sign in" in page.text
    action, fields = form_of(page.text)
    assert action == idp.login_url
    wrong = requests.post(action, data={**fields, "username": "bob", "password": "nope"}, timeout=5)
    assert "Invalid username or password." in wrong.text
    action, fields = form_of(wrong.text)  # the same pending login, shown again
    answer = requests.post(
        action,
        data={**fields, "username": "bob", "password": "builder", "action": "login"},
        timeout=5,
    )
    target, posted = form_of(answer.text)
    assert target == ACS
    assert posted["RelayState"] == "/after"
    authn = sp.process_response(posted["SAMLResponse"], request_id=login.id)
    assert authn.name_id == "bob@example.org"
    # The pending login is single use.
    again = requests.post(
        action,
        data={**fields, "username": "bob", "password": "builder", "action": "login"},
        timeout=5,
    )
    assert again.status_code == 400
    assert idp.last_rejection is not None
    assert idp.last_rejection.code == "idp.login_expired"


def test_a_cancelled_login_posts_an_authn_failed_status(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    idp.login_as(None)
    login = sp.login_request()
    action, fields = form_of(send(login).text)
    answer = requests.post(action, data={**fields, "action": "deny"}, timeout=5)
    _, posted = form_of(answer.text)
    with pytest.raises(SAMLValidationError) as info:
        sp.process_response(posted["SAMLResponse"], request_id=login.id)
    assert info.value.code == "saml.status_not_success"
    assert info.value.status_codes == (
        "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
    )


def test_a_form_with_a_wrong_csrf_token_is_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    idp.login_as(None)
    action, fields = form_of(send(sp.login_request()).text)
    answer = requests.post(
        action,
        data={**fields, "csrf_token": "forged", "username": "bob", "password": "builder"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert idp.last_rejection is not None
    assert idp.last_rejection.code == "idp.csrf_mismatch"


def test_is_passive_without_a_signed_in_user_answers_no_passive(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp)
    idp.login_as(None)
    login = sp.login_request(is_passive=True)
    _, posted = form_of(send(login).text)
    with pytest.raises(SAMLValidationError) as info:
        sp.process_response(posted["SAMLResponse"], request_id=login.id)
    assert info.value.status_codes[-1] == ("urn:oasis:names:tc:SAML:2.0:status:NoPassive")


# -- NameID formats and attributes ----------------------------------------------------------------


def test_a_persistent_name_id_is_stable_per_sp_and_differs_between_sps(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp)  # asks for emailAddress; the test forces persistent
    with idp.response_options(name_id_format=PERSISTENT):
        names = []
        for _ in range(2):
            login, fields = sign_in(sp)
            names.append(sp.process_response(fields["SAMLResponse"], request_id=login.id))
    assert names[0].name_id_format == PERSISTENT
    assert names[0].name_id == names[1].name_id
    assert names[0].name_id not in ("alice", "alice@example.org")
    other = ALICE.name_id_for(PERSISTENT, idp_entity_id=idp.issuer, sp_entity_id="urn:other")
    assert other != names[0].name_id
    login, fields = sign_in(sp)  # the options ended with the block
    assert sp.process_response(fields["SAMLResponse"], request_id=login.id).name_id_format == EMAIL


def test_the_request_format_wins_over_the_relying_party_one(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, party={"name_id_format": PERSISTENT})
    login = sp.login_request(name_id_format=TRANSIENT)
    _, fields = form_of(send(login).text)
    assert sp.process_response(fields["SAMLResponse"], request_id=login.id).name_id_format == (
        TRANSIENT
    )
    unsolicited = idp.issue_response(SP_ID)  # no request: the relying party's format
    assert idp.last_response is not None
    assert idp.last_response.name_id_format == PERSISTENT
    assert unsolicited.kind == "Response"


def test_a_transient_name_id_is_fresh_every_time(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, sp={"NameIDFormat": TRANSIENT})
    names = set()
    for _ in range(2):
        login, fields = sign_in(sp)
        names.add(sp.process_response(fields["SAMLResponse"], request_id=login.id).name_id)
    assert len(names) == 2


def test_an_unsupported_name_id_policy_answers_invalid_name_id_policy() -> None:
    with SAMLIdentityProvider(users=[ALICE], auto_login="alice", name_id_formats=[PERSISTENT],
                              default_name_id_format=PERSISTENT) as idp:  # fmt: skip
        sp = authkit_sp(idp)  # asks for emailAddress
        login, fields = sign_in(sp)
        with pytest.raises(SAMLValidationError) as info:
            sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert info.value.status_codes == (
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
        "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy",
    )


def test_a_user_without_mail_cannot_get_an_email_name_id() -> None:
    nobody = SAMLUser(username="nobody")
    with SAMLIdentityProvider(users=[nobody], auto_login="nobody") as idp:
        sp = authkit_sp(idp)
        login, fields = sign_in(sp)
        with pytest.raises(SAMLValidationError) as info:
            sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert info.value.code == "saml.status_not_success"
    assert idp.last_response is not None
    assert idp.last_response.username is None


def test_friendly_attribute_names_and_extra_attributes(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(
        idp,
        party={"attribute_names": "friendly", "extra_attributes": {"schacHomeOrganization": "x"}},
    )
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.attributes["mail"] == ["alice@example.org"]
    assert authn.attributes["schacHomeOrganization"] == ["x"]
    assert {a.name_format for a in authn.attribute_details} == {
        "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
    }


def test_the_requested_authn_context_is_echoed(idp: SAMLIdentityProvider) -> None:
    mfa = "https://refeds.org/profile/mfa"
    sp = authkit_sp(idp, requestedAuthnContext=[mfa], failOnAuthnContextMismatch=True)
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert authn.authn_context_class_ref == mfa


# -- broken responses -----------------------------------------------------------------------------

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
    ("wrong_key", "saml.signature_invalid"),
    ("tampered", "saml.signature_invalid"),
]


@pytest.mark.parametrize(("fault", "code"), BROKEN)
def test_each_broken_response_is_refused_with_its_code(
    idp: SAMLIdentityProvider, fault: str, code: str
) -> None:
    sp = authkit_sp(idp)
    with idp.fault(fault, times=1):
        login, fields = sign_in(sp)
        assert idp.active_faults == ()  # used up
    assert refused_code(sp, fields, login.id) == code
    assert idp.last_response is not None
    assert idp.last_response.faults == (fault,)
    login, fields = sign_in(sp)  # the next Response is a good one
    assert sp.process_response(fields["SAMLResponse"], request_id=login.id).name_id


def test_the_authn_context_fault_needs_the_sp_to_care(idp: SAMLIdentityProvider) -> None:
    strict = authkit_sp(idp, failOnAuthnContextMismatch=True)
    idp.set_fault("wrong_authn_context")
    login, fields = sign_in(strict)
    assert refused_code(strict, fields, login.id) == "saml.authn_context_mismatch"
    lenient = authkit_sp(idp)
    login, fields = sign_in(lenient)
    assert lenient.process_response(fields["SAMLResponse"], request_id=login.id)
    idp.clear_faults()
    assert idp.active_faults == ()


def test_a_tampered_response_signature_is_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, party={"sign_response": True, "sign_assertion": False},
                    wantAssertionsSigned=False, wantMessagesSigned=True)  # fmt: skip
    idp.set_fault("tampered", times=1)
    login, fields = sign_in(sp)
    assert refused_code(sp, fields, login.id) == "saml.signature_invalid"


def test_a_response_cannot_be_replayed(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    login, fields = sign_in(sp)
    sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert refused_code(sp, fields, login.id) == "saml.replayed"


def test_the_injected_clock_drives_expiry(clock: Any) -> None:
    with SAMLIdentityProvider(
        users=[ALICE], auto_login="alice", clock=clock, assertion_lifetime=60
    ) as idp:
        sp = authkit_sp(idp)
        login = sp.login_request(now=clock.now)
        _, fields = form_of(send(login).text)
        sp.process_response(fields["SAMLResponse"], request_id=login.id, now=clock.now)
        login = sp.login_request(now=clock.now)
        _, fields = form_of(send(login).text)
        clock.advance(60 + 180)  # the lifetime and the SP's default clock skew
        with pytest.raises(SAMLValidationError) as info:
            sp.process_response(fields["SAMLResponse"], request_id=login.id, now=clock.now)
        # The bearer confirmation expires with the assertion, and is checked first.
        assert info.value.code == "saml.subject_confirmation_expired"
        # And a request older than the IdP accepts is refused by the IdP.
        stale = sp.login_request(now=clock.now - timedelta(minutes=10))
        assert send(stale).status_code == 400
        assert idp.last_rejection is not None
        assert idp.last_rejection.code == "idp.request_expired"


# -- unsolicited responses ------------------------------------------------------------------------


def test_an_unsolicited_response_is_accepted_only_where_allowed(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp)
    message = idp.issue_response(SP_ID, username="bob", relay_state="/home")
    assert message.fields["RelayState"] == "/home"
    assert message.url == ACS
    assert form_of(message.form or "") == (ACS, dict(message.fields))
    assert refused_code(sp, dict(message.fields), None) == "saml.unsolicited_response"
    open_sp = authkit_sp(idp, allow_unsolicited=True)
    authn = open_sp.process_response(message.fields["SAMLResponse"], request_id=None)
    assert authn.name_id == "bob@example.org"
    assert authn.in_response_to is None


def test_the_idp_initiated_endpoint(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, allow_unsolicited=True)
    answer = requests.get(
        idp.unsolicited_url, params={"providerId": SP_ID, "target": "/start"}, timeout=5
    )
    action, fields = form_of(answer.text)
    assert action == ACS
    assert fields["RelayState"] == "/start"
    assert sp.process_response(fields["SAMLResponse"], request_id=None).name_id
    unknown = requests.get(idp.unsolicited_url, params={"providerId": "urn:x"}, timeout=5)
    assert unknown.status_code == 400
    assert idp.last_rejection is not None
    assert idp.last_rejection.code == "idp.unknown_sp"


# -- requests the IdP refuses ---------------------------------------------------------------------


def last_code(idp: SAMLIdentityProvider) -> str:
    assert idp.last_rejection is not None
    return idp.last_rejection.code


def test_an_unknown_sp_is_refused_and_nothing_is_posted(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, register=False)
    answer = send(sp.login_request())
    assert answer.status_code == 400
    assert "<form" not in answer.text
    assert 'data-code="idp.unknown_sp"' in answer.text
    assert last_code(idp) == "idp.unknown_sp"
    assert idp.responses == []
    assert idp.authn_requests == []


def test_another_acs_url_is_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, party={"acs_url": "http://127.0.0.1:8000/other/acs"})
    assert send(sp.login_request()).status_code == 400
    assert last_code(idp) == "idp.acs_mismatch"


def test_a_wrong_destination_is_refused(idp: SAMLIdentityProvider) -> None:
    other = {"singleSignOnService": {"url": idp.sso_url + "?tenant=1", "binding": REDIRECT}}
    sp = authkit_sp(idp, idp_extra=other)
    assert send(sp.login_request()).status_code == 400
    assert last_code(idp) == "idp.destination_mismatch"


def test_an_unsigned_request_is_refused_when_signatures_are_required(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp, party={"require_signed_messages": True})
    assert send(sp.login_request()).status_code == 400
    assert last_code(idp) == "idp.signature_missing"


def test_a_bad_query_signature_is_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, authnRequestsSigned=True)
    login = sp.login_request(relay_state="/a")
    forged = login.url.replace("RelayState=%2Fa", "RelayState=%2Fb")
    assert forged != login.url
    assert requests.get(forged, timeout=5).status_code == 400
    assert last_code(idp) == "saml.signature_invalid"


def test_a_signature_by_another_key_is_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, sso_binding=POST, authnRequestsSigned=True)
    idp.add_relying_party(
        SAMLRelyingParty.from_metadata(sp.metadata(), certificate=sp_keys("other").cert_pem),
        replace=True,
    )
    assert send(sp.login_request()).status_code == 400
    assert last_code(idp) == "saml.signature_invalid"


def test_a_signed_request_from_an_sp_without_certificate_is_refused(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp, authnRequestsSigned=True)
    idp.add_relying_party(SAMLRelyingParty(entity_id=SP_ID, acs_url=ACS), replace=True)
    assert send(sp.login_request()).status_code == 400
    assert last_code(idp) == "idp.signature_unverifiable"


def test_an_idp_that_wants_signed_requests_refuses_unsigned_ones() -> None:
    with SAMLIdentityProvider(users=[ALICE], auto_login="alice",
                              want_authn_requests_signed=True) as idp:  # fmt: skip
        unsigned = authkit_sp(idp)
        assert send(unsigned.login_request()).status_code == 400
        assert last_code(idp) == "idp.signature_missing"
        signed = authkit_sp(idp, authnRequestsSigned=True)
        login, fields = sign_in(signed)
        assert signed.process_response(fields["SAMLResponse"], request_id=login.id)


def test_a_request_id_is_accepted_once(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    login = sp.login_request()
    assert send(login).status_code == 200
    assert send(login).status_code == 400
    assert last_code(idp) == "idp.replayed_request"


def post_request(idp: SAMLIdentityProvider, xml: bytes, path: str = "sso") -> requests.Response:
    return requests.post(
        idp.url_for(path),
        data={"SAMLRequest": base64.b64encode(xml).decode("ascii")},
        timeout=5,
    )


def authn_request_xml(idp: SAMLIdentityProvider, **changes: str | None) -> bytes:
    values: dict[str, str | None] = {
        "ID": "_" + "a" * 40,
        "Version": "2.0",
        "IssueInstant": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Destination": idp.sso_url,
        "ProtocolBinding": POST,
        "AssertionConsumerServiceURL": ACS,
    }
    values.update(changes)
    attributes = " ".join(f'{k}="{v}"' for k, v in values.items() if v is not None)
    return (
        f'<samlp:AuthnRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" {attributes}>'
        f"<saml:Issuer>{SP_ID}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Version": "1.1"}, "idp.version_unsupported"),
        ({"ID": None}, "idp.malformed"),
        ({"ProtocolBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"},
         "idp.unsupported_binding"),
        ({"IssueInstant": "2999-01-01T00:00:00Z"}, "idp.request_not_yet_valid"),
        ({"IssueInstant": "yesterday"}, "saml.malformed"),
    ],
)  # fmt: skip
def test_malformed_authn_requests_are_refused(
    idp: SAMLIdentityProvider, changes: dict[str, str | None], code: str
) -> None:
    authkit_sp(idp)
    answer = post_request(idp, authn_request_xml(idp, **changes))
    assert answer.status_code == 400
    assert last_code(idp) == code


def test_a_hand_built_post_request_is_accepted(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp)
    answer = post_request(idp, authn_request_xml(idp))
    assert answer.status_code == 200
    assert idp.last_authn_request is not None
    assert idp.last_authn_request.name_id_format is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"RelayState": "x"}, "idp.malformed"),
        ({"SAMLRequest": "not base64!"}, "saml.base64_invalid"),
        ({"SAMLRequest": base64.b64encode(b"<a>").decode()}, "saml.xml_malformed"),
        (
            {"SAMLRequest": base64.b64encode(b'<!DOCTYPE x [<!ENTITY e "x">]><x/>').decode()},
            "saml.xml_dtd_forbidden",
        ),
        ({"SAMLRequest": base64.b64encode(b"<x/>").decode()}, "saml.unexpected_element"),
    ],
)
def test_undecodable_messages_are_refused(
    idp: SAMLIdentityProvider, data: dict[str, str], code: str
) -> None:
    answer = requests.post(idp.sso_url, data=data, timeout=5)
    assert answer.status_code == 400
    assert last_code(idp) == code


def test_a_repeated_parameter_and_a_bad_method_are_refused(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    url = sp.login_request().url
    assert requests.get(url + "&RelayState=a&RelayState=b", timeout=5).status_code == 400
    assert last_code(idp) == "idp.malformed"
    assert requests.put(idp.sso_url, data=b"x", timeout=5).status_code == 400
    assert last_code(idp) == "idp.method_not_allowed"
    assert requests.get(idp.base_url + "/nowhere", timeout=5).status_code == 404
    assert requests.post(idp.metadata_url, timeout=5).status_code == 405


# -- python3-saml as the SP -----------------------------------------------------------------------


def onelogin_request_data(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "https": "off",
        "http_host": "127.0.0.1:8000",
        "script_name": "/saml/acs",
        "get_data": {},
        "post_data": fields,
    }


@pytest.mark.parametrize(
    ("party", "security"),
    [
        ({}, {"wantAssertionsSigned": True}),
        ({"sign_response": True}, {"wantAssertionsSigned": True, "wantMessagesSigned": True}),
        ({"encrypt_assertion": True}, {"wantAssertionsEncrypted": True}),
    ],
    ids=["assertion-signed", "both-signed", "encrypted"],
)
def test_python3_saml_accepts_the_responses(
    idp: SAMLIdentityProvider, party: dict[str, Any], security: dict[str, Any]
) -> None:
    settings = OneLogin_Saml2_Settings(settings_dict(idp, **security))
    sp = authkit_sp(idp, party=party)  # authkit's SP sends the AuthnRequest
    login, fields = sign_in(sp)
    response = OneLogin_Saml2_Response(settings, fields["SAMLResponse"])
    valid = response.is_valid(onelogin_request_data(fields), request_id=login.id)
    assert valid, response.get_error()
    assert response.get_nameid() == "alice@example.org"
    assert response.get_attributes()[ENTITLEMENT] == [
        "urn:mace:example.org:entitlement:staff",
        "urn:mace:example.org:entitlement:library",
    ]
    assert response.get_session_index() == idp.sessions[-1].session_index


def test_python3_saml_refuses_a_broken_response(idp: SAMLIdentityProvider) -> None:
    settings = OneLogin_Saml2_Settings(settings_dict(idp, wantAssertionsSigned=True))
    sp = authkit_sp(idp)
    with idp.fault("wrong_audience"):
        login, fields = sign_in(sp)
    response = OneLogin_Saml2_Response(settings, fields["SAMLResponse"])
    assert not response.is_valid(onelogin_request_data(fields), request_id=login.id)
    assert "audience" in (response.get_error() or "").lower()


# -- single logout --------------------------------------------------------------------------------


def onelogin_auth(idp: SAMLIdentityProvider, get_data: dict[str, str]) -> OneLogin_Saml2_Auth:
    request = {
        "https": "off",
        "http_host": "127.0.0.1:8000",
        "script_name": "/saml/sls",
        "get_data": get_data,
        "post_data": {},
    }
    settings = settings_dict(
        idp,
        logoutRequestSigned=True,
        logoutResponseSigned=True,
        wantMessagesSigned=True,
    )
    return OneLogin_Saml2_Auth(request, settings)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_sp_initiated_logout_with_python3_saml(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    assert len(idp.sessions) == 1

    auth = onelogin_auth(idp, {})
    url = auth.logout(
        return_to="/bye",
        name_id=authn.name_id,
        session_index=authn.session_index,
        name_id_format=authn.name_id_format,
    )
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(SLS + "?")
    back = onelogin_auth(idp, query_of(location))
    assert back.process_slo(request_id=auth.get_last_request_id()) is None
    assert back.get_errors() == [], back.get_last_error_reason()

    assert idp.sessions == []
    received = idp.last_logout_request
    assert received is not None
    assert received.signed
    assert received.binding == REDIRECT
    assert received.name_id == "alice@example.org"
    assert received.session_indexes == (authn.session_index,)
    assert received.relay_state == "/bye"
    assert received.status == SUCCESS


def test_idp_initiated_logout_with_python3_saml(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    message = idp.logout_request(SP_ID, username="alice", relay_state="/signed-out")
    assert message.kind == "LogoutRequest"
    assert message.url.startswith(SLS + "?")
    assert idp.sessions == []  # ended at once

    auth = onelogin_auth(idp, query_of(message.url))
    answer_url = auth.process_slo()
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert answer_url is not None
    assert answer_url.startswith(idp.slo_url)
    page = requests.get(answer_url, timeout=5)
    assert page.status_code == 200
    assert "You are signed out." in page.text
    received = idp.last_logout_response
    assert received is not None
    assert received.in_response_to == message.id
    assert received.success
    assert received.signed
    assert received.relay_state == "/signed-out"
    assert authn.session_index in message.xml.decode()
    # Answered once: the same LogoutResponse again is refused.
    assert requests.get(answer_url, timeout=5).status_code == 400
    assert last_code(idp) == "idp.unknown_logout_request"


def logout_request_xml(
    idp: SAMLIdentityProvider, name_id: str, session_index: str | None = None
) -> etree._Element:
    root = etree.fromstring(
        f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_{"b" * 40}" '
        f'Version="2.0" IssueInstant="{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}" '
        f'Destination="{idp.slo_url}"><saml:Issuer>{SP_ID}</saml:Issuer>'
        f'<saml:NameID Format="{EMAIL}">{name_id}</saml:NameID></samlp:LogoutRequest>'
    )
    if session_index is not None:
        etree.SubElement(root, f"{{{SAMLP}}}SessionIndex").text = session_index
    return root


def test_a_signed_post_logout_request_gets_a_signed_post_logout_response(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp, party={"slo_binding": POST})
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    request = logout_request_xml(idp, "alice@example.org", authn.session_index)
    keys = sp_keys()
    sign_element(request, key_pem=keys.key_pem, cert_pem=keys.cert_pem)
    answer = requests.post(
        idp.slo_url,
        data={"SAMLRequest": base64.b64encode(etree.tostring(request)).decode(), "RelayState": "r"},
        timeout=5,
    )
    action, posted = form_of(answer.text)
    assert action == SLS
    assert posted["RelayState"] == "r"
    response = etree.fromstring(base64.b64decode(posted["SAMLResponse"]))
    verify_signed_element(response, certificates=[idp.certificate])
    assert response.get("InResponseTo") == request.get("ID")
    assert response.find("samlp:Status/samlp:StatusCode", NS).get("Value") == SUCCESS  # type: ignore[union-attr]
    assert idp.sessions == []
    assert idp.last_logout_request is not None
    assert idp.last_logout_request.signed


def test_a_logout_request_for_an_unknown_principal(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp, party={"slo_binding": POST, "sign_logout_messages": False})
    request = logout_request_xml(idp, "nobody@example.org")
    answer = post_request(idp, etree.tostring(request), path="slo")
    _, posted = form_of(answer.text)
    response = etree.fromstring(base64.b64decode(posted["SAMLResponse"]))
    codes = [n.get("Value") for n in response.iterfind(".//samlp:StatusCode", NS)]
    assert codes == [
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
        "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal",
    ]
    assert response.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None


def test_an_encrypted_name_id_in_a_logout_request_is_decrypted(idp: SAMLIdentityProvider) -> None:
    from authkit.saml._xmldsig import encrypt_element

    sp = authkit_sp(idp, party={"slo_binding": POST})
    login, fields = sign_in(sp)
    sp.process_response(fields["SAMLResponse"], request_id=login.id)
    request = logout_request_xml(idp, "alice@example.org")
    name_id = request.find("saml:NameID", NS)
    assert name_id is not None
    wrapper = etree.SubElement(request, f"{{{SAML}}}EncryptedID")
    request.replace(name_id, wrapper)
    wrapper.append(name_id)
    encrypt_element(name_id, cert_pem=idp.key_pair.cert_pem)
    answer = post_request(idp, etree.tostring(request), path="slo")
    assert answer.status_code == 200
    received = idp.last_logout_request
    assert received is not None
    assert received.encrypted_name_id
    assert received.name_id == "alice@example.org"
    assert received.status == SUCCESS


def test_logout_messages_the_idp_refuses(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp, party={"require_signed_messages": True})
    unsigned = logout_request_xml(idp, "alice@example.org")
    assert post_request(idp, etree.tostring(unsigned), path="slo").status_code == 400
    assert last_code(idp) == "idp.signature_missing"

    idp.add_relying_party(SAMLRelyingParty(entity_id=SP_ID, acs_url=ACS), replace=True)
    assert post_request(idp, etree.tostring(unsigned), path="slo").status_code == 400
    assert last_code(idp) == "idp.no_slo_service"

    authkit_sp(idp)
    name_less = logout_request_xml(idp, "")
    assert post_request(idp, etree.tostring(name_less), path="slo").status_code == 400
    assert last_code(idp) == "idp.name_id_missing"

    stray = (
        f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_r" Version="2.0" '
        f'IssueInstant="{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}" InResponseTo="_x">'
        f'<saml:Issuer>{SP_ID}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{SUCCESS}"/>'
        "</samlp:Status></samlp:LogoutResponse>"
    ).encode()
    answer = requests.post(
        idp.slo_url, data={"SAMLResponse": base64.b64encode(stray).decode()}, timeout=5
    )
    assert answer.status_code == 400
    assert last_code(idp) == "idp.unknown_logout_request"

    assert requests.post(idp.slo_url, data={"x": "y"}, timeout=5).status_code == 400
    assert last_code(idp) == "idp.malformed"


def test_a_redirect_logout_request_with_a_bad_signature(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp)
    xml = etree.tostring(logout_request_xml(idp, "alice@example.org"))
    url = encode_redirect(
        idp.slo_url,
        xml,
        relay_state="x",
        key_pem=sp_keys("other").key_pem,
        signature_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    assert requests.get(url, timeout=5).status_code == 400
    assert last_code(idp) == "saml.signature_invalid"


def test_idp_initiated_post_logout_and_a_failed_answer(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp, party={"slo_binding": POST})
    login, fields = sign_in(sp)
    sp.process_response(fields["SAMLResponse"], request_id=login.id)
    message = idp.logout_request(SP_ID, reason="urn:oasis:names:tc:SAML:2.0:logout:admin")
    assert message.binding == POST
    assert message.form is not None
    action, posted = form_of(message.form)
    request = etree.fromstring(base64.b64decode(posted["SAMLRequest"]))
    verify_signed_element(request, certificates=[idp.certificate])
    assert action == SLS
    assert request.get("Reason") == "urn:oasis:names:tc:SAML:2.0:logout:admin"
    answer = (
        f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_r" Version="2.0" '
        f'IssueInstant="{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}" '
        f'InResponseTo="{message.id}" Destination="{idp.slo_url}">'
        f"<saml:Issuer>{SP_ID}</saml:Issuer><samlp:Status>"
        f'<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/>'
        "</samlp:Status></samlp:LogoutResponse>"
    ).encode()
    page = requests.post(
        idp.slo_url, data={"SAMLResponse": base64.b64encode(answer).decode()}, timeout=5
    )
    assert "Single logout failed." in page.text
    received = idp.last_logout_response
    assert received is not None
    assert not received.success
    assert not received.signed


def test_a_logout_request_without_a_session_is_a_usage_error(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp)
    with pytest.raises(InvalidSettingError) as info:
        idp.logout_request(SP_ID)
    assert info.value.code == "testing.no_session"
    with pytest.raises(InvalidSettingError) as info:
        idp.logout_request("urn:nobody")
    assert info.value.code == "testing.unknown_sp"
    idp.add_relying_party(SAMLRelyingParty(entity_id="urn:no-slo", acs_url=ACS))
    with pytest.raises(InvalidSettingError, match="slo_url"):
        idp.logout_request("urn:no-slo")


def test_the_redirect_logout_response_carries_a_valid_query_signature(
    idp: SAMLIdentityProvider,
) -> None:
    sp = authkit_sp(idp)
    login, fields = sign_in(sp)
    authn = sp.process_response(fields["SAMLResponse"], request_id=login.id)
    xml = etree.tostring(logout_request_xml(idp, "alice@example.org", authn.session_index))
    url = encode_redirect(idp.slo_url, xml, relay_state="a b/c")
    location = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    message = decode_redirect(urlsplit(location).query, param="SAMLResponse")
    message.verify(certificates=[idp.certificate])
    assert message.relay_state == "a b/c"
    assert b"Success" in message.xml
    assert zlib.decompress(base64.b64decode(query_of(location)["SAMLResponse"]), -15) == message.xml


# -- configuration errors -------------------------------------------------------------------------


DUPLICATE = SAMLRelyingParty(entity_id="x", acs_url=ACS)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: SAMLUser(username=""), "SAMLUser.username"),
        (lambda: SAMLUser(username="a", attributes={"mail": [1]}), "SAMLUser.attributes"),
        (lambda: SAMLUser(username="a", attributes=[]), "SAMLUser.attributes"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url="ftp://x"), "SAMLRelyingParty.acs_url"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url=ACS, certificate="nope"),
         "SAMLRelyingParty.certificate"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url=ACS, encrypt_assertion=True),
         "SAMLRelyingParty.encrypt_assertion"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url=ACS, slo_binding="x"),
         "SAMLRelyingParty.slo_binding"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url=ACS, attribute_names="oid"),  # type: ignore[arg-type]
         "SAMLRelyingParty.attribute_names"),
        (lambda: SAMLRelyingParty(entity_id="x", acs_url=ACS, sign_response="yes"),  # type: ignore[arg-type]
         "SAMLRelyingParty.sign_response"),
        (lambda: SAMLRelyingParty.from_metadata(b"<x/>"), "SAMLRelyingParty.from_metadata"),
        (lambda: SAMLIdentityProvider(clock=5), "SAMLIdentityProvider.clock"),  # type: ignore[arg-type]
        (lambda: SAMLIdentityProvider(entity_id=""), "SAMLIdentityProvider.entity_id"),
        (lambda: SAMLIdentityProvider(name_id_formats=[]), "SAMLIdentityProvider.name_id_formats"),
        (lambda: SAMLIdentityProvider(default_name_id_format=EMAIL, name_id_formats=[TRANSIENT]),
         "SAMLIdentityProvider.default_name_id_format"),
        (lambda: SAMLIdentityProvider(scopes="example.org"), "SAMLIdentityProvider.scopes"),
        (lambda: SAMLIdentityProvider(sign_metadata=1), "SAMLIdentityProvider.sign_metadata"),  # type: ignore[arg-type]
        (lambda: SAMLIdentityProvider(assertion_lifetime=0),
         "SAMLIdentityProvider.assertion_lifetime"),
        (lambda: SAMLIdentityProvider(auto_login="nobody"), "SAMLIdentityProvider.login_as"),
        (lambda: SAMLIdentityProvider(users=[ALICE, ALICE]), "SAMLIdentityProvider.users"),
        (lambda: SAMLIdentityProvider(users=["alice"]), "SAMLIdentityProvider.users"),  # type: ignore[list-item]
        (lambda: SAMLIdentityProvider(relying_parties=[DUPLICATE, DUPLICATE]),
         "SAMLIdentityProvider.relying_parties"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_field(make: Callable[[], object], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        make()
    assert info.value.key == key


def test_sp_metadata_without_a_post_acs_is_refused() -> None:
    metadata = (
        f'<md:EntityDescriptor xmlns:md="{NS["md"]}" entityID="urn:sp"><md:SPSSODescriptor '
        f'protocolSupportEnumeration="{SAMLP}"><md:AssertionConsumerService Binding="{REDIRECT}" '
        'Location="https://sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>'
    )
    with pytest.raises(InvalidSettingError) as info:
        SAMLRelyingParty.from_metadata(metadata)
    assert info.value.code == "testing.sp_metadata_invalid"


def test_sp_metadata_picks_the_default_acs_and_the_redirect_slo() -> None:
    metadata = (
        f'<md:EntityDescriptor xmlns:md="{NS["md"]}" entityID="urn:sp"><md:SPSSODescriptor '
        f'protocolSupportEnumeration="{SAMLP}">'
        f'<md:SingleLogoutService Binding="{POST}" Location="https://sp/slo-post"/>'
        f'<md:SingleLogoutService Binding="{REDIRECT}" Location="https://sp/slo" '
        'ResponseLocation="https://sp/slo-answer"/>'
        f'<md:AssertionConsumerService Binding="{POST}" Location="https://sp/acs2" index="2"/>'
        f'<md:AssertionConsumerService Binding="{POST}" Location="https://sp/acs1" index="1"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    )
    party = SAMLRelyingParty.from_metadata(metadata, sign_response=True)
    assert party.acs_url == "https://sp/acs1"
    assert (party.slo_url, party.slo_binding) == ("https://sp/slo", REDIRECT)
    assert party.logout_response_url == "https://sp/slo-answer"
    assert party.sign_response
    assert not party.encrypt_assertion
    assert party.certificate is None


def test_usage_errors_of_the_idp(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp)
    idp.login_as(None)
    for call, key in [
        (lambda: idp.set_fault("broken"), "SAMLIdentityProvider.fault"),
        (lambda: idp.set_fault("expired", times=0), "times"),
        (lambda: idp.set_fault("expired", times=True), "times"),
        (lambda: idp.set_response_options(now=None), "SAMLIdentityProvider.response_options"),
        (lambda: idp.set_response_options(colour="red"), "SAMLIdentityProvider.response_options"),
        (lambda: idp.login_as("nobody"), "SAMLIdentityProvider.login_as"),
        (lambda: idp.issue_response(SP_ID), "SAMLIdentityProvider.issue_response.username"),
        (lambda: idp.url_for("token"), "SAMLIdentityProvider.url_for"),
        (lambda: idp.idp_settings(sso_binding="x"),
         "SAMLIdentityProvider.idp_settings.sso_binding"),
        (lambda: idp.issue_response("urn:nobody"), "SAMLIdentityProvider.issue_response"),
        (lambda: idp.issue_response(SP_ID, username="nobody"),
         "SAMLIdentityProvider.issue_response.username"),
        (lambda: idp.add_relying_party("sp"), "SAMLIdentityProvider.relying_parties"),  # type: ignore[arg-type]
    ]:  # fmt: skip
        with pytest.raises(InvalidSettingError) as info:
            call()
        assert info.value.key == key


def test_encryption_without_a_certificate_is_a_usage_error(idp: SAMLIdentityProvider) -> None:
    idp.add_relying_party(SAMLRelyingParty(entity_id="urn:plain", acs_url=ACS))
    with idp.response_options(encrypt_assertion=True), pytest.raises(InvalidSettingError):
        idp.issue_response("urn:plain")


def test_a_tampered_fault_needs_something_signed_in_clear(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp, party={"encrypt_assertion": True})
    with idp.fault("tampered"), pytest.raises(InvalidSettingError) as info:
        idp.issue_response(SP_ID)
    assert info.value.code == "testing.fault_not_applicable"


def test_read_post_form_reads_the_idp_page(idp: SAMLIdentityProvider) -> None:
    authkit_sp(idp)
    message = idp.issue_response(SP_ID, relay_state="/x&y")
    form = read_post_form(message.form or "")
    assert form.action == ACS
    assert form.method == "POST"
    assert form.fields == dict(message.fields)
    with pytest.raises(InvalidSettingError) as info:
        read_post_form("<p>no form</p>")
    assert info.value.code == "testing.no_form"


# -- life cycle -----------------------------------------------------------------------------------


def test_stop_releases_the_port_and_joins_every_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    idp = SAMLIdentityProvider(users=[ALICE], auto_login="alice")
    with pytest.raises(ConfigurationError) as info:
        _ = idp.metadata_url
    assert info.value.code == "testing.not_started"
    with idp:
        assert idp.running
        assert repr(idp).startswith("<SAMLIdentityProvider http://127.0.0.1:")
        port = idp.metadata_url.rsplit(":", 1)[1].split("/")[0]
        sp = authkit_sp(idp)
        sign_in(sp)
    assert not idp.running
    assert "not running" in repr(idp)
    assert {t.ident for t in threading.enumerate()} <= before
    with socket.socket() as probe:
        # SO_REUSEADDR tolerates the closed connections' TIME_WAIT, not a listening socket.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", int(port)))  # free again
    with pytest.raises(requests.ConnectionError):
        requests.get(idp.metadata_url, timeout=2)
    with pytest.raises(ConfigurationError) as info:
        idp.start()
    assert info.value.code == "testing.already_started"


def test_parallel_logins(idp: SAMLIdentityProvider) -> None:
    sp = authkit_sp(idp)
    results: list[str | None] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            login, fields = sign_in(sp)
            results.append(sp.process_response(fields["SAMLResponse"], request_id=login.id).name_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert results == ["alice@example.org"] * 6
    assert len(idp.sessions) == 6
    assert idp.request_count("sso") == 6


# -- pytest fixtures ------------------------------------------------------------------------------


def test_the_pytest_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests
        from authkit.testing import SAMLRelyingParty
        from authkit.testing.pytest_plugin import (
            DEMO_SAML_PASSWORD, DEMO_SP_ACS_URL, DEMO_SP_ENTITY_ID,
        )

        def test_saml_idp(saml_idp):
            assert saml_idp.running
            assert saml_idp.users["alice"].password == DEMO_SAML_PASSWORD
            message = saml_idp.issue_response(DEMO_SP_ENTITY_ID)
            assert message.url == DEMO_SP_ACS_URL
            assert requests.get(saml_idp.metadata_url, timeout=5).status_code == 200

        def test_factory(saml_idp_factory):
            one = saml_idp_factory(scopes=["example.org"])
            two = saml_idp_factory(users=[], relying_parties=[])
            assert one.base_url != two.base_url
            assert one.users and not two.users and not two.relying_parties
            assert one.sessions == []
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


# -- the documentation's code -------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing-saml.md"


def docs_snippet(heading: str) -> str:
    """The first ``python`` code block under ``## heading`` in docs/testing-saml.md."""
    section = DOCS.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_docs_quick_start_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(docs_snippet("Quick start"), str(DOCS), "exec"), namespace)  # noqa: S102
    assert not namespace["idp"].running
    assert namespace["authn"].attributes[MAIL] == ["alice@example.org"]


def test_the_docs_complete_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_docs_example=docs_snippet("A complete example test"))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
