"""Configuration: remote apps (providers) as data, settings helpers, registry and checks."""

from authkit.config._hooks import HookRef, hook_name, resolve_hook
from authkit.config._remote_app import Hooks, RemoteApp, SignupOptions

__all__ = [
    "HookRef",
    "Hooks",
    "RemoteApp",
    "SignupOptions",
    "hook_name",
    "resolve_hook",
]
