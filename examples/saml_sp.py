"""A SAML service provider from a python3-saml / invenio-saml settings dict, end to end.

The login goes: the SP builds an AuthnRequest and sends the browser to the IdP
(``login_request``); the IdP authenticates the person and posts a signed Response back to the
ACS URL; the SP validates it (``process_response``). Here the IdP is authkit's test Response
builder, so the whole flow runs offline. Run: ``python examples/saml_sp.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from authkit.saml import SAMLSettings, SAMLValidationError, ServiceProvider
from authkit.testing._saml_builder import ResponseSpec, SAMLResponseBuilder

NOW = datetime.now(UTC)
ACS_URL = "https://repository.example.org/saml/authorized/example"
IDP = SAMLResponseBuilder.generate(entity_id="https://idp.example.org/idp/shibboleth", now=NOW)

# The "settings" of an invenio-saml SSO_SAML_IDPS entry, as python3-saml reads it.
SETTINGS = {
    "strict": True,
    "sp": {
        "entityId": "https://repository.example.org/saml/metadata/example",
        "assertionConsumerService": {
            "url": ACS_URL,
            "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        },
        "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    },
    "idp": {
        "entityId": "https://idp.example.org/idp/shibboleth",
        "singleSignOnService": {
            "url": "https://idp.example.org/idp/profile/SAML2/Redirect/SSO",
            "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        },
        "x509cert": IDP.certificate,  # the IdP's signing certificate, from its metadata
    },
    "security": {"wantAssertionsSigned": True, "requestedAuthnContext": False},
}


def main() -> None:
    sp = ServiceProvider(SAMLSettings.from_dict(SETTINGS))

    # 1. The login starts: keep login.id in the session, redirect the browser to login.url.
    login = sp.login_request(relay_state="/records/new", now=NOW)
    print(
        "redirect the browser to:", urlsplit(login.url)._replace(query="SAMLRequest=...").geturl()
    )
    print("request id kept in the session:", login.id)

    # 2. The IdP answers (here: the test builder) with a SAMLResponse form field.
    saml_response = IDP.build_base64(
        ResponseSpec(
            sp_entity_id=sp.entity_id,
            acs_url=ACS_URL,
            request_id=login.id,
            now=NOW,
            name_id="6c1f7a0e-2b5d-4d7a-9a43-0d9f2c1e8b11",
            name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            attributes={
                "urn:oid:0.9.2342.19200300.100.1.3": ["ada@example.org"],
                "urn:oid:2.5.4.42": ["Ada"],
                "urn:oid:2.5.4.4": ["Lovelace"],
            },
            friendly_names={"urn:oid:0.9.2342.19200300.100.1.3": "mail"},
        )
    )

    # 3. The ACS endpoint validates it against the request id kept in the session.
    authn = sp.process_response(saml_response, request_id=login.id, now=NOW)
    print("NameID:", authn.name_id)
    print("NameID format:", authn.name_id_format)
    print("issuer:", authn.issuer)
    for name, values in authn.attributes.items():
        print(f"attribute {name}: {', '.join(values)}")

    # 4. The same Response again is a replay: refused with a stable code.
    try:
        sp.process_response(saml_response, request_id=login.id, now=NOW)
    except SAMLValidationError as error:
        print("second use refused:", error.code)

    # 5. What to register at the IdP: the SP metadata.
    print("SP metadata starts with:", sp.metadata()[:60].decode())


if __name__ == "__main__":
    main()
