"""Personal access tokens."""

__all__: list[str] = []
