"""OAuth 2.0 and OpenID Connect client: sans-IO requests, callbacks, token validation."""

__all__: list[str] = []
