"""The WSGI example app: OIDC and SAML sign-in in Chromium."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import requests
from tests.browser.adapter_kit import oidc_then_saml, providers, register, serve_wsgi
from tests.web.site_kit import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wsgi_app.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("wsgi_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wsgi_example_signs_in_with_oidc_and_saml(page: Any) -> None:
    example = load_example()
    port = free_port()
    site = f"http://localhost:{port}"
    with providers() as (oidc, idp):
        app = example.create_app(
            public_url=site,
            oidc_issuer=oidc.issuer,
            client_id="site",
            client_secret="site-secret",
            saml_idp_metadata=requests.get(idp.metadata_url, timeout=10).content,
        )
        with serve_wsgi(app, port):
            register(oidc, idp, site, oidc_name="oidc", saml_name="idp")
            oidc_then_saml(page, site, name="wsgi", signed_in="Signed in as")
