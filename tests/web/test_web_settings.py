"""Reading settings (checks, no I/O) and building routes from them (the I/O), and the sign-out
hook, against a real loopback SAML IdP and OpenID provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.web.site_kit import free_port, serve

from authkit.accounts import SignupPolicy, TokenCipher
from authkit.config import RemoteApp
from authkit.errors import (
    ConfigurationError,
    DuplicateProviderError,
    HandlerImportError,
    InvalidSettingError,
    MissingCredentialsError,
    MissingSettingError,
    ProviderUnreachableError,
    StoreUnavailableError,
    UnknownSettingError,
)
from authkit.groups import GroupResolver
from authkit.stores import MemoryAccountsStore, MemoryStateStore, SQLAccountsStore, User
from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
    read_post_form,
)
from authkit.web import (
    SESSION_USER,
    AuthkitSettings,
    WebRequest,
    build_routes,
    read_settings,
    routes_from_settings,
)

KEY = TokenCipher.generate_key()
APP = RemoteApp(name="op", title="OP", protocol="oidc", issuer="https://op.example.org")
BOB = SAMLUser(username="bob", attributes={"mail": "bob@example.org", "givenName": "Bob",
                                          "sn": "Builder", "uid": "bob"})  # fmt: skip
MAPPINGS = {"email": "mail", "name": "givenName", "surname": "sn", "external_id": "uid"}


def closed_url(scheme: str) -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    return f"{scheme}://127.0.0.1:{free_port()}"


EVENTS: list[str] = []


def hook(request: WebRequest, user: User) -> None:
    """An ON_SIGN_IN hook named by import string."""
    EVENTS.append(f"settings:{user.email}")


# --- read_settings: checks, no I/O ------------------------------------------------------------


def test_reading_opens_nothing_and_building_fails_with_typed_errors() -> None:
    database = closed_url("postgresql+psycopg") + "/accounts"
    metadata = closed_url("http") + "/metadata"
    settings = read_settings(
        {"PUBLIC_URL": "https://site.example.org", "ACCOUNTS_STORE": database,
         "TOKEN_KEYS": [KEY], "STATE_STORE": closed_url("redis")},
        prefix="",
        invenio={"SSO_SAML_IDPS": {"idp": {"title": "IdP", "settings_url": metadata}}},
    )  # fmt: skip
    assert settings.accounts_store == database  # a string: not opened
    assert settings.sso_saml_idps == {"idp": {"title": "IdP", "settings_url": metadata}}
    assert settings.saml_idp_configs()["idp"].metadata_pending  # nothing fetched
    with pytest.raises(ProviderUnreachableError) as unreachable:
        build_routes(settings)
    assert unreachable.value.code == "provider.unreachable"
    without_idp = read_settings(
        {"PUBLIC_URL": "https://site.example.org", "ACCOUNTS_STORE": database,
         "TOKEN_KEYS": KEY},
        prefix="",
    )  # fmt: skip
    with pytest.raises(StoreUnavailableError) as unavailable:
        build_routes(without_idp)
    assert unavailable.value.code == "store.unavailable"


def test_reading_keeps_values_and_resolves_hooks(tmp_path: Path) -> None:
    policy = SignupPolicy()
    groups = {"op": GroupResolver(static=["staff"])}
    settings = read_settings(
        {"AUTHKIT_PUBLIC_URL": "https://site.example.org", "AUTHKIT_PROVIDERS": [APP.to_dict()],
         "AUTHKIT_TOKEN_KEYS": KEY, "AUTHKIT_ACCOUNTS_STORE": tmp_path / "a.db",
         "AUTHKIT_MOUNT": "/auth", "AUTHKIT_GROUPS": groups, "AUTHKIT_SIGNUP": policy,
         "AUTHKIT_ON_SIGN_IN": f"{__name__}:hook", "AUTHKIT_ROLE": "x", "OTHER": 1},
        extra_names=["ROLE"],
    )  # fmt: skip
    assert settings.providers == (APP,)
    assert settings.token_keys == (KEY,)
    assert settings.accounts_store == str(tmp_path / "a.db")
    assert not (tmp_path / "a.db").exists()
    assert (settings.mount, settings.after_login, settings.auto_redirect) == ("/auth", "/", False)
    assert settings.groups == groups
    assert settings.signup is policy
    assert settings.on_sign_in is hook
    assert settings.extra == {"ROLE": "x"}


def test_invenio_keys_are_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVENIO_OAUTHCLIENT_REMOTE_APPS", raising=False)
    remote = {"title": "OP", "params": {"base_url": "https://op.example/",
              "access_token_url": "https://op.example/token",
              "authorize_url": "https://op.example/authorize", "app_key": "OP_CREDENTIALS"},
              "authorized_handler": "m:f"}  # fmt: skip
    invenio = {
        "SITE_UI_URL": "https://rdm.example.org",
        "APP_ALLOWED_HOSTS": ["rdm.example.org"],
        "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
        "OAUTHCLIENT_REMOTE_APPS": {"invenio_op": remote},
        "OP_CREDENTIALS": {"consumer_key": "id", "consumer_secret": "secret"},
    }
    settings = read_settings({"AUTHKIT_PROVIDERS": [APP]}, invenio=invenio)
    assert settings.public_url == "https://rdm.example.org"
    assert settings.allowed_hosts == ("rdm.example.org",)
    assert settings.auto_redirect is True
    assert [app.name for app in settings.providers] == ["op", "invenio_op"]
    del invenio["OP_CREDENTIALS"]
    with pytest.raises(MissingCredentialsError) as missing:
        read_settings({"AUTHKIT_PROVIDERS": [APP]}, invenio=invenio)
    assert missing.value.key == "OP_CREDENTIALS"


BAD: list[tuple[dict[str, Any], type[ConfigurationError], str, str]] = [
    ({}, MissingSettingError, "config.missing_key", "PUBLIC_URL"),
    ({"PUBLIC_ULR": "x"}, UnknownSettingError, "config.unknown_key", "PUBLIC_ULR"),
    ({"PUBLIC_URL": "site.example.org"}, InvalidSettingError, "config.invalid_value",
     "PUBLIC_URL"),
    ({"PROVIDERS": [APP, "op"]}, InvalidSettingError, "config.invalid_value", "PROVIDERS[1]"),
    ({"PROVIDERS": [APP, APP]}, DuplicateProviderError, "registry.duplicate",
     "ProviderRegistry['op']"),
    ({"GROUPS": {"op": ["staff"]}}, InvalidSettingError, "config.invalid_value", "GROUPS.op"),
    ({"TOKEN_KEYS": ["not a key"]}, InvalidSettingError, "config.invalid_value", "TOKEN_KEYS"),
    ({"ACCOUNTS_STORE": "accounts.db"}, MissingSettingError, "config.missing_key", "TOKEN_KEYS"),
    ({"ACCOUNTS_STORE": " "}, InvalidSettingError, "config.invalid_value", "ACCOUNTS_STORE"),
    ({"STATE_STORE": "memcached://x"}, InvalidSettingError, "config.invalid_value",
     "STATE_STORE"),
    ({"MOUNT": "/auth/"}, InvalidSettingError, "config.invalid_value", "MOUNT"),
    ({"SIGNUP": {"allow_signup": False}}, InvalidSettingError, "config.invalid_value", "SIGNUP"),
    ({"LOGIN_POLICIES": "deny"}, InvalidSettingError, "config.invalid_value", "LOGIN_POLICIES"),
    ({"ON_SIGN_IN": "nowhere:hook"}, HandlerImportError, "config.handler_unresolvable",
     "ON_SIGN_IN"),
]  # fmt: skip


@pytest.mark.parametrize(("values", "kind", "code", "key"), BAD)
@pytest.mark.parametrize("prefix", ["", "AUTHKIT_"])
def test_a_bad_setting_is_named_as_written(
    values: dict[str, Any], kind: type[ConfigurationError], code: str, key: str, prefix: str
) -> None:
    config = {"PUBLIC_URL": "https://site.example.org", **values} if values else {}
    with pytest.raises(kind) as caught:
        read_settings({prefix + k: v for k, v in config.items()}, prefix=prefix)
    assert caught.value.code == code
    assert caught.value.key == (key if kind is DuplicateProviderError else prefix + key)
    assert caught.value.message.startswith(f"{caught.value.key}: ")
    assert "AuthkitSettings" not in caught.value.message


def test_unknown_keys_get_a_suggestion_and_extra_names_are_known() -> None:
    with pytest.raises(UnknownSettingError) as caught:
        read_settings({"PUBLIC_URL": "https://x.org", "USER_MAPING": "m:f"}, prefix="",
                      extra_names=["USER_MAPPING"])  # fmt: skip
    assert caught.value.hint == "did you mean USER_MAPPING?"


def test_the_settings_value_checks_itself() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        AuthkitSettings(public_url="https://x.org", state_store="memcached://x")
    assert caught.value.key == "AuthkitSettings.state_store"


# --- SAML: the SP's URLs default to authkit's routes ------------------------------------------


def test_sp_urls_default_to_the_routes_under_the_mount() -> None:
    idps = {
        "idp": {"title": "IdP", "settings_url": "https://idp.example/metadata"},
        "own": {"title": "Own", "settings_url": "https://own.example/metadata",
                "settings": {"sp": {"entityId": "urn:own"}}},
    }  # fmt: skip
    settings = read_settings(
        {"PUBLIC_URL": "https://site.example.org/", "MOUNT": "/auth"},
        prefix="",
        invenio={"SSO_SAML_IDPS": idps},
    )
    configs = settings.saml_idp_configs()
    base = "https://site.example.org/auth/saml"
    assert configs["idp"].settings["sp"] == {
        "entityId": f"{base}/metadata/idp/",
        "assertionConsumerService": {"url": f"{base}/acs/idp/"},
        "singleLogoutService": {"url": f"{base}/sls/idp/"},
    }
    assert configs["own"].settings["sp"]["entityId"] == "urn:own"
    assert configs["own"].settings["sp"]["singleLogoutService"] == {"url": f"{base}/sls/own/"}


def test_a_bad_sso_saml_idp_fails_the_build_not_the_read() -> None:
    settings = read_settings(
        {"PUBLIC_URL": "https://x.org"}, prefix="", invenio={"SSO_SAML_IDPS": {"i": {"tite": 1}}}
    )
    with pytest.raises(UnknownSettingError) as caught:
        build_routes(settings)
    assert caught.value.key == "SSO_SAML_IDPS.i.tite"


# --- build_routes -----------------------------------------------------------------------------


def test_building_opens_the_stores(tmp_path: Path) -> None:
    settings = read_settings({"PUBLIC_URL": "https://x.org", "PROVIDERS": [APP],
                              "ACCOUNTS_STORE": tmp_path / "a.db", "TOKEN_KEYS": [KEY]},
                             prefix="")  # fmt: skip
    routes = build_routes(settings)
    accounts = routes.flow.accounts
    assert isinstance(accounts, SQLAccountsStore)
    accounts.check_schema()  # the tables were created when building
    accounts.close()
    assert isinstance(routes.state, MemoryStateStore)
    assert routes.registry.names() == ["op"]
    memory = MemoryAccountsStore()
    alone = routes_from_settings({"AUTHKIT_PUBLIC_URL": "https://x.org",
                                  "AUTHKIT_ACCOUNTS_STORE": memory})  # fmt: skip
    assert alone.flow.accounts is memory
    assert alone.on_sign_in is None
    assert alone.on_sign_out is None


# --- the sign-out hook, over real HTTP --------------------------------------------------------


@pytest.fixture
def saml_site() -> Iterator[tuple[str, SAMLIdentityProvider, list[Any]]]:
    """A site built from settings (SP URLs left to their defaults) behind the WSGI adapter."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    party = SAMLRelyingParty(
        entity_id=f"{base}/saml/metadata/idp/",
        acs_url=f"{base}/saml/acs/idp/",
        slo_url=f"{base}/saml/sls/idp/",
    )
    signed_out: list[Any] = []
    with SAMLIdentityProvider(users=[BOB], relying_parties=[party], auto_login="bob") as idp:
        idps = {"idp": {"title": "IdP", "settings_url": idp.metadata_url, "mappings": MAPPINGS}}
        routes = routes_from_settings(
            {"AUTHKIT_PUBLIC_URL": base, "SSO_SAML_IDPS": idps},
            on_sign_out=lambda request: signed_out.append(request.session.get(SESSION_USER)),
        )
        with serve(routes, port):
            yield base, idp, signed_out


def saml_sign_in(base: str) -> requests.Session:
    browser = requests.Session()
    form = read_post_form(browser.get(f"{base}/saml/sso/idp/?next=/account", timeout=10).text)
    assert browser.post(form.action, data=form.fields, timeout=10).url == f"{base}/account"
    return browser


def user_of(browser: requests.Session, base: str) -> str:
    return browser.get(f"{base}/account", timeout=5).text.split()[0].removeprefix("user=")


def test_logout_calls_on_sign_out_once_signed_in(saml_site: Any) -> None:
    base, idp, signed_out = saml_site
    browser = requests.Session()
    confirm = browser.get(f"{base}/logout/", timeout=5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert token
    browser.post(f"{base}/logout/", data={"csrf_token": token[1]}, timeout=10)
    assert signed_out == []  # nobody was signed in
    browser = saml_sign_in(base)
    assert user_of(browser, base) != "None"
    confirm = browser.get(f"{base}/logout/", timeout=5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert token
    browser.post(f"{base}/logout/", data={"csrf_token": token[1]}, timeout=10)
    assert signed_out == [None]  # called after authkit's entries were removed
    assert user_of(browser, base) == "None"
    assert idp.last_logout_request is not None  # the single logout went on to the IdP


def test_the_idps_logout_request_calls_on_sign_out(saml_site: Any) -> None:
    base, idp, signed_out = saml_site
    browser = saml_sign_in(base)
    message = idp.logout_request(f"{base}/saml/metadata/idp/")
    if message.form is not None:
        answer = browser.post(message.url, data=dict(message.fields), timeout=10)
    else:
        answer = browser.get(message.url, timeout=10)
    assert answer.status_code < 400, answer.text
    assert signed_out == [None]
    assert user_of(browser, base) == "None"


def test_sign_in_and_out_hooks_through_routes_from_settings() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    alice = OIDCUser(sub="alice", claims={"email": "alice@example.org", "email_verified": True})
    client = OIDCClient(client_id="site", client_secret="s3cret",
                        redirect_uris=[f"{base}/oauth/authorized/op/"])  # fmt: skip
    EVENTS.clear()
    with OIDCProvider(users=[alice], clients=[client], auto_login="alice") as op:
        app = RemoteApp(name="op", title="OP", protocol="oidc", issuer=op.issuer,
                        client_id="site", client_secret="s3cret", scope="openid email")  # fmt: skip
        routes = routes_from_settings(
            {
                "AUTHKIT_PUBLIC_URL": base,
                "AUTHKIT_PROVIDERS": [app],
                "AUTHKIT_ON_SIGN_IN": f"{__name__}:hook",
            },
            on_sign_in=lambda request, user: EVENTS.append(f"adapter:{user.email}"),
            on_sign_out=lambda request: EVENTS.append("out"),
        )
        with serve(routes, port):
            browser = requests.Session()
            assert browser.get(f"{base}/oauth/login/op/?next=/account", timeout=10).ok
            page = browser.get(f"{base}/logout/", timeout=5).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            browser.post(f"{base}/logout/", data={"csrf_token": token[1]}, timeout=10)
    # the adapter's hook runs first, then the one the settings name
    assert EVENTS == ["adapter:alice@example.org", "settings:alice@example.org", "out"]
