"""Framework-neutral request and response types and the shared route handlers."""

__all__: list[str] = []
