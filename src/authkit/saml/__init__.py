"""SAML 2.0 service provider."""

__all__: list[str] = []
