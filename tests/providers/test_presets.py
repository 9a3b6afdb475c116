"""Contrib presets: Invenio's values, dict -> model -> dict round-trips, typed remote apps."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from authkit.config import RemoteApp, from_invenio, to_invenio
from authkit.errors import InvalidSettingError, MissingSettingError, ProviderResponseError
from authkit.providers import (
    OIDCSettingsHelper,
    cern,
    github,
    gitlab,
    globus,
    google,
    openaire_aai,
    orcid,
    remote_app_from_discovery,
    validate_discovery_document,
)

PRESETS: list[tuple[str, dict[str, Any], bool]] = [
    ("orcid.REMOTE_APP", orcid.REMOTE_APP, False),
    ("orcid.REMOTE_REST_APP", orcid.REMOTE_REST_APP, True),
    ("orcid.REMOTE_MEMBER_APP", orcid.REMOTE_MEMBER_APP, False),
    ("orcid.REMOTE_SANDBOX_APP", orcid.REMOTE_SANDBOX_APP, False),
    ("orcid.REMOTE_SANDBOX_REST_APP", orcid.REMOTE_SANDBOX_REST_APP, True),
    ("orcid.REMOTE_SANDBOX_MEMBER_APP", orcid.REMOTE_SANDBOX_MEMBER_APP, False),
    ("github.REMOTE_APP", github.REMOTE_APP, False),
    ("github.REMOTE_REST_APP", github.REMOTE_REST_APP, True),
    ("gitlab.REMOTE_APP", gitlab.REMOTE_APP, False),
    ("gitlab.REMOTE_REST_APP", gitlab.REMOTE_REST_APP, True),
    ("globus.REMOTE_APP", globus.REMOTE_APP, False),
    ("globus.REMOTE_REST_APP", globus.REMOTE_REST_APP, True),
    ("openaire_aai.REMOTE_APP", openaire_aai.REMOTE_APP, False),
    ("openaire_aai.REMOTE_REST_APP", openaire_aai.REMOTE_REST_APP, True),
    ("openaire_aai.REMOTE_SANDBOX_APP", openaire_aai.REMOTE_SANDBOX_APP, False),
    ("openaire_aai.REMOTE_SANDBOX_REST_APP", openaire_aai.REMOTE_SANDBOX_REST_APP, True),
    ("cern.REMOTE_APP", cern.REMOTE_APP, False),
    ("cern.REMOTE_REST_APP", cern.REMOTE_REST_APP, True),
    ("google.REMOTE_APP", google.REMOTE_APP, False),
    ("google.REMOTE_REST_APP", google.REMOTE_REST_APP, True),
]


@pytest.mark.parametrize(("label", "preset", "rest"), PRESETS, ids=[p[0] for p in PRESETS])
def test_every_preset_round_trips(label: str, preset: dict[str, Any], rest: bool) -> None:
    original = copy.deepcopy(preset)
    app = from_invenio("provider", preset, rest=rest)
    assert to_invenio(app, rest=rest) == preset
    assert preset == original  # reading does not mutate the shared preset
    # The typed model also survives authkit's own JSON shape (what the registry stores).
    assert RemoteApp.from_dict(json.loads(json.dumps(app.to_dict()))) == app


def test_orcid_public_api_is_invenios() -> None:
    contrib = "invenio_oauthclient.contrib.orcid"
    expected = {
        "title": "ORCID",
        "description": "Connecting Research and Researchers.",
        "icon": "",
        "precedence_mask": {"email": False},
        "signup_options": {"auto_confirm": False, "send_register_msg": True},
        "logout_url": None,
        "hide": False,
        "link_only": False,
        "params": {
            "base_url": "https://pub.orcid.org/v1.2/",
            "request_token_params": {"scope": "/authenticate", "show_login": "true"},
            "request_token_url": None,
            "access_token_url": "https://orcid.org/oauth/token",
            "access_token_method": "POST",
            "authorize_url": "https://orcid.org/oauth/authorize",
            "app_key": "ORCID_APP_CREDENTIALS",
            "content_type": "application/json",
        },
        "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
        "disconnect_handler": f"{contrib}:disconnect_handler",
        "signup_handler": {
            "info": f"{contrib}:account_info",
            "info_serializer": f"{contrib}:account_info_serializer",
            "setup": f"{contrib}:account_setup",
            "view": "invenio_oauthclient.handlers:signup_handler",
        },
    }
    assert expected == orcid.REMOTE_APP


# (preset, dotted key, Invenio's value), read off invenio-oauthclient's contrib modules.
INVENIO_VALUES: list[tuple[dict[str, Any], str, Any]] = [
    (orcid.REMOTE_MEMBER_APP, "params.base_url", "https://api.orcid.org/"),
    (orcid.REMOTE_SANDBOX_APP, "params.base_url", "https://pub.sandbox.orcid.org/"),
    (orcid.REMOTE_SANDBOX_APP, "params.access_token_url", "https://sandbox.orcid.org/oauth/token"),
    (
        orcid.REMOTE_SANDBOX_APP,
        "params.authorize_url",
        "https://sandbox.orcid.org/oauth/authorize#show_login",
    ),
    (orcid.REMOTE_SANDBOX_MEMBER_APP, "params.base_url", "https://api.sandbox.orcid.org/"),
    (github.REMOTE_APP, "icon", "fa fa-github"),
    (github.REMOTE_APP, "params.request_token_params", {"scope": "user,user:email"}),
    (github.REMOTE_APP, "params.access_token_url", "https://github.com/login/oauth/access_token"),
    (github.REMOTE_APP, "params.authorize_url", "https://github.com/login/oauth/authorize"),
    (github.REMOTE_APP, "params.app_key", "GITHUB_APP_CREDENTIALS"),
    (gitlab.REMOTE_APP, "params.base_url", "https://gitlab.com/api/v4/"),
    (gitlab.REMOTE_APP, "params.request_token_params", {"scope": "read_user"}),
    (gitlab.REMOTE_APP, "precedence_mask", {"email": True}),
    (gitlab.REMOTE_APP, "params.app_key", "GITLAB_APP_CREDENTIALS"),
    (globus.REMOTE_APP, "params.access_token_url", "https://auth.globus.org/v2/oauth2/token"),
    (globus.REMOTE_APP, "params.authorize_url", "https://auth.globus.org/v2/oauth2/authorize"),
    (globus.REMOTE_APP, "params.request_token_params", {"scope": "openid email profile"}),
    (openaire_aai.REMOTE_APP, "params.access_token_url", "https://aai.openaire.eu/oidc/token"),
    (openaire_aai.REMOTE_APP, "params.authorize_url", "https://aai.openaire.eu/oidc/authorize"),
    (openaire_aai.REMOTE_APP, "params.app_key", "OPENAIRE_APP_CREDENTIALS"),
    (
        openaire_aai.REMOTE_SANDBOX_APP,
        "params.authorize_url",
        "https://beta.aai.openaire.eu/auth/realms/openaire/protocol/openid-connect/auth",
    ),
    (
        openaire_aai.REMOTE_SANDBOX_APP,
        "params.request_token_params",
        {"scope": "openid profile email eduperson_entitlement orcid"},
    ),
    (cern.REMOTE_APP, "params.app_key", "CERN_APP_OPENID_CREDENTIALS"),
    (
        cern.REMOTE_APP,
        "logout_url",
        "https://auth.cern.ch/auth/realms/cern/protocol/openid-connect/logout",
    ),
    (
        cern.REMOTE_REST_APP,
        "signup_handler.info",
        "invenio_oauthclient.contrib.cern_openid:account_info_rest",
    ),
    (google.REMOTE_APP, "icon", "google"),
    (google.REMOTE_APP, "params.access_token_url", "https://oauth2.googleapis.com/token"),
]


@pytest.mark.parametrize(("preset", "key", "value"), INVENIO_VALUES)
def test_preset_values_are_invenios(preset: dict[str, Any], key: str, value: Any) -> None:
    node: Any = preset
    for part in key.split("."):
        node = node[part]
    assert node == value


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (orcid, "ORCID"),
        (github, "GitHub"),
        (gitlab, "Gitlab"),
        (globus, "Globus"),
        (openaire_aai, "OpenAIRE"),
    ],
)
def test_rest_variant_derived_from_the_ui_dict_matches_invenios(module: Any, name: str) -> None:
    # Invenio pairs each UI handler with its REST counterpart the same way in every helper.
    app = from_invenio("p", module.REMOTE_APP)
    assert app.title == name
    assert to_invenio(app, rest=True) == module.REMOTE_REST_APP


@pytest.mark.parametrize(
    ("app", "kind", "protocol", "userinfo"),
    [
        (orcid.remote_app(), "orcid", "oauth2", None),
        (orcid.remote_app(member=True, sandbox=True), "orcid", "oauth2", None),
        (github.remote_app(), "github", "oauth2", "https://api.github.com/user"),
        (gitlab.remote_app(), "gitlab", "oauth2", "https://gitlab.com/api/v4/user"),
        (globus.remote_app(), "globus", "oauth2", "https://auth.globus.org/v2/oauth2/userinfo"),
        (
            openaire_aai.remote_app(),
            "openaire_aai",
            "oauth2",
            "https://aai.openaire.eu/oidc/userinfo",
        ),
        (
            openaire_aai.remote_app(sandbox=True),
            "keycloak",
            "oidc",
            "https://beta.aai.openaire.eu/auth/realms/openaire/protocol/openid-connect/userinfo",
        ),
        (
            cern.remote_app(),
            "cern",
            "oidc",
            "https://auth.cern.ch/auth/realms/cern/protocol/openid-connect/userinfo",
        ),
        (google.remote_app(), "google", "oidc", google.USERINFO_URL),
    ],
)
def test_typed_presets(app: RemoteApp, kind: str, protocol: str, userinfo: str | None) -> None:
    assert (app.kind, app.protocol, app.userinfo_url) == (kind, protocol, userinfo)
    # Hooks naming Invenio's handlers mean authkit's built-in behaviour for the kind.
    for hook in ("info", "setup", "disconnect", "authorized", "signup_view"):
        assert app.hooks.resolve(hook) is None


@pytest.mark.parametrize(
    ("module", "typed", "ui", "rest"),
    [
        (
            orcid,
            orcid.remote_app(sandbox=True),
            orcid.REMOTE_SANDBOX_APP,
            orcid.REMOTE_SANDBOX_REST_APP,
        ),
        (github, github.remote_app(), github.REMOTE_APP, github.REMOTE_REST_APP),
        (gitlab, gitlab.remote_app(), gitlab.REMOTE_APP, gitlab.REMOTE_REST_APP),
        (globus, globus.remote_app(), globus.REMOTE_APP, globus.REMOTE_REST_APP),
        (
            openaire_aai,
            openaire_aai.remote_app(),
            openaire_aai.REMOTE_APP,
            openaire_aai.REMOTE_REST_APP,
        ),
        (cern, cern.remote_app(), cern.REMOTE_APP, cern.REMOTE_REST_APP),
        (google, google.remote_app(), google.REMOTE_APP, google.REMOTE_REST_APP),
    ],
)
def test_typed_presets_write_both_invenio_dicts(
    module: Any, typed: RemoteApp, ui: dict[str, Any], rest: dict[str, Any]
) -> None:
    assert to_invenio(typed) == ui
    assert to_invenio(typed, rest=True) == rest


def test_cern_and_google_oidc_endpoints() -> None:
    app = cern.remote_app()
    assert app.issuer == cern.REALM_URL
    assert app.jwks_url == f"{cern.REALM_URL}/protocol/openid-connect/certs"
    assert app.userinfo_url == cern.OAUTHCLIENT_CERN_OPENID_USERINFO_URL
    g = google.remote_app()
    assert g.issuer == "https://accounts.google.com"
    assert g.jwks_url == "https://www.googleapis.com/oauth2/v3/certs"
    assert g.discovery_url == "https://accounts.google.com/.well-known/openid-configuration"


def test_preset_with_credentials() -> None:
    app = orcid.remote_app(credentials={"consumer_key": "APP-1", "consumer_secret": "s"})
    assert app.require_credentials() == ("APP-1", "s")
    assert app.app_key == "ORCID_APP_CREDENTIALS"


def test_globus_identity_url() -> None:
    assert globus.GLOBUS_USER_INFO_URL == "https://auth.globus.org/v2/oauth2/userinfo"
    assert globus.GLOBUS_USER_ID_URL == "https://auth.globus.org/v2/api/identities"
    assert globus.remote_app().extra["identities_url"] == globus.GLOBUS_USER_ID_URL


# --- generic OpenID Connect ------------------------------------------------------------------

DISCOVERY: dict[str, Any] = {
    "issuer": "https://idp.example.org/realms/rdm",
    "authorization_endpoint": "https://idp.example.org/realms/rdm/protocol/openid-connect/auth",
    "token_endpoint": "https://idp.example.org/realms/rdm/protocol/openid-connect/token",
    "userinfo_endpoint": "https://idp.example.org/realms/rdm/protocol/openid-connect/userinfo",
    "jwks_uri": "https://idp.example.org/realms/rdm/protocol/openid-connect/certs",
    "end_session_endpoint": "https://idp.example.org/realms/rdm/protocol/openid-connect/logout",
    "scopes_supported": ["openid", "email", "profile", "roles"],
    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
    "response_types_supported": ["code"],
}


def test_remote_app_from_a_discovery_document() -> None:
    app = remote_app_from_discovery(
        "idp",
        "My IdP",
        DISCOVERY,
        client_id="client",
        client_secret="secret",
        expected_issuer=DISCOVERY["issuer"],
        groups_claim="groups",
    )
    assert (app.protocol, app.kind) == ("oidc", "generic")
    assert app.issuer == DISCOVERY["issuer"]
    assert app.authorize_url == DISCOVERY["authorization_endpoint"]
    assert app.token_url == DISCOVERY["token_endpoint"]
    assert app.userinfo_url == DISCOVERY["userinfo_endpoint"]
    assert app.jwks_url == DISCOVERY["jwks_uri"]
    assert app.end_session_url == DISCOVERY["end_session_endpoint"]
    assert (
        app.discovery_url == "https://idp.example.org/realms/rdm/.well-known/openid-configuration"
    )
    assert app.token_auth_method == "client_secret_post"  # basic is not offered
    assert app.groups_claim == "groups"
    assert app.require_credentials() == ("client", "secret")
    without_methods = {k: v for k, v in DISCOVERY.items() if not k.startswith("token_endpoint_")}
    assert remote_app_from_discovery("idp", "IdP", without_methods).token_auth_method == (
        "client_secret_basic"
    )


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in DISCOVERY.items() if k != key}


@pytest.mark.parametrize(
    ("document", "code", "message"),
    [
        (["not", "an", "object"], "oidc.discovery_invalid", "is not a JSON object"),
        (_without("issuer"), "oidc.discovery_invalid", "'issuer'"),
        ({**DISCOVERY, "issuer": "idp.example.org"}, "oidc.discovery_invalid", "'issuer'"),
        (_without("authorization_endpoint"), "oidc.discovery_invalid", "'authorization_endpoint'"),
        (_without("token_endpoint"), "oidc.discovery_invalid", "'token_endpoint'"),
        (_without("jwks_uri"), "oidc.discovery_invalid", "'jwks_uri'"),
        ({**DISCOVERY, "jwks_uri": "file:///etc/keys"}, "oidc.discovery_invalid", "'jwks_uri'"),
        ({**DISCOVERY, "token_endpoint": "/token"}, "oidc.discovery_invalid", "'token_endpoint'"),
        (
            {**DISCOVERY, "issuer": "https://evil.example.com"},
            "oidc.discovery_issuer_mismatch",
            "evil.example.com",
        ),
    ],
)
def test_bad_discovery_documents(document: Any, code: str, message: str) -> None:
    with pytest.raises(ProviderResponseError) as err:
        validate_discovery_document(document, expected_issuer=DISCOVERY["issuer"], source="idp")
    assert err.value.code == code
    assert message in str(err.value)
    with pytest.raises(ProviderResponseError):
        remote_app_from_discovery("idp", "IdP", document, expected_issuer=DISCOVERY["issuer"])


def test_scope_without_openid_is_refused() -> None:
    with pytest.raises(InvalidSettingError) as err:
        remote_app_from_discovery("idp", "IdP", DISCOVERY, scope="email profile")
    assert err.value.key == "RemoteApp('idp').scope"


def test_bad_remote_app_field_from_discovery() -> None:
    with pytest.raises(InvalidSettingError) as err:
        remote_app_from_discovery("idp", "IdP", DISCOVERY, public_url="not a url")
    assert err.value.code == "config.invalid_value"


def test_oidc_settings_helper_with_a_document() -> None:
    helper = OIDCSettingsHelper(issuer=DISCOVERY["issuer"], discovery=DISCOVERY)
    params = helper.remote_app["params"]
    assert params["access_token_url"] == DISCOVERY["token_endpoint"]
    assert params["authorize_url"] == DISCOVERY["authorization_endpoint"]
    # Invenio keeps only supported scopes, plus openid, sorted.
    assert params["request_token_params"] == {"scope": "email openid profile"}
    assert helper.remote_app["logout_url"] == DISCOVERY["end_session_endpoint"]
    assert helper.remote_app["params"]["base_url"] == "https://idp.example.org/"
    app = helper.to_remote_app("oidc")
    assert (app.protocol, app.issuer, app.jwks_url) == (
        "oidc",
        DISCOVERY["issuer"],
        DISCOVERY["jwks_uri"],
    )
    assert to_invenio(app) == helper.remote_app
    assert to_invenio(app, rest=True) == helper.remote_rest_app


def test_oidc_settings_helper_fallbacks_and_known_issuers() -> None:
    helper = OIDCSettingsHelper(
        issuer="https://auth.example.org/application/o/rdm/", use_basic_auth=True
    )
    params = helper.remote_app["params"]
    assert params["access_token_url"] == "https://auth.example.org/application/o/token"
    assert params["authorize_url"] == "https://auth.example.org/application/o/authorize"
    assert params["token_endpoint_auth_method"] == "client_secret_basic"
    assert helper.userinfo_url == "https://auth.example.org/application/o/userinfo"
    assert helper.jwks_url == "https://auth.example.org/application/o/rdm/jwks"
    app = helper.to_remote_app("authentik")
    assert app.token_auth_method == "client_secret_basic"
    assert to_invenio(app) == helper.remote_app

    orcid_oidc = OIDCSettingsHelper(issuer="https://orcid.org/", use_discovery=False)
    assert orcid_oidc.remote_app["title"] == "ORCID"
    assert orcid_oidc.remote_app["signup_options"] == {
        "auto_confirm": False,
        "send_register_msg": True,
    }


def test_oidc_settings_helper_errors() -> None:
    with pytest.raises(MissingSettingError) as err:
        OIDCSettingsHelper(title="No issuer")
    assert err.value.key == "OIDCSettingsHelper.issuer"
    with pytest.raises(ProviderResponseError) as err2:
        OIDCSettingsHelper(issuer="https://other.example.org", discovery=DISCOVERY)
    assert err2.value.code == "oidc.discovery_issuer_mismatch"
