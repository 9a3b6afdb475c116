"""pytest fixtures for testing sign-in against a real OpenID provider on loopback.

Installed as the ``authkit`` pytest plugin (entry point ``pytest11``), so the fixtures are
available in any test suite that installs authkit:

- ``oidc_provider``: a running standard :class:`~authkit.testing.OIDCProvider` with the demo
  user ``alice`` (auto-approved) and the demo client; stopped after the test.
- ``oidc_provider_factory``: a function making running providers with any options (omitted
  ``users`` and ``clients`` default to the demo ones); all are stopped after the test.
- ``saml_idp``: a running :class:`~authkit.testing.SAMLIdentityProvider` with the demo user
  ``alice`` (auto-approved) and the demo SP; stopped after the test.
- ``saml_idp_factory``: a function making running SAML IdPs with any options (omitted ``users``
  and ``relying_parties`` default to the demo ones); all are stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authkit.testing._demo import (
    DEMO_CLIENT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_REDIRECT_URI,
    DEMO_USER,
)
from authkit.testing._oidc_provider import OIDCProvider
from authkit.testing._saml_idp import SAMLIdentityProvider
from authkit.testing._saml_idp_model import (
    DEMO_SAML_PASSWORD,
    DEMO_SAML_RELYING_PARTY,
    DEMO_SAML_USER,
    DEMO_SP_ACS_URL,
    DEMO_SP_ENTITY_ID,
    DEMO_SP_SLO_URL,
)

__all__ = [
    "DEMO_CLIENT",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "DEMO_REDIRECT_URI",
    "DEMO_SAML_PASSWORD",
    "DEMO_SAML_RELYING_PARTY",
    "DEMO_SAML_USER",
    "DEMO_SP_ACS_URL",
    "DEMO_SP_ENTITY_ID",
    "DEMO_SP_SLO_URL",
    "DEMO_USER",
    "oidc_provider",
    "oidc_provider_factory",
    "saml_idp",
    "saml_idp_factory",
]

ProviderFactory = Callable[..., OIDCProvider]


@pytest.fixture
def oidc_provider_factory() -> Iterator[ProviderFactory]:
    """Make running :class:`OIDCProvider` instances; every one is stopped at teardown.

    Call it with :class:`OIDCProvider`'s keyword options. ``users`` and ``clients`` default to
    the demo user and client; when ``users`` is omitted, ``auto_login`` defaults to ``"alice"``.
    """
    started: list[OIDCProvider] = []

    def make(**options: Any) -> OIDCProvider:
        if "users" not in options:
            options["users"] = [DEMO_USER]
            options.setdefault("auto_login", DEMO_USER.sub)
        options.setdefault("clients", [DEMO_CLIENT])
        provider = OIDCProvider(**options)
        started.append(provider)
        return provider.start()

    try:
        yield make
    finally:
        for provider in reversed(started):
            provider.stop()


@pytest.fixture
def oidc_provider(oidc_provider_factory: ProviderFactory) -> OIDCProvider:
    """A running standard OpenID provider with user ``alice`` and the demo client.

    ``alice`` is approved automatically; call ``oidc_provider.login_as(None)`` to get the HTML
    login form instead (password :data:`DEMO_PASSWORD`).
    """
    return oidc_provider_factory()


IdPFactory = Callable[..., SAMLIdentityProvider]


@pytest.fixture
def saml_idp_factory() -> Iterator[IdPFactory]:
    """Make running :class:`SAMLIdentityProvider` instances; every one is stopped at teardown.

    Call it with :class:`SAMLIdentityProvider`'s keyword options. ``users`` and
    ``relying_parties`` default to the demo user and SP; when ``users`` is omitted,
    ``auto_login`` defaults to ``"alice"``.
    """
    started: list[SAMLIdentityProvider] = []

    def make(**options: Any) -> SAMLIdentityProvider:
        if "users" not in options:
            options["users"] = [DEMO_SAML_USER]
            options.setdefault("auto_login", DEMO_SAML_USER.username)
        options.setdefault("relying_parties", [DEMO_SAML_RELYING_PARTY])
        idp = SAMLIdentityProvider(**options)
        started.append(idp)
        return idp.start()

    try:
        yield make
    finally:
        for idp in reversed(started):
            idp.stop()


@pytest.fixture
def saml_idp(saml_idp_factory: IdPFactory) -> SAMLIdentityProvider:
    """A running SAML IdP with user ``alice`` and the demo SP (:data:`DEMO_SP_ENTITY_ID`).

    ``alice`` is approved automatically; call ``saml_idp.login_as(None)`` to get the HTML login
    form instead (password :data:`DEMO_SAML_PASSWORD`). Register your own SP with
    ``saml_idp.add_relying_party(SAMLRelyingParty.from_metadata(sp.metadata()))``.
    """
    return saml_idp_factory()
