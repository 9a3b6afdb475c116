"""Run examples/saml_idp_standalone.py and check what it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saml_idp_standalone.py"


def test_standalone_saml_idp_example_signs_in_and_prints_the_attributes() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    issuer = re.search(r"^IdP entityID: (http://127\.0\.0\.1:\d+/metadata)$", out, re.MULTILINE)
    assert issuer is not None
    assert "posted to: http://127.0.0.1:8000/saml/acs with RelayState /dashboard" in out
    assert "NameID: alice@example.org\n" in out
    assert "NameID format: urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\n" in out
    assert "assertion signed: True\n" in out
    attributes = out.split("attributes:\n", 1)[1].rsplit("IdP stopped:", 1)[0].splitlines()
    assert attributes == [
        "  mail (urn:oid:0.9.2342.19200300.100.1.3): alice@example.org",
        "  givenName (urn:oid:2.5.4.42): Alice",
        "  sn (urn:oid:2.5.4.4): Liddell",
        "  eduPersonPrincipalName (urn:oid:1.3.6.1.4.1.5923.1.1.1.6): alice@example.org",
        "  eduPersonEntitlement (urn:oid:1.3.6.1.4.1.5923.1.1.1.7): "
        "urn:mace:example.org:entitlement:library",
        "  isMemberOf (urn:oid:1.3.6.1.4.1.5923.1.5.1.1): staff, readers",
    ]
    assert out.rstrip().endswith("IdP stopped: True")
