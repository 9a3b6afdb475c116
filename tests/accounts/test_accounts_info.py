"""AccountInfo and info handlers: OIDC claims, Invenio dicts, SAML, and the remote app's hooks
(InvenioRDM's "custom user info" recipe) over real sign-ins at the loopback provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from authkit.accounts import (
    UNSET,
    AccountInfo,
    RemoteContext,
    account_info_from_sign_in,
)
from authkit.config import Hooks, RemoteApp
from authkit.errors import InvalidSettingError, ProviderResponseError
from authkit.oauth import OAuthClient, SignInResult, TokenSet
from authkit.providers import oauth_client
from authkit.saml import MappedIdentity
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser
from authkit.transport import RequestsTransport, Timeout

REDIRECT = "http://127.0.0.1:5000/oauth/authorized/op/"
JANE = OIDCUser(
    sub="jane",
    claims={
        "email": "jane@example.org",
        "email_verified": True,
        "name": "Jane Doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "preferred_username": "jdoe",
        "upn": "jdoe@corp.example.org",
        "groups": ["staff"],
    },
)


# --- from claims, dicts and SAML ------------------------------------------------------------------


def test_from_claims_normalises_oidc_claims() -> None:
    info = AccountInfo.from_claims(
        {
            "sub": "abc",
            "email": " jane@example.org ",
            "email_verified": "true",  # some providers send a string
            "name": "Jane Doe",
            "family_name": None,  # said empty
            "preferred_username": "jdoe",
            "eduperson_scoped_affiliation": "staff@example.org",
        },
        provider="op",
    )
    assert info.external_id == "abc"
    assert info.external_method == "op"
    assert info.email == "jane@example.org"
    assert info.user.email_verified is True
    assert info.user.profile.full_name == "Jane Doe"
    assert info.user.profile.family_name is None
    assert info.user.profile.given_name is UNSET  # not said
    assert info.user.profile.username == "jdoe"
    assert info.user.profile.affiliations == ("staff@example.org",)
    assert info.user_data() == {
        "email": "jane@example.org",
        "profile": {
            "full_name": "Jane Doe",
            "family_name": None,
            "username": "jdoe",
            "affiliations": ["staff@example.org"],
        },
    }


def test_username_claim_may_be_a_nested_path() -> None:
    info = AccountInfo.from_claims(
        {"sub": 7, "attributes": {"uid": "j.doe"}}, provider="op", username_claim="attributes.uid"
    )
    assert info.external_id == "7"
    assert info.user.profile.username == "j.doe"
    assert info.user.email_verified is False
    assert info.email is None


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"email": "x@example.org"}, "accounts.external_id_missing"),
        ({"sub": ""}, "accounts.external_id_missing"),
        ({"sub": "1", "email": 5}, "accounts.info_invalid"),
        ({"sub": "1", "name": ["a"]}, "accounts.info_invalid"),
        ({"sub": "1", "eduperson_scoped_affiliation": {"a": 1}}, "accounts.info_invalid"),
    ],
)
def test_unusable_claims(claims: dict[str, Any], code: str) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        AccountInfo.from_claims(claims, provider="op")
    assert caught.value.code == code
    assert caught.value.provider == "op"


def test_invenio_account_info_dict_round_trips() -> None:
    invenio = {
        "user": {
            "active": True,
            "email": "jane@example.org",
            "profile": {"full_name": "Jane", "username": "jdoe", "affiliations": "CERN"},
            "prefs": {"visibility": "restricted", "email_visibility": "restricted"},
        },
        "external_id": "jdoe@corp",
        "external_method": "keycloak",
    }
    info = AccountInfo.from_dict(invenio)
    assert info.user.active is True
    assert info.user.profile.affiliations == ("CERN",)
    assert info.user.prefs == {"visibility": "restricted", "email_visibility": "restricted"}
    assert AccountInfo.from_dict(info.to_dict()) == info
    data = info.to_dict(raw=False)
    assert data["user"]["email_verified"] is False
    assert "raw" not in data


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"user": {}}, "accounts.external_id_missing"),
        ({"external_id": "1", "user": []}, "accounts.info_invalid"),
        ({"external_id": "1", "user": {"active": "yes"}}, "accounts.info_invalid"),
        ({"external_id": "1", "user": {"profile": "x"}}, "accounts.info_invalid"),
        ({"external_id": "1", "user": {"prefs": 3}}, "accounts.info_invalid"),
        ({"external_id": "1", "external_method": 3}, "accounts.info_invalid"),
        ("not a dict", "accounts.info_invalid"),
    ],
)
def test_invalid_invenio_dicts(data: Any, code: str) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        AccountInfo.from_dict(data, provider="kc")
    assert caught.value.code == code


def test_from_saml_mapped_identity() -> None:
    mapped = MappedIdentity(
        email="ada@uni.example",
        full_name="Ada Lovelace",
        given_name="Ada",
        external_id="ada-1",
        affiliations=("staff@uni.example",),
        name_id="opaque",
        attributes={"mail": ("ada@uni.example",), "eduPersonAffiliation": ("staff", "member")},
    )
    info = AccountInfo.from_saml(mapped, provider="uni")
    assert info.external_id == "ada-1"
    assert info.email == "ada@uni.example"
    assert info.user.email_verified is False
    assert info.user.profile.family_name is UNSET
    assert info.user.profile.affiliations == ("staff@uni.example",)
    assert info.raw["eduPersonAffiliation"] == ["staff", "member"]
    assert info.raw["NameID"] == "opaque"


def test_from_saml_falls_back_to_a_persistent_name_id_only() -> None:
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    info = AccountInfo.from_saml(
        MappedIdentity(name_id="p-123", name_id_format=persistent), provider="uni"
    )
    assert info.external_id == "p-123"
    transient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    with pytest.raises(ProviderResponseError) as caught:
        AccountInfo.from_saml(
            MappedIdentity(name_id="t-1", name_id_format=transient), provider="uni"
        )
    assert caught.value.code == "accounts.external_id_missing"


# --- real sign-ins and the info hooks -------------------------------------------------------------


@pytest.fixture(scope="module")
def op() -> Iterator[OIDCProvider]:
    client = OIDCClient(client_id="rp", client_secret="rp-secret", redirect_uris=[REDIRECT])
    with OIDCProvider(users=[JANE], clients=[client], auto_login="jane") as provider:
        yield provider


def app_for(op: OIDCProvider, **changes: Any) -> RemoteApp:
    values: dict[str, Any] = {
        "name": "op",
        "title": "OP",
        "protocol": "oidc",
        "issuer": op.issuer,
        "client_id": "rp",
        "client_secret": "rp-secret",
        "scope": "openid email profile groups",
        "timeout": Timeout(connect=2, read=2),
    }
    values.update(changes)
    return RemoteApp(**values)


def sign_in(app: RemoteApp) -> tuple[OAuthClient, SignInResult]:
    client = oauth_client(
        app, redirect_uri=REDIRECT, transport=RequestsTransport(retries=1, sleep=lambda s: None)
    )
    redirect = client.authorization_redirect(session_id="s")
    answer = requests.get(redirect.url, allow_redirects=False, timeout=5)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    return client, client.handle_callback(params, session_id="s")


def test_default_info_from_a_real_oidc_sign_in(op: OIDCProvider) -> None:
    app = app_for(op)
    client, result = sign_in(app)
    info = account_info_from_sign_in(app, result, client=client)
    assert info.external_id == "jane"
    assert info.email == "jane@example.org"
    assert info.user.email_verified is True
    assert info.user.profile.username == "jdoe"
    assert info.user.profile.full_name == "Jane Doe"
    assert info.raw["groups"] == ["staff"]
    assert info.raw["iss"] == op.issuer  # ID token claims kept under the user info


def test_opal_username_mapping(op: OIDCProvider) -> None:
    app = app_for(op, username_claim="email")
    _, result = sign_in(app)
    assert account_info_from_sign_in(app, result).user.profile.username == "jane@example.org"


# InvenioRDM "custom user info": a handler that fetches, a serializer that shapes.
FETCHED: list[str] = []


def custom_info_handler(remote: RemoteContext, resp: dict[str, Any]) -> dict[str, Any]:
    """Retrieve remote account information (as in the InvenioRDM documentation)."""
    assert "access_token" in resp
    user_info = remote.get(remote.app.userinfo_url or "").data
    FETCHED.append(user_info["sub"])
    return custom_info_serializer(remote, resp, user_info)


def custom_info_serializer(
    remote: RemoteContext, resp: dict[str, Any], user_info: dict[str, Any]
) -> dict[str, Any]:
    """Serialize the account info response object (the documentation's three-argument form)."""
    return {
        "user": {
            "active": True,
            "email": user_info["email"],
            "profile": {
                "full_name": user_info["name"],
                "username": user_info["preferred_username"],
            },
            "prefs": {"visibility": "restricted", "email_visibility": "restricted"},
        },
        "external_id": user_info["upn"],
        "external_method": remote.name,
    }


def keycloak_style_serializer(
    remote: RemoteContext,
    resp: dict[str, Any],
    token_user_info: dict[str, Any],
    user_info: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """invenio-oauthclient's Keycloak info_serializer_handler signature."""
    user_info = user_info or {}
    return {
        "user": {
            "active": True,
            "email": token_user_info.get("email") or user_info["email"],
            "profile": {
                "full_name": token_user_info.get("name") or user_info.get("name"),
                "username": token_user_info.get("preferred_username"),
            },
        },
        "external_id": token_user_info["sub"],
        "external_method": remote.name,
    }


def test_invenio_custom_info_handler_fetches_and_shapes(op: OIDCProvider) -> None:
    app = app_for(op, hooks=Hooks(info=custom_info_handler))
    client, result = sign_in(app)
    before = op.request_count("userinfo")
    info = account_info_from_sign_in(app, result, client=client)
    assert op.request_count("userinfo") == before + 1  # the handler fetched
    assert FETCHED[-1] == "jane"
    assert info.external_id == "jdoe@corp.example.org"
    assert info.external_method == "op"
    assert info.user.prefs == {"visibility": "restricted", "email_visibility": "restricted"}
    assert info.user.profile.username == "jdoe"
    assert info.raw["groups"] == ["staff"]  # raw claims kept for policies
    assert info.user.email_verified is True  # the claims vouch for this very address


def test_invenio_three_argument_serializer_alone(op: OIDCProvider) -> None:
    app = app_for(op, hooks=Hooks(info_serializer=custom_info_serializer))
    _, result = sign_in(app)
    info = account_info_from_sign_in(app, result)
    assert info.external_id == "jdoe@corp.example.org"
    assert info.user.profile.full_name == "Jane Doe"


def test_keycloak_four_argument_serializer(op: OIDCProvider) -> None:
    app = app_for(op, hooks=Hooks(info_serializer=keycloak_style_serializer))
    _, result = sign_in(app)
    info = account_info_from_sign_in(app, result)
    assert info.external_id == "jane"
    assert info.email == "jane@example.org"


def test_info_hook_can_use_the_configured_serializer(op: OIDCProvider) -> None:
    def info_handler(remote: RemoteContext, resp: dict[str, Any]) -> AccountInfo:
        return remote.serialize(resp)

    app = app_for(op, hooks=Hooks(info=info_handler, info_serializer=custom_info_serializer))
    _, result = sign_in(app)
    assert account_info_from_sign_in(app, result).external_id == "jdoe@corp.example.org"
    plain = app_for(op, hooks=Hooks(info=info_handler))
    _, result = sign_in(plain)
    assert account_info_from_sign_in(plain, result).external_id == "jane"


def test_invenio_handler_strings_are_the_built_in_behaviour(op: OIDCProvider) -> None:
    app = app_for(
        op,
        hooks=Hooks(
            info="invenio_oauthclient.contrib.keycloak.handlers:info_handler",
            info_serializer="invenio_oauthclient.contrib.keycloak.handlers:info_serializer_handler",
        ),
    )
    _, result = sign_in(app)
    assert account_info_from_sign_in(app, result).external_id == "jane"


def _result(userinfo: dict[str, Any]) -> SignInResult:
    return SignInResult(
        provider="op",
        subject=str(userinfo.get("sub", "")),
        tokens=TokenSet(access_token="at"),
        id_token_claims={},
        userinfo=userinfo,
        next_url=None,
    )


def test_a_hook_address_not_in_the_claims_is_not_verified() -> None:
    def serializer(remote: RemoteContext, resp: dict[str, Any], user_info: dict[str, Any]) -> Any:
        return {"external_id": "1", "user": {"email": "other@example.org"}}

    app = RemoteApp(name="op", title="OP", hooks=Hooks(info_serializer=serializer))
    userinfo = {"sub": "1", "email": "jane@example.org", "email_verified": True}
    info = account_info_from_sign_in(app, _result(userinfo))
    assert info.email == "other@example.org"
    assert info.user.email_verified is False


def test_failing_hooks_are_typed_errors() -> None:
    def broken(remote: RemoteContext, resp: dict[str, Any], user_info: dict[str, Any]) -> Any:
        return user_info["upn"]  # KeyError: the provider did not send it

    app = RemoteApp(name="op", title="OP", hooks=Hooks(info_serializer=broken))
    with pytest.raises(ProviderResponseError) as caught:
        account_info_from_sign_in(app, _result({"sub": "1"}))
    assert caught.value.code == "accounts.info_hook_failed"
    assert "KeyError" in caught.value.message

    def wrong_type(remote: RemoteContext, resp: dict[str, Any]) -> Any:
        return ["not", "account", "info"]

    app = RemoteApp(name="op", title="OP", hooks=Hooks(info=wrong_type))
    with pytest.raises(InvalidSettingError) as bad:
        account_info_from_sign_in(app, _result({"sub": "1"}))
    assert bad.value.key == "RemoteApp('op').hooks.info"

    def two_args(remote: Any, resp: Any) -> Any:
        return {}

    app = RemoteApp(name="op", title="OP", hooks=Hooks(info_serializer=two_args))
    with pytest.raises(InvalidSettingError) as arity:
        account_info_from_sign_in(app, _result({"sub": "1"}))
    assert arity.value.key == "RemoteApp('op').hooks.info_serializer"

    def fetching(remote: RemoteContext, resp: dict[str, Any]) -> Any:
        return remote.get("http://127.0.0.1:9/userinfo").data

    app = RemoteApp(name="op", title="OP", hooks=Hooks(info=fetching))
    with pytest.raises(InvalidSettingError) as no_client:
        account_info_from_sign_in(app, _result({"sub": "1"}))  # no client given
    assert no_client.value.key == "RemoteApp('op').hooks.info"


def test_github_and_orcid_shapes_give_account_info() -> None:
    octo = OIDCUser(
        sub="octocat",
        claims={
            "id": 583231,
            "login": "octocat",
            "name": "The Octocat",
            "emails": [{"email": "octo@example.org", "primary": True, "verified": True}],
        },
    )
    client_reg = OIDCClient(client_id="rp", client_secret="rp-secret", redirect_uris=[REDIRECT])
    with OIDCProvider(
        shape="github", users=[octo], clients=[client_reg], auto_login="octocat"
    ) as gh:
        app = RemoteApp(
            name="op",
            title="GitHub",
            kind="github",
            base_url=gh.base_url + "/",
            authorize_url=gh.authorize_url,
            token_url=gh.token_url,
            client_id="rp",
            client_secret="rp-secret",
            scope="user:email",
            nonce=False,
        )
        _, result = sign_in(app)
        info = account_info_from_sign_in(app, result)
    assert (info.external_id, info.email, info.user.email_verified) == (
        "583231",
        "octo@example.org",
        True,
    )
    assert info.user.profile.username == "octocat"
    orcid_user = OIDCUser(sub="0000-0002-1825-0097", claims={"name": "Josiah Carberry"})
    with OIDCProvider(
        shape="orcid", users=[orcid_user], clients=[client_reg], auto_login=orcid_user.sub
    ) as orcid:
        app = RemoteApp(
            name="op",
            title="ORCID",
            kind="orcid",
            authorize_url=orcid.authorize_url,
            token_url=orcid.token_url,
            client_id="rp",
            client_secret="rp-secret",
            scope="/authenticate",
        )
        _, result = sign_in(app)
        info = account_info_from_sign_in(app, result)
    assert info.external_id == "0000-0002-1825-0097"
    assert info.user.email is UNSET  # ORCID says nothing about e-mail
    assert info.user.profile.full_name == "Josiah Carberry"
