"""invenio-saml's SSO_SAML_IDPS, loaded unchanged into SAMLIdPConfig values."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from saml_metadata_factory import cert_body, idp_entity, make_key_and_cert, single

from authkit.errors import (
    InvalidSettingError,
    MissingSettingError,
    ProviderHTTPError,
    SAMLValidationError,
    UnknownSettingError,
)
from authkit.saml import (
    MemoryReplayCache,
    SAMLIdPConfig,
    SAMLSettings,
    ServiceProvider,
    load_sso_saml_idp,
    load_sso_saml_idps,
)
from authkit.transport import RequestsTransport

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
IDP_ID = "https://idp.tugraz.example/idp/shibboleth"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def acs_handler(auth: object, next_url: str) -> str:
    """Stands for invenio_saml.handlers.acs_handler_factory("tugraz")."""
    return next_url


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """SP key pair files and IdP metadata files, as an Invenio instance keeps them."""
    directory = tmp_path_factory.mktemp("saml")
    sp_key, sp_cert = make_key_and_cert("sp.example.org")
    _, idp_cert = make_key_and_cert("idp.tugraz.example")
    (directory / "sp.crt").write_bytes(sp_cert)
    (directory / "sp.key").write_bytes(sp_key)
    idp_body = cert_body(idp_cert)
    metadata = single(
        idp_entity(IDP_ID, cert=idp_body, display_name="TU Graz", scopes=("tugraz.example",))
    )
    (directory / "idp.xml").write_bytes(metadata)
    (directory / "idp.json").write_text(
        json.dumps(
            {
                "idp": {
                    "entityId": IDP_ID,
                    "singleSignOnService": {"url": "https://json.example/sso"},
                    "x509cert": idp_body,
                }
            }
        )
    )
    (directory / "expired.xml").write_bytes(
        single(idp_entity(IDP_ID, cert=idp_body, valid_until="2025-01-01T00:00:00Z"))
    )
    return {
        "dir": directory,
        "sp_cert": sp_cert.decode(),
        "sp_key": sp_key.decode(),
        "idp_body": idp_body,
        "metadata": metadata,
    }


def entry(**overrides: Any) -> dict[str, Any]:
    """An SSO_SAML_IDPS entry as InvenioRDM's documentation writes it."""
    base: dict[str, Any] = {
        "title": "TU Graz",
        "description": "TU Graz single sign-on",
        "icon": "/static/images/tugraz.png",
        "sp_cert_file": "sp.crt",
        "sp_key_file": "sp.key",
        "settings": {
            "sp": {
                "entityId": "https://repository.example.org/saml/metadata/tugraz",
                "assertionConsumerService": {
                    "url": "https://repository.example.org/saml/authorized/tugraz",
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
                "NameIDFormat": PERSISTENT,
            },
            "security": {"authnRequestsSigned": True, "wantAssertionsSigned": True},
        },
        "settings_file_path": "idp.xml",
        "mappings": {
            "email": "urn:oid:0.9.2342.19200300.100.1.3",
            "name": "urn:oid:2.5.4.42",
            "surname": "urn:oid:2.5.4.4",
            "external_id": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        },
        "acs_handler": acs_handler,
        "sls_handler": "invenio_saml.handlers:default_sls_handler",
        "auto_confirm": True,
    }
    base.update(overrides)
    return base


def test_a_full_entry(material: dict[str, Any]) -> None:
    configs = load_sso_saml_idps({"tugraz": entry()}, base_dir=material["dir"], now=NOW)
    config = configs["tugraz"]
    assert isinstance(config, SAMLIdPConfig)
    assert (config.name, config.title, config.description) == (
        "tugraz",
        "TU Graz",
        "TU Graz single sign-on",
    )
    assert config.icon == "/static/images/tugraz.png"
    assert config.auto_confirm is True
    assert config.handlers == {
        "acs_handler": acs_handler,
        "sls_handler": "invenio_saml.handlers:default_sls_handler",
    }
    assert config.metadata is not None
    assert config.metadata.display_name() == "TU Graz"
    assert config.metadata_pending is False
    # The settings dict, as invenio-saml would have built it.
    settings = config.settings
    assert settings["sp"]["x509cert"] == material["sp_cert"]
    assert settings["sp"]["privateKey"] == material["sp_key"]
    assert settings["idp"]["entityId"] == IDP_ID
    assert (
        settings["idp"]["singleSignOnService"]["url"] == "https://idp.tugraz.example/sso/redirect"
    )
    assert settings["idp"]["x509cert"] == material["idp_body"]
    assert settings["security"] == {"authnRequestsSigned": True, "wantAssertionsSigned": True}
    # ...and accepted by the SP core.
    saml_settings = config.to_settings()
    assert isinstance(saml_settings, SAMLSettings)
    assert saml_settings.idp.entity_id == IDP_ID
    assert saml_settings.security.authn_requests_signed is True


def test_the_configuration_is_not_modified(material: dict[str, Any]) -> None:
    original = entry()
    snapshot = json.dumps(original, default=str, sort_keys=True)
    config = load_sso_saml_idp("tugraz", original, base_dir=material["dir"], now=NOW)
    assert json.dumps(original, default=str, sort_keys=True) == snapshot
    assert config.raw == original
    assert "x509cert" not in original["settings"]["sp"]


def test_mappings_map_with_the_metadata_scopes(material: dict[str, Any]) -> None:
    config = load_sso_saml_idp("tugraz", entry(), base_dir=material["dir"], now=NOW)
    attributes = {
        "urn:oid:0.9.2342.19200300.100.1.3": ["ada@tugraz.example"],
        "urn:oid:2.5.4.42": ["Ada"],
        "urn:oid:2.5.4.4": ["Lovelace"],
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["ada@tugraz.example"],
    }
    identity = config.map_attributes(attributes, name_id="x", name_id_format=PERSISTENT)
    assert identity.username == "tugraz-ada"
    assert identity.full_name == "Ada Lovelace"
    assert identity.external_id == "ada@tugraz.example"
    # An ePPN outside the IdP's shibmd:Scope is refused.
    attributes["urn:oid:1.3.6.1.4.1.5923.1.1.1.6"] = ["ada@other.example"]
    with pytest.raises(SAMLValidationError) as info:
        config.map_attributes(attributes)
    assert info.value.code == "saml.mapping_scope_mismatch"


def test_settings_file_json(material: dict[str, Any]) -> None:
    config = load_sso_saml_idp(
        "json", entry(settings_file_path="idp.json"), base_dir=material["dir"], now=NOW
    )
    assert config.settings["idp"]["singleSignOnService"] == {"url": "https://json.example/sso"}
    assert config.metadata is None
    assert config.to_settings().idp.sso_url == "https://json.example/sso"


def test_x509cert_from_metadata_replaces_a_configured_multi(material: dict[str, Any]) -> None:
    settings = entry()["settings"]
    settings["idp"] = {"x509certMulti": {"signing": ["stale"]}}
    config = load_sso_saml_idp(
        "tugraz", entry(settings=settings), base_dir=material["dir"], now=NOW
    )
    assert "x509certMulti" not in config.settings["idp"]
    assert config.settings["idp"]["x509cert"] == material["idp_body"]


def test_several_idps(material: dict[str, Any]) -> None:
    configs = load_sso_saml_idps(
        {"a": entry(), "b": entry(settings_file_path="idp.json", title="B")},
        base_dir=material["dir"],
        now=NOW,
    )
    assert sorted(configs) == ["a", "b"]
    assert configs["b"].title == "B"
    assert configs["a"].attribute_mapping is not None
    assert configs["a"].attribute_mapping.username_prefix == "a-"
    assert configs["b"].attribute_mapping is not None
    assert configs["b"].attribute_mapping.username_prefix == "b-"


def test_minimal_entry_defaults(material: dict[str, Any]) -> None:
    config = load_sso_saml_idp("plain", {"settings": {}})
    assert config.title == "plain"
    assert config.auto_confirm is False
    assert config.attribute_mapping is None
    with pytest.raises(MissingSettingError) as info:
        config.map_attributes({})
    assert info.value.key == "SSO_SAML_IDPS.plain.mappings"


# --- errors name the key --------------------------------------------------------------------------


def key_of(error: pytest.ExceptionInfo[Any]) -> str:
    return str(error.value.key)


def test_unknown_key_suggests_the_intended_one(material: dict[str, Any]) -> None:
    broken = entry()
    broken["mapping"] = broken.pop("mappings")
    with pytest.raises(UnknownSettingError) as info:
        load_sso_saml_idps({"tugraz": broken}, base_dir=material["dir"])
    assert info.value.code == "config.unknown_key"
    assert key_of(info) == "SSO_SAML_IDPS.tugraz.mapping"
    assert "did you mean 'mappings'?" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"sp_cert_file": "absent.crt"}, "sp_cert_file", "absent.crt"),
        ({"sp_key_file": "absent.key"}, "sp_key_file", "absent.key"),
        ({"settings_file_path": "absent.xml"}, "settings_file_path", "absent.xml"),
        ({"settings_file_path": "idp.yaml"}, "settings_file_path", ".xml"),
        ({"settings_file_path": "sp.crt.json"}, "settings_file_path", "cannot read"),
        ({"auto_confirm": "yes"}, "auto_confirm", "true or false"),
        ({"acs_handler": 42}, "acs_handler", "callable"),
        ({"title": 7}, "title", "string"),
        ({"settings": ["sp"]}, "settings", "mapping"),
    ],
)
def test_invalid_entries(
    material: dict[str, Any], overrides: dict[str, Any], key: str, fragment: str
) -> None:
    with pytest.raises(InvalidSettingError) as info:
        load_sso_saml_idp("tugraz", entry(**overrides), base_dir=material["dir"], now=NOW)
    assert info.value.code == "config.invalid_value"
    assert key_of(info) == f"SSO_SAML_IDPS.tugraz.{key}"
    assert fragment in str(info.value)


def test_bad_json_settings_files(material: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "noidp.json").write_text(json.dumps({"sp": {}}))
    with pytest.raises(InvalidSettingError) as info:
        load_sso_saml_idp("x", {"settings_file_path": str(tmp_path / "broken.json")})
    assert "not valid JSON" in str(info.value)
    with pytest.raises(MissingSettingError) as missing:
        load_sso_saml_idp("x", {"settings_file_path": str(tmp_path / "noidp.json")})
    assert key_of(missing) == "SSO_SAML_IDPS.x.settings_file_path"


def test_expired_metadata_file(material: dict[str, Any]) -> None:
    with pytest.raises(InvalidSettingError) as info:
        load_sso_saml_idp(
            "tugraz", entry(settings_file_path="expired.xml"), base_dir=material["dir"], now=NOW
        )
    assert info.value.code == "saml.metadata_expired"
    assert key_of(info) == "SSO_SAML_IDPS.tugraz.settings_file_path"


def test_metadata_without_the_configured_entity(material: dict[str, Any]) -> None:
    settings = entry()["settings"]
    settings["idp"] = {"entityId": "https://someone-else.example/idp"}
    with pytest.raises(InvalidSettingError) as info:
        load_sso_saml_idp("tugraz", entry(settings=settings), base_dir=material["dir"], now=NOW)
    assert info.value.code == "saml.metadata_entity_not_found"


def test_mappings_missing_a_key(material: dict[str, Any]) -> None:
    with pytest.raises(MissingSettingError) as info:
        load_sso_saml_idp(
            "tugraz", entry(mappings={"email": "mail"}), base_dir=material["dir"], now=NOW
        )
    assert key_of(info) == "SSO_SAML_IDPS.tugraz.mappings.name"


def test_to_settings_errors_name_the_full_key(material: dict[str, Any]) -> None:
    settings = entry()["settings"]
    del settings["sp"]["entityId"]
    config = load_sso_saml_idp(
        "tugraz", entry(settings=settings), base_dir=material["dir"], now=NOW
    )
    with pytest.raises(MissingSettingError) as info:
        config.to_settings()
    assert key_of(info) == "SSO_SAML_IDPS.tugraz.settings.sp.entityId"
    assert str(info.value).startswith("SSO_SAML_IDPS.tugraz.settings.sp.entityId: ")


# --- settings_url through a transport ------------------------------------------------------------


@pytest.fixture
def metadata_server(material: dict[str, Any]) -> Iterator[str]:
    body = material["metadata"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/idp.xml":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_settings_url_is_fetched_only_with_a_transport(
    material: dict[str, Any], metadata_server: str
) -> None:
    url_entry = entry(settings_url=metadata_server + "/idp.xml")
    del url_entry["settings_file_path"]
    pending = load_sso_saml_idp("tugraz", url_entry, base_dir=material["dir"], now=NOW)
    assert pending.metadata_pending is True
    assert "entityId" not in pending.settings["idp"]
    with pytest.raises(MissingSettingError) as info:
        pending.to_settings()
    assert key_of(info) == "SSO_SAML_IDPS.tugraz.settings_url"

    transport = RequestsTransport(retries=0)
    resolved = pending.resolve(transport, now=NOW)
    assert resolved.metadata_pending is False
    assert resolved.settings["idp"]["entityId"] == IDP_ID
    assert resolved.to_settings().idp.sso_url == "https://idp.tugraz.example/sso/redirect"
    direct = load_sso_saml_idps(
        {"tugraz": url_entry}, transport=transport, base_dir=material["dir"], now=NOW
    )["tugraz"]
    assert direct.settings == resolved.settings


def test_settings_file_wins_over_settings_url(
    material: dict[str, Any], metadata_server: str
) -> None:
    both = entry(settings_url=metadata_server + "/idp.xml", settings_file_path="idp.json")
    config = load_sso_saml_idp(
        "tugraz", both, transport=RequestsTransport(retries=0), base_dir=material["dir"], now=NOW
    )
    assert config.settings["idp"]["singleSignOnService"] == {"url": "https://json.example/sso"}
    assert config.metadata is not None  # from the URL: its scopes still check attributes


def test_settings_url_http_error(material: dict[str, Any], metadata_server: str) -> None:
    with pytest.raises(ProviderHTTPError) as info:
        load_sso_saml_idp(
            "tugraz",
            entry(settings_url=metadata_server + "/missing.xml", settings_file_path=None),
            transport=RequestsTransport(retries=0),
            base_dir=material["dir"],
            now=NOW,
        )
    assert info.value.status == 404


# --- end to end: SSO_SAML_IDPS -> ServiceProvider -> a signed Response -> account fields -------


def test_end_to_end_with_a_signed_response(tmp_path: Path) -> None:
    # The response builder of authkit's own test IdP: a real signed Response.
    from authkit.testing._saml_builder import ResponseSpec, SAMLResponseBuilder

    builder = SAMLResponseBuilder.generate(entity_id=IDP_ID, now=NOW)
    (tmp_path / "idp.xml").write_bytes(
        single(idp_entity(IDP_ID, cert=builder.certificate, scopes=("tugraz.example",)))
    )
    sp_entity_id = "https://repository.example.org/saml/metadata/tugraz"
    acs_url = "https://repository.example.org/saml/authorized/tugraz"
    config = load_sso_saml_idp(
        "tugraz",
        {
            "settings": {
                "sp": {"entityId": sp_entity_id, "assertionConsumerService": {"url": acs_url}}
            },
            "settings_file_path": "idp.xml",
            "mappings": {
                "email": "mail",
                "name": "givenName",
                "surname": "sn",
                "external_id": "eduPersonPrincipalName",
            },
            "auto_confirm": True,
        },
        base_dir=tmp_path,
        now=NOW,
    )
    sp = ServiceProvider(config.to_settings(), replay_cache=MemoryReplayCache())
    login = sp.login_request(now=NOW)
    released = {
        "urn:oid:0.9.2342.19200300.100.1.3": ["ada@tugraz.example"],
        "urn:oid:2.5.4.42": ["Ada"],
        "urn:oid:2.5.4.4": ["Lovelace"],
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": ["ada@tugraz.example"],
        "urn:oid:1.3.6.1.4.1.99999.7": ["42"],
    }
    spec = ResponseSpec(
        sp_entity_id=sp_entity_id,
        acs_url=acs_url,
        request_id=login.id,
        now=NOW,
        attributes=released,
        friendly_names={"urn:oid:1.3.6.1.4.1.99999.7": "roomNumber"},
    )
    authn = sp.process_response(builder.build_base64(spec), request_id=login.id, now=NOW)
    identity = config.map_authn(authn)
    assert (identity.email, identity.full_name, identity.username, identity.external_id) == (
        "ada@tugraz.example",
        "Ada Lovelace",
        "tugraz-ada",
        "ada@tugraz.example",
    )
    assert config.auto_confirm is True

    # The same IdP without the surname: the diagnostic uses the FriendlyName it sent.
    del released["urn:oid:2.5.4.4"]
    login = sp.login_request(now=NOW)
    spec = attrs.evolve(spec, request_id=login.id, attributes=released)
    authn = sp.process_response(builder.build_base64(spec), request_id=login.id, now=NOW)
    with pytest.raises(SAMLValidationError) as info:
        config.map_authn(authn)
    assert info.value.code == "saml.mapping_missing_attribute"
    assert "urn:oid:1.3.6.1.4.1.99999.7 (roomNumber)" in str(info.value)
    assert "Lovelace" not in str(info.value)
