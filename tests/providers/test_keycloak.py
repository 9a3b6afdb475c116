"""KeycloakSettingsHelper: Invenio's dictionaries, the realm's URLs, several realms side by side."""

from __future__ import annotations

import pytest

from authkit.config import dump_invenio_remote_apps, load_invenio_remote_apps, to_invenio
from authkit.errors import MissingCredentialsError
from authkit.providers.keycloak import KeycloakSettingsHelper


@pytest.mark.parametrize(
    ("legacy", "realm_url"),
    [
        (True, "https://sso.example.org/auth/realms/rdm"),
        (False, "https://sso.example.org/realms/rdm"),
    ],
)
@pytest.mark.parametrize("base_url", ["https://sso.example.org", "https://sso.example.org/"])
def test_urls_for_both_url_layouts(legacy: bool, realm_url: str, base_url: str) -> None:
    helper = KeycloakSettingsHelper(
        title="SSO", description="d", base_url=base_url, realm="rdm", legacy_url_path=legacy
    )
    oidc = f"{realm_url}/protocol/openid-connect"
    assert helper.realm_url == realm_url
    assert helper.issuer == realm_url
    assert helper.user_info_url == f"{oidc}/userinfo"
    assert helper.token_url == f"{oidc}/token"
    assert helper.authorize_url == f"{oidc}/auth"
    assert helper.jwks_url == f"{oidc}/certs"
    assert helper.end_session_url == f"{oidc}/logout"
    assert helper.discovery_url == f"{realm_url}/.well-known/openid-configuration"
    assert KeycloakSettingsHelper.make_url(realm_url, "token") == f"{oidc}/token"

    params = helper.remote_app["params"]
    assert params["access_token_url"] == f"{oidc}/token"
    assert params["authorize_url"] == f"{oidc}/auth"
    assert params["base_url"] == "https://sso.example.org/"

    app = helper.to_remote_app("sso")
    assert (app.kind, app.protocol) == ("keycloak", "oidc")
    assert app.issuer == realm_url
    assert app.authorize_url == f"{oidc}/auth"
    assert app.token_url == f"{oidc}/token"
    assert app.userinfo_url == f"{oidc}/userinfo"
    assert app.jwks_url == f"{oidc}/certs"
    assert app.end_session_url == f"{oidc}/logout"


def test_dictionaries_are_invenios() -> None:
    helper = KeycloakSettingsHelper(
        title="SSO", description="Single sign-on", base_url="https://sso.example.org", realm="rdm"
    )
    handlers = "invenio_oauthclient.contrib.keycloak.handlers"
    oidc = "https://sso.example.org/auth/realms/rdm/protocol/openid-connect"
    assert helper.remote_app == {
        "title": "SSO",
        "description": "Single sign-on",
        "icon": "",
        "precedence_mask": {
            "email": True,
            "password": False,
            "profile": {"username": False, "full_name": False},
        },
        "signup_options": {"auto_confirm": True, "send_register_msg": False},
        "logout_url": None,
        "hide": False,
        "link_only": False,
        "params": {
            "base_url": "https://sso.example.org/",
            "request_token_params": {"scope": "openid"},
            "request_token_url": None,
            "access_token_url": f"{oidc}/token",
            "access_token_method": "POST",
            "authorize_url": f"{oidc}/auth",
            "app_key": "KEYCLOAK_APP_CREDENTIALS",
        },
        "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
        "disconnect_handler": f"{handlers}:disconnect_handler",
        "signup_handler": {
            "info": f"{handlers}:info_handler",
            "info_serializer": f"{handlers}:info_serializer_handler",
            "setup": f"{handlers}:setup_handler",
            "view": "invenio_oauthclient.handlers:signup_handler",
        },
    }
    rest = helper.remote_rest_app
    assert rest["disconnect_handler"] == f"{handlers}:disconnect_rest_handler"
    assert rest["signup_handler"]["view"] == "invenio_oauthclient.handlers.rest:signup_handler"
    assert rest["error_redirect_url"] == "/"


@pytest.mark.parametrize("legacy", [True, False])
def test_round_trip(legacy: bool) -> None:
    helper = KeycloakSettingsHelper(
        title="SSO",
        description="d",
        base_url="https://sso.example.org",
        realm="rdm",
        scopes="openid profile email",
        legacy_url_path=legacy,
        precedence_mask={"email": True, "profile": {"username": True}},
        signup_options={"auto_confirm": False},
        logout_url="https://sso.example.org/logout",
    )
    app = helper.to_remote_app("sso")
    assert to_invenio(app) == helper.remote_app
    assert to_invenio(app, rest=True) == helper.remote_rest_app
    assert app.scope == "openid profile email"
    assert app.signup_options.auto_confirm is False


def test_invenio_settings_for_the_handlers() -> None:
    helper = KeycloakSettingsHelper(
        title="SSO", description="d", base_url="https://sso.example.org", realm="rdm"
    )
    assert helper.invenio_settings("sso") == {
        "OAUTHCLIENT_SSO_REALM_URL": "https://sso.example.org/auth/realms/rdm",
        "OAUTHCLIENT_SSO_USER_INFO_URL": (
            "https://sso.example.org/auth/realms/rdm/protocol/openid-connect/userinfo"
        ),
    }


def _two_realms() -> dict[str, object]:
    staff = KeycloakSettingsHelper(
        title="Staff",
        description="Staff SSO",
        base_url="https://sso.example.org",
        realm="staff",
        app_key="STAFF_APP_CREDENTIALS",
        legacy_url_path=False,
    )
    students = KeycloakSettingsHelper(
        title="Students",
        description="Student SSO",
        base_url="https://login.example.edu",
        realm="students",
        app_key="STUDENTS_APP_CREDENTIALS",
    )
    return {
        "OAUTHCLIENT_REMOTE_APPS": {"staff": staff.remote_app, "students": students.remote_app},
        "OAUTHCLIENT_REST_REMOTE_APPS": {"staff": staff.remote_rest_app},
        "STAFF_APP_CREDENTIALS": {"consumer_key": "staff-client", "consumer_secret": "s1"},
        "STUDENTS_APP_CREDENTIALS": {"consumer_key": "student-client", "consumer_secret": "s2"},
        **staff.invenio_settings("staff"),
        "OAUTHCLIENT_STAFF_AUD": "staff-client",
        **students.invenio_settings("students"),
        "OAUTHCLIENT_STUDENTS_VERIFY_EXP": True,
    }


def test_two_keycloak_instances_namespaced_by_app_key() -> None:
    apps = load_invenio_remote_apps(_two_realms(), environ={})
    staff, students = apps["staff"], apps["students"]
    assert (staff.kind, students.kind) == ("keycloak", "keycloak")
    assert (staff.client_id, staff.client_secret) == ("staff-client", "s1")
    assert (students.client_id, students.client_secret) == ("student-client", "s2")
    assert staff.issuer == "https://sso.example.org/realms/staff"
    assert students.issuer == "https://login.example.edu/auth/realms/students"
    assert staff.jwks_url == "https://sso.example.org/realms/staff/protocol/openid-connect/certs"
    assert staff.audience == "staff-client"
    assert students.audience is None
    assert "rest" in staff.extra["invenio"]
    # Written back, the configuration reads the same.
    assert (
        load_invenio_remote_apps(dump_invenio_remote_apps(apps, credentials=True), environ={})
        == apps
    )


def test_each_instance_needs_its_own_credentials() -> None:
    config = _two_realms()
    del config["STUDENTS_APP_CREDENTIALS"]
    with pytest.raises(MissingCredentialsError) as err:
        load_invenio_remote_apps(config, environ={})
    assert err.value.key == "STUDENTS_APP_CREDENTIALS"


def test_each_instance_reads_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _two_realms()
    del config["STAFF_APP_CREDENTIALS"]
    monkeypatch.setenv("INVENIO_STAFF_APP_CREDENTIALS_CONSUMER_KEY", "env-staff")
    monkeypatch.setenv("INVENIO_STAFF_APP_CREDENTIALS_CONSUMER_SECRET", "env-secret")
    apps = load_invenio_remote_apps(config)
    assert apps["staff"].client_id == "env-staff"
    assert apps["students"].client_id == "student-client"


def test_default_app_key_is_invenios() -> None:
    helper = KeycloakSettingsHelper(
        title="SSO", description="d", base_url="https://sso.example.org", realm="rdm"
    )
    with pytest.raises(MissingCredentialsError) as err:
        load_invenio_remote_apps({"OAUTHCLIENT_REMOTE_APPS": {"kc": helper.remote_app}}, environ={})
    assert err.value.key == "KEYCLOAK_APP_CREDENTIALS"
