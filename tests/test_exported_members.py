"""Pin the public surface of every package: a name appears or disappears only on purpose."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "authkit": ["__version__"],
    "authkit.errors": [
        "AuthkitError",
        "AuthorizationError",
        "ConfigurationError",
        "DuplicateProviderError",
        "HandlerImportError",
        "InvalidSettingError",
        "InvalidTokenError",
        "MissingCredentialsError",
        "MissingSettingError",
        "ProviderError",
        "ProviderHTTPError",
        "ProviderResponseError",
        "ProviderTimeoutError",
        "ProviderUnreachableError",
        "RedirectNotAllowedError",
        "RequestError",
        "SAMLValidationError",
        "StateError",
        "UnknownProviderError",
        "UnknownSettingError",
        "VerificationError",
    ],
    "authkit.config": [
        "HookRef",
        "Hooks",
        "RemoteApp",
        "SignupOptions",
        "hook_name",
        "resolve_hook",
    ],
    "authkit.transport": [
        "HTTPRequest",
        "HTTPResponse",
        "MockTransport",
        "RequestsTransport",
        "Timeout",
        "Transport",
    ],
    "authkit.stores": ["MemoryStateStore", "StateStore"],
    "authkit.providers": [],
    "authkit.oauth": [],
    "authkit.saml": [],
    "authkit.accounts": [],
    "authkit.groups": [],
    "authkit.tokens": [],
    "authkit.web": [],
    "authkit.adapters": [],
    "authkit.testing": [],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names_are_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC[module_name])
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ lists {name!r} but it is missing"


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_exported_error_has_a_code(module_name: str) -> None:
    from authkit.errors import AuthkitError

    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) and issubclass(obj, AuthkitError):
            assert obj.default_code
            assert "." in obj.default_code
