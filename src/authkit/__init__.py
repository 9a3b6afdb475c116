"""authkit: provider-agnostic authentication primitives.

OAuth 2.0 / OpenID Connect and SAML 2.0 sign-in, accounts and groups, with a framework-free
core and thin adapters. See the documentation for the layers and the public API of each package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("authkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
