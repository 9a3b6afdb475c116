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
        "ConflictError",
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
        "StoreError",
        "StoreUnavailableError",
        "UnknownProviderError",
        "UnknownSettingError",
        "VerificationError",
    ],
    "authkit.config": [
        "AutoRedirectDecision",
        "Finding",
        "HideWhen",
        "HookRef",
        "Hooks",
        "LoadedConfig",
        "OAuthSettingsHelper",
        "ProviderRegistry",
        "RemoteApp",
        "SignupOptions",
        "check_config",
        "dump_invenio_remote_apps",
        "from_invenio",
        "from_opal",
        "hook_name",
        "load_config_file",
        "load_invenio_credentials",
        "load_invenio_remote_apps",
        "resolve_hook",
        "should_auto_redirect",
        "to_invenio",
        "to_opal",
    ],
    "authkit.transport": [
        "HTTPRequest",
        "HTTPResponse",
        "MockTransport",
        "RequestsTransport",
        "Timeout",
        "Transport",
    ],
    "authkit.stores": [
        "AccountsStore",
        "AccountsTransaction",
        "Identity",
        "MemoryAccountsStore",
        "MemoryStateStore",
        "PersonalAccessTokenRecord",
        "RemoteAccount",
        "RemoteToken",
        "StateStore",
        "User",
        "new_user_id",
    ],
    "authkit.providers": [
        "GitHubOAuthSettingsHelper",
        "GitlabOAuthSettingsHelper",
        "GlobusOAuthSettingsHelper",
        "KeycloakSettingsHelper",
        "OIDCSettingsHelper",
        "ORCIDOAuthSettingsHelper",
        "OpenAIREAuthSettingsHelper",
        "PROFILE_FETCHERS",
        "github_profile",
        "gitlab_profile",
        "oauth_client",
        "orcid_profile",
        "remote_app_from_discovery",
        "validate_discovery_document",
    ],
    "authkit.oauth": [
        "AuthorizationCallback",
        "AuthorizationRedirect",
        "IDTokenValidator",
        "InvalidTokenError",
        "JWK",
        "JWKSCache",
        "KeySet",
        "OAuthClient",
        "PendingAuthorization",
        "ProfileFetcher",
        "ProviderMetadata",
        "SignInResult",
        "TokenSet",
        "apply_provider_metadata",
        "authorization_code_request",
        "begin_authorization",
        "code_challenge",
        "complete_authorization",
        "discovery_url_for",
        "end_session_url",
        "fetch_provider_metadata",
        "new_code_verifier",
        "parse_provider_metadata",
        "parse_token_response",
        "refresh_token_request",
        "revocation_request",
    ],
    "authkit.saml": [],
    "authkit.accounts": [],
    "authkit.groups": [],
    "authkit.tokens": [],
    "authkit.web": [],
    "authkit.adapters": [],
    "authkit.testing": [
        "Fault",
        "FaultInjector",
        "OIDCClient",
        "OIDCProvider",
        "OIDCUser",
        "RecordedRequest",
    ],
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
