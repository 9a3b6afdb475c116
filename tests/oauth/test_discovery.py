"""Parsing and validating discovery documents (sans-IO part)."""

from __future__ import annotations

import pytest

from authkit.config import RemoteApp
from authkit.errors import ProviderResponseError
from authkit.oauth import apply_provider_metadata, discovery_url_for, parse_provider_metadata

DOC = {
    "issuer": "https://op.example.org/realms/r",
    "authorization_endpoint": "https://op.example.org/realms/r/auth",
    "token_endpoint": "https://op.example.org/realms/r/token",
    "jwks_uri": "https://op.example.org/realms/r/certs",
    "userinfo_endpoint": "https://op.example.org/realms/r/userinfo",
    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    "authorization_response_iss_parameter_supported": True,
}


def test_parse_and_apply():
    metadata = parse_provider_metadata(DOC, expected_issuer=DOC["issuer"])
    assert metadata.authorization_response_iss_parameter_supported is True
    app = RemoteApp(name="kc", title="KC", token_url="https://override.example/token")
    filled = apply_provider_metadata(app, metadata)
    assert filled.protocol == "oidc"
    assert filled.issuer == DOC["issuer"]
    assert filled.authorize_url == DOC["authorization_endpoint"]
    assert filled.token_url == "https://override.example/token"  # configuration wins


def test_discovery_url_appends_the_well_known_path():
    assert discovery_url_for("https://op.example/realms/r/") == (
        "https://op.example/realms/r/.well-known/openid-configuration"
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"issuer": "https://evil.example"}, "oidc.discovery_issuer_mismatch"),
        ({"issuer": None}, "oidc.discovery_invalid"),
        ({"authorization_endpoint": None}, "oidc.discovery_invalid"),
        ({"token_endpoint": "javascript:alert(1)"}, "oidc.discovery_invalid"),
        ({"scopes_supported": "openid"}, "oidc.discovery_invalid"),
        ({"authorization_response_iss_parameter_supported": "yes"}, "oidc.discovery_invalid"),
    ],
)
def test_bad_documents(change, code):
    doc = {k: v for k, v in {**DOC, **change}.items() if v is not None}
    with pytest.raises(ProviderResponseError) as info:
        parse_provider_metadata(doc, expected_issuer=DOC["issuer"])
    assert info.value.code == code


def test_not_an_object():
    with pytest.raises(ProviderResponseError):
        parse_provider_metadata([], expected_issuer=None)  # type: ignore[arg-type]
