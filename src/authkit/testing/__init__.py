"""Test harness: a real OpenID provider and a real SAML IdP on loopback, pytest fixtures."""

__all__: list[str] = []
