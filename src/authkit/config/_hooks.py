"""Handler hooks: callables, or ``"module:attr"`` strings resolved lazily.

Invenio configurations name handlers as import strings (``"invenio_oauthclient.contrib.github:
account_info"``). authkit keeps such strings as given, so configuration round-trips unchanged, and
imports them only when the hook is first needed. A string that does not resolve raises
:class:`~authkit.errors.HandlerImportError` naming the string and the setting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

from authkit.errors import HandlerImportError

__all__ = ["HookRef", "hook_name", "resolve_hook"]

#: A hook as configured: a callable, or an import string ``"package.module:attribute"``.
HookRef = str | Callable[..., Any]


def resolve_hook(ref: HookRef, *, key: str) -> Callable[..., Any]:
    """Return the callable ``ref`` stands for.

    Args:
        ref: A callable (returned as is) or an import string ``"module:attr"`` (``attr`` may be
            dotted: ``"module:Class.method"``).
        key: The setting the hook comes from, for the error message.

    Raises:
        HandlerImportError: The string is malformed, the module or attribute does not exist, or
            the attribute is not callable.
    """
    if callable(ref):
        return ref
    return _import(ref, key)


@cache
def _import(ref: str, key: str) -> Callable[..., Any]:
    module_name, sep, attr_path = ref.partition(":")
    if not sep or not module_name or not attr_path:
        raise HandlerImportError(
            f"handler {ref!r} is not of the form 'package.module:attribute'", key=key
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerImportError(
            f"handler {ref!r} cannot be imported: no module named {module_name!r}",
            key=key,
            hint="install the package that provides it or correct the string",
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise HandlerImportError(
                f"handler {ref!r} cannot be imported: {module_name!r} has no attribute {part!r}",
                key=key,
            ) from exc
    if not callable(target):
        raise HandlerImportError(f"handler {ref!r} is not callable", key=key)
    result: Callable[..., Any] = target
    return result


def hook_name(ref: HookRef) -> str:
    """The import string of a hook, for serialisation.

    Raises:
        HandlerImportError: The callable has no importable name (a lambda or a local function).
    """
    if isinstance(ref, str):
        return ref
    module = getattr(ref, "__module__", None)
    qualname = getattr(ref, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise HandlerImportError(
            f"handler {ref!r} has no importable name and cannot be written to configuration",
            key="hooks",
            hint="use a module-level function or pass its 'module:attr' string",
        )
    return f"{module}:{qualname}"
