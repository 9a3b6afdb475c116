"""IdP metadata: single entities, federation aggregates, validity, signatures, fetching."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from saml_metadata_factory import (
    POST,
    REDIRECT,
    aggregate,
    cert_body,
    idp_entity,
    make_key_and_cert,
    single,
    sp_entity,
)

from authkit.errors import (
    InvalidSettingError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    SAMLValidationError,
)
from authkit.saml import (
    Endpoint,
    IdPMetadata,
    Scope,
    fetch_idp_metadata,
    fetch_metadata,
    find_idp,
    iter_idps,
    list_idps,
    parse_idp_metadata,
)
from authkit.saml._settings import SAMLSettings
from authkit.saml._xmldsig import RSA_SHA1, SHA1, sign_element
from authkit.transport import RequestsTransport, Timeout

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    _, idp_cert = make_key_and_cert("idp.example.org")
    _, enc_cert = make_key_and_cert("enc.example.org")
    fed_key, fed_cert = make_key_and_cert("signer.federation.example")
    evil_key, evil_cert = make_key_and_cert("signer.federation.example")
    return {
        "idp": cert_body(idp_cert),
        "enc": cert_body(enc_cert),
        "fed_key": fed_key,
        "fed_cert": fed_cert,
        "evil_key": evil_key,
        "evil_cert": evil_cert,
    }


def big_aggregate(keys: dict[str, Any], count: int, **kwargs: Any) -> bytes:
    entities = []
    for i in range(count):
        entities.append(
            idp_entity(
                f"https://idp{i}.example.org/idp",
                cert=str(keys["idp"]),
                display_name=f"University {i}",
                scopes=(f"u{i}.example.org",),
            )
        )
        if i % 2:
            entities.append(sp_entity(f"https://sp{i}.example.net/sp", cert=str(keys["idp"])))
    return aggregate(entities, **kwargs)


def signed(document: bytes, key: bytes, cert: bytes, **kwargs: Any) -> bytes:
    root = etree.fromstring(document)
    sign_element(root, key_pem=key, cert_pem=cert, **kwargs)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def expect(
    code: str, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> SAMLValidationError:
    def call() -> None:
        result = function(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)  # a generator fails when consumed

    with pytest.raises(SAMLValidationError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


# --- a single EntityDescriptor ----------------------------------------------------------------


def test_single_entity_descriptor_is_read_completely(keys: dict[str, Any]) -> None:
    entity = idp_entity(
        "https://idp.example.org/idp",
        cert=str(keys["idp"]),
        encryption_cert=str(keys["enc"]),
        display_name="Example University",
        scopes=("example.org",),
        regexp_scopes=(r"^[a-z]+\.example\.org$",),
        want_authn_requests_signed=True,
        organization="Example Org",
    )
    idp = parse_idp_metadata(single(entity), now=NOW)

    assert idp.entity_id == "https://idp.example.org/idp"
    assert idp.sso_services == (
        Endpoint(binding=REDIRECT, location="https://idp.example.org/sso/redirect"),
        Endpoint(binding=POST, location="https://idp.example.org/sso/post"),
    )
    assert idp.slo_services == (Endpoint(binding=REDIRECT, location="https://idp.example.org/slo"),)
    assert idp.signing_certificates == (keys["idp"],)
    assert idp.encryption_certificates == (keys["enc"],)
    assert idp.name_id_formats == (
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    )
    assert idp.scopes == (Scope("example.org"), Scope(r"^[a-z]+\.example\.org$", regexp=True))
    assert idp.scope_allows("EXAMPLE.org")
    assert idp.scope_allows("library.example.org")
    assert not idp.scope_allows("example.org.evil.com")
    assert idp.display_names == {"en": "Example University", "de": "Example University (de)"}
    assert idp.display_name("de") == "Example University (de)"
    assert idp.display_name("fr") == "Example University"
    assert idp.descriptions["en"] == "Login service of Example University"
    assert idp.information_urls == {"en": "https://idp.example.org/info"}
    assert [(logo.url, logo.width, logo.height, logo.lang) for logo in idp.logos] == [
        ("https://idp.example.org/logo.png", 80, 60, "en")
    ]
    assert idp.organization_display_names == {"en": "Example Org"}
    assert idp.want_authn_requests_signed is True
    assert idp.valid_until is None
    assert idp.cache_duration is None


def test_display_name_falls_back_to_the_organisation_then_the_entity_id(
    keys: dict[str, Any],
) -> None:
    with_org = idp_entity("https://a.example.org/idp", cert=str(keys["idp"]), organization="Org A")
    bare = idp_entity("https://b.example.org/idp", cert=str(keys["idp"]))
    assert parse_idp_metadata(single(with_org), now=NOW).display_name() == "Org A"
    assert parse_idp_metadata(single(bare), now=NOW).display_name() == "https://b.example.org/idp"
    listing = list_idps(aggregate([with_org, bare]), now=NOW)
    assert [entry.display_name() for entry in listing] == ["Org A", "https://b.example.org/idp"]


@pytest.mark.parametrize("with_encryption", [False, True])
def test_settings_section_equals_python3_saml_parser(
    keys: dict[str, Any], with_encryption: bool
) -> None:
    entity = idp_entity(
        "https://idp.example.org/idp",
        cert=str(keys["idp"]),
        encryption_cert=str(keys["enc"]) if with_encryption else None,
    )
    document = single(entity)
    ours = parse_idp_metadata(document, now=NOW).to_settings_dict()
    theirs = OneLogin_Saml2_IdPMetadataParser.parse(document)["idp"]
    assert ours == theirs
    assert ("x509certMulti" in ours) is with_encryption


def test_settings_section_builds_saml_settings(keys: dict[str, Any]) -> None:
    idp = parse_idp_metadata(
        single(idp_entity("https://idp.example.org/idp", cert=str(keys["idp"]))), now=NOW
    )
    settings = SAMLSettings.from_dict(
        {
            "sp": {
                "entityId": "https://sp.example.org/metadata",
                "assertionConsumerService": {"url": "https://sp.example.org/acs"},
            },
            "idp": idp.to_settings_dict(),
        }
    )
    assert settings.idp.entity_id == "https://idp.example.org/idp"
    assert settings.idp.sso_url == "https://idp.example.org/sso/redirect"
    assert settings.idp.slo_url == "https://idp.example.org/slo"
    assert len(settings.idp.signing_certificates) == 1


def test_settings_section_binding_choice(keys: dict[str, Any]) -> None:
    post_only = idp_entity(
        "https://idp.example.org/idp",
        cert=str(keys["idp"]),
        sso=((POST, "https://idp.example.org/post"),),
        slo=(),
    )
    idp = parse_idp_metadata(single(post_only), now=NOW)
    section = idp.to_settings_dict()
    assert section["singleSignOnService"] == {
        "url": "https://idp.example.org/post",
        "binding": POST,
    }
    assert "singleLogoutService" not in section
    error = expect("saml.metadata_invalid", idp.to_settings_dict, sso_binding=REDIRECT)
    assert "SingleSignOnService" in error.message


def test_slo_response_location_becomes_response_url() -> None:
    idp = IdPMetadata(
        entity_id="https://idp.example.org/idp",
        sso_services=(Endpoint(binding=REDIRECT, location="https://idp.example.org/sso"),),
        slo_services=(
            Endpoint(
                binding=REDIRECT,
                location="https://idp.example.org/slo",
                response_location="https://idp.example.org/slo/response",
            ),
        ),
    )
    assert idp.to_settings_dict()["singleLogoutService"] == {
        "url": "https://idp.example.org/slo",
        "binding": REDIRECT,
        "responseUrl": "https://idp.example.org/slo/response",
    }


def test_comments_cannot_truncate_values(keys: dict[str, Any]) -> None:
    body = str(keys["idp"])
    entity = idp_entity(
        "https://idp.example.org/idp",
        cert=body[:40] + "<!-- cut -->" + body[40:],
        display_name="Example",
    ).replace(">Example<", ">Exa<!-- x -->mple<")
    idp = parse_idp_metadata(single(entity), now=NOW)
    assert idp.signing_certificates == (body,)
    assert idp.display_names["en"] == "Example"


# --- federation aggregates --------------------------------------------------------------------


@pytest.fixture(scope="module")
def federation(keys: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("federation") / "aggregate.xml"
    path.write_bytes(
        big_aggregate(keys, 3000, valid_until="2026-02-01T00:00:00Z", cache_duration="PT6H")
    )
    return path


def test_find_idp_near_the_end_of_a_large_aggregate(federation: Path) -> None:
    assert federation.stat().st_size > 5_000_000
    idp = find_idp(federation, "https://idp2990.example.org/idp", now=NOW)
    assert idp.display_name() == "University 2990"
    assert idp.scopes == (Scope("u2990.example.org"),)
    assert idp.valid_until == datetime(2026, 2, 1, tzinfo=UTC)
    assert idp.cache_duration == timedelta(hours=6)
    # A str path and a binary file object work too.
    assert find_idp(str(federation), idp.entity_id, now=NOW) == idp
    with federation.open("rb") as stream:
        assert find_idp(stream, idp.entity_id, now=NOW) == idp


def test_list_idps_for_a_discovery_page(federation: Path) -> None:
    listing = list_idps(federation, now=NOW)
    assert len(listing) == 3000  # the 1,500 SPs are not listed
    assert listing[0].entity_id == "https://idp0.example.org/idp"
    assert listing[0].display_name() == "University 0"
    assert listing[0].display_name("de") == "University 0 (de)"
    assert listing[0].logos[0].url == "https://idp0.example.org/logo.png"
    assert {entry.entity_id for entry in listing} == {
        f"https://idp{i}.example.org/idp" for i in range(3000)
    }


def test_iter_idps_yields_every_idp(federation: Path) -> None:
    count = 0
    for idp in iter_idps(federation, now=NOW):
        assert idp.entity_id == f"https://idp{count}.example.org/idp"
        count += 1
    assert count == 3000


def test_parse_idp_metadata_picks_by_entity_id(keys: dict[str, Any]) -> None:
    document = big_aggregate(keys, 5)
    idp = parse_idp_metadata(document, entity_id="https://idp3.example.org/idp", now=NOW)
    assert idp.entity_id == "https://idp3.example.org/idp"
    error = expect("saml.metadata_entity_not_found", parse_idp_metadata, document, now=NOW)
    assert "several IdPs" in error.message
    only_sps = aggregate([sp_entity("https://sp.example.net/sp", cert=str(keys["idp"]))])
    expect("saml.metadata_entity_not_found", parse_idp_metadata, only_sps, now=NOW)


def test_missing_entity(federation: Path) -> None:
    error = expect(
        "saml.metadata_entity_not_found",
        find_idp,
        federation,
        "https://nowhere.example/idp",
        now=NOW,
    )
    assert "https://nowhere.example/idp" in error.message


def test_an_sp_or_saml1_only_entity_is_not_an_idp(keys: dict[str, Any]) -> None:
    saml1 = idp_entity(
        "https://old.example.org/idp",
        cert=str(keys["idp"]),
        protocols="urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0",
    )
    sp = sp_entity("https://sp.example.net/sp", cert=str(keys["idp"]))
    good = idp_entity("https://new.example.org/idp", cert=str(keys["idp"]))
    document = aggregate([saml1, sp, good])
    assert [i.entity_id for i in list_idps(document, now=NOW)] == ["https://new.example.org/idp"]
    assert [i.entity_id for i in iter_idps(document, now=NOW)] == ["https://new.example.org/idp"]
    for entity_id in ("https://old.example.org/idp", "https://sp.example.net/sp"):
        error = expect("saml.metadata_entity_not_found", find_idp, document, entity_id, now=NOW)
        assert "not a SAML 2.0 IdP" in error.message


def test_nested_entities_descriptors_inherit_validity(keys: dict[str, Any]) -> None:
    inner = (
        '<md:EntitiesDescriptor validUntil="2026-01-20T00:00:00Z" cacheDuration="PT1H">'
        + idp_entity("https://nested.example.org/idp", cert=str(keys["idp"]))
        + "</md:EntitiesDescriptor>"
    )
    document = aggregate([inner], valid_until="2026-03-01T00:00:00Z", cache_duration="P1D")
    idp = find_idp(document, "https://nested.example.org/idp", now=NOW)
    assert idp.valid_until == datetime(2026, 1, 20, tzinfo=UTC)
    assert idp.cache_duration == timedelta(hours=1)


# --- validUntil and cacheDuration -------------------------------------------------------------


def test_expired_aggregate_is_refused(keys: dict[str, Any]) -> None:
    document = big_aggregate(keys, 3, valid_until="2026-01-15T11:59:59Z")
    for function, args in (
        (find_idp, (document, "https://idp1.example.org/idp")),
        (list_idps, (document,)),
        (iter_idps, (document,)),
        (parse_idp_metadata, (document,)),
    ):
        error = expect("saml.metadata_expired", function, *args, now=NOW)
        assert "2026-01-15T11:59:59" in error.message
    # One second earlier it is still valid.
    assert len(list_idps(document, now=NOW - timedelta(seconds=2))) == 3


def test_expired_empty_aggregate_is_refused() -> None:
    expect(
        "saml.metadata_expired",
        list_idps,
        aggregate([], valid_until="2026-01-01T00:00:00Z"),
        now=NOW,
    )


def test_an_expired_entity_is_skipped_in_lists_and_refused_by_name(
    keys: dict[str, Any],
) -> None:
    expired = idp_entity(
        "https://gone.example.org/idp", cert=str(keys["idp"]), valid_until="2026-01-01T00:00:00Z"
    )
    fresh = idp_entity("https://here.example.org/idp", cert=str(keys["idp"]))
    document = aggregate([expired, fresh])
    assert [i.entity_id for i in list_idps(document, now=NOW)] == ["https://here.example.org/idp"]
    assert [i.entity_id for i in iter_idps(document, now=NOW)] == ["https://here.example.org/idp"]
    expect("saml.metadata_expired", find_idp, document, "https://gone.example.org/idp", now=NOW)
    expect("saml.metadata_expired", parse_idp_metadata, single(expired), now=NOW)


def test_idpssodescriptor_valid_until_counts(keys: dict[str, Any]) -> None:
    entity = idp_entity("https://idp.example.org/idp", cert=str(keys["idp"])).replace(
        "<md:IDPSSODescriptor ", '<md:IDPSSODescriptor validUntil="2026-01-10T00:00:00" '
    )
    expect("saml.metadata_expired", parse_idp_metadata, single(entity), now=NOW)
    idp = parse_idp_metadata(single(entity), now=datetime(2026, 1, 9, tzinfo=UTC))
    assert idp.valid_until == datetime(2026, 1, 10, tzinfo=UTC)  # no zone means UTC


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("PT6H", timedelta(hours=6)),
        ("PT30M", timedelta(minutes=30)),
        ("P1D", timedelta(days=1)),
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("P1Y2M", timedelta(days=365 + 60)),
        ("PT0S", timedelta(0)),
    ],
)
def test_cache_duration_forms(keys: dict[str, Any], duration: str, expected: timedelta) -> None:
    entity = idp_entity(
        "https://idp.example.org/idp", cert=str(keys["idp"]), cache_duration=duration
    )
    assert parse_idp_metadata(single(entity), now=NOW).cache_duration == expected


@pytest.mark.parametrize("duration", ["P", "PT", "-PT1H", "PT1H30", "6 hours", "P1DT"])
def test_invalid_cache_duration(keys: dict[str, Any], duration: str) -> None:
    entity = idp_entity(
        "https://idp.example.org/idp", cert=str(keys["idp"]), cache_duration=duration
    )
    expect("saml.metadata_invalid", parse_idp_metadata, single(entity), now=NOW)


def test_invalid_valid_until(keys: dict[str, Any]) -> None:
    entity = idp_entity("https://idp.example.org/idp", cert=str(keys["idp"]), valid_until="soon")
    expect("saml.metadata_invalid", parse_idp_metadata, single(entity), now=NOW)


def test_next_refresh_honours_cache_duration_and_valid_until(keys: dict[str, Any]) -> None:
    document = big_aggregate(keys, 2, valid_until="2026-01-15T15:00:00Z", cache_duration="PT1H")
    idp = find_idp(document, "https://idp1.example.org/idp", now=NOW)
    assert idp.next_refresh(NOW) == NOW + timedelta(hours=1)
    # Late in the validity window, validUntil comes first.
    later = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    assert idp.next_refresh(later) == datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    # Without cacheDuration, the default applies; a zero duration is raised to the minimum.
    bare = IdPMetadata(entity_id="x")
    assert bare.next_refresh(NOW) == NOW + timedelta(hours=6)
    assert bare.next_refresh(NOW, default=timedelta(hours=1)) == NOW + timedelta(hours=1)
    zero = IdPMetadata(entity_id="x", cache_duration=timedelta(0))
    assert zero.next_refresh(NOW) == NOW + timedelta(minutes=1)
    assert zero.is_expired(NOW) is False


def test_naive_now_is_refused(keys: dict[str, Any]) -> None:
    with pytest.raises(InvalidSettingError):
        list_idps(big_aggregate(keys, 1), now=datetime(2026, 1, 1))


# --- signatures -------------------------------------------------------------------------------


def test_signed_aggregate_verifies_with_the_federation_certificate(
    keys: dict[str, Any],
) -> None:
    document = signed(big_aggregate(keys, 50), keys["fed_key"], keys["fed_cert"])
    cert = keys["fed_cert"]
    idp = find_idp(document, "https://idp42.example.org/idp", certificate=cert, now=NOW)
    assert idp.display_name() == "University 42"
    assert len(list_idps(document, certificate=cert, now=NOW)) == 50
    assert len(list(iter_idps(document, certificate=[cert], now=NOW))) == 50
    # Same result as the streaming reader.
    assert idp == find_idp(document, "https://idp42.example.org/idp", now=NOW)


def test_signed_single_entity(keys: dict[str, Any]) -> None:
    document = signed(
        single(idp_entity("https://idp.example.org/idp", cert=str(keys["idp"]))),
        keys["fed_key"],
        keys["fed_cert"],
    )
    idp = parse_idp_metadata(document, certificate=keys["fed_cert"], now=NOW)
    assert idp.entity_id == "https://idp.example.org/idp"


def test_wrong_certificate_is_refused(keys: dict[str, Any]) -> None:
    document = signed(big_aggregate(keys, 3), keys["fed_key"], keys["fed_cert"])
    error = expect(
        "saml.metadata_signature_invalid",
        find_idp,
        document,
        "https://idp1.example.org/idp",
        certificate=keys["evil_cert"],
        now=NOW,
    )
    assert "does not verify" in error.message


def test_certificate_in_keyinfo_is_not_trusted(keys: dict[str, Any]) -> None:
    # Signed by an attacker whose certificate (same subject) sits in ds:KeyInfo.
    document = signed(big_aggregate(keys, 3), keys["evil_key"], keys["evil_cert"])
    expect(
        "saml.metadata_signature_invalid",
        list_idps,
        document,
        certificate=keys["fed_cert"],
        now=NOW,
    )


def test_tampered_aggregate_is_refused(keys: dict[str, Any]) -> None:
    document = signed(big_aggregate(keys, 3), keys["fed_key"], keys["fed_cert"])
    tampered = document.replace(
        b"https://idp1.example.org/sso/redirect", b"https://evil.example.com/sso/redirect"
    )
    assert tampered != document
    expect(
        "saml.metadata_signature_invalid",
        find_idp,
        tampered,
        "https://idp1.example.org/idp",
        certificate=keys["fed_cert"],
        now=NOW,
    )


def test_unsigned_aggregate_is_refused_when_a_certificate_is_configured(
    keys: dict[str, Any],
) -> None:
    error = expect(
        "saml.metadata_signature_invalid",
        list_idps,
        big_aggregate(keys, 3),
        certificate=keys["fed_cert"],
        now=NOW,
    )
    assert "not signed" in error.message
    expect(
        "saml.metadata_signature_invalid",
        list_idps,
        big_aggregate(keys, 1),
        certificate=[],
        now=NOW,
    )


def test_sha1_signature_needs_allow_sha1(keys: dict[str, Any]) -> None:
    document = signed(
        big_aggregate(keys, 3),
        keys["fed_key"],
        keys["fed_cert"],
        signature_algorithm=RSA_SHA1,
        digest_algorithm=SHA1,
    )
    expect(
        "saml.metadata_signature_invalid",
        list_idps,
        document,
        certificate=keys["fed_cert"],
        now=NOW,
    )
    assert len(list_idps(document, certificate=keys["fed_cert"], allow_sha1=True, now=NOW)) == 3


# --- hardening --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE md:EntitiesDescriptor [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
<md:EntityDescriptor entityID="&c;"/>
</md:EntitiesDescriptor>
"""

EXTERNAL_ENTITY = b"""<!-- a comment first --><?pi x?>
<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_doctype_is_refused_everywhere(keys: dict[str, Any], document: bytes) -> None:
    expect("saml.xml_dtd_forbidden", list_idps, document, now=NOW)
    expect("saml.xml_dtd_forbidden", find_idp, document, "x", now=NOW)
    expect("saml.xml_dtd_forbidden", parse_idp_metadata, document, now=NOW)
    expect("saml.xml_dtd_forbidden", list_idps, document, certificate=keys["fed_cert"], now=NOW)


def test_doctype_in_utf16_is_refused(keys: dict[str, Any]) -> None:
    document = BILLION_LAUGHS.replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>'
    )
    encoded = document.decode().encode("utf-16")
    expect("saml.xml_dtd_forbidden", list_idps, encoded, now=NOW)
    expect("saml.xml_dtd_forbidden", list_idps, encoded, certificate=keys["fed_cert"], now=NOW)


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"not xml at all",
        b"<md:EntitiesDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'>",
        b"<html><body>Metadata moved</body></html>",
        b"<md:EntitiesDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'>"
        b"<md:EntityDescriptor><md:IDPSSODescriptor protocolSupportEnumeration="
        b"'urn:oasis:names:tc:SAML:2.0:protocol'/></md:EntityDescriptor>"
        b"</md:EntitiesDescriptor>",
    ],
    ids=["empty", "garbage", "truncated", "html", "no-entity-id"],
)
def test_malformed_metadata(keys: dict[str, Any], document: bytes) -> None:
    expect("saml.metadata_invalid", list_idps, document, now=NOW)
    expect("saml.metadata_invalid", parse_idp_metadata, document, now=NOW)
    if b"IDPSSODescriptor" not in document:  # unreadable before any signature can be checked
        expect("saml.metadata_invalid", list_idps, document, certificate=keys["fed_cert"], now=NOW)


def test_a_long_prolog_is_read_past(keys: dict[str, Any]) -> None:
    document = big_aggregate(keys, 2)
    head, body = document.split(b"\n", 1)
    padded = head + b"\n<!--" + b"x" * 300_000 + b"--><?pi y?>\n" + body
    assert len(list_idps(padded, now=NOW)) == 2
    endless = b"<!--" + b"x" * 2_000_000
    error = expect("saml.metadata_invalid", list_idps, endless, now=NOW)
    assert "first megabyte" in error.message


def test_endpoint_without_location_is_invalid(keys: dict[str, Any]) -> None:
    entity = idp_entity("https://idp.example.org/idp", cert=str(keys["idp"])).replace(
        'Location="https://idp.example.org/sso/post"', ""
    )
    expect("saml.metadata_invalid", parse_idp_metadata, single(entity), now=NOW)


def test_invalid_regexp_scope_is_invalid(keys: dict[str, Any]) -> None:
    entity = idp_entity("https://idp.example.org/idp", cert=str(keys["idp"]), regexp_scopes=("(",))
    expect("saml.metadata_invalid", parse_idp_metadata, single(entity), now=NOW)


def test_missing_file_is_invalid(tmp_path: Path) -> None:
    error = expect("saml.metadata_invalid", list_idps, tmp_path / "absent.xml", now=NOW)
    assert "absent.xml" in error.message


# --- fetching over real HTTP ------------------------------------------------------------------


class _MetadataServer:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.release = threading.Event()
        self.requests: list[tuple[str, str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.command, self.path, self.headers.get("Accept")))
                if self.path == "/slow":
                    server.release.wait(5)  # slower than the client's read timeout
                if self.path == "/broken":
                    self.send_response(500)
                    self.send_header("Content-Length", "5")
                    self.end_headers()
                    self.wfile.write(b"oops\n")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/samlmetadata+xml")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _MetadataServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(keys: dict[str, Any]) -> Iterator[_MetadataServer]:
    with _MetadataServer(big_aggregate(keys, 20, cache_duration="PT2H")) as running:
        yield running


def test_fetch_idp_metadata_over_http(server: _MetadataServer) -> None:
    transport = RequestsTransport(retries=0)
    idp = fetch_idp_metadata(
        server.url + "/federation.xml",
        transport,
        entity_id="https://idp7.example.org/idp",
        now=NOW,
    )
    assert idp.display_name() == "University 7"
    assert idp.next_refresh(NOW) == NOW + timedelta(hours=2)
    method, path, accept = server.requests[-1]
    assert (method, path) == ("GET", "/federation.xml")
    assert accept is not None
    assert "application/samlmetadata+xml" in accept
    document = fetch_metadata(server.url + "/federation.xml", transport)
    assert len(list_idps(document, now=NOW)) == 20


def test_fetch_timeout(server: _MetadataServer) -> None:
    with pytest.raises(ProviderTimeoutError) as info:
        fetch_metadata(
            server.url + "/slow",
            RequestsTransport(retries=0),
            timeout=Timeout(connect=1.0, read=0.05),
        )
    assert info.value.code == "provider.timeout"


def test_fetch_http_error(server: _MetadataServer) -> None:
    with pytest.raises(ProviderHTTPError) as info:
        fetch_idp_metadata(server.url + "/broken", RequestsTransport(retries=0), now=NOW)
    assert info.value.code == "provider.http_error"
    assert info.value.status == 500


def test_fetch_size_cap(server: _MetadataServer) -> None:
    with pytest.raises(ProviderResponseError) as info:
        fetch_metadata(server.url + "/federation.xml", RequestsTransport(retries=0), max_bytes=1000)
    assert info.value.code == "saml.metadata_too_large"
