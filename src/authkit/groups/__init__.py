"""Group resolution and identity needs."""

__all__: list[str] = []
