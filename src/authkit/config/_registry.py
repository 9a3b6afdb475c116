"""The provider registry: the site's remote apps, with Opal's administration operations.

A :class:`ProviderRegistry` holds :class:`RemoteApp` values by name and offers what Opal's
"Identity providers" page offers: add (optionally disabled), edit (the name cannot change),
remove, enable / disable, duplicate, the list of sign-in buttons for a public URL, and the
callback URL to register at the provider. Every adapter of a site shares one registry, so every
operation takes a lock; the values themselves are immutable and an edit replaces them.

Persistence is explicit: :meth:`ProviderRegistry.save` writes the registry as JSON (atomically,
mode 0600) and :meth:`ProviderRegistry.load` reads it back. A change does not write the file by
itself; call ``save`` after the changes you want kept. This keeps file I/O out of the operations
and lets a batch of edits reach the disk as one atomic replacement.

The JSON document is ``{"version": 1, "providers": [<RemoteApp.to_dict()>, ...]}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from authkit.config._remote_app import RemoteApp
from authkit.config._validators import check_url
from authkit.errors import (
    ConfigurationError,
    DuplicateProviderError,
    InvalidSettingError,
    MissingSettingError,
    UnknownProviderError,
    UnknownSettingError,
)

__all__ = ["CALLBACK_PATH", "REGISTRY_FORMAT_VERSION", "ProviderRegistry"]

#: The path, under the site's public base URL, where a provider sends the person back.
CALLBACK_PATH = "/oauth/authorized/{name}/"

#: Version of the JSON document written by :meth:`ProviderRegistry.save`.
REGISTRY_FORMAT_VERSION = 1

_FILE_KEYS = ("version", "providers")


class ProviderRegistry:
    """The remote apps of a site, by name, safe to share between threads.

    Names are unique, and also unique ignoring case: ``GitHub`` and ``github`` would give
    callback URLs that differ only by case, which some proxies and stores fold together.

    Args:
        providers: Remote apps to start with, added in order.

    Raises:
        DuplicateProviderError: Two of ``providers`` have the same name.

    Example:
        >>> from authkit.config import ProviderRegistry, RemoteApp
        >>> registry = ProviderRegistry()
        >>> registry.add(RemoteApp(name="github", title="GitHub"), enabled=False).enabled
        False

    .. versionadded:: 0.1
    """

    def __init__(self, providers: Iterable[RemoteApp] = ()) -> None:
        self._lock = threading.RLock()
        self._apps: dict[str, RemoteApp] = {}
        for app in providers:
            self.add(app)

    # --- reading ---------------------------------------------------------------------------------

    def get(self, name: str) -> RemoteApp:
        """The provider registered as ``name``.

        Raises:
            UnknownProviderError: No such provider; the message lists the known names.
        """
        with self._lock:
            app = self._apps.get(name)
            if app is None:
                raise self._unknown(name)
            return app

    def names(self) -> list[str]:
        """The provider names, in the order they were added."""
        with self._lock:
            return list(self._apps)

    def __iter__(self) -> Iterator[RemoteApp]:
        with self._lock:
            return iter(list(self._apps.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._apps)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._apps

    def __repr__(self) -> str:
        return f"ProviderRegistry({self.names()!r})"

    # --- Opal's administration operations --------------------------------------------------------

    def add(self, app: RemoteApp, *, enabled: bool | None = None) -> RemoteApp:
        """Register a new provider.

        Args:
            app: The provider. Its name was validated when it was built.
            enabled: ``False`` registers it disabled (as Opal creates new providers), ``True``
                enabled; ``None`` keeps ``app.enabled``.

        Returns:
            The provider as registered.

        Raises:
            DuplicateProviderError: A provider with this name (ignoring case) exists.
            InvalidSettingError: ``app`` is not a :class:`RemoteApp`.
        """
        if not isinstance(app, RemoteApp):
            raise InvalidSettingError(
                f"expected a RemoteApp, got {type(app).__name__}", key="ProviderRegistry.add"
            )
        if enabled is not None:
            app = app.evolve(enabled=enabled)
        with self._lock:
            self._check_free(app.name)
            self._apps[app.name] = app
        return app

    def update(self, name: str, app: RemoteApp | None = None, /, **changes: Any) -> RemoteApp:
        """Replace provider ``name`` with ``app``, or with a copy carrying ``changes``.

        The name cannot change (Opal's rule: it is in callback URLs, permissions and accounts
        already linked). To rename, :meth:`duplicate` under the new name, then :meth:`remove`.

        Args:
            name: The provider to edit.
            app: The new value; its ``name`` must be ``name``. When omitted, the registered
                value is the base.
            **changes: Field values to change (validated as at construction).

        Returns:
            The provider as now registered.

        Raises:
            UnknownProviderError: No provider ``name``.
            InvalidSettingError: The name would change (code ``registry.rename_forbidden``),
                or a change is invalid.
        """
        with self._lock:
            current = self.get(name)
            new = app if app is not None else current
            if changes:
                new = new.evolve(**changes)
            if new.name != name:
                raise InvalidSettingError(
                    f"the name of provider {name!r} cannot change (to {new.name!r})",
                    key=f"ProviderRegistry[{name!r}].name",
                    code="registry.rename_forbidden",
                    hint=f"duplicate({name!r}, {new.name!r}) then remove({name!r})",
                )
            self._apps[name] = new
            return new

    def remove(self, name: str) -> RemoteApp:
        """Unregister provider ``name`` and return it.

        Accounts linked through it are not touched.

        Raises:
            UnknownProviderError: No provider ``name``.
        """
        with self._lock:
            app = self.get(name)
            del self._apps[name]
            return app

    def enable(self, name: str) -> RemoteApp:
        """Enable provider ``name`` (its sign-in button is shown) and return it.

        Raises:
            UnknownProviderError: No provider ``name``.
        """
        return self.update(name, enabled=True)

    def disable(self, name: str) -> RemoteApp:
        """Disable provider ``name`` (no sign-in through it at all) and return it.

        Raises:
            UnknownProviderError: No provider ``name``.
        """
        return self.update(name, enabled=False)

    def duplicate(
        self,
        name: str,
        new_name: str,
        *,
        title: str | None = None,
        label: str | None = None,
        enabled: bool | None = None,
    ) -> RemoteApp:
        """Register a copy of provider ``name`` under ``new_name``; every other field is kept.

        Opal's form creates the copy disabled; pass ``enabled=False`` for the same.

        Args:
            name: The provider to copy.
            new_name: The copy's name.
            title: A new title for the copy.
            label: A new label for the copy.
            enabled: The copy's ``enabled``; ``None`` keeps the original's.

        Returns:
            The copy as registered.

        Raises:
            UnknownProviderError: No provider ``name``.
            DuplicateProviderError: ``new_name`` is taken.
            InvalidSettingError: ``new_name`` is not a valid provider name.
        """
        changes: dict[str, Any] = {"name": new_name}
        if title is not None:
            changes["title"] = title
        if label is not None:
            changes["label"] = label
        if enabled is not None:
            changes["enabled"] = enabled
        with self._lock:
            copy = self.get(name).evolve(**changes)
            self._check_free(copy.name)
            self._apps[copy.name] = copy
            return copy

    def visible(self, public_url: str) -> list[RemoteApp]:
        """The providers to show as sign-in buttons on a site served at ``public_url``.

        A provider is listed when it is enabled, not ``link_only``, not hidden
        (:meth:`RemoteApp.is_hidden`, which calls ``hide_when``), and its own ``public_url``,
        when set, matches the site's: same scheme, host and port (default ports made explicit,
        case-insensitive), and the site's path equals the provider's path or lies under it,
        trailing slashes ignored. ``https://example.org/opal`` matches a site at
        ``https://example.org/opal/`` and ``https://example.org/opal/admin``, not one at
        ``https://example.org/opalx`` or ``http://example.org/opal``.

        Args:
            public_url: The public base URL of the site that renders the sign-in page.

        Returns:
            The providers, in registration order.

        Raises:
            InvalidSettingError: ``public_url`` is not an absolute http(s) URL.
            HandlerImportError: A ``hide_when`` string does not import.
        """
        site = _url_parts(public_url, "public_url")
        with self._lock:
            candidates = list(self._apps.values())
        # hide_when hooks run outside the lock: they may be slow or use the registry.
        return [
            app
            for app in candidates
            if app.enabled
            and not app.link_only
            and (
                app.public_url is None
                or _matches(_url_parts(app.public_url, f"RemoteApp({app.name!r}).public_url"), site)
            )
            and not app.is_hidden()
        ]

    def callback_url(self, name: str, public_base: str | None = None) -> str:
        """The callback (redirect) URL to register at provider ``name``.

        It is ``<public base>/oauth/authorized/<name>/``.

        Args:
            name: The provider.
            public_base: The site's public base URL (``https://example.org`` or
                ``https://example.org/app/``). When omitted, the provider's ``public_url``.

        Raises:
            UnknownProviderError: No provider ``name``.
            MissingSettingError: No ``public_base`` given and the provider has no ``public_url``.
            InvalidSettingError: ``public_base`` is not an absolute http(s) URL without query or
                fragment.
        """
        app = self.get(name)
        base = public_base if public_base is not None else app.public_url
        if base is None:
            raise MissingSettingError(
                "no public base URL was given and the provider has no public_url",
                key=f"RemoteApp({name!r}).public_url",
            )
        _url_parts(base, "public_base")
        return base.rstrip("/") + CALLBACK_PATH.format(name=name)

    # --- persistence -----------------------------------------------------------------------------

    def to_json(self, *, secrets: bool = True) -> str:
        """The registry as a JSON document (see the module documentation).

        Args:
            secrets: Include client secrets and private keys.

        Raises:
            HandlerImportError: A hook is a callable with no importable name (a lambda).
            InvalidSettingError: ``extra`` holds a value JSON cannot represent.
        """
        with self._lock:
            apps = list(self._apps.values())
        document = {
            "version": REGISTRY_FORMAT_VERSION,
            "providers": [app.to_dict(secrets=secrets) for app in apps],
        }
        try:
            return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise InvalidSettingError(
                f"the registry cannot be written as JSON: {exc}",
                key="ProviderRegistry",
                code="registry.not_serialisable",
            ) from exc

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "<json>") -> ProviderRegistry:
        """Build a registry from :meth:`to_json`'s document.

        Args:
            text: The JSON document.
            source: Where it comes from, for error messages.

        Raises:
            InvalidSettingError: Not JSON, or not the registry's shape (code
                ``registry.malformed``), or an unsupported ``version``.
            UnknownSettingError: An unknown key, at the top or in a provider.
            DuplicateProviderError: Two providers with the same name.
            ConfigurationError: Any other invalid provider value; the message names ``source``.
        """
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidSettingError(
                f"not a JSON document: {exc}", key=source, code="registry.malformed"
            ) from exc
        if not isinstance(document, dict):
            raise InvalidSettingError(
                f"expected a JSON object with 'version' and 'providers', got "
                f"{type(document).__name__}",
                key=source,
                code="registry.malformed",
            )
        for key in document:
            if key not in _FILE_KEYS:
                raise UnknownSettingError(
                    f"unknown setting {key!r}; known: {', '.join(_FILE_KEYS)}", key=source
                )
        if document.get("version") != REGISTRY_FORMAT_VERSION:
            raise InvalidSettingError(
                f"unsupported registry version {document.get('version')!r}; expected "
                f"{REGISTRY_FORMAT_VERSION}",
                key=f"{source}: version",
                code="registry.unsupported_version",
            )
        providers = document.get("providers")
        if not isinstance(providers, list):
            raise InvalidSettingError(
                f"expected a list of providers, got {providers!r}"[:120],
                key=f"{source}: providers",
                code="registry.malformed",
            )
        registry = cls()
        for index, data in enumerate(providers):
            try:
                registry.add(RemoteApp.from_dict(data))
            except ConfigurationError as exc:
                raise _located(exc, f"{source}: providers[{index}]") from exc
        return registry

    def save(self, path: str | os.PathLike[str], *, secrets: bool = True) -> None:
        """Write the registry to ``path`` as JSON, atomically, readable by the owner only.

        The document goes to a temporary file in the same directory, which then replaces
        ``path`` (``os.replace``): readers see the old file or the new one, never half of one.

        Args:
            path: The file to write.
            secrets: Include client secrets and private keys.

        Raises:
            ConfigurationError: The file cannot be written (code ``registry.unwritable``).
            HandlerImportError: A hook cannot be named (nothing is written).
        """
        text = self.to_json(secrets=secrets)
        target = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(target))
        try:
            fd, temporary = tempfile.mkstemp(
                prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
            )
        except OSError as exc:
            raise _unwritable(target, exc) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise _unwritable(target, exc) from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProviderRegistry:
        """Read a registry written by :meth:`save`.

        Raises:
            ConfigurationError: The file cannot be read (code ``registry.unreadable``), or
                any error of :meth:`from_json`, naming the file.
        """
        source = os.fspath(path)
        try:
            with open(source, "rb") as handle:
                text = handle.read()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the provider registry: {exc.strerror or exc}",
                key=source,
                code="registry.unreadable",
            ) from exc
        return cls.from_json(text, source=source)

    # --- internals -------------------------------------------------------------------------------

    def _check_free(self, name: str) -> None:
        folded = name.casefold()
        for existing in self._apps:
            if existing.casefold() == folded:
                same = "" if existing == name else f" as {existing!r} (names ignore case)"
                raise DuplicateProviderError(
                    f"a provider named {name!r} is already registered{same}",
                    key=f"ProviderRegistry[{name!r}]",
                    hint="choose another name, or update() the existing provider",
                )

    def _unknown(self, name: object) -> UnknownProviderError:
        known = ", ".join(repr(n) for n in self._apps) or "none"
        return UnknownProviderError(f"no provider named {name!r}; registered providers: {known}")


def _url_parts(url: Any, key: str) -> tuple[str, str, int, str]:
    """Scheme, host and port (default made explicit) and path without a trailing slash."""
    expected = check_url(url)
    parts = urlsplit(url) if expected is None else None
    if parts is None or parts.query or parts.fragment:
        raise InvalidSettingError(
            f"expected an absolute http(s) URL without query or fragment, got {url!r}", key=key
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidSettingError(f"the port of {url!r} is not valid", key=key) from exc
    scheme = parts.scheme.lower()
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def _matches(provider: tuple[str, str, int, str], site: tuple[str, str, int, str]) -> bool:
    if provider[:3] != site[:3]:
        return False
    return site[3] == provider[3] or site[3].startswith(provider[3] + "/")


def _located(exc: ConfigurationError, where: str) -> ConfigurationError:
    """The same error, its message prefixed with where in a file it happened."""
    located = type(exc)(f"{where}: {exc.message}", code=exc.code, hint=exc.hint)
    located.key = exc.key
    return located


def _unwritable(target: str, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot write the provider registry: {exc.strerror or exc}",
        key=target,
        code="registry.unwritable",
    )
