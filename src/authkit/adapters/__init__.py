"""Framework adapters (WSGI, Flask, Django, Starlette), each behind its extra."""

__all__: list[str] = []
