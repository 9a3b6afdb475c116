"""Contrib providers: one module per provider (settings presets, info handlers)."""

__all__: list[str] = []
