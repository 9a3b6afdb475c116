"""The ``authkit`` command: check-config and providers (cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from authkit.cli import main

SECRETS = """\
SECRET_KEY = "vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN"
SECURITY_PASSWORD_SALT = "pW7nKd2xQ9sLm4vB8cZt"
SECURITY_CONFIRM_SALT = "cF3hJ8rT6yN1wQ5eXk2p"
SECURITY_RESET_SALT = "rM9bV4gH7jD2sL6aZq8u"
SECURITY_LOGIN_SALT = "lT5nW1xC8kP3yR7fGd4e"
SECURITY_CHANGE_SALT = "hQ2mZ6vB9sJ4tN8wLc1k"
SECURITY_REMEMBER_SALT = "bY7dK3pX5rF9gM2hVn6s"
PERMANENT_SESSION_LIFETIME = 28800
"""

#: External sign-in only, through Keycloak; nothing to report.
CLEAN_CFG = (
    SECRETS
    + """\
from invenio_oauthclient.contrib.keycloak import KeycloakSettingsHelper

ACCOUNTS_LOCAL_LOGIN_ENABLED = False
SECURITY_REGISTERABLE = False
SECURITY_RECOVERABLE = False
SECURITY_CHANGEABLE = False
SITE_UI_URL = "https://repository.example.org"

helper = KeycloakSettingsHelper(
    title="Example University", description="SSO", base_url="https://sso.example.org",
    realm="staff", legacy_url_path=False,
)
OAUTHCLIENT_REMOTE_APPS = {"keycloak": helper.remote_app}
KEYCLOAK_APP_CREDENTIALS = {"consumer_key": "repository", "consumer_secret": "9f8e7d6c5b4a"}
"""
)

#: Registration left open with local login off; ORCID without credentials; a lambda.
BROKEN_CFG = (
    SECRETS
    + """\
from invenio_oauthclient.contrib import orcid, github

ACCOUNTS_LOCAL_LOGIN_ENABLED = False
SESSION_COOKIE_SECURE = False
OAUTHCLIENT_REMOTE_APPS = dict(orcid=orcid.REMOTE_APP, github=github.REMOTE_APP)
OAUTHCLIENT_REMOTE_APPS["github"]["hide"] = True
GITHUB_APP_CREDENTIALS = dict(consumer_key="Iv1.abc", consumer_secret="0123456789abcdef")
SECURITY_RECOVERABLE = False
SECURITY_CHANGEABLE = False
USER_HOOK = lambda user: user
"""
)


@pytest.fixture
def clean_cfg(tmp_path: Path) -> Path:
    path = tmp_path / "clean.cfg"
    path.write_text(CLEAN_CFG, encoding="utf-8")
    return path


@pytest.fixture
def broken_cfg(tmp_path: Path) -> Path:
    path = tmp_path / "invenio.cfg"
    path.write_text(BROKEN_CFG, encoding="utf-8")
    return path


# --- check-config --------------------------------------------------------------------------------


def test_check_config_clean_file_exits_0(
    clean_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(clean_cfg)]) == 0
    out = capsys.readouterr().out
    assert out == f"{clean_cfg}: 0 errors, 0 warnings, 0 notes\n"


def test_check_config_prints_findings_grouped_with_fixes(
    broken_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(broken_cfg)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"{broken_cfg}: 2 errors, 2 warnings, 0 notes"
    errors = lines.index("Errors (2)")
    warnings = lines.index("Warnings (2)")
    assert errors < warnings
    error_part = "\n".join(lines[errors:warnings])
    assert "local_login.registration_without_local_login  [SECURITY_REGISTERABLE]" in error_part
    assert "remote_apps.missing_credentials  [ORCID_APP_CREDENTIALS]" in error_part
    assert "fix: set SECURITY_REGISTERABLE = False" in error_part
    warning_part = "\n".join(lines[warnings:])
    assert "config.unevaluated  [USER_HOOK]" in warning_part
    assert "line 18: USER_HOOK not evaluated" in warning_part
    assert "session.cookie_insecure  [SESSION_COOKIE_SECURE]" in warning_part
    assert max(len(line) for line in lines[1:]) <= 100  # wrapped; line 0 holds the path


def test_check_config_json(broken_cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--format", "json", str(broken_cfg)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["source"] == str(broken_cfg)
    assert document["summary"] == {"error": 2, "warning": 2, "info": 0}
    assert document["unevaluated"] == ["USER_HOOK"]
    by_code = {f["code"]: f for f in document["findings"]}
    assert by_code["config.unevaluated"]["line"] == 18
    assert by_code["remote_apps.missing_credentials"] == {
        "severity": "error",
        "code": "remote_apps.missing_credentials",
        "message": by_code["remote_apps.missing_credentials"]["message"],
        "fix": by_code["remote_apps.missing_credentials"]["fix"],
        "key": "ORCID_APP_CREDENTIALS",
        "line": None,
    }


def test_min_severity_hides_findings_but_not_the_exit_status(
    broken_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--min-severity", "error", str(broken_cfg)]) == 1
    out = capsys.readouterr().out
    assert "Errors (2)" in out
    assert "Warnings" not in out


def test_warnings_only_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.cfg"
    path.write_text(CLEAN_CFG + "SESSION_COOKIE_SECURE = False\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    assert "session.cookie_insecure" in capsys.readouterr().out


def test_public_url_option_is_used(clean_cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--public-url", "not-a-url", str(clean_cfg)]) == 1
    assert "remote_apps.public_url_invalid" in capsys.readouterr().out


def test_invenio_env_option_reads_invenio_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.cfg"
    path.write_text(CLEAN_CFG.replace("vJ4q9dXbT2mZp7LwR8sK3nYhF6gC1aUe5oQzB0iN", "CHANGE_ME"))
    assert main(["check-config", str(path)]) == 1
    assert "secrets.placeholder  [SECRET_KEY]" in capsys.readouterr().out
    monkeypatch.setenv("INVENIO_SECRET_KEY", "Zr8LqP2mXv7kT4nW9sYb3dF6hJ1cG5aQ0eUiO")
    assert main(["check-config", "--invenio-env", str(path)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("SECRET_KEY = ", "invalid Python at line 1"),
    ],
)
def test_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "invenio.cfg"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("authkit: error: ")
    assert message in captured.err


@pytest.mark.parametrize(
    "argv",
    [[], ["check-config"], ["no-such-command"], ["check-config", "--format", "xml", "f.cfg"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: authkit" in capsys.readouterr().err


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check-config" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("authkit ")


# --- providers -----------------------------------------------------------------------------------


def test_providers_lists_title_kind_listing_and_callback(
    broken_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["providers", "--public-url", "https://repo.example.org/", str(broken_cfg)])
    out = capsys.readouterr().out
    assert code == 1  # ORCID has no credentials
    lines = out.splitlines()
    assert lines[0] == f"{broken_cfg}: 2 providers (public URL https://repo.example.org/)"
    assert lines[2].split() == ["NAME", "TITLE", "KIND", "LISTED", "CALLBACK", "URL"]
    assert lines[3].split() == [
        "orcid",
        "ORCID",
        "orcid",
        "yes",
        "https://repo.example.org/oauth/authorized/orcid/",
    ]
    assert lines[4].split() == [
        "github",
        "GitHub",
        "github",
        "no:",
        "hidden",
        "https://repo.example.org/oauth/authorized/github/",
    ]
    assert "Problems (1)" in out
    assert "remote_apps.missing_credentials  [ORCID_APP_CREDENTIALS]" in out


def test_providers_json_uses_site_ui_url(
    clean_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["providers", "--format", "json", str(clean_cfg)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["public_url"] == "https://repository.example.org"
    assert document["providers"] == [
        {
            "name": "keycloak",
            "title": "Example University",
            "kind": "keycloak",
            "protocol": "oidc",
            "listed": "yes",
            "callback_url": "https://repository.example.org/oauth/authorized/keycloak/",
        }
    ]
    assert document["findings"] == []


def test_providers_without_public_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.json"
    path.write_text(
        json.dumps(
            {
                "OAUTHCLIENT_REMOTE_APPS": {
                    "github": {
                        "title": "GitHub",
                        "params": {
                            "base_url": "https://api.github.com/",
                            "app_key": "GITHUB_APP_CREDENTIALS",
                        },
                    }
                },
                "GITHUB_APP_CREDENTIALS": {"consumer_key": "a", "consumer_secret": "b"},
            }
        )
    )
    assert main(["providers", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 provider (no public URL known)" in out
    assert "<public URL>/oauth/authorized/github/" in out
    assert "Pass --public-url" in out


def test_providers_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.json"
    path.write_text("[]")
    assert main(["providers", str(path)]) == 2
    assert "not an object" in capsys.readouterr().err


# --- as a real command ---------------------------------------------------------------------------


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENIO_")}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)


def test_python_dash_m_runs_the_command(broken_cfg: Path, clean_cfg: Path) -> None:
    broken = _run([sys.executable, "-m", "authkit.cli", "check-config", str(broken_cfg)])
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith(f"{broken_cfg}: 2 errors")
    clean = _run([sys.executable, "-m", "authkit.cli", "check-config", str(clean_cfg)])
    assert (clean.returncode, clean.stderr) == (0, "")
    missing = _run([sys.executable, "-m", "authkit.cli", "check-config", str(clean_cfg) + "x"])
    assert missing.returncode == 2
    assert "No such file" in missing.stderr


def test_installed_authkit_script(broken_cfg: Path) -> None:
    script = Path(sys.executable).parent / "authkit"
    if not script.exists():
        pytest.skip(f"no installed authkit script next to {sys.executable}")
    result = _run([str(script), "providers", "--format", "json", str(broken_cfg)])
    assert result.returncode == 1, result.stderr
    names = [p["name"] for p in json.loads(result.stdout)["providers"]]
    assert names == ["orcid", "github"]
