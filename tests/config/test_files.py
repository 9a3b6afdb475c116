"""Reading configuration files without executing them (config/_files.py)."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from authkit.config import LoadedConfig, load_config_file, load_invenio_remote_apps
from authkit.errors import ConfigurationError
from authkit.providers import orcid
from authkit.providers.keycloak import KeycloakSettingsHelper

REALISTIC_CFG = '''\
"""InvenioRDM settings: the authentication section of a real site."""

import os
from datetime import timedelta

from invenio_i18n import lazy_gettext as _
from invenio_oauthclient.contrib import orcid
from invenio_oauthclient.contrib.keycloak import KeycloakSettingsHelper
from invenio_oauthclient.views.client import auto_redirect_login

SECRET_KEY = os.environ.get("INVENIO_SECRET_KEY", "CHANGE_ME")
SITE_HOSTNAME = os.getenv("SITE_HOSTNAME", "localhost")
SITE_UI_URL = f"https://{SITE_HOSTNAME}"
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

SECURITY_PASSWORD_SALT = os.environ.get("INVENIO_SECURITY_PASSWORD_SALT", "CHANGE_ME")
for _purpose in ("CONFIRM", "RESET", "LOGIN", "CHANGE", "REMEMBER"):
    pass  # a loop: not evaluated, and binds no setting
SECURITY_CONFIRM_SALT = os.environ.get("INVENIO_SECURITY_CONFIRM_SALT", "CHANGE_ME")
SECURITY_RESET_SALT = os.environ.get("INVENIO_SECURITY_RESET_SALT", "CHANGE_ME")
SECURITY_LOGIN_SALT = os.environ.get("INVENIO_SECURITY_LOGIN_SALT", "CHANGE_ME")
SECURITY_CHANGE_SALT = os.environ.get("INVENIO_SECURITY_CHANGE_SALT", "CHANGE_ME")
SECURITY_REMEMBER_SALT = os.environ.get("INVENIO_SECURITY_REMEMBER_SALT", "CHANGE_ME")

ACCOUNTS_LOCAL_LOGIN_ENABLED = False
SECURITY_REGISTERABLE = False
SECURITY_RECOVERABLE = False
SECURITY_CHANGEABLE = False

_helper = KeycloakSettingsHelper(
    title=_("Example University"),
    description="Single sign-on",
    base_url="https://sso.example.org",
    realm="staff",
    app_key="KEYCLOAK_APP_CREDENTIALS",
    legacy_url_path=False,
)
OAUTHCLIENT_KEYCLOAK_REALM_URL = _helper.realm_url
OAUTHCLIENT_KEYCLOAK_USER_INFO_URL = _helper.user_info_url
OAUTHCLIENT_KEYCLOAK_AUD = "repository"

keycloak_remote_app = _helper.remote_app
keycloak_remote_app["title"] = "My institute"

OAUTHCLIENT_REMOTE_APPS = dict(keycloak=keycloak_remote_app)
OAUTHCLIENT_REMOTE_APPS["orcid"] = orcid.REMOTE_APP
OAUTHCLIENT_REMOTE_APPS["orcid"]["title"] = "ORCID iD"

KEYCLOAK_APP_CREDENTIALS = {
    "consumer_key": os.environ.get("KEYCLOAK_CLIENT_ID", "repository"),
    "consumer_secret": os.environ["KEYCLOAK_CLIENT_SECRET"],
}
ORCID_APP_CREDENTIALS = dict(
    consumer_key=os.environ.get("ORCID_CLIENT_ID"),
    consumer_secret=os.environ.get("ORCID_CLIENT_SECRET"),
)

OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN = True
ACCOUNTS_LOGIN_VIEW_FUNCTION = auto_redirect_login
'''

ENVIRON = {
    "INVENIO_SECRET_KEY": "vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN",
    "SITE_HOSTNAME": "repository.example.org",
    "KEYCLOAK_CLIENT_SECRET": "kc-secret-93ab",
    "ORCID_CLIENT_ID": "APP-1234",
    "ORCID_CLIENT_SECRET": "orcid-secret-71cd",
    "INVENIO_SECURITY_PASSWORD_SALT": "pW7nKd2xQ9sLm4vB8cZt",
    "INVENIO_SECURITY_CONFIRM_SALT": "cF3hJ8rT6yN1wQ5eXk2p",
    "INVENIO_SECURITY_RESET_SALT": "rM9bV4gH7jD2sL6aZq8u",
    "INVENIO_SECURITY_LOGIN_SALT": "lT5nW1xC8kP3yR7fGd4e",
    "INVENIO_SECURITY_CHANGE_SALT": "hQ2mZ6vB9sJ4tN8wLc1k",
    "INVENIO_SECURITY_REMEMBER_SALT": "bY7dK3pX5rF9gM2hVn6s",
}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def unevaluated(loaded: LoadedConfig) -> list[tuple[int | None, str | None]]:
    return [(f.line, f.key) for f in loaded.findings if f.code == "config.unevaluated"]


# --- JSON and TOML -------------------------------------------------------------------------------


def test_json_file(tmp_path: Path) -> None:
    settings = {
        "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
        "SECURITY_REGISTERABLE": True,
        "PERMANENT_SESSION_LIFETIME": 3600,
        "OAUTHCLIENT_REMOTE_APPS": {"orcid": orcid.REMOTE_APP},
    }
    loaded = load_config_file(write(tmp_path, "site.json", json.dumps(settings)))
    assert loaded.values == settings
    assert loaded.findings == []
    assert loaded.unevaluated == frozenset()
    codes = [f.code for f in loaded.check()]
    assert "local_login.registration_without_local_login" in codes
    assert "remote_apps.missing_credentials" in codes


def test_toml_file(tmp_path: Path) -> None:
    text = """\
SECRET_KEY = "short"
ACCOUNTS_LOCAL_LOGIN_ENABLED = false
PERMANENT_SESSION_LIFETIME = 86400

[OAUTHCLIENT_REMOTE_APPS.github]
title = "GitHub"
params = { base_url = "https://api.github.com/", app_key = "GITHUB_APP_CREDENTIALS", \
access_token_url = "https://github.com/login/oauth/access_token", \
authorize_url = "https://github.com/login/oauth/authorize" }

[GITHUB_APP_CREDENTIALS]
consumer_key = "Iv1.0123456789abcdef"
consumer_secret = "0123456789abcdef0123456789abcdef01234567"
"""
    loaded = load_config_file(write(tmp_path, "site.toml", text))
    assert loaded.values["PERMANENT_SESSION_LIFETIME"] == 86400
    apps = load_invenio_remote_apps(loaded.values, environ={})
    assert apps["github"].client_id == "Iv1.0123456789abcdef"
    findings = {f.code: f for f in loaded.check()}
    assert findings["secrets.too_short"].key == "SECRET_KEY"
    assert "remote_apps.missing_credentials" not in findings


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("site.json", "[1, 2]", "not an object"),
        ("site.json", "{'single': 'quotes'}", "invalid JSON at line 1"),
        ("site.toml", "KEY = ", "invalid TOML"),
        ("invenio.cfg", "SECRET_KEY = 'unterminated", "invalid Python at line 1"),
        ("invenio.cfg", b"SECRET_KEY = '\xff\xfe'", "invalid Python"),
        ("site.json", b'{"a": "\xff"}', "not UTF-8"),
        ("invenio.cfg", "X = 1\x00", "null bytes"),
    ],
)
def test_unreadable_file_raises(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(ConfigurationError) as caught:
        load_config_file(path)
    assert caught.value.code == "config.unreadable"
    assert caught.value.key == str(path)
    assert reason in str(caught.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config_file(tmp_path / "absent.cfg")
    assert caught.value.code == "config.unreadable"
    assert "No such file" in str(caught.value)


def test_oversized_file_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.cfg", "# " + "x" * (2 * 1024 * 1024))
    with pytest.raises(ConfigurationError) as caught:
        load_config_file(path)
    assert caught.value.code == "config.unreadable"
    assert "larger than" in str(caught.value)


# --- a realistic invenio.cfg ---------------------------------------------------------------------


def test_realistic_invenio_cfg_is_read_like_invenio_would(tmp_path: Path) -> None:
    loaded = load_config_file(write(tmp_path, "invenio.cfg", REALISTIC_CFG), environ=ENVIRON)
    loop_line = REALISTIC_CFG.splitlines().index(
        'for _purpose in ("CONFIRM", "RESET", "LOGIN", "CHANGE", "REMEMBER"):'
    )
    assert unevaluated(loaded) == [(loop_line + 1, "_purpose")]
    assert loaded.unevaluated == frozenset()
    values = loaded.values
    assert values["SECRET_KEY"] == ENVIRON["INVENIO_SECRET_KEY"]
    assert values["SITE_UI_URL"] == "https://repository.example.org"
    assert values["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    expected_helper = KeycloakSettingsHelper(
        title="Example University",
        description="Single sign-on",
        base_url="https://sso.example.org",
        realm="staff",
        app_key="KEYCLOAK_APP_CREDENTIALS",
        legacy_url_path=False,
    )
    assert values["OAUTHCLIENT_KEYCLOAK_REALM_URL"] == expected_helper.realm_url
    assert values["OAUTHCLIENT_KEYCLOAK_USER_INFO_URL"] == expected_helper.user_info_url
    assert values["OAUTHCLIENT_REMOTE_APPS"]["keycloak"] == {
        **expected_helper.remote_app,
        "title": "My institute",
    }
    assert values["OAUTHCLIENT_REMOTE_APPS"]["orcid"] == {**orcid.REMOTE_APP, "title": "ORCID iD"}
    assert values["KEYCLOAK_APP_CREDENTIALS"] == {
        "consumer_key": "repository",
        "consumer_secret": "kc-secret-93ab",
    }
    assert values["ACCOUNTS_LOGIN_VIEW_FUNCTION"] == (
        "invenio_oauthclient.views.client:auto_redirect_login"
    )
    # Lower-case names are not settings (Flask reads upper-case names only).
    assert "keycloak_remote_app" not in values
    assert "_helper" not in values
    # The file edited its copy of the preset, not authkit's.
    assert orcid.REMOTE_APP["title"] == "ORCID"

    apps = load_invenio_remote_apps(values, environ={})
    assert apps["keycloak"].client_secret == "kc-secret-93ab"
    assert apps["keycloak"].audience == "repository"
    assert apps["orcid"].client_id == "APP-1234"
    assert [f.code for f in loaded.check()] == [
        "config.unevaluated",
        "auto_redirect.several_providers",
    ]


def test_environment_defaults_apply_when_variables_are_absent(tmp_path: Path) -> None:
    environ = {"KEYCLOAK_CLIENT_SECRET": "kc-secret-93ab"}
    loaded = load_config_file(write(tmp_path, "invenio.cfg", REALISTIC_CFG), environ=environ)
    assert loaded.values["SECRET_KEY"] == "CHANGE_ME"
    assert loaded.values["SITE_UI_URL"] == "https://localhost"
    assert loaded.values["ORCID_APP_CREDENTIALS"] == {
        "consumer_key": None,
        "consumer_secret": None,
    }
    found = {(f.code, f.key) for f in loaded.check()}
    assert ("secrets.placeholder", "SECRET_KEY") in found
    assert ("remote_apps.missing_credentials", "ORCID_APP_CREDENTIALS.consumer_key") in found


def test_the_process_environment_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path, "invenio.cfg", 'import os\nTOKEN = os.environ.get("AUTHKIT_T_VAR", "-")\n'
    )
    monkeypatch.setenv("AUTHKIT_T_VAR", "from the process")
    assert load_config_file(path).values == {"TOKEN": "from the process"}
    monkeypatch.delenv("AUTHKIT_T_VAR")
    assert load_config_file(path).values == {"TOKEN": "-"}


def test_a_required_environment_variable_that_is_missing(tmp_path: Path) -> None:
    loaded = load_config_file(write(tmp_path, "invenio.cfg", REALISTIC_CFG), environ={})
    finding = next(f for f in loaded.findings if f.code == "config.env_missing")
    assert (finding.severity, finding.key, finding.line) == (
        "warning",
        "KEYCLOAK_APP_CREDENTIALS",
        REALISTIC_CFG.splitlines().index("KEYCLOAK_APP_CREDENTIALS = {") + 1,
    )
    assert "KEYCLOAK_CLIENT_SECRET" in finding.message
    assert "KEYCLOAK_APP_CREDENTIALS" in loaded.unevaluated
    # Unknown, not missing: the credentials check does not claim they are absent.
    assert ("remote_apps.missing_credentials", "KEYCLOAK_APP_CREDENTIALS") not in {
        (f.code, f.key) for f in loaded.check()
    }


def test_invenio_environment_variables_override_settings(tmp_path: Path) -> None:
    path = write(tmp_path, "invenio.cfg", 'SECRET_KEY = "CHANGE_ME"\nX = open("f")\n')
    environ = {
        "INVENIO_SECRET_KEY": "vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN",
        "INVENIO_ACCOUNTS_LOCAL_LOGIN_ENABLED": "False",
        "INVENIO_X": "{'a': 1}",
        "INVENIO_": "ignored",
    }
    loaded = load_config_file(path, environ=environ, env_prefix="INVENIO_")
    assert loaded.values == {
        "SECRET_KEY": "vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN",
        "ACCOUNTS_LOCAL_LOGIN_ENABLED": False,
        "X": {"a": 1},
    }
    assert loaded.unevaluated == frozenset()
    assert load_config_file(path, environ=environ).values == {"SECRET_KEY": "CHANGE_ME"}


# --- what is evaluated ---------------------------------------------------------------------------


def test_supported_expressions(tmp_path: Path) -> None:
    text = '''\
import os
import datetime
from invenio_oauthclient.contrib import github, cern_openid
from my_site.handlers import account_info as info

def _(text):
    """Identity, for translation extraction."""
    return text

A, B = 1, 2
C: int = A + B
C += 10
NEG = -C
LIFETIME = datetime.timedelta(days=2) * 2
ENV = "prod" if os.environ.get("ENV", "PROD").lower().startswith("prod") else "dev"
if ENV == "prod":
    DEBUG = False
elif ENV == "test":
    DEBUG = None
else:
    DEBUG = True
APPS = {"github": github.REMOTE_APP, **{"cern": cern_openid.REMOTE_APP}}
APPS["github"]["title"] = _("GitHub.com")
LIST = ["a"]
LIST.append("b")
LIST += ["c"]
MERGED = {"a": 1} | {"b": 2}
URL = "https://{}/{path}".format("example.org", path="x")
PERCENT = "%s-%d" % ("a", 3)
SLICE = "abcdef"[1:3]
JOINED = ",".join(sorted({"b", "a"}))
TUPLE = tuple(LIST)
HANDLER = info
FLAGS = [not DEBUG, 1 < 2 <= 2, "a" in "abc", None is None]
del A
'''
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    assert loaded.findings == []
    values = loaded.values
    assert {k: values[k] for k in ("B", "C", "NEG", "LIFETIME", "ENV", "DEBUG")} == {
        "B": 2,
        "C": 13,
        "NEG": -13,
        "LIFETIME": timedelta(days=4),
        "ENV": "prod",
        "DEBUG": False,
    }
    assert "A" not in values
    assert sorted(values["APPS"]) == ["cern", "github"]
    assert values["APPS"]["github"]["title"] == "GitHub.com"
    assert values["LIST"] == ["a", "b", "c"]
    assert values["TUPLE"] == ("a", "b", "c")
    assert values["MERGED"] == {"a": 1, "b": 2}
    assert values["URL"] == "https://example.org/x"
    assert values["PERCENT"] == "a-3"
    assert values["SLICE"] == "bc"
    assert values["JOINED"] == "a,b"
    assert values["HANDLER"] == "my_site.handlers:account_info"
    assert values["FLAGS"] == [True, True, True, True]


@pytest.mark.parametrize(
    ("invenio_module", "authkit_module", "preset"),
    [
        ("orcid", "orcid", "REMOTE_APP"),
        ("orcid", "orcid", "REMOTE_SANDBOX_APP"),
        ("orcid", "orcid", "REMOTE_REST_APP"),
        ("github", "github", "REMOTE_APP"),
        ("globus", "globus", "REMOTE_APP"),
        ("cern_openid", "cern", "REMOTE_APP"),
        ("openaire_aai", "openaire_aai", "REMOTE_SANDBOX_APP"),
        ("gitlab", "gitlab", "REMOTE_APP"),
    ],
)
def test_invenio_contrib_presets_map_to_authkit_presets(
    tmp_path: Path, invenio_module: str, authkit_module: str, preset: str
) -> None:
    text = (
        f"from invenio_oauthclient.contrib import {invenio_module}\n"
        f"from invenio_oauthclient.contrib.{invenio_module} import {preset} as DIRECT\n"
        f"APPS = {{'x': {invenio_module}.{preset}}}\n"
    )
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    expected = getattr(importlib.import_module(f"authkit.providers.{authkit_module}"), preset)
    assert loaded.findings == []
    assert loaded.values == {"APPS": {"x": expected}, "DIRECT": expected}


def test_invenio_legacy_cern_module_has_no_equivalent(tmp_path: Path) -> None:
    text = "from invenio_oauthclient.contrib import cern\nAPPS = {'cern': cern.REMOTE_APP}\n"
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    assert loaded.values == {}
    (finding,) = loaded.findings
    assert (finding.line, finding.key) == (2, "APPS")
    assert "invenio_oauthclient.contrib.cern" in finding.message


def test_authkit_presets_are_importable_under_their_own_name(tmp_path: Path) -> None:
    text = "from authkit.providers import orcid\nAPPS = {'orcid': orcid.REMOTE_SANDBOX_APP}\n"
    loaded = load_config_file(write(tmp_path, "site.py", text), environ={})
    assert loaded.values == {"APPS": {"orcid": orcid.REMOTE_SANDBOX_APP}}


def test_a_settings_helper_refusing_its_arguments_is_an_error_finding(tmp_path: Path) -> None:
    text = """\
from invenio_oauthclient.contrib.settings import OAuthSettingsHelper
helper = OAuthSettingsHelper(title="X", description="d", base_url=123, app_key="X_CREDS")
OAUTHCLIENT_REMOTE_APPS = {"x": helper.remote_app}
"""
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    first, second = loaded.findings
    assert (first.severity, first.code, first.line, first.key) == (
        "error",
        "config.invalid_value",
        2,
        "helper",
    )
    assert "base_url" in first.message
    assert (second.code, second.line, second.key) == (
        "config.unevaluated",
        3,
        "OAUTHCLIENT_REMOTE_APPS",
    )
    assert "line 2" in second.fix
    assert loaded.unevaluated == {"OAUTHCLIENT_REMOTE_APPS"}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("from invenio_oauthclient.contrib.orcid import NOT_A_PRESET\n", "no equivalent"),
        ("from invenio_app_rdm.config import APP_THEME\n", "not read"),
        ("from local_settings import *\n", "import *"),
        ("X = undefined_name\n", "'undefined_name' is not defined"),
        ("import os\nX = os.path.join('a', 'b')\n", "os.path"),
        ("X = {'a': 1}\nX.clear()\n", "dict.clear()"),
        ("from site_sso import helper\nX = helper.remote_app\n", "reads an object of site_sso"),
        ("import site_config\nX = site_config.SECRET\n", "site_config.SECRET"),
        ("from site_sso import make\nX = make()\n", "calling site_sso:make"),
        ("X = [1]\nX[5] = 2\n", "cannot set item"),
        ("if undefined:\n    X = 1\nelse:\n    X = 2\n", "'undefined' is not defined"),
    ],
)
def test_what_is_not_understood_is_reported(tmp_path: Path, source: str, reason: str) -> None:
    loaded = load_config_file(write(tmp_path, "invenio.cfg", source), environ={})
    finding = loaded.findings[-1]
    assert (finding.severity, finding.code) == ("warning", "config.unevaluated")
    assert reason in finding.message
    assert finding.line is not None
    assert "X" not in loaded.values


def test_a_failed_call_does_not_forget_the_module_it_called(tmp_path: Path) -> None:
    text = "import os\nos.system('true')\nX = os.environ.get('AUTHKIT_T_UNSET', 'kept')\n"
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    assert loaded.values == {"X": "kept"}
    assert unevaluated(loaded) == [(2, None)]


# --- hostile files -------------------------------------------------------------------------------

HOSTILE_CFG = """\
import os
import subprocess
__import__("os").system("touch {marker}1")
os.system("touch {marker}2")
LOG = open("{marker}3", "w")
SECRET_KEY = (lambda: "x" * 40)()
HOOK = lambda: None
SUBCLASSES = ().__class__.__base__.__subclasses__()
NAMES = [c.__name__ for c in ().__class__.__mro__]
exec("open('{marker}4', 'w')")
RESULT = eval("1 + 1")
subprocess.run(["touch", "{marker}5"])
def setup():
    os.system("touch {marker}6")
SETUP = setup()
class Config:
    X = os.system("touch {marker}7")
with open("{marker}8", "w") as handle:
    CONTENT = handle.write("x")
for i in range(3):
    LOOP = i
try:
    import ctypes
except ImportError:
    pass
BIG = "a" * 10**9
POW = 9**9**9
FORMAT = "{{0.__class__}}".format(())
WIDE = f"{{'x':>999999999}}"
WALRUS = (y := 3)
GETATTR = getattr(os, "system")("touch {marker}9")
ENVIRON = os.environ.copy()
AFTER = "still read"
"""


def test_hostile_file_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, "invenio.cfg", HOSTILE_CFG.format(marker=marker))
    loaded = load_config_file(path, environ={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invenio.cfg"]
    assert loaded.values == {"AFTER": "still read"}
    assert unevaluated(loaded) == [
        (3, None),
        (4, None),
        (5, "LOG"),
        (6, "SECRET_KEY"),
        (7, "HOOK"),
        (8, "SUBCLASSES"),
        (9, "NAMES"),
        (10, None),
        (11, "RESULT"),
        (12, None),
        (13, "setup"),
        (15, "SETUP"),
        (16, "Config"),
        (18, "handle, CONTENT"),
        (20, "i, LOOP"),
        (22, "ctypes"),
        (26, "BIG"),
        (27, "POW"),
        (28, "FORMAT"),
        (29, "WIDE"),
        (30, "WALRUS, y"),
        (31, "GETATTR"),
        (32, "ENVIRON"),
    ]
    assert all(f.severity == "warning" for f in loaded.findings)
    messages = {f.line: f.message for f in loaded.findings}
    assert "a lambda" in messages[6]
    assert "'open' is not defined" in messages[5]
    assert "'__import__' is not defined" in messages[3]
    # Settings the file defines but that were not evaluated are unknown, not absent:
    assert "SECRET_KEY" in loaded.unevaluated
    assert "secrets.secret_key_missing" not in {f.code for f in loaded.check()}


def test_deeply_nested_expression_is_refused_not_crashing(tmp_path: Path) -> None:
    depth = 5000
    text = "X = " + "[" * depth + "]" * depth + "\nY = 1\n"
    path = write(tmp_path, "invenio.cfg", text)
    try:
        loaded = load_config_file(path, environ={})
    except ConfigurationError:  # the parser itself may refuse it: then as unreadable
        with pytest.raises(ConfigurationError) as caught:
            load_config_file(path, environ={})
        assert caught.value.code == "config.unreadable"
        return
    assert loaded.values.get("Y") == 1


def test_values_refer_to_nothing_executable(tmp_path: Path) -> None:
    text = "import os\nfrom datetime import timedelta\nMODULE = os\nFUNCTION = timedelta\n"
    loaded = load_config_file(write(tmp_path, "invenio.cfg", text), environ={})
    assert loaded.values == {}
    assert unevaluated(loaded) == [(3, "MODULE"), (4, "FUNCTION")]
