"""Sign-in configuration checks and the auto-redirect decision (config/_checks.py)."""

from __future__ import annotations

import types
from datetime import timedelta
from typing import Any

import pytest

from authkit.config import (
    AutoRedirectDecision,
    Finding,
    ProviderRegistry,
    RemoteApp,
    check_config,
    should_auto_redirect,
)
from authkit.errors import InvalidSettingError
from authkit.providers import orcid
from authkit.providers.keycloak import KeycloakSettingsHelper

KEYCLOAK = KeycloakSettingsHelper(
    title="Example University",
    description="Single sign-on",
    base_url="https://sso.example.org",
    realm="staff",
    legacy_url_path=False,
)

#: A configuration with nothing to report: external sign-in only, through one provider.
CLEAN: dict[str, Any] = {
    "SECRET_KEY": "vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN",
    "SECURITY_PASSWORD_SALT": "pW7nKd2xQ9sLm4vB8cZt",
    "SECURITY_CONFIRM_SALT": "cF3hJ8rT6yN1wQ5eXk2p",
    "SECURITY_RESET_SALT": "rM9bV4gH7jD2sL6aZq8u",
    "SECURITY_LOGIN_SALT": "lT5nW1xC8kP3yR7fGd4e",
    "SECURITY_CHANGE_SALT": "hQ2mZ6vB9sJ4tN8wLc1k",
    "SECURITY_REMEMBER_SALT": "bY7dK3pX5rF9gM2hVn6s",
    "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
    "SECURITY_REGISTERABLE": False,
    "SECURITY_RECOVERABLE": False,
    "SECURITY_CHANGEABLE": False,
    "SECURITY_CONFIRMABLE": True,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "SESSION_COOKIE_SECURE": True,
    "ACCOUNTS_SESSION_REDIS_URL": "redis://localhost:6379/1",
    "SITE_UI_URL": "https://repository.example.org",
    "OAUTHCLIENT_REMOTE_APPS": {"keycloak": KEYCLOAK.remote_app},
    "KEYCLOAK_APP_CREDENTIALS": {"consumer_key": "repository", "consumer_secret": "9f8e7d6c5b"},
    "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
    "ACCOUNTS_LOGIN_VIEW_FUNCTION": "invenio_oauthclient.views.client:auto_redirect_login",
}

DROP = object()


def config(**changes: Any) -> dict[str, Any]:
    result = dict(CLEAN)
    for key, value in changes.items():
        if value is DROP:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [str(f) for f in findings]
    return findings[0]


def test_clean_configuration_has_no_finding() -> None:
    assert check_config(CLEAN) == []


def test_clean_configuration_redirects_to_its_only_provider() -> None:
    registry = ProviderRegistry([RemoteApp(name="keycloak", title="Example University")])
    decision = should_auto_redirect(CLEAN, registry)
    assert decision == AutoRedirectDecision(
        redirect=True,
        provider="keycloak",
        reason=decision.reason,
        code="auto_redirect.sole_provider",
    )
    assert "keycloak" in decision.reason


# --- each finding, provoked by a configuration ---------------------------------------------------

CASES = [
    # (changes, code, severity, key)
    (
        {"SECURITY_REGISTERABLE": True},
        "local_login.registration_without_local_login",
        "error",
        "SECURITY_REGISTERABLE",
    ),
    (
        {"SECURITY_REGISTERABLE": DROP},  # Invenio's default is True
        "local_login.registration_without_local_login",
        "error",
        "SECURITY_REGISTERABLE",
    ),
    (
        {"SECURITY_RECOVERABLE": True},
        "local_login.recovery_without_local_login",
        "warning",
        "SECURITY_RECOVERABLE",
    ),
    (
        {"SECURITY_CHANGEABLE": DROP},
        "local_login.password_change_without_local_login",
        "warning",
        "SECURITY_CHANGEABLE",
    ),
    (
        {"SECURITY_CONFIRMABLE": False},
        "local_login.confirmation_disabled",
        "warning",
        "SECURITY_CONFIRMABLE",
    ),
    ({"SECRET_KEY": DROP}, "secrets.secret_key_missing", "error", "SECRET_KEY"),
    ({"SECRET_KEY": ""}, "secrets.secret_key_missing", "error", "SECRET_KEY"),
    ({"SECRET_KEY": "CHANGE_ME"}, "secrets.placeholder", "error", "SECRET_KEY"),
    ({"SECRET_KEY": "change-me"}, "secrets.placeholder", "error", "SECRET_KEY"),
    (
        {"SECRET_KEY": "..put a long random value here.."},
        "secrets.placeholder",
        "error",
        "SECRET_KEY",
    ),
    ({"SECRET_KEY": "<your secret key>"}, "secrets.placeholder", "error", "SECRET_KEY"),
    (
        {"SECRET_KEY": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
        "secrets.placeholder",
        "error",
        "SECRET_KEY",
    ),
    ({"SECRET_KEY": "a7Gh2kLp9q"}, "secrets.too_short", "warning", "SECRET_KEY"),
    ({"SECRET_KEY": 1234567890}, "config.invalid_type", "error", "SECRET_KEY"),
    (
        {"SECURITY_PASSWORD_SALT": DROP},
        "secrets.salt_missing",
        "warning",
        "SECURITY_PASSWORD_SALT",
    ),
    ({"SECURITY_RESET_SALT": DROP}, "secrets.salt_default", "info", "SECURITY_RESET_SALT"),
    ({"SECURITY_RESET_SALT": "reset-salt"}, "secrets.placeholder", "error", "SECURITY_RESET_SALT"),
    (
        {"SECURITY_PASSWORD_SALT": "CHANGE_ME"},
        "secrets.placeholder",
        "error",
        "SECURITY_PASSWORD_SALT",
    ),
    ({"SECURITY_LOGIN_SALT": "s4Lt"}, "secrets.too_short", "warning", "SECURITY_LOGIN_SALT"),
    (
        {"SECURITY_RESET_SALT": CLEAN["SECURITY_CONFIRM_SALT"]},
        "secrets.salt_reused",
        "error",
        "SECURITY_CONFIRM_SALT, SECURITY_RESET_SALT",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": timedelta(days=90)},
        "session.lifetime_too_long",
        "warning",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": 60},  # seconds
        "session.lifetime_too_short",
        "warning",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": "1 day"},
        "session.lifetime_invalid",
        "error",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": True},
        "session.lifetime_invalid",
        "error",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": timedelta(0)},
        "session.lifetime_invalid",
        "error",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"PERMANENT_SESSION_LIFETIME": DROP},
        "session.lifetime_default",
        "info",
        "PERMANENT_SESSION_LIFETIME",
    ),
    (
        {"ACCOUNTS_SESSION_REDIS_URL": "localhost:6379"},
        "session.redis_url_invalid",
        "error",
        "ACCOUNTS_SESSION_REDIS_URL",
    ),
    (
        {"SESSION_COOKIE_SECURE": False},
        "session.cookie_insecure",
        "warning",
        "SESSION_COOKIE_SECURE",
    ),
    (
        {"ACCOUNTS_LOCAL_LOGIN_ENABLED": "False"},  # a truthy string, from the environment
        "config.invalid_type",
        "error",
        "ACCOUNTS_LOCAL_LOGIN_ENABLED",
    ),
    (
        {"ACCOUNTS_LOCAL_LOGIN_ENABLED": True},
        "auto_redirect.local_login_enabled",
        "warning",
        "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN",
    ),
    (
        {"ACCOUNTS_LOGIN_VIEW_FUNCTION": DROP},
        "auto_redirect.login_view_not_set",
        "warning",
        "ACCOUNTS_LOGIN_VIEW_FUNCTION",
    ),
    (
        {
            "OAUTHCLIENT_REMOTE_APPS": {"keycloak": KEYCLOAK.remote_app, "orcid": orcid.REMOTE_APP},
            "ORCID_APP_CREDENTIALS": {"consumer_key": "APP-1234", "consumer_secret": "0a1b2c3d"},
        },
        "auto_redirect.several_providers",
        "warning",
        "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN",
    ),
    (
        {"KEYCLOAK_APP_CREDENTIALS": DROP},
        "remote_apps.missing_credentials",
        "error",
        "KEYCLOAK_APP_CREDENTIALS",
    ),
    (
        {"KEYCLOAK_APP_CREDENTIALS": {"consumer_key": "repository"}},
        "remote_apps.missing_credentials",
        "error",
        "KEYCLOAK_APP_CREDENTIALS.consumer_secret",
    ),
    (
        {"KEYCLOAK_APP_CREDENTIALS": {"consumer_key": "repository", "consumer_secret": "changeme"}},
        "remote_apps.placeholder_credentials",
        "error",
        "KEYCLOAK_APP_CREDENTIALS.consumer_secret",
    ),
    (
        {"KEYCLOAK_APP_CREDENTIALS": {"consumer_key": "<my-key>", "consumer_secret": "9f8e7d"}},
        "remote_apps.placeholder_credentials",
        "error",
        "KEYCLOAK_APP_CREDENTIALS.consumer_key",
    ),
    (
        {"SITE_UI_URL": "repository.example.org"},
        "remote_apps.public_url_invalid",
        "error",
        "public_url",
    ),
]


@pytest.mark.parametrize(("changes", "code", "severity", "key"), CASES)
def test_each_finding_is_provoked_by_its_configuration(
    changes: dict[str, Any], code: str, severity: str, key: str
) -> None:
    finding = only(check_config(config(**changes)))
    assert (finding.code, finding.severity, finding.key) == (code, severity, key)
    assert finding.message
    assert finding.fix


def test_login_without_confirmation_matters_only_with_local_registration() -> None:
    local = config(
        ACCOUNTS_LOCAL_LOGIN_ENABLED=True,
        SECURITY_REGISTERABLE=True,
        SECURITY_LOGIN_WITHOUT_CONFIRMATION=True,
        OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN=False,
    )
    finding = only(check_config(local))
    assert finding.code == "local_login.login_without_confirmation"
    assert finding.key == "SECURITY_LOGIN_WITHOUT_CONFIRMATION"
    # With local registration closed, it changes nothing: no finding.
    assert check_config(config(SECURITY_LOGIN_WITHOUT_CONFIRMATION=True)) == []


def test_confirmation_off_with_open_registration_says_why() -> None:
    local = config(
        ACCOUNTS_LOCAL_LOGIN_ENABLED=True,
        SECURITY_REGISTERABLE=True,
        SECURITY_CONFIRMABLE=False,
        OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN=False,
    )
    finding = only(check_config(local))
    assert finding.code == "local_login.confirmation_disabled"
    assert "do not own" in finding.message


def test_local_login_features_are_fine_while_local_login_is_enabled() -> None:
    local = config(
        ACCOUNTS_LOCAL_LOGIN_ENABLED=True,
        SECURITY_REGISTERABLE=True,
        SECURITY_RECOVERABLE=True,
        SECURITY_CHANGEABLE=True,
        OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN=False,
    )
    assert check_config(local) == []


def test_session_lifetime_in_seconds_is_accepted() -> None:
    assert check_config(config(PERMANENT_SESSION_LIFETIME=3600)) == []


def test_no_provider_and_no_local_login_means_nobody_can_sign_in() -> None:
    findings = check_config(config(OAUTHCLIENT_REMOTE_APPS={}, KEYCLOAK_APP_CREDENTIALS=DROP))
    assert codes(findings) == ["sign_in.no_method", "auto_redirect.no_provider"]
    assert [f.severity for f in findings] == ["error", "warning"]


def test_a_saml_identity_provider_is_a_way_to_sign_in() -> None:
    findings = check_config(
        config(
            OAUTHCLIENT_REMOTE_APPS={},
            SSO_SAML_IDPS={"idp": {"title": "University IdP"}},
            OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN=False,
        )
    )
    assert findings == []


def test_only_hidden_providers_leave_the_login_page_empty() -> None:
    hidden = {**KEYCLOAK.remote_app, "hide": True}
    findings = check_config(config(OAUTHCLIENT_REMOTE_APPS={"keycloak": hidden}))
    assert codes(findings) == ["sign_in.no_visible_provider", "auto_redirect.no_provider"]


def test_a_hidden_second_provider_is_counted_by_invenio_but_not_by_authkit() -> None:
    link_only = {**orcid.REMOTE_APP, "link_only": True}
    findings = check_config(
        config(
            OAUTHCLIENT_REMOTE_APPS={"keycloak": KEYCLOAK.remote_app, "orcid": link_only},
            ORCID_APP_CREDENTIALS={"consumer_key": "APP-1234", "consumer_secret": "0a1b2c3d"},
        )
    )
    finding = only(findings)
    assert (finding.code, finding.severity) == ("auto_redirect.hidden_providers", "info")


def test_every_remote_app_problem_is_reported_not_only_the_first() -> None:
    findings = check_config(
        config(
            OAUTHCLIENT_REMOTE_APPS={
                "keycloak": KEYCLOAK.remote_app,
                "orcid": orcid.REMOTE_APP,
                "broken": {**orcid.REMOTE_APP, "titel": "typo"},
            },
            KEYCLOAK_APP_CREDENTIALS=DROP,
        )
    )
    assert [(f.code, f.key) for f in findings if f.code.startswith("remote_apps.")] == [
        ("remote_apps.missing_credentials", "KEYCLOAK_APP_CREDENTIALS"),
        ("remote_apps.missing_credentials", "ORCID_APP_CREDENTIALS"),
        ("remote_apps.invalid", "OAUTHCLIENT_REMOTE_APPS.broken.titel"),
    ]
    invalid = findings[2]
    assert "titel" in invalid.message


def test_a_remote_app_without_app_key_names_the_missing_param() -> None:
    params = {k: v for k, v in KEYCLOAK.remote_app["params"].items() if k != "app_key"}
    findings = check_config(
        config(OAUTHCLIENT_REMOTE_APPS={"keycloak": {**KEYCLOAK.remote_app, "params": params}})
    )
    finding = only(findings)  # the app still counts as the one provider: no auto-redirect finding
    assert (finding.code, finding.key) == (
        "remote_apps.missing_credentials",
        "OAUTHCLIENT_REMOTE_APPS.keycloak.params.app_key",
    )
    assert "params.app_key" in finding.fix


def test_remote_apps_that_are_not_a_mapping_are_a_finding() -> None:
    findings = check_config(config(OAUTHCLIENT_REMOTE_APPS=["keycloak"]))
    assert codes(findings) == [
        "remote_apps.invalid",
        "sign_in.no_method",
        "auto_redirect.no_provider",
    ]


def test_credentials_from_the_environment_count_when_given() -> None:
    without = config(KEYCLOAK_APP_CREDENTIALS=DROP)
    environ = {
        "INVENIO_KEYCLOAK_APP_CREDENTIALS_CONSUMER_KEY": "repository",
        "INVENIO_KEYCLOAK_APP_CREDENTIALS_CONSUMER_SECRET": "from-the-vault-93ab",
    }
    assert check_config(without, environ=environ) == []
    assert codes(check_config(without)) == ["remote_apps.missing_credentials"]


def test_unknown_settings_skip_the_checks_that_need_them() -> None:
    # What a file loader could not evaluate is unknown, not absent: no "missing" finding.
    assert check_config(config(SECRET_KEY=DROP), unknown={"SECRET_KEY"}) == []
    assert (
        check_config(config(KEYCLOAK_APP_CREDENTIALS=DROP), unknown={"KEYCLOAK_APP_CREDENTIALS"})
        == []
    )
    assert (
        check_config(config(OAUTHCLIENT_REMOTE_APPS=DROP), unknown={"OAUTHCLIENT_REMOTE_APPS"})
        == []
    )
    lifetime_unknown = config(PERMANENT_SESSION_LIFETIME="not evaluated")
    assert check_config(lifetime_unknown, unknown={"PERMANENT_SESSION_LIFETIME"}) == []


def test_public_url_argument_overrides_site_ui_url() -> None:
    findings = check_config(config(SITE_UI_URL="bad"), public_url="https://repository.example.org")
    assert findings == []


def test_a_configuration_module_is_read_like_a_mapping() -> None:
    module = types.ModuleType("site_config")
    for key, value in config(SECURITY_REGISTERABLE=True).items():
        setattr(module, key, value)
    module.lower_case_is_ignored = True  # type: ignore[attr-defined]
    assert codes(check_config(module)) == ["local_login.registration_without_local_login"]


@pytest.mark.parametrize("unreadable", ["SECRET_KEY = 'x'", 42, None, b"{}"])
def test_something_that_is_not_a_configuration_raises(unreadable: Any) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        check_config(unreadable)
    assert caught.value.code == "config.unreadable"


def test_findings_are_validated_and_serialisable() -> None:
    finding = Finding(severity="warning", code="session.cookie_insecure", message="m", key="K")
    assert finding.to_dict() == {
        "severity": "warning",
        "code": "session.cookie_insecure",
        "message": "m",
        "fix": "",
        "key": "K",
        "line": None,
    }
    assert str(finding) == "warning: session.cookie_insecure [K]: m"
    with pytest.raises(InvalidSettingError) as caught:
        Finding(severity="fatal", code="a.b", message="m")
    assert "severity" in str(caught.value)
    with pytest.raises(InvalidSettingError):
        Finding(severity="error", code="Not A Code", message="m")


# --- should_auto_redirect -------------------------------------------------------------------------


def app(name: str, **fields: Any) -> RemoteApp:
    return RemoteApp(name=name, title=name.title(), **fields)


def hidden_now() -> bool:
    return True


@pytest.mark.parametrize(
    ("settings", "apps", "code", "provider"),
    [
        (
            {"OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": False},
            ["a"],
            "auto_redirect.disabled",
            None,
        ),
        ({}, ["a"], "auto_redirect.disabled", None),  # Invenio's default: off
        (
            {"OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True},  # local login on by default
            ["a"],
            "auto_redirect.local_login_enabled",
            None,
        ),
        (
            {
                "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
                "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
            },
            [],
            "auto_redirect.no_provider",
            None,
        ),
        (
            {
                "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
                "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
            },
            ["a", "b"],
            "auto_redirect.several_providers",
            None,
        ),
        (
            {
                "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
                "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
            },
            ["a"],
            "auto_redirect.sole_provider",
            "a",
        ),
    ],
)
def test_should_auto_redirect_follows_invenio(
    settings: dict[str, Any], apps: list[str], code: str, provider: str | None
) -> None:
    decision = should_auto_redirect(settings, ProviderRegistry(app(n) for n in apps))
    assert (decision.redirect, decision.code, decision.provider) == (
        code == "auto_redirect.sole_provider",
        code,
        provider,
    )
    assert decision.reason


SWITCHED_ON = {
    "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
    "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
}


def test_providers_not_listed_do_not_count() -> None:
    registry = ProviderRegistry(
        [
            app("main"),
            app("off", enabled=False),
            app("linking", link_only=True),
            app("secret", hidden=True),
            app("dynamic", hide_when=hidden_now),
        ]
    )
    decision = should_auto_redirect(SWITCHED_ON, registry)
    assert (decision.redirect, decision.provider) == (True, "main")


def test_public_url_selects_the_provider_of_the_site() -> None:
    registry = ProviderRegistry(
        [
            app("intranet", public_url="https://intranet.example.org"),
            app("public", public_url="https://www.example.org"),
        ]
    )
    assert should_auto_redirect(SWITCHED_ON, registry).code == "auto_redirect.several_providers"
    chosen = should_auto_redirect(SWITCHED_ON, registry, "https://intranet.example.org/")
    assert chosen.provider == "intranet"
    from_setting = should_auto_redirect(
        {**SWITCHED_ON, "SITE_UI_URL": "https://www.example.org"}, registry
    )
    assert from_setting.provider == "public"


@pytest.mark.parametrize(
    "key", ["OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN", "ACCOUNTS_LOCAL_LOGIN_ENABLED"]
)
def test_a_switch_that_is_not_a_boolean_is_an_error(key: str) -> None:
    settings = {**SWITCHED_ON, key: "false"}
    with pytest.raises(InvalidSettingError) as caught:
        should_auto_redirect(settings, ProviderRegistry([app("a")]))
    assert caught.value.code == "config.invalid_value"
    assert caught.value.key == key
    assert "'false'" in str(caught.value)
