"""The Flask extension over real HTTP: a Flask app served by werkzeug on 127.0.0.1, signing in
against the loopback OpenID provider and SAML IdP, driven by ``requests`` as a browser would."""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from authkit.accounts import TokenCipher
from authkit.adapters.flask import (
    Authkit,
    AuthkitState,
    csrf_token,
    current_groups,
    current_user_id,
    login_required,
    route_url,
)
from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    UnknownSettingError,
)
from authkit.providers.keycloak import KeycloakSettingsHelper
from authkit.stores import MemoryAccountsStore, RedisStateStore, SQLAccountsStore, User
from authkit.testing import (
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
    read_post_form,
)
from authkit.testing._saml_builder import KeyPair, generate_key_pair
from authkit.web import WebRequest

SECRET = "flask-test-secret-" * 3
TOKEN_KEY = TokenCipher.generate_key()
ALICE = OIDCUser(
    sub="alice",
    claims={"email": "alice@example.org", "email_verified": True, "name": "Alice",
            "groups": ["staff", "readers"]},
)  # fmt: skip
BOB = SAMLUser(
    username="bob",
    attributes={"mail": "bob@example.org", "givenName": "Bob", "sn": "Builder",
                "eduPersonPrincipalName": "bob@idp.example.org"},
)  # fmt: skip
MAIL, GIVEN, SN, EPPN = (
    "urn:oid:0.9.2342.19200300.100.1.3", "urn:oid:2.5.4.42", "urn:oid:2.5.4.4",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
)  # fmt: skip


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


def _not_ready(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return [b""]


class Site:
    """A werkzeug server bound before the app exists (providers need its URL first)."""

    def __init__(self) -> None:
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, _not_ready, threaded=True, request_handler=_Quiet
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.errors: list[BaseException] = []

    def serve(self, app: Flask) -> Flask:
        app.config["PROPAGATE_EXCEPTIONS"] = False
        app.teardown_request(lambda exc: self.errors.append(exc) if exc else None)
        self.server.app = app
        return app


@pytest.fixture
def site() -> Iterator[Site]:
    running = Site()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()
    thread.join(5)
    assert running.errors == []


@pytest.fixture
def op(site: Site) -> Iterator[OIDCProvider]:
    client = OIDCClient(
        client_id="site", client_secret="s3cret",
        redirect_uris=[f"{site.url}/oauth/authorized/op/", f"{site.url}/auth/oauth/authorized/op/"],
    )  # fmt: skip
    with OIDCProvider(users=[ALICE], clients=[client], auto_login="alice") as provider:
        yield provider


def provider_dict(op: OIDCProvider) -> dict[str, Any]:
    return {"name": "op", "title": "Test OP", "protocol": "oidc", "issuer": op.issuer,
            "client_id": "site", "client_secret": "s3cret",
            "scope": "openid email profile groups", "groups_claim": "groups"}  # fmt: skip


def make_app(config: dict[str, Any], **options: Any) -> tuple[Flask, Authkit]:
    """A small site: /account needs a sign-in and shows who is signed in."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, **config)
    extension = Authkit(app, **options)

    @app.route("/account")
    @login_required
    def account() -> str:
        return f"user={current_user_id()} groups={','.join(sorted(current_groups()))}"

    @app.route("/token")
    def token() -> str:
        return csrf_token()

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return "the site's own 404", 404

    return app, extension


def sign_in_oidc(base: str, browser: requests.Session, prefix: str = "") -> requests.Response:
    return browser.get(f"{base}{prefix}/oauth/login/op/?next=/account", timeout=10)


# --- OpenID Connect sign-in --------------------------------------------------------------------


def test_oidc_sign_in_with_flask_session(site: Site, op: OIDCProvider) -> None:
    seen: list[tuple[str, str, str | None]] = []
    app, extension = make_app(
        {"AUTHKIT_PUBLIC_URL": site.url, "AUTHKIT_PROVIDERS": [provider_dict(op)]}
    )

    @extension.on_sign_in
    def remember(web_request: WebRequest, user: User) -> None:
        seen.append((web_request.path, user.id, current_user_id()))

    site.serve(app)
    browser = requests.Session()
    start = browser.get(f"{site.url}/account", timeout=5)
    assert start.url == f"{site.url}/login/?next=%2Faccount"
    assert "Sign in with Test OP" in start.text
    answer = sign_in_oidc(site.url, browser)
    assert answer.url == f"{site.url}/account"
    user_id = re.fullmatch(r"user=(\w+) groups=readers,staff", answer.text)
    assert user_id is not None
    assert seen == [("/oauth/authorized/op/", user_id.group(1), user_id.group(1))]
    cookie = next(c for c in browser.cookies if c.name == "session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "Lax"
    state = app.extensions["authkit"]
    assert isinstance(state, AuthkitState)
    assert state.extension is extension
    with state.routes.flow.accounts.transaction() as tx:
        assert tx.get_user(user_id.group(1)).email == "alice@example.org"


def test_logout_needs_the_csrf_token_and_ends_the_session(site: Site, op: OIDCProvider) -> None:
    app, _ = make_app({"AUTHKIT_PUBLIC_URL": site.url, "AUTHKIT_PROVIDERS": [provider_dict(op)],
                       "AUTHKIT_AFTER_LOGIN": "/account"})  # fmt: skip
    site.serve(app)
    browser = requests.Session()
    assert sign_in_oidc(site.url, browser).text.startswith("user=")
    refused = browser.post(f"{site.url}/logout/", data={"csrf_token": "forged"}, timeout=5)
    assert refused.status_code == 400
    assert "request.csrf_failed" in refused.text
    token = browser.get(f"{site.url}/token", timeout=5).text
    out = browser.post(f"{site.url}/logout/", data={"csrf_token": token}, timeout=5)
    assert out.url.startswith(f"{site.url}/login/?next=")  # /account again needs a sign-in


def test_hook_from_config_and_a_mount(site: Site, op: OIDCProvider) -> None:
    calls: list[str] = []
    app, _ = make_app({
        "AUTHKIT_PUBLIC_URL": site.url, "AUTHKIT_PROVIDERS": [provider_dict(op)],
        "AUTHKIT_MOUNT": "/auth", "AUTHKIT_ON_SIGN_IN": lambda request, user: calls.append(user.id),
    })  # fmt: skip
    site.serve(app)
    browser = requests.Session()
    assert browser.get(f"{site.url}/oauth/login/op/", timeout=5).text == "the site's own 404"
    with app.test_request_context():
        assert route_url("/login/", next="/x") == f"{site.url}/auth/login/?next=%2Fx"
    answer = sign_in_oidc(site.url, browser, "/auth")
    assert answer.url == f"{site.url}/account"
    assert answer.text == f"user={calls[0]} groups=readers,staff"


def test_invenio_remote_apps_and_auto_redirect(site: Site) -> None:
    client = OIDCClient(client_id="repository", client_secret="kc-secret",
                        auth_method="client_secret_post",  # as Invenio sends the secret
                        redirect_uris=[f"{site.url}/oauth/authorized/campus/"])  # fmt: skip
    with OIDCProvider(users=[ALICE], clients=[client], shape="keycloak", realm="campus",
                      auto_login="alice") as keycloak:  # fmt: skip
        helper = KeycloakSettingsHelper(
            title="Campus SSO", description="staff", base_url=keycloak.base_url,
            realm="campus", app_key="CAMPUS_APP_CREDENTIALS", legacy_url_path=False,
        )  # fmt: skip
        app, _ = make_app({
            "SITE_UI_URL": site.url,
            "OAUTHCLIENT_REMOTE_APPS": {"campus": helper.remote_app},
            "CAMPUS_APP_CREDENTIALS": {"consumer_key": "repository",
                                       "consumer_secret": "kc-secret"},
            "OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
            **helper.invenio_settings("campus"),
        })  # fmt: skip
        site.serve(app)
        browser = requests.Session()
        first = browser.get(f"{site.url}/login/?next=/account", allow_redirects=False, timeout=5)
        assert first.status_code == 302
        assert first.headers["Location"] == f"{site.url}/oauth/login/campus/?next=%2Faccount"
        answer = browser.get(f"{site.url}/account", timeout=10)
        assert answer.url == f"{site.url}/account"
        assert answer.text.startswith("user=")
        assert keycloak.request_count("token") == 1


# --- errors ---------------------------------------------------------------------------------------


def test_errors_as_pages_and_problem_documents(site: Site, op: OIDCProvider) -> None:
    app, _ = make_app({"AUTHKIT_PUBLIC_URL": site.url, "AUTHKIT_PROVIDERS": [provider_dict(op)]})
    site.serve(app)
    problem = requests.get(
        f"{site.url}/oauth/login/nope/", headers={"Accept": "application/json"}, timeout=5
    )
    assert problem.status_code == 404
    assert problem.headers["Content-Type"] == "application/problem+json"
    assert problem.json()["code"] == "registry.unknown"
    page = requests.get(f"{site.url}/oauth/login/nope/", headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 404
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<code>registry.unknown</code>" in page.text
    evil = requests.get(f"{site.url}/oauth/login/op/?next=https://evil.example/",
                        allow_redirects=False, timeout=5)  # fmt: skip
    assert evil.status_code == 400
    assert "request.redirect_not_allowed" in evil.text
    large = requests.post(f"{site.url}/logout/", data={"csrf_token": "x" * 1_100_000}, timeout=5)
    assert large.status_code == 400
    assert "request.too_large" in large.text
    app.config["MAX_CONTENT_LENGTH"] = 1000  # the application's own, lower limit applies too
    assert (
        "request.too_large"
        in requests.post(f"{site.url}/logout/", data={"csrf_token": "x" * 2000}, timeout=5).text
    )
    stranger = requests.Session()
    start = stranger.get(f"{site.url}/oauth/login/op/", allow_redirects=False, timeout=5)
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    replayed = requests.get(callback.headers["Location"], timeout=5)  # another browser
    assert replayed.status_code == 400
    assert "oauth.state_session_mismatch" in replayed.text
    assert requests.get(f"{site.url}/nothing/here/", timeout=5).text == "the site's own 404"


def _app_with(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": SECRET, "AUTHKIT_PUBLIC_URL": "https://example.org", **config})
    return app


BAD_CONFIGS: list[tuple[dict[str, Any], type[ConfigurationError], str, str]] = [
    ({"AUTHKIT_PUBLIC_URL": None}, MissingSettingError, "config.missing_key", "AUTHKIT_PUBLIC_URL"),
    ({"AUTHKIT_PUBLIC_URL": "example.org"}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_PUBLIC_URL"),
    ({"AUTHKIT_PUBLIC_ULR": "https://x.org"}, UnknownSettingError, "config.unknown_key",
     "AUTHKIT_PUBLIC_ULR"),
    ({"SECRET_KEY": None}, MissingSettingError, "config.missing_key", "SECRET_KEY"),
    ({"SESSION_COOKIE_SAMESITE": "Strict"}, InvalidSettingError, "config.invalid_value",
     "SESSION_COOKIE_SAMESITE"),
    ({"AUTHKIT_MOUNT": "auth/"}, InvalidSettingError, "config.invalid_value", "AUTHKIT_MOUNT"),
    ({"AUTHKIT_MOUNT": 3}, InvalidSettingError, "config.invalid_value", "AUTHKIT_MOUNT"),
    ({"AUTHKIT_ACCOUNTS_STORE": "mysql://db/x"}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_ACCOUNTS_STORE"),
    ({"AUTHKIT_ACCOUNTS_STORE": 42}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_ACCOUNTS_STORE"),
    ({"AUTHKIT_STATE_STORE": "memcached://x"}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_STATE_STORE"),
    ({"AUTHKIT_PROVIDERS": ["op"]}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_PROVIDERS[0]"),
    ({"AUTHKIT_PROVIDERS": {"name": "op"}}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_PROVIDERS"),
    ({"AUTHKIT_SAML_IDPS": [{"title": "x"}]}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_SAML_IDPS"),
    ({"AUTHKIT_ALLOWED_HOSTS": "example.org"}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_ALLOWED_HOSTS"),
    ({"AUTHKIT_AUTO_REDIRECT": "yes"}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_AUTO_REDIRECT"),
    ({"AUTHKIT_GROUPS": ["staff"]}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_GROUPS"),
    ({"AUTHKIT_SIGNUP": {"allow_signup": False}}, InvalidSettingError, "config.invalid_value",
     "AUTHKIT_SIGNUP"),
    ({"AUTHKIT_ON_SIGN_IN": "no.such.module:hook"}, ConfigurationError,
     "config.handler_unresolvable", "AUTHKIT_ON_SIGN_IN"),
    ({"OAUTHCLIENT_REMOTE_APPS": {"orcid": {"title": "ORCID", "params": {"app_key": "ORCID_X"},
      "authorized_handler": "m:f"}}}, ConfigurationError, "config.missing_credentials",
     "ORCID_X"),
    ({"SSO_SAML_IDPS": {"idp": {"titel": "x"}}}, UnknownSettingError, "config.unknown_key",
     "SSO_SAML_IDPS.idp.titel"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "kind", "code", "key"), BAD_CONFIGS)
def test_a_bad_configuration_names_the_setting(
    config: dict[str, Any], kind: type[ConfigurationError], code: str, key: str
) -> None:
    app = _app_with(**config)
    with pytest.raises(kind) as info:
        Authkit(app)
    assert info.value.code == code
    assert info.value.key == key
    assert "authkit" not in app.extensions


def test_configuration_checks_that_need_more_than_a_value(tmp_path: Path) -> None:
    persistent = _app_with(AUTHKIT_ACCOUNTS_STORE=str(tmp_path / "accounts.db"))
    with pytest.raises(MissingSettingError) as info:
        Authkit(persistent)
    assert info.value.key == "AUTHKIT_TOKEN_KEYS"
    typo = _app_with(AUTHKIT_AUTO_REDIRCT=True)
    with pytest.raises(UnknownSettingError) as unknown:
        Authkit(typo)
    assert unknown.value.hint == "did you mean AUTHKIT_AUTO_REDIRECT?"
    twice = _app_with()
    extension = Authkit(twice)
    with pytest.raises(InvalidSettingError) as again:
        extension.init_app(twice)
    assert again.value.key == "app.extensions"


def test_session_cookie_defaults() -> None:
    unset = _app_with()
    Authkit(unset)
    assert unset.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert unset.config["SESSION_COOKIE_SECURE"] is True  # the public URL is https
    plain = _app_with(AUTHKIT_PUBLIC_URL="http://127.0.0.1:5000")
    Authkit(plain)
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    cross_site = _app_with(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)
    Authkit(cross_site)
    assert cross_site.config["SESSION_COOKIE_SAMESITE"] == "None"


def test_csrf_protection_of_the_application_exempts_authkit() -> None:
    class CSRFProtect:  # Flask-WTF's interface: exempt(view or blueprint)
        def __init__(self) -> None:
            self.exempt_names: set[str] = set()

        def exempt(self, view: Any) -> Any:
            self.exempt_names.add(view.name)
            return view

    app = _app_with()
    app.extensions["csrf"] = csrf = CSRFProtect()
    Authkit(app)
    assert csrf.exempt_names == {"authkit"}


def test_an_uninitialised_application_is_told_so() -> None:
    app = Flask(__name__)
    with app.test_request_context(), pytest.raises(MissingSettingError) as info:
        route_url("/login/")
    assert info.value.key == "app.extensions.authkit"


def test_application_factory_with_persistent_stores(
    site: Site, op: OIDCProvider, tmp_path: Path
) -> None:
    extension = Authkit()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, AUTHKIT_PUBLIC_URL=site.url,
                      AUTHKIT_PROVIDERS=[provider_dict(op)],
                      AUTHKIT_ACCOUNTS_STORE=f"sqlite:///{tmp_path / 'accounts.db'}",
                      AUTHKIT_TOKEN_KEYS=[TOKEN_KEY])  # fmt: skip
    extension.init_app(app)
    site.serve(app)
    accounts = app.extensions["authkit"].routes.flow.accounts
    assert isinstance(accounts, SQLAccountsStore)
    browser = requests.Session()
    browser.get(f"{site.url}/oauth/login/op/", timeout=10)
    reopened = SQLAccountsStore.sqlite(tmp_path / "accounts.db")
    with reopened.transaction() as tx:
        assert tx.find_user_by_email("alice@example.org") is not None


def test_redis_and_postgresql_from_urls(
    site: Site, op: OIDCProvider, redis_url: str, postgres_url: str
) -> None:
    app, _ = make_app({
        "AUTHKIT_PUBLIC_URL": site.url, "AUTHKIT_PROVIDERS": [provider_dict(op)],
        "AUTHKIT_STATE_STORE": redis_url, "AUTHKIT_ACCOUNTS_STORE": postgres_url,
        "AUTHKIT_TOKEN_KEYS": [TOKEN_KEY],
    })  # fmt: skip
    routes = app.extensions["authkit"].routes
    assert isinstance(routes.state, RedisStateStore)
    assert isinstance(routes.flow.accounts, SQLAccountsStore)
    site.serve(app)
    someone = uuid.uuid4().hex  # the database outlives the test: a person of this run only
    op.add_user(OIDCUser(sub=someone, claims={"email": f"{someone}@example.org",
                                              "email_verified": True}))  # fmt: skip
    op.login_as(someone)
    answer = sign_in_oidc(site.url, requests.Session())
    user_id = answer.text.split()[0].removeprefix("user=")
    with routes.flow.accounts.transaction() as tx:
        assert tx.get_user(user_id).email == f"{someone}@example.org"


# --- SAML ---------------------------------------------------------------------------------------


@functools.cache
def sp_keys() -> KeyPair:
    return generate_key_pair(now=datetime.now(UTC), common_name="authkit flask test SP")


@pytest.fixture
def saml_site(site: Site, tmp_path: Path) -> Iterator[tuple[Site, SAMLIdentityProvider, Flask]]:
    """A site configured with invenio-saml's SSO_SAML_IDPS, registered at the IdP from the
    metadata it serves."""
    (tmp_path / "sp.crt").write_bytes(sp_keys().cert_pem)
    (tmp_path / "sp.key").write_bytes(sp_keys().key_pem)
    with SAMLIdentityProvider(users=[BOB], auto_login="bob") as idp:
        app, _ = make_app({
            "AUTHKIT_PUBLIC_URL": site.url,
            "SSO_SAML_IDPS": {"campus": {
                "title": "Campus IdP", "auto_confirm": True,
                "sp_cert_file": str(tmp_path / "sp.crt"), "sp_key_file": str(tmp_path / "sp.key"),
                "settings_url": idp.metadata_url,
                "settings": {"security": {
                    "authnRequestsSigned": True, "logoutRequestSigned": True,
                    "logoutResponseSigned": True, "wantAssertionsSigned": True}},
                "mappings": {"email": MAIL, "name": GIVEN, "surname": SN, "external_id": EPPN},
            }},
        })  # fmt: skip
        site.serve(app)
        metadata = requests.get(f"{site.url}/saml/metadata/campus/", timeout=5)
        assert metadata.headers["Content-Type"] == "application/samlmetadata+xml"
        idp.add_relying_party(SAMLRelyingParty.from_metadata(metadata.content))
        yield site, idp, app
        assert idp.server_errors == []


def saml_to_acs(base: str, browser: requests.Session) -> tuple[str, dict[str, str]]:
    """Start a SAML sign-in and come back from the IdP with its auto-posting form."""
    at_idp = browser.get(f"{base}/saml/sso/campus/?next=/account", timeout=10)
    assert at_idp.status_code == 200, at_idp.text
    form = read_post_form(at_idp.text)
    return form.action, dict(form.fields)


def test_saml_sign_in_with_invenio_saml_settings(
    saml_site: tuple[Site, SAMLIdentityProvider, Flask],
) -> None:
    site, idp, app = saml_site
    browser = requests.Session()
    login_page = browser.get(f"{site.url}/login/", timeout=5)
    assert "Sign in with Campus IdP" in login_page.text
    action, fields = saml_to_acs(site.url, browser)
    assert action == f"{site.url}/saml/acs/campus/"
    assert idp.last_authn_request is not None
    assert idp.last_authn_request.signed
    answer = browser.post(action, data=fields, timeout=10)
    assert answer.url == f"{site.url}/account"
    user_id = answer.text.split()[0].removeprefix("user=")
    with app.extensions["authkit"].routes.flow.accounts.transaction() as tx:
        user = tx.get_user(user_id)
        assert (user.email, user.username) == ("bob@example.org", "campus-bob")


def test_saml_acs_under_samesite_lax(saml_site: tuple[Site, SAMLIdentityProvider, Flask]) -> None:
    site, _, _ = saml_site
    browser = requests.Session()
    action, fields = saml_to_acs(site.url, browser)
    # The IdP's cross-site POST arrives without the Lax session cookie...
    cross_site = requests.post(action, data=fields, allow_redirects=False, timeout=10)
    assert cross_site.status_code == 200
    assert "Set-Cookie" not in cross_site.headers
    resent = read_post_form(cross_site.text)
    assert resent.action == action
    assert resent.fields["authkit_resent"] == "1"
    # ...and the same-site re-post carries it.
    answer = browser.post(resent.action, data=dict(resent.fields), timeout=10)
    assert answer.url == f"{site.url}/account"
    assert answer.text.startswith("user=")


def test_saml_single_logout(saml_site: tuple[Site, SAMLIdentityProvider, Flask]) -> None:
    site, idp, _ = saml_site
    browser = requests.Session()
    action, fields = saml_to_acs(site.url, browser)
    browser.post(action, data=fields, timeout=10)
    assert len(idp.sessions) == 1
    token = browser.get(f"{site.url}/token", timeout=5).text
    out = browser.post(f"{site.url}/logout/", data={"csrf_token": token}, timeout=10)
    assert out.status_code == 404
    assert out.text == "the site's own 404"
    assert out.url == f"{site.url}/"
    assert idp.last_logout_request is not None
    assert idp.last_logout_request.status.endswith(":Success")
    assert idp.sessions == []
    again = browser.get(f"{site.url}/account", allow_redirects=False, timeout=5)
    assert again.status_code == 302


def test_saml_response_refused_shows_its_code(
    saml_site: tuple[Site, SAMLIdentityProvider, Flask],
) -> None:
    site, idp, _ = saml_site
    browser = requests.Session()
    with idp.fault("tampered"):
        action, fields = saml_to_acs(site.url, browser)
    answer = browser.post(action, data=fields, headers={"Accept": "application/json"}, timeout=10)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"].startswith("saml.")


# --- documentation --------------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters" / "flask.md"


def test_the_documented_minimal_app_runs(
    site: Site, op: OIDCProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="site")
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {"__name__": "docs_flask"}
    for index, block in enumerate(blocks):  # in order, in one namespace, as the page reads
        exec(compile(block, f"{DOC}[block {index}]", "exec"), namespace)  # noqa: S102 - our docs
    create_app: Callable[[dict[str, Any]], Flask] = namespace["create_app"]
    app = site.serve(create_app({"AUTHKIT_PUBLIC_URL": site.url,
                                 "AUTHKIT_PROVIDERS": [provider_dict(op)]}))  # fmt: skip
    browser = requests.Session()
    home = browser.get(f"{site.url}/", timeout=5)
    assert "Sign in" in home.text
    answer = browser.get(f"{site.url}/account", timeout=10)
    assert answer.url == f"{site.url}/login/?next=%2Faccount"
    answer = sign_in_oidc(site.url, browser)
    assert answer.url == f"{site.url}/account"
    assert answer.json()["groups"] == ["readers", "staff"]
    home = browser.get(f"{site.url}/", timeout=5)
    assert f"Signed in as {answer.json()['user']}" in home.text
    assert "groups: readers, staff" in home.text
    assert [r.getMessage() for r in caplog.records if r.name == "site"] == [
        f"{answer.json()['user']} signed in (/oauth/authorized/op/)"
    ]
    assert isinstance(app.extensions["authkit"].routes.flow.accounts, MemoryAccountsStore)
