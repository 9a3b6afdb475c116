"""examples/saml_sp.py runs the SP flow offline and prints the NameID and attributes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saml_sp.py"


def test_saml_sp_example() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        "redirect the browser to: "
        "https://idp.example.org/idp/profile/SAML2/Redirect/SSO?SAMLRequest=..." in out
    )
    assert "NameID: 6c1f7a0e-2b5d-4d7a-9a43-0d9f2c1e8b11" in out
    assert "NameID format: urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" in out
    assert "issuer: https://idp.example.org/idp/shibboleth" in out
    assert "attribute urn:oid:0.9.2342.19200300.100.1.3: ada@example.org" in out
    assert "attribute urn:oid:2.5.4.4: Lovelace" in out
    assert "second use refused: saml.replayed" in out
    assert "SP metadata starts with: <?xml version='1.0' encoding='UTF-8'?>" in out
