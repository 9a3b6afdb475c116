"""Configuration: remote apps (providers) as data, settings helpers, registry and checks."""

from authkit.config._checks import AutoRedirectDecision, Finding, check_config, should_auto_redirect
from authkit.config._files import LoadedConfig, load_config_file
from authkit.config._hooks import HookRef, hook_name, resolve_hook
from authkit.config._invenio import (
    HideWhen,
    dump_invenio_remote_apps,
    from_invenio,
    load_invenio_credentials,
    load_invenio_remote_apps,
    to_invenio,
)
from authkit.config._opal import from_opal, to_opal
from authkit.config._registry import ProviderRegistry
from authkit.config._remote_app import Hooks, RemoteApp, SignupOptions
from authkit.config._settings_helper import OAuthSettingsHelper

__all__ = [
    "AutoRedirectDecision",
    "Finding",
    "HideWhen",
    "HookRef",
    "Hooks",
    "LoadedConfig",
    "OAuthSettingsHelper",
    "ProviderRegistry",
    "RemoteApp",
    "SignupOptions",
    "check_config",
    "dump_invenio_remote_apps",
    "from_invenio",
    "from_opal",
    "hook_name",
    "load_config_file",
    "load_invenio_credentials",
    "load_invenio_remote_apps",
    "resolve_hook",
    "should_auto_redirect",
    "to_invenio",
    "to_opal",
]
