"""examples/saml_federation.py runs and prints the discovery list, settings and mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saml_federation.py"


def test_saml_federation_example() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    listed = [
        line.split()[0]
        for line in out.split("Identity providers of the federation:")[1]
        .split("\n\n")[0]
        .strip()
        .splitlines()
    ]
    assert listed == ["Alpha", "Beta", "Gamma"]  # three IdPs, sorted; the SPs are not listed
    assert "idp.singleSignOnService.url: https://login.beta-institute.example/sso" in out
    assert "scopes: beta.example" in out
    assert "refresh the metadata at: 2026-01-15T18:00:00+00:00" in out
    assert "email: grace@beta.example" in out
    assert "external id: 6c1f7a0e-beta-persistent" in out
    assert "affiliations: faculty@beta.example, member@beta.example" in out
    assert "saml.mapping_missing_attribute" in out
    assert "Did you mean urn:oid:0.9.2342.19200300.100.1.3 (mail)?" in out
