"""SAMLSettings.from_dict reads the python3-saml / invenio-saml dict and names every bad key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from saml_sp_kit import ACS_URL, IDP_ENTITY_ID, SP_ENTITY_ID, keys, settings_dict

from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.saml import IdPSettings, SAMLSettings, SecuritySettings, SPSettings
from authkit.saml._xmldsig import RSA_SHA1, RSA_SHA512, SHA1, SHA512

PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def error(
    data: dict[str, Any], kind: type[ConfigurationError] = ConfigurationError
) -> ConfigurationError:
    with pytest.raises(kind) as info:
        SAMLSettings.from_dict(data)
    return info.value


def test_a_minimal_python3_saml_dict_loads_with_secure_defaults() -> None:
    data = settings_dict()
    del data["security"]
    settings = SAMLSettings.from_dict(data)
    assert settings.sp.entity_id == SP_ENTITY_ID
    assert settings.sp.acs_url == ACS_URL
    assert settings.idp.entity_id == IDP_ENTITY_ID
    assert settings.idp.signing_certificates == settings.idp.encryption_certificates
    assert settings.idp.signing_certificates[0].startswith("-----BEGIN CERTIFICATE-----")
    security = settings.security
    assert security.want_assertions_signed is True  # python3-saml: False
    assert security.want_messages_signed is False
    assert security.want_name_id is True
    assert security.want_attribute_statement is True
    assert security.allow_unsolicited is False
    assert security.allow_sha1 is False
    assert security.clock_skew == timedelta(seconds=180)
    assert security.requested_authn_context == (PASSWORD_PROTECTED,)
    assert security.signature_algorithm == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def test_every_python3_saml_security_key_is_read() -> None:
    security = {
        "nameIdEncrypted": False,
        "authnRequestsSigned": True,
        "logoutRequestSigned": True,
        "logoutResponseSigned": True,
        "signMetadata": True,
        "wantMessagesSigned": True,
        "wantAssertionsSigned": False,
        "wantAssertionsEncrypted": True,
        "wantNameId": False,
        "wantNameIdEncrypted": True,
        "wantAttributeStatement": False,
        "requestedAuthnContext": ["urn:a", "urn:b"],
        "requestedAuthnContextComparison": "minimum",
        "failOnAuthnContextMismatch": True,
        "metadataValidUntil": "2030-01-01T00:00:00Z",
        "metadataCacheDuration": "PT604800S",
        "signatureAlgorithm": RSA_SHA512,
        "digestAlgorithm": SHA512,
        "rejectDeprecatedAlgorithm": True,
        "allowSingleLabelDomains": True,
        "allowRepeatAttributeName": True,
        "relaxDestinationValidation": True,
        "destinationStrictlyMatches": True,
        "lowercaseUrlencoding": True,
        "wantXMLValidation": False,
        "rejectUnsolicitedResponsesWithInResponseTo": True,
        "clock_skew": 30,
        "allow_unsolicited": True,
        "max_message_size": 100_000,
    }
    result = SAMLSettings.from_dict(settings_dict(**security)).security
    assert result == SecuritySettings(
        authn_requests_signed=True,
        logout_request_signed=True,
        logout_response_signed=True,
        sign_metadata=True,
        want_messages_signed=True,
        want_assertions_signed=False,
        want_assertions_encrypted=True,
        want_name_id=False,
        want_name_id_encrypted=True,
        want_attribute_statement=False,
        requested_authn_context=("urn:a", "urn:b"),
        requested_authn_context_comparison="minimum",
        fail_on_authn_context_mismatch=True,
        metadata_valid_until=datetime(2030, 1, 1, tzinfo=UTC),
        metadata_cache_duration="PT604800S",
        signature_algorithm=RSA_SHA512,
        digest_algorithm=SHA512,
        allow_single_label_domains=True,
        allow_repeat_attribute_name=True,
        relax_destination_validation=True,
        destination_strictly_matches=True,
        lowercase_urlencoding=True,
        want_xml_validation=False,
        clock_skew=timedelta(seconds=30),
        allow_unsolicited=True,
        max_message_size=100_000,
    )


def test_to_dict_round_trips() -> None:
    new = keys("sp-new")
    data = settings_dict(
        sp={
            "x509certNew": new.cert_base64,
            "private_key_new": new.key_pem.decode(),
            "singleLogoutService": {"url": "https://sp.example.org/saml/sls"},
            "attributeConsumingService": {
                "serviceName": "Repository",
                "serviceDescription": "Research data",
                "requestedAttributes": [
                    {
                        "name": "urn:oid:0.9.2342.19200300.100.1.3",
                        "isRequired": True,
                        "friendlyName": "mail",
                        "nameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                    },
                ],
            },
        },
        requestedAuthnContext=False,
        metadataValidUntil="2030-01-01T00:00:00Z",
    )
    data["idp"]["singleLogoutService"] = {
        "url": "https://idp.example.org/slo",
        "responseUrl": "https://idp.example.org/slo/response",
    }
    data["contactPerson"] = {"technical": {"givenName": "Ops", "emailAddress": "ops@example.org"}}
    data["organization"] = {
        "en": {"name": "ex", "displayname": "Example", "url": "https://example.org"}
    }
    settings = SAMLSettings.from_dict(data)
    assert SAMLSettings.from_dict(settings.to_dict()) == settings
    assert settings.security.requested_authn_context == ()
    assert settings.sp.decryption_keys == (settings.sp.private_key, settings.sp.private_key_new)


def test_x509cert_multi_and_a_matching_fingerprint_are_accepted() -> None:
    data = settings_dict()
    idp_cert, other = keys("idp"), keys("sp-new")
    del data["idp"]["x509cert"]
    data["idp"]["x509certMulti"] = {
        "signing": [idp_cert.cert_base64, other.cert_pem.decode()],
        "encryption": [other.cert_base64],
    }
    der = x509.load_pem_x509_certificate(idp_cert.cert_pem).public_bytes(serialization.Encoding.DER)
    data["idp"]["certFingerprint"] = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    data["idp"]["certFingerprintAlgorithm"] = "sha256"
    settings = SAMLSettings.from_dict(data)
    assert len(settings.idp.signing_certificates) == 2
    assert len(settings.idp.encryption_certificates) == 1


def test_a_fingerprint_alone_is_refused() -> None:
    data = settings_dict()
    del data["idp"]["x509cert"]
    data["idp"]["certFingerprint"] = "AF:12:34"
    err = error(data, InvalidSettingError)
    assert err.key == "idp.certFingerprint"
    assert "idp.x509cert" in (err.hint or "")


def test_a_fingerprint_that_does_not_match_the_certificate_is_refused() -> None:
    data = settings_dict()
    data["idp"]["certFingerprint"] = "00" * 20
    assert error(data, InvalidSettingError).key == "idp.certFingerprint"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("sp",), "sp"),
        (("idp",), "idp"),
        (("sp", "entityId"), "sp.entityId"),
        (("sp", "assertionConsumerService"), "sp.assertionConsumerService"),
        (("idp", "entityId"), "idp.entityId"),
        (("idp", "singleSignOnService"), "idp.singleSignOnService"),
        (("idp", "x509cert"), "idp.x509cert"),
    ],
)
def test_a_missing_setting_is_named(path: tuple[str, ...], key: str) -> None:
    data = settings_dict()
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    assert error(data, MissingSettingError).key == key


def test_an_empty_string_counts_as_missing() -> None:
    data = settings_dict()
    data["sp"]["assertionConsumerService"]["url"] = ""
    assert error(data, MissingSettingError).key == "sp.assertionConsumerService.url"


def test_an_unknown_key_is_refused_with_the_likely_intended_one() -> None:
    err = error(settings_dict(wantAssertionSigned=False), UnknownSettingError)
    assert err.key == "security.wantAssertionSigned"
    assert err.hint == "did you mean 'security.wantAssertionsSigned'?"
    data = settings_dict()
    data["idp"]["x509Cert"] = "x"
    assert error(data, UnknownSettingError).key == "idp.x509Cert"


@pytest.mark.parametrize(
    ("security", "key"),
    [
        ({"wantAssertionsSigned": "false"}, "security.wantAssertionsSigned"),
        ({"requestedAuthnContext": "urn:x"}, "security.requestedAuthnContext"),
        (
            {"requestedAuthnContextComparison": "roughly"},
            "security.requestedAuthnContextComparison",
        ),
        ({"signatureAlgorithm": RSA_SHA1}, "security.signatureAlgorithm"),
        ({"digestAlgorithm": SHA1}, "security.digestAlgorithm"),
        ({"signatureAlgorithm": "urn:made-up"}, "security.signatureAlgorithm"),
        ({"metadataValidUntil": "soon"}, "security.metadataValidUntil"),
        ({"metadataCacheDuration": "a week"}, "security.metadataCacheDuration"),
        (
            {"signMetadata": {"keyFileName": "sp.key", "certFileName": "sp.crt"}},
            "security.signMetadata",
        ),
        ({"clock_skew": "3 minutes"}, "security.clock_skew"),
        ({"clock_skew": -1}, "security.clock_skew"),
        ({"max_message_size": 10}, "security.max_message_size"),
    ],
)
def test_a_wrong_security_value_is_named(security: dict[str, Any], key: str) -> None:
    assert error(settings_dict(**security), InvalidSettingError).key == key


def test_sha1_is_accepted_for_our_signatures_only_with_allow_sha1() -> None:
    settings = SAMLSettings.from_dict(
        settings_dict(signatureAlgorithm=RSA_SHA1, digestAlgorithm=SHA1, allow_sha1=True)
    )
    assert settings.security.signature_algorithm == RSA_SHA1


@pytest.mark.parametrize(
    ("section", "name", "value", "key"),
    [
        (
            "sp",
            "assertionConsumerService",
            {"url": "ftp://sp.example.org/acs"},
            "sp.assertionConsumerService.url",
        ),
        (
            "sp",
            "assertionConsumerService",
            {"url": "https://sp/acs"},
            "sp.assertionConsumerService.url",
        ),
        (
            "sp",
            "assertionConsumerService",
            {"url": ACS_URL, "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "sp.assertionConsumerService.binding",
        ),
        (
            "idp",
            "singleSignOnService",
            {"url": "https://idp.example.org/sso", "binding": "SOAP"},
            "idp.singleSignOnService.binding",
        ),
        ("idp", "x509cert", "bm90IGEgY2VydA==", "idp.x509cert"),
        ("idp", "x509certMulti", {"signing": "one string"}, "idp.x509certMulti.signing"),
        ("idp", "x509certMulti", {"signing": ["junk"]}, "idp.x509certMulti.signing[0]"),
        ("idp", "certFingerprintAlgorithm", "md5", "idp.certFingerprintAlgorithm"),
        ("sp", "privateKey", "junk", "sp.privateKey"),
        ("sp", "entityId", 42, "sp.entityId"),
        ("sp", "singleLogoutService", "https://sp.example.org/sls", "sp.singleLogoutService"),
    ],
)
def test_a_wrong_sp_or_idp_value_is_named(section: str, name: str, value: Any, key: str) -> None:
    data = settings_dict()
    data[section][name] = value
    assert error(data, InvalidSettingError).key == key


def test_single_label_hosts_need_allow_single_label_domains() -> None:
    data = settings_dict(allowSingleLabelDomains=True)
    data["sp"]["assertionConsumerService"]["url"] = "http://sp:8080/acs"
    assert SAMLSettings.from_dict(data).sp.acs_url == "http://sp:8080/acs"
    localhost = settings_dict()
    localhost["sp"]["assertionConsumerService"]["url"] = "http://localhost:5000/acs"
    assert SAMLSettings.from_dict(localhost).sp.acs_url == "http://localhost:5000/acs"


def test_signing_options_need_an_sp_key_pair() -> None:
    data = settings_dict(authnRequestsSigned=True)
    del data["sp"]["privateKey"]
    assert error(data, MissingSettingError).key == "sp.privateKey"
    data = settings_dict(wantAssertionsEncrypted=True)
    del data["sp"]["x509cert"]
    err = error(data, MissingSettingError)
    assert err.key == "sp.x509cert"


def test_a_private_key_must_belong_to_its_certificate() -> None:
    data = settings_dict(sp={"privateKey": keys("attacker").key_pem.decode()})
    assert error(data, InvalidSettingError).key == "sp.privateKey"
    data = settings_dict(sp={"private_key_new": keys("sp-new").key_pem.decode()})
    assert error(data, MissingSettingError).key == "sp.x509certNew"


def test_name_id_encryption_needs_an_idp_encryption_certificate() -> None:
    data = settings_dict(nameIdEncrypted=True)
    del data["idp"]["x509cert"]
    data["idp"]["x509certMulti"] = {"signing": [keys("idp").cert_base64]}
    assert error(data, MissingSettingError).key == "idp.x509cert"


def test_strict_false_is_accepted_with_a_warning_and_changes_nothing() -> None:
    data = settings_dict()
    data["strict"] = False
    with pytest.warns(UserWarning, match="always validates strictly"):
        settings = SAMLSettings.from_dict(data)
    assert settings.strict is False
    assert settings.security.want_assertions_signed is True


def test_python3_saml_extras_are_accepted() -> None:
    data = settings_dict()
    data["custom_base_path"] = "/etc/saml"
    data["compress"] = {"requests": True, "responses": True}
    assert SAMLSettings.from_dict(data).sp.entity_id == SP_ENTITY_ID
    data["compress"] = {"requests": "yes"}
    assert error(data, InvalidSettingError).key == "compress.requests"


def test_contacts_and_organizations_are_validated() -> None:
    data = settings_dict()
    data["contactPerson"] = {"janitor": {"givenName": "x", "emailAddress": "y"}}
    assert error(data, UnknownSettingError).key == "contactPerson.janitor"
    data["contactPerson"] = {"technical": {"givenName": "x"}}
    assert error(data, MissingSettingError).key == "contactPerson.technical.emailAddress"
    data = settings_dict()
    data["organization"] = {"en": {"name": "x"}}
    assert error(data, MissingSettingError).key == "organization.en.displayname"


def test_direct_construction_validates_too() -> None:
    with pytest.raises(MissingSettingError):
        IdPSettings(entity_id="x", sso_url="https://idp.example.org/sso", signing_certificates=())
    with pytest.raises(InvalidSettingError):
        SPSettings(entity_id="x", acs_url="not a url")
    with pytest.raises(InvalidSettingError):
        SecuritySettings(clock_skew=timedelta(hours=2))
    with pytest.raises(InvalidSettingError):
        SPSettings(entity_id="x", acs_url=ACS_URL, x509cert="junk")


def test_the_settings_are_frozen() -> None:
    settings = SAMLSettings.from_dict(settings_dict())
    with pytest.raises(AttributeError):
        settings.strict = False  # type: ignore[misc]
    assert "PRIVATE KEY" not in repr(settings)
