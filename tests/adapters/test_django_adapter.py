"""The Django adapter over real HTTP: Django's WSGI application served on loopback, sign-in
against the test OpenID provider and the test SAML IdP, driven like a browser with requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from tests.adapters.django_site import MIDDLEWARE, SIGNED_IN, configure
from tests.web.site_kit import free_port

configure()

from django.contrib.auth import authenticate, get_user_model  # noqa: E402
from django.core import checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import SystemCheckError  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import override_settings  # noqa: E402

from authkit.accounts import TokenCipher  # noqa: E402
from authkit.adapters.django import (  # noqa: E402
    AUTHKIT_BACKEND,
    AuthkitSettings,
    get_routes,
    load_settings,
)
from authkit.config import RemoteApp  # noqa: E402
from authkit.errors import ConfigurationError  # noqa: E402
from authkit.groups import GroupResolver  # noqa: E402
from authkit.stores import MemoryAccountsStore  # noqa: E402
from authkit.testing import (  # noqa: E402
    OIDCClient,
    OIDCProvider,
    OIDCUser,
    SAMLIdentityProvider,
    SAMLRelyingParty,
    SAMLUser,
    read_post_form,
)

KEY = TokenCipher.generate_key()
MAIL, GIVEN_NAME, SN = (
    "urn:oid:0.9.2342.19200300.100.1.3",
    "urn:oid:2.5.4.42",
    "urn:oid:2.5.4.4",
)
EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
ALICE = OIDCUser(
    sub="alice",
    claims={"email": "alice@example.org", "email_verified": True, "groups": ["staff"]},
)
BOB = SAMLUser(
    username="bob",
    attributes={
        "mail": "bob@example.org",
        "givenName": "Bob",
        "sn": "Builder",
        "eduPersonPrincipalName": "bob@example.org",
        "isMemberOf": ["builders"],
    },
)


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Site:
    """The running Django site, its providers and its AUTHKIT setting."""

    def __init__(self, base: str, op: OIDCProvider, idp: SAMLIdentityProvider) -> None:
        self.base = base
        self.op = op
        self.idp = idp

    def authkit(self, **changes: Any) -> dict[str, Any]:
        app = RemoteApp(
            name="op",
            title="Test OP",
            protocol="oidc",
            issuer=self.op.issuer,
            client_id="site",
            client_secret="s3cret",
            scope="openid email profile groups",
            groups_claim="groups",
        )
        idp = {  # the SP's entity ID and endpoints default to authkit's routes
            "title": "Test IdP",
            "settings_url": self.idp.metadata_url,
            "mappings": {"email": MAIL, "name": GIVEN_NAME, "surname": SN, "external_id": EPPN},
            "auto_confirm": True,
        }
        return {
            "PUBLIC_URL": self.base,
            "PROVIDERS": [app],
            "SAML_IDPS": {"idp": idp},
            "TOKEN_KEYS": [KEY],
            "GROUPS": {"idp": GroupResolver(saml_attributes="isMemberOf")},
            **changes,
        }


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[str, OIDCProvider, SAMLIdentityProvider]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = OIDCClient(
        client_id="site",
        client_secret="s3cret",
        redirect_uris=[f"{base}/auth/oauth/authorized/op/"],
    )
    party = SAMLRelyingParty(
        entity_id=f"{base}/auth/saml/metadata/idp/",
        acs_url=f"{base}/auth/saml/acs/idp/",
        slo_url=f"{base}/auth/saml/sls/idp/",
    )
    with (
        OIDCProvider(users=[ALICE], clients=[client], auto_login="alice") as op,
        SAMLIdentityProvider(users=[BOB], relying_parties=[party], auto_login="bob") as idp,
    ):
        yield base, op, idp


@pytest.fixture(scope="module")
def server(providers: Any) -> Iterator[Site]:
    base, op, idp = providers
    port = int(base.rpartition(":")[2])
    httpd = make_server(
        "127.0.0.1",
        port,
        get_wsgi_application(),
        server_class=_Threading,
        handler_class=_Quiet,
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(base, op, idp)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def site(server: Site) -> Iterator[Site]:
    with override_settings(AUTHKIT=server.authkit()):
        yield server


def account_page(browser: requests.Session, site: Site) -> dict[str, str]:
    text = browser.get(f"{site.base}/account/", timeout=10).text
    return dict(part.split("=", 1) for part in text.split())


def oidc_sign_in(site: Site, browser: requests.Session | None = None) -> requests.Session:
    browser = browser or requests.Session()
    answer = browser.get(f"{site.base}/auth/oauth/login/op/?next=/account/", timeout=10)
    assert answer.url == f"{site.base}/account/", answer.text
    return browser


def saml_idp_form(site: Site, browser: requests.Session) -> Any:
    """Start a SAML sign-in and follow it to the IdP's auto-posting form."""
    answer = browser.get(f"{site.base}/auth/saml/sso/idp/?next=/account/", timeout=10)
    assert answer.url.startswith(site.idp.sso_url), answer.text
    form = read_post_form(answer.text)
    assert form.action == f"{site.base}/auth/saml/acs/idp/"
    return form


# --- OpenID Connect sign-in -------------------------------------------------------------------


def test_oidc_sign_in_logs_a_django_user_in(site: Site) -> None:
    browser = oidc_sign_in(site)
    seen = account_page(browser, site)
    account_id = seen["account"]
    assert seen["django_user"] == f"authkit:{account_id}"
    assert seen["email"] == "alice@example.org"
    assert seen["groups"] == "staff"
    user = get_user_model().objects.get(username=f"authkit:{account_id}")
    assert user.email == "alice@example.org"
    cookie = next(c for c in browser.cookies if c.name == "sessionid")
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_signing_in_again_reuses_the_django_user(site: Site) -> None:
    first = account_page(oidc_sign_in(site), site)
    second = account_page(oidc_sign_in(site), site)
    assert first["django_user"] == second["django_user"]
    assert get_user_model().objects.filter(username=first["django_user"]).count() == 1


def test_the_sign_in_page_lists_both_providers(site: Site) -> None:
    page = requests.get(f"{site.base}/auth/login/", timeout=5)
    assert page.status_code == 200
    assert "Sign in with Test OP" in page.text
    assert "Sign in with Test IdP" in page.text
    assert f'href="{site.base}/auth/oauth/login/op/"' in page.text


def test_auto_redirect_with_one_provider(server: Site) -> None:
    with override_settings(AUTHKIT=server.authkit(SAML_IDPS={}, AUTO_REDIRECT=True)):
        answer = requests.get(f"{server.base}/auth/login/", allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{server.base}/auth/oauth/login/op/"


def test_logout_ends_the_django_and_the_authkit_session(site: Site) -> None:
    browser = oidc_sign_in(site)
    confirm = browser.get(f"{site.base}/auth/logout/", timeout=5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert token
    answer = browser.post(
        f"{site.base}/auth/logout/",
        data={"csrf_token": token[1]},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    assert account_page(browser, site) == {
        "django_user": "-",
        "email": "-",
        "account": "-",
        "groups": "-",
    }


def test_an_inactive_django_user_is_refused(site: Site) -> None:
    seen = account_page(oidc_sign_in(site), site)
    get_user_model().objects.filter(username=seen["django_user"]).update(is_active=False)
    browser = requests.Session()
    answer = browser.get(f"{site.base}/auth/oauth/login/op/?next=/account/", timeout=10)
    assert answer.status_code == 400
    assert "accounts.user_inactive" in answer.text
    assert account_page(browser, site)["account"] == "-"  # not half signed in
    get_user_model().objects.filter(username=seen["django_user"]).update(is_active=True)


def test_a_replacement_user_mapping(server: Site) -> None:
    mapping = "tests.adapters.django_site.email_mapping"
    with override_settings(AUTHKIT=server.authkit(USER_MAPPING=mapping)):
        seen = account_page(oidc_sign_in(server), server)
    assert seen["django_user"] == "alice@example.org"
    assert get_user_model().objects.get(username="alice@example.org").is_staff


def test_signing_in_as_another_django_user_keeps_the_authkit_session(server: Site) -> None:
    accounts = MemoryAccountsStore()
    with override_settings(AUTHKIT=server.authkit(ACCOUNTS_STORE=accounts)):
        browser = oidc_sign_in(server)
        before = account_page(browser, server)
    mapping = "tests.adapters.django_site.email_mapping"
    with override_settings(AUTHKIT=server.authkit(ACCOUNTS_STORE=accounts, USER_MAPPING=mapping)):
        # Django's login() empties the session of the previous user: authkit's entries survive
        after = account_page(oidc_sign_in(server, browser), server)
    assert after["django_user"] == "alice@example.org" != before["django_user"]
    assert after["account"] == before["account"]
    assert after["groups"] == "staff"


def test_an_on_sign_in_hook_runs_after_the_django_login(server: Site) -> None:
    with override_settings(
        AUTHKIT=server.authkit(ON_SIGN_IN="tests.adapters.django_site:remember")
    ):
        seen = account_page(oidc_sign_in(server), server)
    assert SIGNED_IN[-1] == (seen["account"], seen["django_user"])


def test_the_authkit_backend_restores_users_and_refuses_passwords(server: Site) -> None:
    with override_settings(AUTHKIT=server.authkit(), AUTHENTICATION_BACKENDS=[AUTHKIT_BACKEND]):
        browser = oidc_sign_in(server)
        seen = account_page(browser, server)
        assert seen["django_user"].startswith("authkit:")  # restored on the next request
        assert browser.cookies.get("sessionid")
        assert authenticate(username=seen["django_user"], password="") is None


def test_the_sql_accounts_store_from_a_path(server: Site, tmp_path: Any) -> None:
    with override_settings(AUTHKIT=server.authkit(ACCOUNTS_STORE=str(tmp_path / "a.db"))):
        seen = account_page(oidc_sign_in(server), server)
        with get_routes().flow.accounts.transaction() as tx:
            assert tx.get_user(seen["account"]).email == "alice@example.org"
    assert (tmp_path / "a.db").exists()


# --- errors -----------------------------------------------------------------------------------


def test_an_error_as_a_json_problem_document(site: Site) -> None:
    answer = requests.get(
        f"{site.base}/auth/oauth/login/nope/",
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "registry.unknown"


def test_an_error_as_a_page(site: Site) -> None:
    answer = requests.get(f"{site.base}/auth/oauth/authorized/op/?code=abc&state=forged", timeout=5)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/html")
    assert re.search(r"Error code: <code>oauth\.state_[a-z_]+</code>", answer.text)


def test_an_open_redirect_is_refused(site: Site) -> None:
    answer = requests.get(
        f"{site.base}/auth/oauth/login/op/?next=https://evil.example/",
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 400
    assert "request.redirect_not_allowed" in answer.text


def test_other_paths_under_the_mount_are_not_found(site: Site) -> None:
    assert requests.get(f"{site.base}/auth/nothing/", timeout=5).status_code == 404
    assert requests.get(f"{site.base}/auth/oauth/teleport/op/", timeout=5).status_code == 404


def test_posts_use_authkit_csrf_not_djangos(site: Site) -> None:
    browser = oidc_sign_in(site)
    answer = browser.post(f"{site.base}/auth/logout/", data={"csrf_token": "x"}, timeout=5)
    assert answer.status_code == 400
    assert "request.csrf_failed" in answer.text  # authkit's check, not Django's 403 page
    assert account_page(browser, site)["account"] != "-"


# --- SAML sign-in -----------------------------------------------------------------------------


def test_saml_sign_in_and_single_logout(site: Site) -> None:
    browser = requests.Session()
    form = saml_idp_form(site, browser)
    answer = browser.post(form.action, data=form.fields, timeout=10)
    assert answer.url == f"{site.base}/account/", answer.text
    seen = account_page(browser, site)
    assert seen["django_user"] == f"authkit:{seen['account']}"
    assert seen["email"] == "bob@example.org"
    assert seen["groups"] == "builders"

    confirm = browser.get(f"{site.base}/auth/logout/", timeout=5)
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert token
    # the IdP ends its session and answers the SLS, which must find the pending logout in the
    # session Django's logout just replaced
    done = browser.post(f"{site.base}/auth/logout/", data={"csrf_token": token[1]}, timeout=10)
    assert done.status_code == 200
    assert done.url == f"{site.base}/"
    assert site.idp.last_logout_request is not None
    assert account_page(browser, site)["django_user"] == "-"


def test_the_acs_answers_a_cross_site_post_without_setting_a_cookie(site: Site) -> None:
    browser = requests.Session()
    form = saml_idp_form(site, browser)
    # SameSite=Lax: the IdP's cross-site POST arrives without the session cookie
    blind = requests.post(form.action, data=form.fields, allow_redirects=False, timeout=10)
    assert blind.status_code == 200
    assert "Set-Cookie" not in blind.headers
    resent = read_post_form(blind.text)
    assert resent.fields["authkit_resent"] == "1"
    # the page posts the same fields again, same-site, so the cookie comes along
    answer = browser.post(resent.action, data=resent.fields, timeout=10)
    assert answer.url == f"{site.base}/account/", answer.text
    assert account_page(browser, site)["email"] == "bob@example.org"


# --- system checks ----------------------------------------------------------------------------


def authkit_messages() -> dict[str, Any]:
    return {m.id: m for m in checks.run_checks(tags=["authkit"])}


def test_a_good_configuration_has_no_errors(server: Site) -> None:
    with override_settings(AUTHKIT=server.authkit(ACCOUNTS_STORE=MemoryAccountsStore())):
        found = authkit_messages()
    assert not [m for m in found.values() if m.is_serious()]
    assert set(found) == {"authkit.django.memory_store"}  # STATE_STORE, DEBUG is off
    assert found["authkit.django.memory_store"].obj == "AUTHKIT['STATE_STORE']"


def test_manage_py_check_fails_on_a_bad_configuration(server: Site) -> None:
    with (
        override_settings(AUTHKIT={"TOKEN_KEYS": [KEY]}),
        pytest.raises(SystemCheckError, match=r"authkit\.config\.missing_key"),
    ):
        call_command("check", verbosity=0)


@pytest.mark.parametrize(
    ("changes", "code", "obj"),
    [
        (
            {"TOKEN_KEYS": None, "ACCOUNTS_STORE": "accounts.db"},
            "config.missing_key",
            "AUTHKIT['TOKEN_KEYS']",
        ),
        ({"TOKEN_KEYS": ["not a key"]}, "config.invalid_value", "AUTHKIT['TOKEN_KEYS']"),
        ({"PUBLIC_URL": "127.0.0.1:8000"}, "config.invalid_value", "AUTHKIT['PUBLIC_URL']"),
        ({"PROVIDER": []}, "config.unknown_key", "AUTHKIT['PROVIDER']"),
        ({"STATE_STORE": "memcached://x"}, "config.invalid_value", "AUTHKIT['STATE_STORE']"),
        ({"ACCOUNTS_STORE": "redis://x"}, "config.invalid_value", "AUTHKIT['ACCOUNTS_STORE']"),
        (
            {"USER_MAPPING": "nowhere.mapping"},
            "config.handler_unresolvable",
            "AUTHKIT['USER_MAPPING']",
        ),
        ({"AUTO_REDIRECT": "yes"}, "config.invalid_value", "AUTHKIT['AUTO_REDIRECT']"),
        ({"PROVIDERS": [{"name": "x"}]}, "config.invalid_value", "RemoteApp('x').title"),
    ],
)
def test_invalid_authkit_settings(
    server: Site, changes: dict[str, Any], code: str, obj: str
) -> None:
    values = {k: v for k, v in server.authkit(**changes).items() if v is not None}
    with override_settings(AUTHKIT=values):
        found = authkit_messages()
    message = found[f"authkit.{code}"]
    assert message.level == checks.ERROR
    assert message.obj.startswith(obj)
    assert not message.msg.startswith(message.obj)  # Django shows the key before the message


def test_urls_not_included(server: Site) -> None:
    with override_settings(AUTHKIT=server.authkit(), ROOT_URLCONF="django.contrib.auth.urls"):
        message = authkit_messages()["authkit.django.urls_missing"]
    assert message.level == checks.WARNING


def test_django_settings_are_checked_when_authkit_cannot_be_read(server: Site) -> None:
    with override_settings(AUTHKIT={"TOKEN_KEYS": [KEY]}, SECRET_KEY="changeme"):
        found = authkit_messages()
    assert {"authkit.config.missing_key", "authkit.secrets.placeholder"} <= set(found)
    assert found["authkit.secrets.placeholder"].obj == "SECRET_KEY"


def test_the_did_you_mean_hint(server: Site) -> None:
    with override_settings(AUTHKIT={**server.authkit(), "PROVIDER": []}):
        assert "did you mean 'PROVIDERS'" in authkit_messages()["authkit.config.unknown_key"].msg


def test_check_config_findings_name_django_settings(server: Site) -> None:
    with override_settings(AUTHKIT=server.authkit(), SECRET_KEY="changeme", SESSION_COOKIE_AGE=60):
        found = authkit_messages()
    assert found["authkit.secrets.placeholder"].level == checks.ERROR
    short = found["authkit.session.lifetime_too_short"]
    assert short.level == checks.WARNING
    assert short.obj == "SESSION_COOKIE_AGE"
    assert "PERMANENT_SESSION_LIFETIME" not in short.msg + short.hint
    assert not [m for m in found if "salt" in m]  # Flask-Security has no Django counterpart


def test_an_insecure_cookie_matters_only_for_an_https_site(server: Site) -> None:
    https = server.authkit(PUBLIC_URL="https://data.example.org")
    with override_settings(AUTHKIT=https, SESSION_COOKIE_SECURE=False):
        assert "authkit.session.cookie_insecure" in authkit_messages()
    with override_settings(AUTHKIT=server.authkit(), SESSION_COOKIE_SECURE=False):
        assert "authkit.session.cookie_insecure" not in authkit_messages()


def test_invenio_remote_apps_without_credentials(server: Site) -> None:
    invenio = {
        "orcid": {
            "title": "ORCID",
            "params": {
                "base_url": "https://orcid.org/",
                "request_token_url": None,
                "access_token_url": "https://orcid.org/oauth/token",
                "authorize_url": "https://orcid.org/oauth/authorize",
                "app_key": "ORCID_APP_CREDENTIALS",
                "request_token_params": {"scope": "/authenticate"},
            },
            "authorized_handler": "invenio_oauthclient.handlers:authorized_signup_handler",
            "signup_handler": {},
        }
    }
    with override_settings(AUTHKIT=server.authkit(INVENIO_REMOTE_APPS=invenio)):
        found = authkit_messages()
    missing = found["authkit.remote_apps.missing_credentials"]
    assert "ORCID_APP_CREDENTIALS" in missing.obj + missing.msg
    credentials = {"consumer_key": "0000-0001", "consumer_secret": "a-real-looking-secret"}
    with override_settings(
        AUTHKIT=server.authkit(INVENIO_REMOTE_APPS=invenio), ORCID_APP_CREDENTIALS=credentials
    ):
        found = authkit_messages()
        assert "authkit.remote_apps.missing_credentials" not in found
        assert "orcid" in get_routes().registry  # read with the credentials from the settings


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"PROVIDERS": [], "SAML_IDPS": {}}, "sign_in.no_method"),
        ({"AUTO_REDIRECT": True}, "auto_redirect.several_providers"),
        ({"AUTO_REDIRECT": True, "PROVIDERS": [], "SAML_IDPS": {}}, "auto_redirect.no_provider"),
    ],
)
def test_provider_findings(server: Site, changes: dict[str, Any], code: str) -> None:
    with override_settings(AUTHKIT=server.authkit(**changes)):
        assert f"authkit.{code}" in authkit_messages()


def test_a_bad_saml_idp(server: Site) -> None:
    idps = {"idp": {"title": "Broken", "settings": {"sp": {}}, "mapings": {}}}
    with override_settings(AUTHKIT=server.authkit(SAML_IDPS=idps)):
        message = authkit_messages()["authkit.config.unknown_key"]
    assert message.obj.startswith("AUTHKIT['SAML_IDPS'].idp")


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        (
            "MIDDLEWARE",
            [m for m in MIDDLEWARE if "sessions" not in m],
            "session_middleware_missing",
        ),
        ("AUTHENTICATION_BACKENDS", ["some.other.Backend"], "auth_backend_missing"),
        (
            "INSTALLED_APPS",
            ["django.contrib.contenttypes", "django.contrib.sessions", "authkit.adapters.django"],
            "auth_app_missing",
        ),
    ],
)
def test_django_setup_findings(server: Site, setting: str, value: Any, code: str) -> None:
    with override_settings(AUTHKIT=server.authkit(), **{setting: value}):
        message = authkit_messages()[f"authkit.django.{code}"]
    assert message.level == checks.ERROR
    assert message.obj == setting


# --- reading the settings ---------------------------------------------------------------------


def test_load_settings_reads_provider_dictionaries() -> None:
    app = RemoteApp(name="op", title="OP", protocol="oidc", issuer="https://op.example.org")
    config = load_settings(
        {"PUBLIC_URL": "https://site.example.org", "TOKEN_KEYS": KEY, "PROVIDERS": [app.to_dict()]}
    )
    assert isinstance(config, AuthkitSettings)
    assert config.providers == (app,)
    assert config.token_keys == (KEY,)
    assert config.after_login == "/"


def test_load_settings_accepts_paths_and_dotted_hooks(tmp_path: Path) -> None:
    config = load_settings(
        {
            "PUBLIC_URL": "https://site.example.org",
            "TOKEN_KEYS": [KEY],
            "ACCOUNTS_STORE": tmp_path / "accounts.db",
            "ON_SIGN_IN": "tests.adapters.django_site.remember",
            "USER_MAPPING": "tests.adapters.django_site:email_mapping",
        }
    )
    from tests.adapters.django_site import email_mapping, remember

    assert config.on_sign_in is remember
    assert config.user_mapping is email_mapping


@pytest.mark.parametrize(
    ("values", "code", "key"),
    [
        ([], "config.invalid_value", "AUTHKIT"),
        ({"TOKEN_KEYS": [KEY]}, "config.missing_key", "AUTHKIT['PUBLIC_URL']"),
        (
            {"PUBLIC_URL": "https://x.org", "TOKEN_KEYS": 5},
            "config.invalid_value",
            "AUTHKIT['TOKEN_KEYS']",
        ),
        (
            {"PUBLIC_URL": "https://x.org", "TOKEN_KEYS": [KEY], "PROVIDERS": ["op"]},
            "config.invalid_value",
            "AUTHKIT['PROVIDERS'][0]",
        ),
        (
            {"PUBLIC_URL": "https://x.org", "TOKEN_KEYS": [KEY], "GROUPS": {"OP": ["staff"]}},
            "config.invalid_value",
            "AUTHKIT['GROUPS'].OP",
        ),
    ],
)
def test_load_settings_refuses(values: Any, code: str, key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(values)
    assert caught.value.code == code
    assert caught.value.key == key


# --- the documented project -------------------------------------------------------------------


def test_the_documented_project_passes_the_checks(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "adapters" / "django.md").read_text()
    package = tmp_path / "mysite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("settings", "urls", "views"):
        section = page.split(f"### {name}.py", 1)[1]
        code = re.search(r"```python\n(.*?)```", section, re.S)
        assert code is not None
        (package / f"{name}.py").write_text(code[1])
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "a-long-random-value-for-this-test-only-0123456789",
        "CAMPUS_CLIENT_SECRET": "campus-secret",
        "AUTHKIT_TOKEN_KEY": KEY,
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings", "mysite.settings",
         "--pythonpath", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
