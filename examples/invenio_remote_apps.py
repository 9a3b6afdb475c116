"""Read the remote apps of an Invenio configuration and list them with their callback URLs.

Run it: ``python examples/invenio_remote_apps.py``. The configuration below is what an
``invenio.cfg`` authentication section holds — two Keycloak realms (told apart by name and
``app_key``) and ORCID — written with authkit's drop-in presets instead of
``invenio_oauthclient.contrib``. The ORCID secret comes from the environment, as Invenio's
environment loader would read it (``INVENIO_ORCID_APP_CREDENTIALS_CONSUMER_SECRET``).
"""

from __future__ import annotations

import os

from authkit.config import ProviderRegistry, load_invenio_remote_apps, to_invenio
from authkit.providers import orcid
from authkit.providers.keycloak import KeycloakSettingsHelper

SITE = "https://repository.example.org"

staff = KeycloakSettingsHelper(
    title="Example University",
    description="Staff single sign-on",
    base_url="https://sso.example.org",
    realm="staff",
    app_key="STAFF_APP_CREDENTIALS",
    legacy_url_path=False,
)
partners = KeycloakSettingsHelper(
    title="Partner institutions",
    description="Partner single sign-on",
    base_url="https://login.partners.example.net",
    realm="partners",
    app_key="PARTNERS_APP_CREDENTIALS",
)

# The authentication section of invenio.cfg, as a mapping.
CONFIG = {
    "OAUTHCLIENT_REMOTE_APPS": {
        "staff": staff.remote_app,
        "partners": partners.remote_app,
        "orcid": orcid.REMOTE_APP,
    },
    "OAUTHCLIENT_REST_REMOTE_APPS": {"staff": staff.remote_rest_app},
    "STAFF_APP_CREDENTIALS": {"consumer_key": "repository", "consumer_secret": "staff-secret"},
    "PARTNERS_APP_CREDENTIALS": {"consumer_key": "repository", "consumer_secret": "p-secret"},
    "ORCID_APP_CREDENTIALS": {"consumer_key": "APP-0000000000000000"},  # secret: environment
    **staff.invenio_settings("staff"),
    "OAUTHCLIENT_STAFF_AUD": "repository",
    **partners.invenio_settings("partners"),
}


def main() -> None:
    environ = {
        **os.environ,
        "INVENIO_ORCID_APP_CREDENTIALS_CONSUMER_SECRET": os.environ.get(
            "ORCID_CLIENT_SECRET", "orcid-secret-from-env"
        ),
    }
    apps = load_invenio_remote_apps(CONFIG, environ=environ)
    registry = ProviderRegistry(apps.values())
    for app in registry:
        print(f"{app.name}: {app.title} [{app.kind}, {app.protocol}]")
        print(f"  callback URL:  {registry.callback_url(app.name, SITE)}")
        print(f"  client id:     {app.client_id} (from {app.app_key})")
        print(f"  client secret: {'set' if app.client_secret else 'missing'}")
        print(f"  authorize:     {app.authorize_url}")
        if app.issuer:
            print(f"  issuer:        {app.issuer}")
            print(f"  JWKS:          {app.jwks_url}")
        print(f"  scope:         {app.scope}")
        same = to_invenio(app) == CONFIG["OAUTHCLIENT_REMOTE_APPS"][app.name]
        print(f"  Invenio dict round-trips: {same}")


if __name__ == "__main__":
    main()
