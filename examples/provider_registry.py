"""A provider registry administered the way Opal's "Identity providers" page does it.

It registers an Opal identity-provider definition next to a plain RemoteApp, duplicates one
(the copy starts disabled, as in Opal), disables another, lists the sign-in buttons two sites
would show with the callback URLs to register at each provider, and saves the registry to JSON
and loads it back. Nothing here touches the network.

Run it with ``python examples/provider_registry.py``.
"""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

from authkit.config import ProviderRegistry, RemoteApp, from_opal, to_opal

SITE = "https://opal.example.org"
INTRANET = "https://intranet.example.org/opal"

#: As Opal's REST API returns it (GET /ws/system/idprovider/keycloak).
OPAL_KEYCLOAK = {
    "name": "keycloak",
    "label": "Keycloak",
    "providerUrl": "https://auth.example.org/realms/opal/account",
    "clientId": "opal",
    "secret": "change-me",
    "discoveryURI": "https://auth.example.org/realms/opal/.well-known/openid-configuration",
    "scope": "openid profile email",
    "useNonce": True,
    "connectTimeout": 500,
    "readTimeout": 2000,
    "groups": "opal-users",
    "groupsClaim": "groups",
    "enabled": True,
    "usernameClaim": "preferred_username",
    "callbackURL": f"{SITE}/auth/callback/",
}

GITHUB = RemoteApp(
    name="github",
    title="GitHub",
    kind="github",
    authorize_url="https://github.com/login/oauth/authorize",
    token_url="https://github.com/login/oauth/access_token",
    userinfo_url="https://api.github.com/user",
    scope="read:user user:email",
    client_id="gh-client-id",
    client_secret="gh-client-secret",
)


def show_buttons(registry: ProviderRegistry, site: str) -> None:
    """Print the sign-in buttons of ``site`` with the callback URL of each provider."""
    print(f"sign-in page of {site}:")
    for app in registry.visible(site):
        print(f"  [{app.display_label}] callback {registry.callback_url(app.name, site)}")


def main() -> None:
    registry = ProviderRegistry()
    registry.add(from_opal(OPAL_KEYCLOAK))
    registry.add(GITHUB)

    # Opal's "Duplicate" opens the form with every field but the name; the copy starts disabled.
    registry.duplicate("keycloak", "keycloak-intranet", label="Keycloak (intranet)", enabled=False)
    registry.update("keycloak-intranet", public_url=INTRANET)
    registry.enable("keycloak-intranet")
    registry.disable("github")

    print("registered:", ", ".join(registry.names()))
    show_buttons(registry, SITE)
    show_buttons(registry, INTRANET)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "providers.json"
        registry.save(path, secrets=False)
        loaded = ProviderRegistry.load(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        print(f"saved and loaded {len(loaded)} providers, file mode {mode:o}, no secrets")
        assert loaded.names() == registry.names()

    exported = to_opal(registry.get("keycloak"))
    print("exported to Opal unchanged:", exported == OPAL_KEYCLOAK)
    print(json.dumps(to_opal(registry.get("keycloak-intranet"), secrets=False), indent=2))


if __name__ == "__main__":
    main()
