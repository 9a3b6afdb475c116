"""Runs examples/check_invenio_cfg.py on examples/invenio.cfg and checks what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPT = EXAMPLES / "check_invenio_cfg.py"

SERVER_ENVIRONMENT = {
    "INVENIO_SECRET_KEY": "Zr8LqP2mXv7kT4nW9sYb3dF6hJ1cG5aQ0eUiO",
    "INVENIO_SECURITY_PASSWORD_SALT": "pW7nKd2xQ9sLm4vB8cZt",
    "INVENIO_SECURITY_CONFIRM_SALT": "cF3hJ8rT6yN1wQ5eXk2p",
    "INVENIO_SECURITY_RESET_SALT": "rM9bV4gH7jD2sL6aZq8u",
    "INVENIO_SECURITY_LOGIN_SALT": "lT5nW1xC8kP3yR7fGd4e",
    "INVENIO_SECURITY_CHANGE_SALT": "hQ2mZ6vB9sJ4tN8wLc1k",
    "INVENIO_SECURITY_REMEMBER_SALT": "bY7dK3pX5rF9gM2hVn6s",
    "KEYCLOAK_CLIENT_SECRET": "kc-secret-93ab",
    "ORCID_CLIENT_SECRET": "orcid-secret-71cd",
}


def run(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INVENIO_", "KEYCLOAK_", "ORCID_", "SITE_", "REDIS_"))
    }
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_example_with_the_server_environment() -> None:
    result = run(SERVER_ENVIRONMENT)
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "invenio.cfg: 2 findings, 1 errors"
    assert lines[1].split() == [
        "error",
        "local_login.registration_without_local_login",
        "[SECURITY_REGISTERABLE]",
    ]
    assert lines[2].strip().startswith("fix: set SECURITY_REGISTERABLE = False")
    assert lines[3].split() == [
        "warning",
        "auto_redirect.several_providers",
        "[OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN]",
    ]
    assert lines[5] == (
        "auto-redirect: False (2 providers are listed on the login page (keycloak, orcid))"
    )
    assert lines[6:] == [
        "after the fixes: 0 errors or warnings",
        "auto-redirect: True, to 'keycloak'",
    ]


def test_example_without_secrets_reports_the_placeholders() -> None:
    result = run({})
    assert result.returncode == 1, result.stderr
    after = result.stdout.split("after the fixes: ", 1)[1].splitlines()
    assert after[0] == "9 errors or warnings"
    reported = [line.split()[1:] for line in after[1:-1]]
    assert ["secrets.placeholder", "[SECRET_KEY]"] in reported
    assert [
        "remote_apps.placeholder_credentials",
        "[KEYCLOAK_APP_CREDENTIALS.consumer_secret]",
    ] in reported
    assert [
        "remote_apps.missing_credentials",
        "[ORCID_APP_CREDENTIALS.consumer_secret]",
    ] in reported
