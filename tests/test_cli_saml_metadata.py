"""`authkit saml-metadata`: SP metadata from python3-saml settings or SSO_SAML_IDPS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from tests.saml.saml_sp_kit import SP_ENTITY_ID, settings_dict

from authkit.cli import main

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def entity_id(xml: str) -> str:
    root = etree.fromstring(xml.encode())
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    return str(root.get("entityID"))


def test_from_a_python3_saml_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings_dict()))
    assert main(["saml-metadata", str(path)]) == 0
    assert entity_id(capsys.readouterr().out) == SP_ENTITY_ID


def test_from_sso_saml_idps_in_an_invenio_cfg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_dict()
    other = {**settings, "sp": {**settings["sp"], "entityId": "https://sp.example.org/other"}}
    cfg = tmp_path / "invenio.cfg"
    cfg.write_text(
        f"SSO_SAML_IDPS = {{'one': {{'title': 'One', 'settings': {settings!r}}},\n"
        f"                  'two': {{'title': 'Two', 'settings': {other!r}}}}}\n"
    )
    assert main(["saml-metadata", str(cfg)]) == 2
    assert "--idp" in capsys.readouterr().err
    assert main(["saml-metadata", str(cfg), "--idp", "two"]) == 0
    assert entity_id(capsys.readouterr().out) == "https://sp.example.org/other"


def test_a_file_without_saml_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"SECRET_KEY": "x"}))
    assert main(["saml-metadata", str(path)]) == 2
    assert "neither python3-saml settings nor SSO_SAML_IDPS" in capsys.readouterr().err
