"""authkit's loopback SAML IdP on its own, with authkit's service provider signing in over HTTP.

Run it: ``python examples/saml_idp_standalone.py``. It starts a real SAML 2.0 identity provider
on 127.0.0.1 and a free port, configures authkit's :class:`~authkit.saml.ServiceProvider` from
the IdP's metadata (fetched over HTTP), registers the SP at the IdP from the SP's own metadata,
sends the browser's AuthnRequest (HTTP-Redirect) with ``requests``, reads the auto-posting form
the IdP answers with, validates the Response, prints the NameID and the attributes, and stops
the IdP.
"""

from __future__ import annotations

import requests

from authkit.saml import SAMLSettings, ServiceProvider, fetch_idp_metadata
from authkit.testing import SAMLIdentityProvider, SAMLRelyingParty, SAMLUser, read_post_form
from authkit.transport import RequestsTransport

SP_ENTITY_ID = "http://127.0.0.1:8000/saml/metadata"
ACS_URL = "http://127.0.0.1:8000/saml/acs"


def main() -> None:
    alice = SAMLUser(
        username="alice",
        password="wonderland",
        attributes={
            "mail": "alice@example.org",
            "givenName": "Alice",
            "sn": "Liddell",
            "eduPersonPrincipalName": "alice@example.org",
            "eduPersonEntitlement": ["urn:mace:example.org:entitlement:library"],
            "isMemberOf": ["staff", "readers"],
        },
    )
    with SAMLIdentityProvider(users=[alice], auto_login="alice", scopes=["example.org"]) as idp:
        print("IdP entityID:", idp.issuer)

        # The SP reads the IdP's metadata, exactly as it would read a real IdP's.
        metadata = fetch_idp_metadata(idp.metadata_url, RequestsTransport())
        settings = SAMLSettings.from_dict(
            {
                "sp": {
                    "entityId": SP_ENTITY_ID,
                    "assertionConsumerService": {"url": ACS_URL},
                    "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                },
                "idp": metadata.to_settings_dict(),
            }
        )
        sp = ServiceProvider(settings)
        # The IdP reads the SP's metadata, as a federation operator would register it.
        idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()))

        # The browser: follow the Redirect-binding URL, then the auto-posting form.
        login = sp.login_request(relay_state="/dashboard")
        page = requests.get(login.url, timeout=5)
        form = read_post_form(page.text)
        print("posted to:", form.action, "with RelayState", form.fields["RelayState"])

        authn = sp.process_response(form.fields["SAMLResponse"], request_id=login.id)
        print("NameID:", authn.name_id)
        print("NameID format:", authn.name_id_format)
        print("assertion signed:", authn.assertion_signed)
        print("attributes:")
        for attribute in authn.attribute_details:
            print(f"  {attribute.friendly_name} ({attribute.name}): {', '.join(attribute.values)}")
    print("IdP stopped:", not idp.running)


if __name__ == "__main__":
    main()
