"""Personal access tokens for scripts and command-line clients (Opal's model).

:class:`PersonalAccessTokens` creates tokens (the secret is shown once; only a hash is kept in
the accounts store), lists, revokes and renews them, and verifies presented tokens in constant
time with a typed reason on failure. See ``docs/personal-access-tokens.md``.
"""

from authkit.tokens._pat import (
    OPAL_TOKEN_SCOPES,
    CreatedToken,
    PersonalAccessToken,
    PersonalAccessTokenPolicy,
    PersonalAccessTokens,
    TokenPrincipal,
    TokenStatus,
)

__all__ = [
    "OPAL_TOKEN_SCOPES",
    "CreatedToken",
    "PersonalAccessToken",
    "PersonalAccessTokenPolicy",
    "PersonalAccessTokens",
    "TokenPrincipal",
    "TokenStatus",
]
