"""Check the sign-in settings of an invenio.cfg, then check the corrected settings.

Run it as ``python examples/check_invenio_cfg.py [FILE]`` (default: ``invenio.cfg`` next to this
script). The file is read without being executed; secrets come from the environment, as on the
server (``INVENIO_SECRET_KEY``, ``INVENIO_SECURITY_*_SALT``, ``KEYCLOAK_CLIENT_SECRET``,
``ORCID_CLIENT_SECRET``): without them, the placeholders the file falls back to are reported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from authkit.config import (
    ProviderRegistry,
    check_config,
    load_config_file,
    load_invenio_remote_apps,
    should_auto_redirect,
)


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("invenio.cfg")
    loaded = load_config_file(path)
    findings = loaded.check()
    errors = sum(f.severity == "error" for f in findings)
    print(f"{path.name}: {len(findings)} findings, {errors} errors")
    for finding in findings:
        print(f"  {finding.severity:<7} {finding.code} [{finding.key}]")
        print(f"          fix: {finding.fix}")

    # The decision the login page makes at run time, with the reason. (Listing providers
    # needs no credentials: the findings above already report missing ones.)
    apps = load_invenio_remote_apps(loaded.values, environ={}, require_credentials=False)
    registry = ProviderRegistry(apps.values())
    decision = should_auto_redirect(loaded.values, registry)
    print(f"auto-redirect: {decision.redirect} ({decision.reason})")

    # Apply the fixes: close local registration, keep ORCID for linking accounts only.
    fixed = dict(loaded.values)
    fixed["SECURITY_REGISTERABLE"] = False
    remote_apps = {name: dict(app) for name, app in fixed["OAUTHCLIENT_REMOTE_APPS"].items()}
    remote_apps["orcid"]["link_only"] = True
    fixed["OAUTHCLIENT_REMOTE_APPS"] = remote_apps
    remaining = [f for f in check_config(fixed) if f.severity != "info"]
    print(f"after the fixes: {len(remaining)} errors or warnings")
    for finding in remaining:
        print(f"  {finding.severity:<7} {finding.code} [{finding.key}]")
    apps = load_invenio_remote_apps(fixed, environ={}, require_credentials=False)
    registry = ProviderRegistry(apps.values())
    decision = should_auto_redirect(fixed, registry)
    print(f"auto-redirect: {decision.redirect}, to {decision.provider!r}")
    return 1 if remaining else 0


if __name__ == "__main__":
    sys.exit(main())
