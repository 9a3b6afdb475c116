"""Invenio remote-app dictionaries <-> RemoteApp, and whole Invenio configurations."""

from __future__ import annotations

import copy
import json
import types
from typing import Any

import pytest
from werkzeug.local import LocalProxy

from authkit.config import (
    HideWhen,
    RemoteApp,
    dump_invenio_remote_apps,
    from_invenio,
    load_invenio_credentials,
    load_invenio_remote_apps,
    to_invenio,
)
from authkit.errors import (
    HandlerImportError,
    InvalidSettingError,
    MissingCredentialsError,
    MissingSettingError,
    UnknownSettingError,
)

# A hand-written dictionary, as found in many invenio.cfg files: no hide, no link_only, no
# signup_options, a custom handler and an extra flask-oauthlib parameter.
HAND_WRITTEN: dict[str, Any] = {
    "title": "My IdP",
    "description": "Institutional sign-in",
    "icon": "fa fa-university",
    "params": {
        "base_url": "https://idp.example.org/api/",
        "request_token_params": {"scope": "openid email", "prompt": "login"},
        "request_token_url": None,
        "access_token_url": "https://idp.example.org/oauth/token",
        "access_token_method": "POST",
        "authorize_url": "https://idp.example.org/oauth/authorize",
        "app_key": "MYIDP_APP_CREDENTIALS",
        "content_type": "application/json",
    },
    "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
    "disconnect_handler": "invenio_oauthclient.handlers:disconnect_handler",
    "signup_handler": {
        "info": "json:loads",
        "setup": "invenio_oauthclient.contrib.keycloak.handlers:setup_handler",
        "view": "invenio_oauthclient.handlers:signup_handler",
    },
}

CREDENTIALS = {"consumer_key": "client-1", "consumer_secret": "s3cret"}


def hide_on_weekends() -> bool:
    return True


# --- one dictionary -----------------------------------------------------------------------------


def test_hand_written_dict_round_trips_and_maps_to_fields() -> None:
    app = from_invenio("myidp", HAND_WRITTEN)

    assert to_invenio(app) == HAND_WRITTEN
    assert app.scope == "openid email"
    assert app.authorize_params == {"prompt": "login"}
    assert app.token_url == "https://idp.example.org/oauth/token"
    assert app.app_key == "MYIDP_APP_CREDENTIALS"
    # flask-oauthlib sends the secret in the body: Invenio's behaviour is kept.
    assert app.token_auth_method == "client_secret_post"
    assert app.extra["invenio"]["params"] == {"content_type": "application/json"}
    assert app.hooks.info == "json:loads"
    # The first contrib module the handlers name gives the kind.
    assert app.kind == "keycloak"
    assert app.protocol == "oidc"


def test_round_trip_does_not_share_mutable_state() -> None:
    source = copy.deepcopy(HAND_WRITTEN)
    app = from_invenio("myidp", source)
    written = to_invenio(app)
    written["params"]["request_token_params"]["scope"] = "changed"
    written["signup_handler"]["info"] = "changed:x"
    assert to_invenio(app) == HAND_WRITTEN
    assert source == HAND_WRITTEN


def test_edits_after_import_are_written_even_for_keys_the_source_omitted() -> None:
    app = from_invenio("myidp", HAND_WRITTEN).evolve(link_only=True, hidden=True)
    written = to_invenio(app)
    assert written["link_only"] is True
    assert written["hide"] is True
    assert "signup_options" not in written  # still at its default, still omitted


def test_remote_app_built_in_python_gets_the_full_settings_helper_shape() -> None:
    app = RemoteApp(
        name="idp",
        title="IdP",
        authorize_url="https://idp.example.org/authorize",
        token_url="https://idp.example.org/token",
        scope="openid",
        app_key="IDP_APP_CREDENTIALS",
    )
    written = to_invenio(app)
    assert written == {
        "title": "IdP",
        "description": "",
        "icon": "",
        "precedence_mask": {"email": True},
        "signup_options": {"auto_confirm": True, "send_register_msg": False},
        "logout_url": None,
        "hide": False,
        "link_only": False,
        "params": {
            "base_url": None,
            "request_token_params": {"scope": "openid"},
            "request_token_url": None,
            "access_token_url": "https://idp.example.org/token",
            "access_token_method": "POST",
            "authorize_url": "https://idp.example.org/authorize",
            "app_key": "IDP_APP_CREDENTIALS",
            # authkit's default differs from flask-oauthlib's, so it is written.
            "token_endpoint_auth_method": "client_secret_basic",
        },
    }
    back = from_invenio("idp", written)
    assert back.token_auth_method == "client_secret_basic"
    assert to_invenio(back) == written


def test_credentials_given_to_from_invenio_are_not_written_back() -> None:
    app = from_invenio("myidp", HAND_WRITTEN, credentials=CREDENTIALS)
    assert (app.client_id, app.client_secret) == ("client-1", "s3cret")
    assert "consumer_key" not in to_invenio(app)["params"]
    assert "s3cret" not in repr(app)


def test_inline_credentials_in_params_round_trip() -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    data["params"].update(consumer_key="inline-id", consumer_secret="inline-secret")
    app = from_invenio("myidp", data)
    assert (app.client_id, app.client_secret) == ("inline-id", "inline-secret")
    assert to_invenio(app) == data


def test_rest_dict_in_the_ui_setting_keeps_its_redirect_urls() -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    data.update(
        response_handler="invenio_oauthclient.handlers.rest:default_remote_response_handler",
        authorized_redirect_url="/welcome",
        error_redirect_url="/oops",
    )
    app = from_invenio("myidp", data)
    assert app.extra["invenio"]["redirect_urls"] == {
        "authorized_redirect_url": "/welcome",
        "error_redirect_url": "/oops",
    }
    assert to_invenio(app) == data


def test_rest_variant_is_derived_from_ui_handlers_when_none_was_read() -> None:
    written = to_invenio(from_invenio("myidp", HAND_WRITTEN), rest=True)
    assert written["authorized_handler"] == (
        "invenio_oauthclient.handlers.rest:authorized_signup_handler"
    )
    assert written["signup_handler"]["view"] == "invenio_oauthclient.handlers.rest:signup_handler"
    assert written["response_handler"] == (
        "invenio_oauthclient.handlers.rest:default_remote_response_handler"
    )
    assert [written[k] for k in ("authorized_redirect_url", "error_redirect_url")] == ["/", "/"]


def test_lazy_translated_strings_are_read_as_text() -> None:
    class LazyString:
        def __str__(self) -> str:
            return "Translated title"

    data = copy.deepcopy(HAND_WRITTEN)
    data["title"] = LazyString()
    assert from_invenio("myidp", data).title == "Translated title"


def test_kind_from_host_when_no_contrib_handler_is_named() -> None:
    data = {
        "title": "Google",
        "params": {
            "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
            "access_token_url": "https://oauth2.googleapis.com/token",
        },
    }
    app = from_invenio("google", data)
    assert (app.kind, app.protocol, app.issuer) == ("google", "oidc", "https://accounts.google.com")
    assert to_invenio(app) == data


def test_keycloak_endpoints_are_derived_from_the_realm_url_scheme() -> None:
    realm = "https://sso.example.org/realms/rdm"
    data = {
        "title": "SSO",
        "params": {"authorize_url": f"{realm}/protocol/openid-connect/auth"},
    }
    app = from_invenio("sso", data)
    assert app.kind == "keycloak"
    assert app.issuer == realm
    assert app.jwks_url == f"{realm}/protocol/openid-connect/certs"
    assert app.userinfo_url == f"{realm}/protocol/openid-connect/userinfo"
    assert app.end_session_url == f"{realm}/protocol/openid-connect/logout"


def test_explicit_kind_wins_over_inference() -> None:
    assert from_invenio("myidp", HAND_WRITTEN, kind="generic").kind == "generic"


# --- hide -----------------------------------------------------------------------------------------


def test_hide_bool_callable_wrapper_and_local_proxy() -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    data["hide"] = True
    assert from_invenio("a", data).is_hidden()
    assert to_invenio(from_invenio("a", data))["hide"] is True

    data["hide"] = hide_on_weekends
    app = from_invenio("a", data)
    assert app.hide_when is hide_on_weekends
    assert app.is_hidden()
    written = to_invenio(app)["hide"]
    # Invenio tests `hide` for truth: the wrapper answers the hook, unlike a bare function.
    assert written == HideWhen(hide_on_weekends)
    assert bool(HideWhen(lambda: False)) is False
    assert from_invenio("a", {**data, "hide": written}).hide_when is hide_on_weekends

    state = {"hidden": False}
    proxy = LocalProxy(lambda: state["hidden"])
    data["hide"] = proxy
    app = from_invenio("a", data)
    assert not app.is_hidden()
    state["hidden"] = True
    assert app.is_hidden()
    assert to_invenio(app)["hide"] is proxy


def test_hide_string_is_rejected() -> None:
    data = {**HAND_WRITTEN, "hide": "yes"}
    with pytest.raises(InvalidSettingError) as err:
        from_invenio("myidp", data)
    assert err.value.code == "config.invalid_value"
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS.myidp.hide"


# --- bad configuration ---------------------------------------------------------------------


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(HAND_WRITTEN)
    target = data
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "error", "code"),
    [
        ("titel", "typo", UnknownSettingError, "config.unknown_key"),
        ("signup_handler.inf", "a:b", UnknownSettingError, "config.unknown_key"),
        ("signup_options", {"auto_confirn": True}, UnknownSettingError, "config.unknown_key"),
        ("title", 42, InvalidSettingError, "config.invalid_value"),
        ("link_only", "false", InvalidSettingError, "config.invalid_value"),
        ("signup_options", {"auto_confirm": "no"}, InvalidSettingError, "config.invalid_value"),
        ("precedence_mask", ["email"], InvalidSettingError, "config.invalid_value"),
        ("params", "https://idp.example.org", InvalidSettingError, "config.invalid_value"),
        ("params.request_token_params", "openid", InvalidSettingError, "config.invalid_value"),
        (
            "params.request_token_params.scope",
            ["openid"],
            InvalidSettingError,
            "config.invalid_value",
        ),
        ("params.access_token_method", "PUT", InvalidSettingError, "config.invalid_value"),
        ("params.token_endpoint_auth_method", "basic", InvalidSettingError, "config.invalid_value"),
        ("params.app_key", 7, InvalidSettingError, "config.invalid_value"),
        (
            "params.authorize_url",
            "idp.example.org/authorize",
            InvalidSettingError,
            "config.invalid_value",
        ),
        (
            "params.access_token_url",
            "ftp://idp.example.org/token",
            InvalidSettingError,
            "config.invalid_value",
        ),
        (
            "params.base_url",
            "https://idp example.org/",
            InvalidSettingError,
            "config.invalid_value",
        ),
        (
            "authorized_handler",
            "invenio_oauthclient.handlers.authorized",
            InvalidSettingError,
            "config.invalid_value",
        ),
        ("signup_handler.info", 12, InvalidSettingError, "config.invalid_value"),
        ("signup_handler", ["a:b"], InvalidSettingError, "config.invalid_value"),
        ("authorized_redirect_url", 3, InvalidSettingError, "config.invalid_value"),
    ],
)
def test_bad_dictionaries_raise_typed_errors_naming_the_key(
    path: str, value: Any, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as err:
        from_invenio("myidp", _with(path, value))
    key = f"OAUTHCLIENT_REMOTE_APPS.myidp.{path}"
    if isinstance(value, dict):  # the error names the entry inside the dict
        key += "." + next(iter(value))
    assert err.value.code == code  # type: ignore[attr-defined]
    assert err.value.key == key  # type: ignore[attr-defined]
    assert key in str(err.value)


def test_rest_redirect_urls_must_be_text() -> None:
    with pytest.raises(InvalidSettingError) as err:
        from_invenio("myidp", _with("error_redirect_url", ["/"]), rest=True)
    assert err.value.key == "OAUTHCLIENT_REST_REMOTE_APPS.myidp.error_redirect_url"


def test_unknown_key_message_lists_the_known_keys() -> None:
    with pytest.raises(UnknownSettingError, match=r"'titel'.*title, description"):
        from_invenio("myidp", _with("titel", "x"))


def test_bad_url_message_shows_the_value() -> None:
    with pytest.raises(
        InvalidSettingError, match=r"absolute http\(s\) URL, got 'idp.example.org/a'"
    ):
        from_invenio("myidp", _with("params.authorize_url", "idp.example.org/a"))


@pytest.mark.parametrize("key", ["title", "params"])
def test_missing_required_keys(key: str) -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    del data[key]
    with pytest.raises(MissingSettingError) as err:
        from_invenio("myidp", data, rest=True)
    assert err.value.code == "config.missing_key"
    assert err.value.key == f"OAUTHCLIENT_REST_REMOTE_APPS.myidp.{key}"


def test_not_a_dict_at_all() -> None:
    with pytest.raises(InvalidSettingError) as err:
        from_invenio("myidp", ["title"])  # type: ignore[arg-type]
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS.myidp"


def test_bad_provider_name() -> None:
    with pytest.raises(InvalidSettingError) as err:
        from_invenio("my idp", HAND_WRITTEN)
    assert err.value.code == "config.invalid_value"
    assert "name" in str(err.value)


def test_unresolvable_handler_string_fails_when_resolved_naming_it() -> None:
    data = _with("signup_handler.info", "no_such_package.handlers:account_info")
    app = from_invenio("myidp", data)  # strings are resolved lazily
    with pytest.raises(HandlerImportError) as err:
        app.hooks.resolve("info")
    assert err.value.code == "config.handler_unresolvable"
    assert "no_such_package.handlers:account_info" in str(err.value)

    missing_attr = from_invenio("myidp", _with("signup_handler.info", "json:nope"))
    with pytest.raises(HandlerImportError, match="has no attribute 'nope'"):
        missing_attr.hooks.resolve("info")


def test_handler_strings_resolve_or_fall_back_to_builtin_behaviour() -> None:
    app = from_invenio("myidp", HAND_WRITTEN)
    assert app.hooks.resolve("info") is json.loads
    # Invenio's own handlers mean "authkit's built-in behaviour for this kind".
    assert app.hooks.resolve("setup") is None
    assert app.hooks.resolve("signup_view") is None


@pytest.mark.parametrize(
    ("credentials", "key"),
    [
        ({"consumer_key": "id"}, "MYIDP_APP_CREDENTIALS.consumer_secret"),
        ({"consumer_secret": "x"}, "MYIDP_APP_CREDENTIALS.consumer_key"),
        ({"consumer_key": "", "consumer_secret": "x"}, "MYIDP_APP_CREDENTIALS.consumer_key"),
    ],
)
def test_incomplete_credentials_name_the_exact_key(credentials: dict[str, str], key: str) -> None:
    with pytest.raises(MissingCredentialsError) as err:
        from_invenio("myidp", HAND_WRITTEN, credentials=credentials)
    assert err.value.code == "config.missing_credentials"
    assert err.value.key == key


def test_credentials_typo_and_wrong_type() -> None:
    with pytest.raises(UnknownSettingError) as err:
        from_invenio(
            "myidp", HAND_WRITTEN, credentials={"consumer_key": "a", "consumer_secert": "b"}
        )
    assert err.value.key == "MYIDP_APP_CREDENTIALS.consumer_secert"
    with pytest.raises(InvalidSettingError) as err2:
        from_invenio("myidp", HAND_WRITTEN, credentials={"consumer_key": 1, "consumer_secret": "b"})
    assert err2.value.key == "MYIDP_APP_CREDENTIALS.consumer_key"


# --- whole configurations -----------------------------------------------------------------------


def _config(**more: Any) -> dict[str, Any]:
    return {
        "OAUTHCLIENT_REMOTE_APPS": {"myidp": copy.deepcopy(HAND_WRITTEN)},
        "MYIDP_APP_CREDENTIALS": dict(CREDENTIALS),
        **more,
    }


def test_load_from_a_mapping() -> None:
    apps = load_invenio_remote_apps(_config(), environ={})
    assert list(apps) == ["myidp"]
    assert (apps["myidp"].client_id, apps["myidp"].client_secret) == ("client-1", "s3cret")


def test_load_from_a_loaded_config_module() -> None:
    module = types.ModuleType("invenio_cfg")
    source = (
        "OAUTHCLIENT_REMOTE_APPS = {'myidp': HAND_WRITTEN}\n"
        "MYIDP_APP_CREDENTIALS = dict(consumer_key='module-id', consumer_secret='module-secret')\n"
    )
    exec(source, {"HAND_WRITTEN": copy.deepcopy(HAND_WRITTEN)}, module.__dict__)  # noqa: S102
    apps = load_invenio_remote_apps(module, environ={})
    assert apps["myidp"].client_id == "module-id"


def test_credentials_from_the_environment_as_invenio_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config()
    del config["MYIDP_APP_CREDENTIALS"]
    monkeypatch.setenv(
        "INVENIO_MYIDP_APP_CREDENTIALS", "{'consumer_key': 'env-id', 'consumer_secret': 'env-s'}"
    )
    apps = load_invenio_remote_apps(config)
    assert (apps["myidp"].client_id, apps["myidp"].client_secret) == ("env-id", "env-s")


def test_flat_environment_variables_override_the_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVENIO_MYIDP_APP_CREDENTIALS_CONSUMER_SECRET", "rotated")
    apps = load_invenio_remote_apps(_config())
    assert (apps["myidp"].client_id, apps["myidp"].client_secret) == ("client-1", "rotated")
    # environ={} ignores the process environment entirely.
    assert load_invenio_remote_apps(_config(), environ={})["myidp"].client_secret == "s3cret"


def test_flat_environment_variables_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENIO_MYIDP_APP_CREDENTIALS_CONSUMER_KEY", "flat-id")
    monkeypatch.setenv("INVENIO_MYIDP_APP_CREDENTIALS_CONSUMER_SECRET", "flat-secret")
    assert load_invenio_credentials(None, "MYIDP_APP_CREDENTIALS") == ("flat-id", "flat-secret")


def test_remote_apps_themselves_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENIO_OAUTHCLIENT_REMOTE_APPS", repr({"myidp": HAND_WRITTEN}))
    monkeypatch.setenv("INVENIO_MYIDP_APP_CREDENTIALS", repr(CREDENTIALS))
    apps = load_invenio_remote_apps()
    assert to_invenio(apps["myidp"]) == HAND_WRITTEN


def test_environment_credentials_that_are_not_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENIO_MYIDP_APP_CREDENTIALS", "client-1:s3cret")
    with pytest.raises(InvalidSettingError) as err:
        load_invenio_remote_apps(_config())
    assert err.value.key == "INVENIO_MYIDP_APP_CREDENTIALS"


def test_missing_credentials_name_the_setting_and_the_environment_variables() -> None:
    config = _config()
    del config["MYIDP_APP_CREDENTIALS"]
    with pytest.raises(MissingCredentialsError) as err:
        load_invenio_remote_apps(config, environ={})
    assert err.value.code == "config.missing_credentials"
    assert err.value.key == "MYIDP_APP_CREDENTIALS"
    assert "INVENIO_MYIDP_APP_CREDENTIALS_CONSUMER_KEY" in str(err.value)

    lenient = load_invenio_remote_apps(config, environ={}, require_credentials=False)
    assert lenient["myidp"].client_id is None
    with pytest.raises(MissingCredentialsError):
        lenient["myidp"].require_credentials()


def test_missing_secret_in_the_configuration_names_the_exact_key() -> None:
    config = _config(MYIDP_APP_CREDENTIALS={"consumer_key": "client-1"})
    with pytest.raises(MissingCredentialsError) as err:
        load_invenio_remote_apps(config, environ={})
    assert err.value.key == "MYIDP_APP_CREDENTIALS.consumer_secret"


def test_no_app_key_and_no_inline_credentials() -> None:
    data = copy.deepcopy(HAND_WRITTEN)
    del data["params"]["app_key"]
    with pytest.raises(MissingCredentialsError) as err:
        load_invenio_remote_apps({"OAUTHCLIENT_REMOTE_APPS": {"myidp": data}}, environ={})
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS.myidp.params.app_key"


def test_wrong_top_level_types() -> None:
    with pytest.raises(InvalidSettingError) as err:
        load_invenio_remote_apps({"OAUTHCLIENT_REMOTE_APPS": ["myidp"]}, environ={})
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS"
    with pytest.raises(InvalidSettingError):
        load_invenio_remote_apps("invenio.cfg", environ={})


def test_ui_and_rest_dicts_of_one_provider_become_one_remote_app() -> None:
    rest = copy.deepcopy(HAND_WRITTEN)
    rest.update(
        authorized_handler="invenio_oauthclient.handlers.rest:authorized_signup_handler",
        response_handler="invenio_oauthclient.handlers.rest:default_remote_response_handler",
        authorized_redirect_url="/spa/",
        disconnect_redirect_url="/spa/",
        signup_redirect_url="/spa/signup",
        error_redirect_url="/spa/error",
    )
    apps = load_invenio_remote_apps(
        _config(OAUTHCLIENT_REST_REMOTE_APPS={"myidp": rest}), environ={}
    )
    app = apps["myidp"]
    assert to_invenio(app) == HAND_WRITTEN
    assert to_invenio(app, rest=True) == rest
    config = dump_invenio_remote_apps(apps)
    assert config["OAUTHCLIENT_REST_REMOTE_APPS"] == {"myidp": rest}


def test_rest_only_provider_and_differing_rest_dict() -> None:
    rest = {**copy.deepcopy(HAND_WRITTEN), "response_handler": "pkg.mod:respond"}
    apps = load_invenio_remote_apps(
        {"OAUTHCLIENT_REST_REMOTE_APPS": {"api": rest}, **_config()}, environ={}
    )
    assert to_invenio(apps["api"], rest=True) == rest

    different = _with("params.authorize_url", "https://other.example.org/authorize")
    with pytest.raises(InvalidSettingError) as err:
        load_invenio_remote_apps(
            _config(OAUTHCLIENT_REST_REMOTE_APPS={"myidp": different}), environ={}
        )
    assert err.value.key == "OAUTHCLIENT_REST_REMOTE_APPS.myidp.params"


def test_keycloak_settings_namespaced_by_provider_name() -> None:
    config = _config(
        OAUTHCLIENT_MYIDP_REALM_URL="https://sso.example.org/realms/rdm",
        OAUTHCLIENT_MYIDP_USER_INFO_URL="https://sso.example.org/custom/userinfo",
        OAUTHCLIENT_MYIDP_VERIFY_EXP=False,
        OAUTHCLIENT_MYIDP_VERIFY_AUD=True,
        OAUTHCLIENT_MYIDP_AUD="invenio",
        OAUTHCLIENT_MYIDP_USER_INFO_FROM_ENDPOINT=False,
    )
    app = load_invenio_remote_apps(config, environ={})["myidp"]
    assert app.issuer == "https://sso.example.org/realms/rdm"
    assert app.jwks_url == "https://sso.example.org/realms/rdm/protocol/openid-connect/certs"
    assert app.userinfo_url == "https://sso.example.org/custom/userinfo"
    assert (app.verify_exp, app.verify_aud, app.audience) == (False, True, "invenio")
    assert app.userinfo_from == "token"


def test_keycloak_checks_stay_on_when_invenio_settings_are_absent() -> None:
    app = load_invenio_remote_apps(_config(), environ={})["myidp"]
    assert (app.verify_exp, app.verify_aud, app.userinfo_from) == (True, True, "endpoint")


def test_keycloak_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENIO_OAUTHCLIENT_MYIDP_VERIFY_EXP", "False")
    assert load_invenio_remote_apps(_config())["myidp"].verify_exp is False


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("OAUTHCLIENT_MYIDP_VERIFY_EXP", "yes"),
        ("OAUTHCLIENT_MYIDP_REALM_URL", "sso.example.org/realms/rdm"),
        ("OAUTHCLIENT_MYIDP_AUD", 5),
        ("OAUTHCLIENT_MYIDP_USER_INFO_FROM_ENDPOINT", 1),
    ],
)
def test_bad_keycloak_settings(setting: str, value: Any) -> None:
    with pytest.raises(InvalidSettingError) as err:
        load_invenio_remote_apps(_config(**{setting: value}), environ={})
    assert err.value.key == setting


def test_invenio_generic_oidc_apps_read_oidc_issuer() -> None:
    data = {
        "title": "Authentik",
        "params": {
            "base_url": "https://auth.example.org",
            "authorize_url": "https://auth.example.org/application/o/authorize",
            "access_token_url": "https://auth.example.org/application/o/token",
            "app_key": "OIDC_APP_CREDENTIALS",
        },
        "signup_handler": {"info": "invenio_oauthclient.contrib.oidc:account_info"},
    }
    config = {
        "OAUTHCLIENT_REMOTE_APPS": {"oidc": data},
        "OIDC_APP_CREDENTIALS": dict(CREDENTIALS),
        "OIDC_ISSUER": "https://auth.example.org/application/o/rdm/",
        "OIDC_USE_BASIC_AUTH": "true",
    }
    app = load_invenio_remote_apps(config, environ={})["oidc"]
    assert (app.kind, app.protocol) == ("generic", "oidc")
    assert app.issuer == "https://auth.example.org/application/o/rdm/"
    assert app.discovery_url == (
        "https://auth.example.org/application/o/rdm/.well-known/openid-configuration"
    )
    assert app.token_auth_method == "client_secret_basic"


def test_dump_then_load_gives_the_same_remote_apps() -> None:
    config = _config(
        OAUTHCLIENT_MYIDP_REALM_URL="https://sso.example.org/realms/rdm",
        OAUTHCLIENT_MYIDP_VERIFY_EXP=False,
        OAUTHCLIENT_MYIDP_AUD="invenio",
    )
    apps = load_invenio_remote_apps(config, environ={})
    dumped = dump_invenio_remote_apps(apps, credentials=True)
    assert dumped["MYIDP_APP_CREDENTIALS"] == CREDENTIALS
    assert dumped["OAUTHCLIENT_MYIDP_REALM_URL"] == "https://sso.example.org/realms/rdm"
    assert load_invenio_remote_apps(dumped, environ={}) == apps
    assert "MYIDP_APP_CREDENTIALS" not in dump_invenio_remote_apps(apps.values())


def test_kind_from_invenio_handler_functions() -> None:
    def gitlab_account_info(remote: Any, resp: Any) -> dict[str, Any]:
        return {}

    gitlab_account_info.__module__ = "invenio_oauthclient.contrib.gitlab"
    data = {
        "title": "Gitlab",
        "params": {"base_url": "https://git.example.org/api/v4/"},
        "signup_handler": {"info": gitlab_account_info},
    }
    app = from_invenio("gitlab", data)
    assert app.kind == "gitlab"
    assert app.userinfo_url == "https://git.example.org/api/v4/user"
    assert to_invenio(app) == data


def test_later_changes_to_the_source_dict_do_not_reach_the_remote_app() -> None:
    source = _with("precedence_mask", {"email": True, "profile": {"username": False}})
    app = from_invenio("myidp", source)
    source["precedence_mask"]["profile"]["username"] = True
    source["params"]["content_type"] = "text/plain"
    assert app.precedence_mask == {"email": True, "profile": {"username": False}}
    assert app.extra["invenio"]["params"] == {"content_type": "application/json"}


def test_malformed_invenio_extra_is_reported() -> None:
    app = RemoteApp(name="idp", title="IdP", extra={"invenio": ["rest"]})
    with pytest.raises(InvalidSettingError) as err:
        to_invenio(app)
    assert err.value.key == "RemoteApp('idp').extra.invenio"


def test_hide_when_import_string_is_resolved_when_tested() -> None:
    # object() is true and bool() is false: two importable zero-argument callables.
    hidden = RemoteApp(name="idp", title="IdP", hide_when="builtins:object")
    assert bool(to_invenio(hidden)["hide"]) is True
    assert bool(to_invenio(hidden.evolve(hide_when="builtins:bool"))["hide"]) is False
    broken = hidden.evolve(hide_when="builtins:no_such_function")
    with pytest.raises(HandlerImportError):
        bool(to_invenio(broken)["hide"])
