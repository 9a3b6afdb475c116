"""Opal identity-provider definitions <-> RemoteApp (config/_opal.py)."""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

import pytest

from authkit.config import RemoteApp, from_opal, to_opal
from authkit.errors import InvalidSettingError, MissingSettingError, UnknownSettingError
from authkit.transport import Timeout

DISCOVERY = "https://kc.example.org/realms/opal/.well-known/openid-configuration"

# As Opal's REST API returns them (IDProviderDto as JSON), including what its admin form leaves
# behind: empty label / providerUrl, groupsClaim cleared in JavaScript mode, custom parameters.
KEYCLOAK: dict[str, Any] = {
    "name": "keycloak",
    "label": "Keycloak",
    "providerUrl": "https://kc.example.org/realms/opal/account",
    "clientId": "opal",
    "secret": "s3cr3t",
    "discoveryURI": DISCOVERY,
    "scope": "openid profile email",
    "useNonce": True,
    "connectTimeout": 500,
    "readTimeout": 2000,
    "groups": "opal-users",
    "groupsClaim": "groups",
    "enabled": True,
    "usernameClaim": "email",
    "callbackURL": "https://opal.example.org/auth/callback/",
}
FORM_DEFAULTS: dict[str, Any] = {
    "name": "orcid",
    "label": "",
    "providerUrl": "",
    "clientId": "APP-123",
    "secret": "x",
    "discoveryURI": "https://orcid.org/.well-known/openid-configuration",
    "scope": "openid",
    "useNonce": True,
    "connectTimeout": 500,
    "readTimeout": 500,
    "groupsClaim": "",
    "enabled": False,
}
JAVASCRIPT: dict[str, Any] = {
    "name": "lifescience",
    "label": "LS Login",
    "clientId": "c",
    "secret": "s",
    "discoveryURI": "https://login.aai.lifescience-ri.eu/oidc/.well-known/openid-configuration",
    "scope": "openid eduperson_entitlement",
    "useNonce": False,
    "connectTimeout": 1000,
    "readTimeout": 1000,
    "groups": "researchers, staff",
    "enabled": True,
    "groupsScript": "userInfo.eduperson_entitlement.map(x => x.split(':')[5])",
    "parameters": [{"key": "prompt", "value": "login"}],
    "useLogout": True,
}
MINIMAL: dict[str, Any] = {
    "name": "google",
    "clientId": "id",
    "secret": "secret",
    "discoveryURI": "https://accounts.google.com/.well-known/openid-configuration",
    "scope": "openid email",
    "useNonce": True,
    "enabled": True,
}
PUBLIC_URL_AS_CALLBACK: dict[str, Any] = {
    **MINIMAL,
    "name": "google-internal",
    "callbackURL": "https://intranet.example.org/opal",
    "groups": '["team a", "team b"]',
    "usernameClaim": "preferred_username",
}

REALISTIC = [KEYCLOAK, FORM_DEFAULTS, JAVASCRIPT, MINIMAL, PUBLIC_URL_AS_CALLBACK]


def _quiet_from_opal(definition: dict[str, Any]) -> RemoteApp:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return from_opal(definition)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", REALISTIC, ids=lambda d: d["name"])
def test_opal_definition_round_trips_exactly(definition: dict[str, Any]) -> None:
    original = copy.deepcopy(definition)
    app = _quiet_from_opal(definition)
    assert to_opal(app) == original
    assert definition == original  # not modified in place
    assert json.loads(json.dumps(to_opal(app))) == original


@pytest.mark.parametrize("definition", REALISTIC, ids=lambda d: d["name"])
def test_opal_round_trip_survives_the_registry_json_shape(definition: dict[str, Any]) -> None:
    app = _quiet_from_opal(definition)
    stored = RemoteApp.from_dict(json.loads(json.dumps(app.to_dict())))
    assert stored == app
    assert to_opal(stored) == definition


REMOTE_APPS = [
    RemoteApp(
        name="kc",
        title="Keycloak",
        label="Keycloak",
        protocol="oidc",
        discovery_url=DISCOVERY,
        account_url="https://kc.example.org/account",
        client_id="opal",
        client_secret="s",
        scope="openid profile",
        timeout=Timeout(connect=1.5, read=3.25),
        nonce=False,
        username_claim="email",
        groups_claim="roles",
        static_groups=("a", "b"),
        enabled=False,
        public_url="https://opal.example.org/sub",
    ),
    RemoteApp(
        name="plain",
        title="plain",
        protocol="oidc",
        discovery_url=DISCOVERY,
        groups_claim="groups",
        static_groups=("research team", "x,y"),
        timeout=Timeout(connect=0.001, read=120.0),
    ),
    RemoteApp(
        name="bare",
        title="bare",
        protocol="oidc",
        discovery_url=DISCOVERY,
        groups_claim="groups",
        scope="",
    ),
]


@pytest.mark.parametrize("app", REMOTE_APPS, ids=lambda a: a.name)
def test_remote_app_round_trips_through_opal(app: RemoteApp) -> None:
    assert from_opal(to_opal(app)) == app


def test_secret_left_out_on_request() -> None:
    app = from_opal(KEYCLOAK)
    exported = to_opal(app, secrets=False)
    assert "secret" not in exported
    assert from_opal(exported).client_secret is None
    assert from_opal(exported).evolve(client_secret="s3cr3t") == app


# --- the mapping ---------------------------------------------------------------------------------


def test_fields_map_onto_the_model() -> None:
    app = from_opal(KEYCLOAK)
    assert app.name == "keycloak"
    assert app.title == "Keycloak"
    assert app.label == "Keycloak"
    assert app.display_label == "Keycloak"
    assert app.account_url == "https://kc.example.org/realms/opal/account"
    assert app.client_id == "opal"
    assert app.client_secret == "s3cr3t"
    assert app.discovery_url == DISCOVERY
    assert app.scope == "openid profile email"
    assert app.nonce is True
    assert app.timeout == Timeout(connect=0.5, read=2.0)
    assert app.static_groups == ("opal-users",)
    assert app.groups_claim == "groups"
    assert app.username_claim == "email"
    assert app.enabled is True
    assert app.public_url == "https://opal.example.org"
    assert app.extra == {}


def test_discovery_only_definition_is_oidc_without_endpoints() -> None:
    app = from_opal(MINIMAL)
    assert app.is_oidc
    for endpoint in ("authorize_url", "token_url", "userinfo_url", "jwks_url", "issuer"):
        assert getattr(app, endpoint) is None


def test_absent_fields_take_opal_or_authkit_defaults() -> None:
    app = from_opal({"name": "bare", "discoveryURI": DISCOVERY})
    assert app.enabled is False  # Opal creates providers disabled
    assert app.scope == "openid"  # Opal's default scope
    assert app.groups_claim == "groups"  # Opal always reads the "groups" claim by default
    assert app.username_claim == "preferred_username"
    assert app.nonce is True
    assert app.timeout == Timeout()
    assert app.client_id is None
    assert app.client_secret is None
    assert app.title == "bare"
    assert to_opal(app) == {"name": "bare", "discoveryURI": DISCOVERY}


def test_json_null_reads_as_absent() -> None:
    app = from_opal({**MINIMAL, "label": None, "groups": None, "connectTimeout": None})
    assert app == from_opal(MINIMAL)


def test_form_leftovers_read_as_unset() -> None:
    app = from_opal(FORM_DEFAULTS)
    assert app.label == ""
    assert app.title == "orcid"
    assert app.display_label == "orcid"  # Opal shows the name when the label is empty
    assert app.account_url is None
    assert app.groups_claim == "groups"


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ("a b  c", ("a", "b", "c")),
        ("a, b,,c ", ("a", "b", "c")),
        ('["team a", "b"]', ("team a", "b")),
        (" [ ] ", ()),
        ("a a b", ("a", "b")),
        ("", ()),
    ],
)
def test_static_groups_are_read_as_opal_splits_them(groups: str, expected: tuple[str, ...]) -> None:
    app = from_opal({**MINIMAL, "groups": groups})
    assert app.static_groups == expected
    assert to_opal(app) == {**MINIMAL, "groups": groups}


def test_public_url_is_the_callback_url_without_opal_suffix() -> None:
    for callback in (
        "https://opal.example.org/auth/callback/",
        "https://opal.example.org/auth/callback",
        "https://opal.example.org/",
        "https://opal.example.org",
    ):
        app = from_opal({**MINIMAL, "callbackURL": callback})
        assert app.public_url == "https://opal.example.org"
        assert to_opal(app)["callbackURL"] == callback
        assert to_opal(app.evolve(extra={}))["callbackURL"] == (
            "https://opal.example.org/auth/callback/"
        )


def test_groups_script_is_kept_verbatim_and_never_run() -> None:
    with pytest.warns(UserWarning, match="does not run it"):
        app = from_opal(JAVASCRIPT)
    assert app.extra["opal"]["groupsJS"] == JAVASCRIPT["groupsScript"]
    assert app.groups_expression is None
    assert app.groups_claim == "groups"
    assert app.static_groups == ("researchers", "staff")
    assert app.extra["opal"]["parameters"] == [{"key": "prompt", "value": "login"}]
    assert app.extra["opal"]["useLogout"] is True


def test_no_warning_without_a_groups_script() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_opal(KEYCLOAK)
        from_opal({**KEYCLOAK, "groupsScript": ""})


def test_remembered_spelling_gives_way_to_later_edits() -> None:
    app = from_opal(FORM_DEFAULTS | {"groups": "a, b", "label": ""})
    edited = app.evolve(static_groups=("c", "d"), label="ORCID", groups_claim="roles")
    exported = to_opal(edited)
    assert exported["groups"] == "c d"
    assert exported["label"] == "ORCID"
    assert exported["groupsClaim"] == "roles"
    assert to_opal(app)["groups"] == "a, b"


def test_title_is_exported_as_label_when_there_is_no_label() -> None:
    app = RemoteApp(name="kc", title="Keycloak", protocol="oidc", discovery_url=DISCOVERY)
    assert to_opal(app)["label"] == "Keycloak"


def test_no_groups_claim_is_written_as_absent() -> None:
    app = RemoteApp(name="kc", title="kc", discovery_url=DISCOVERY)
    assert app.groups_claim is None
    assert "groupsClaim" not in to_opal(app)


# --- bad definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("publicUrl", "callbackURL"),
        ("groupsJS", "groupsScript"),
        ("discoveryUri", "discoveryURI"),
        ("customParams", "IDProviderDto"),
        ("preferredJwsAlgorithm", None),
    ],
)
def test_unknown_key_is_named(key: str, hint: str | None) -> None:
    with pytest.raises(UnknownSettingError) as caught:
        from_opal({**KEYCLOAK, key: "x"})
    error = caught.value
    assert error.code == "config.unknown_key"
    assert error.key == f"IDProvider('keycloak').{key}"
    assert repr(key) in error.message
    if hint is None:
        assert error.hint is None
    else:
        assert hint in (error.hint or "")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("connectTimeout", 0),
        ("connectTimeout", -1),
        ("readTimeout", "500"),
        ("readTimeout", 1.5),
        ("readTimeout", True),
        ("discoveryURI", "kc.example.org/.well-known/openid-configuration"),
        ("discoveryURI", "ftp://kc.example.org/x"),
        ("providerUrl", "not a url"),
        ("callbackURL", "opal.example.org"),
        ("callbackURL", 12),
        ("groups", ["a", "b"]),
        ("groups", '["a", 1]'),
        ("groups", "[not json]"),
        ("groupsClaim", 3),
        ("usernameClaim", ["email"]),
        ("label", 1),
        ("clientId", 42),
        ("scope", ["openid"]),
        ("useNonce", "true"),
        ("enabled", 1),
        ("useLogout", "yes"),
        ("groupsScript", {"js": "x"}),
        ("parameters", {"prompt": "login"}),
        ("parameters", [{"key": "prompt"}]),
        ("parameters", [{"key": "prompt", "value": 1}]),
    ],
)
def test_bad_value_is_named(key: str, value: Any) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        from_opal({**KEYCLOAK, key: value})
    assert caught.value.code == "config.invalid_value"
    assert caught.value.key is not None
    assert caught.value.key.startswith(f"IDProvider('keycloak').{key}")


def test_zero_timeout_explains_opal_meaning() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        from_opal({**KEYCLOAK, "connectTimeout": 0})
    assert "no timeout" in (caught.value.hint or "")
    assert "milliseconds" in caught.value.message


@pytest.mark.parametrize("name", ["", "my provider", "a/b", "x" * 65, 7])
def test_bad_name(name: Any) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        from_opal({**KEYCLOAK, "name": name})
    assert caught.value.key == "IDProvider.name"


@pytest.mark.parametrize("key", ["name", "discoveryURI"])
def test_required_keys(key: str) -> None:
    definition = {k: v for k, v in KEYCLOAK.items() if k != key}
    with pytest.raises(MissingSettingError) as caught:
        from_opal(definition)
    assert caught.value.code == "config.missing_key"
    assert caught.value.key is not None
    assert caught.value.key.endswith(key)


def test_definition_must_be_a_mapping() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        from_opal([KEYCLOAK])  # type: ignore[arg-type]
    assert "mapping" in caught.value.message


# --- what cannot be written to Opal ---------------------------------------------------------------


def test_export_needs_a_discovery_url() -> None:
    app = RemoteApp(name="gh", title="GitHub", authorize_url="https://github.com/login/oauth")
    with pytest.raises(MissingSettingError) as caught:
        to_opal(app)
    assert caught.value.code == "opal.discovery_required"
    assert caught.value.key == "RemoteApp('gh').discovery_url"


def test_export_refuses_a_jmespath_groups_expression() -> None:
    app = from_opal(KEYCLOAK).evolve(groups_expression="realm_access.roles")
    with pytest.raises(InvalidSettingError) as caught:
        to_opal(app)
    assert caught.value.code == "opal.not_representable"
    assert caught.value.key == "RemoteApp('keycloak').groups_expression"


def test_export_refuses_sub_millisecond_timeouts() -> None:
    app = from_opal(KEYCLOAK).evolve(timeout=Timeout(connect=0.0005, read=1.0))
    with pytest.raises(InvalidSettingError) as caught:
        to_opal(app)
    assert caught.value.code == "opal.not_representable"
    assert caught.value.key == "RemoteApp('keycloak').connectTimeout"


@pytest.mark.parametrize(
    ("opal", "error"),
    [
        ("not a mapping", InvalidSettingError),
        ({"groupsJs": "x"}, UnknownSettingError),
        ({"groupsJS": 3}, InvalidSettingError),
        ({"parameters": "prompt=login"}, InvalidSettingError),
        ({"useLogout": "no"}, InvalidSettingError),
        ({"verbatim": ["groups"]}, InvalidSettingError),
    ],
)
def test_export_checks_hand_edited_extra(opal: Any, error: type[Exception]) -> None:
    app = from_opal(KEYCLOAK).evolve(extra={"opal": opal})
    with pytest.raises(error) as caught:
        to_opal(app)
    assert isinstance(caught.value, InvalidSettingError | UnknownSettingError)
    assert caught.value.key is not None
    assert caught.value.key.startswith("RemoteApp('keycloak').extra.opal")


def test_unusable_remembered_spelling_is_ignored() -> None:
    app = from_opal(KEYCLOAK).evolve(extra={"opal": {"verbatim": {"connectTimeout": "soon"}}})
    assert to_opal(app)["connectTimeout"] == 500
