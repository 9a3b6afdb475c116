"""OAuthSettingsHelper: Invenio's constructor, defaults and results, and the typed remote app."""

from __future__ import annotations

from typing import Any

import pytest

from authkit.config import HideWhen, OAuthSettingsHelper, from_invenio, to_invenio
from authkit.errors import InvalidSettingError, MissingCredentialsError


def test_defaults_are_invenios() -> None:
    helper = OAuthSettingsHelper("My IdP", "Sign in", "https://idp.example.org", "IDP_CREDENTIALS")
    # Written from invenio_oauthclient/contrib/settings.py: what its helper produces.
    assert helper.remote_app == {
        "title": "My IdP",
        "description": "Sign in",
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
            "base_url": "https://idp.example.org/",
            "request_token_params": {"scope": ""},
            "request_token_url": None,
            "access_token_url": "https://idp.example.org/oauth2/token",
            "access_token_method": "POST",
            "authorize_url": "https://idp.example.org/oauth2/authorize",
            "app_key": "IDP_CREDENTIALS",
        },
    }
    assert helper.base_url == "https://idp.example.org/"
    assert helper.remote_rest_app == helper.base_app
    assert helper.get_handlers() == {}


def test_arguments_reach_their_keys() -> None:
    options = {"auto_confirm": False}
    helper = OAuthSettingsHelper(
        title="T",
        description="D",
        base_url="https://idp.example.org/api///",
        app_key="K",
        icon="fa fa-key",
        access_token_url="https://idp.example.org/token",
        authorize_url="https://idp.example.org/authorize",
        access_token_method="GET",
        request_token_params={"scope": "openid", "prompt": "login"},
        request_token_url=None,
        precedence_mask={"email": False},
        signup_options=options,
        logout_url="https://idp.example.org/logout",
        hide_when=True,
        link_only=True,
        content_type="application/json",
    )
    app = helper.remote_app
    assert app["params"]["base_url"] == "https://idp.example.org/api/"
    assert app["params"]["access_token_method"] == "GET"
    assert app["params"]["content_type"] == "application/json"
    assert app["signup_options"] == {"auto_confirm": False, "send_register_msg": False}
    assert options == {"auto_confirm": False}  # Invenio mutates it; authkit copies
    assert (app["hide"], app["link_only"]) == (True, True)
    typed = helper.to_remote_app("idp")
    assert typed.token_method == "GET"
    assert typed.hidden
    assert typed.link_only
    assert typed.authorize_params == {"prompt": "login"}
    assert to_invenio(typed) == app


def test_results_are_fresh_copies() -> None:
    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "K")
    first = helper.remote_app
    first["params"]["request_token_params"]["scope"] = "changed"
    first["precedence_mask"]["email"] = False
    assert helper.remote_app["params"]["request_token_params"] == {"scope": ""}
    assert helper.remote_app["precedence_mask"]["email"] is True


def test_callable_hide_when_is_tested_for_truth_like_invenios_proxy() -> None:
    state = {"hide": False}

    def hide() -> bool:
        return state["hide"]

    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "K", hide_when=hide)
    value = helper.remote_app["hide"]
    assert isinstance(value, HideWhen)
    assert not value
    state["hide"] = True
    assert value
    typed = helper.to_remote_app("idp")
    assert typed.hide_when is hide
    assert typed.is_hidden()
    assert to_invenio(typed) == helper.remote_app


def test_hide_when_none_means_shown() -> None:
    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "K", hide_when=None)
    assert helper.remote_app["hide"] is False


class _Handlers(OAuthSettingsHelper):
    kind = "github"

    def get_handlers(self) -> dict[str, Any]:
        return {
            "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
            "signup_handler": {"info": "mypkg.handlers:info"},
        }

    def get_rest_handlers(self) -> dict[str, Any]:
        return {
            "authorized_handler": "invenio_oauthclient.handlers.rest:authorized_signup_handler",
            "signup_handler": {"info": "mypkg.handlers:info"},
            "response_handler": "mypkg.handlers:respond",
            "authorized_redirect_url": "/app/",
            "disconnect_redirect_url": "/app/",
            "signup_redirect_url": "/app/",
            "error_redirect_url": "/app/error",
        }


def test_subclass_handlers_and_the_typed_remote_app() -> None:
    helper = _Handlers("T", "D", "https://idp.example.org", "K")
    app = helper.to_remote_app("idp", credentials={"consumer_key": "id", "consumer_secret": "s"})
    assert app.kind == "github"  # the class's kind, not inferred
    assert app.hooks.info == "mypkg.handlers:info"
    assert (app.client_id, app.client_secret) == ("id", "s")
    assert to_invenio(app) == helper.remote_app
    assert to_invenio(app, rest=True) == helper.remote_rest_app
    # Reading the dictionary alone gives the same remote app, minus the REST variant.
    alone = from_invenio("idp", helper.remote_app, kind="github")
    assert alone.evolve(extra=app.extra, client_id="id", client_secret="s") == app


def test_missing_credentials_in_to_remote_app_name_the_key() -> None:
    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "IDP_CREDENTIALS")
    with pytest.raises(MissingCredentialsError) as err:
        helper.to_remote_app("idp", credentials={"consumer_key": "id"})
    assert err.value.key == "IDP_CREDENTIALS.consumer_secret"


def test_base_url_must_be_a_string() -> None:
    with pytest.raises(InvalidSettingError) as err:
        OAuthSettingsHelper("T", "D", None, "K")  # type: ignore[arg-type]
    assert err.value.code == "config.invalid_value"
    assert err.value.key == "OAuthSettingsHelper.base_url"


def test_bad_url_is_reported_with_its_invenio_key() -> None:
    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "K", authorize_url="/auth")
    with pytest.raises(InvalidSettingError) as err:
        helper.to_remote_app("idp")
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS.idp.params.authorize_url"
    assert "'/auth'" in str(err.value)


def test_bad_flag_is_reported() -> None:
    helper = OAuthSettingsHelper("T", "D", "https://idp.example.org", "K", link_only="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidSettingError) as err:
        helper.to_remote_app("idp")
    assert err.value.key == "OAUTHCLIENT_REMOTE_APPS.idp.link_only"
