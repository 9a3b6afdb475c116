"""Shared pieces of the SAML SP tests: keys (generated once), settings dicts, an IdP builder."""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from authkit.saml import SAMLSettings, ServiceProvider
from authkit.saml._replay import MemoryReplayCache
from authkit.saml._xmldsig import sign_element
from authkit.testing._saml_builder import (
    KeyPair,
    ResponseSpec,
    SAMLResponseBuilder,
    generate_key_pair,
)

#: The time of the ``clock`` fixture: keys and messages are made around it.
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
IDP_ENTITY_ID = "https://idp.example.org/idp/shibboleth"
IDP_SSO_URL = "https://idp.example.org/idp/profile/SAML2/Redirect/SSO"
SP_ENTITY_ID = "https://sp.example.org/saml/metadata"
ACS_URL = "https://sp.example.org/saml/acs"
REQUEST_ID = "_0123456789abcdef0123456789abcdef01234567"

MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GIVEN_NAME = "urn:oid:2.5.4.42"
AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
}


@functools.cache
def keys(name: str) -> KeyPair:
    """A key pair per role ("idp", "sp", "sp-new", "attacker"), generated once per run."""
    return generate_key_pair(now=NOW, common_name=f"authkit test {name}")


def idp() -> SAMLResponseBuilder:
    return SAMLResponseBuilder(entity_id=IDP_ENTITY_ID, key_pair=keys("idp"))


def settings_dict(*, sp: dict[str, Any] | None = None, **security: Any) -> dict[str, Any]:
    """A python3-saml settings dict for the test SP and IdP, ``security`` keys as given."""
    sp_keys = keys("sp")
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": SP_ENTITY_ID,
            "assertionConsumerService": {
                "url": ACS_URL,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "x509cert": sp_keys.cert_base64,
            "privateKey": sp_keys.key_pem.decode("ascii"),
            **(sp or {}),
        },
        "idp": {
            "entityId": IDP_ENTITY_ID,
            "singleSignOnService": {
                "url": IDP_SSO_URL,
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            },
            "x509cert": keys("idp").cert_base64,
        },
        "security": security,
    }


def make_sp(*, sp: dict[str, Any] | None = None, **security: Any) -> ServiceProvider:
    return ServiceProvider(
        SAMLSettings.from_dict(settings_dict(sp=sp, **security)),
        replay_cache=MemoryReplayCache(),
    )


def spec(now: datetime = NOW, request_id: str | None = REQUEST_ID, **changes: Any) -> ResponseSpec:
    """A valid Response description for the test SP; ``changes`` override fields."""
    values: dict[str, Any] = {
        "sp_entity_id": SP_ENTITY_ID,
        "acs_url": ACS_URL,
        "request_id": request_id,
        "now": now,
        "attributes": {
            MAIL: ["alice@example.org"],
            GIVEN_NAME: ["Alice"],
            AFFILIATION: ["member", "staff"],
        },
        "friendly_names": {MAIL: "mail", GIVEN_NAME: "givenName"},
        "sp_certificate": keys("sp").cert_pem,
    }
    values.update(changes)
    return ResponseSpec(**values)


def b64(xml: bytes | etree._Element) -> str:
    if isinstance(xml, etree._Element):
        xml = etree.tostring(xml)
    return base64.b64encode(xml).decode("ascii")


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def sign(element: etree._Element, key_pair: KeyPair | None = None) -> None:
    """Sign ``element`` as the test IdP (or as ``key_pair``)."""
    pair = key_pair or keys("idp")
    sign_element(element, key_pem=pair.key_pem, cert_pem=pair.cert_pem)


def find(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, NS)
    assert found is not None, path
    return found
