"""invenio-saml's ``SSO_SAML_IDPS``, read unchanged into one :class:`SAMLIdPConfig` per IdP.

invenio-saml (and flask-sso-saml before it) configures each IdP as a dictionary::

    SSO_SAML_IDPS = {
        "my-idp": {
            "title": "My University", "description": "...", "icon": "",
            "sp_cert_file": "./saml/sp.crt", "sp_key_file": "./saml/sp.key",
            "settings": {...python3-saml settings dict...},
            "settings_file_path": "./saml/idp.xml",   # IdP metadata (.xml) or settings (.json)
            "settings_url": "https://idp.example.org/metadata",
            "mappings": {"email": "...", "name": "...", "surname": "...", "external_id": "..."},
            "acs_handler": acs_handler_factory("my-idp"),
            "auto_confirm": True,
        }
    }

:func:`load_sso_saml_idps` builds the settings dict the way invenio-saml's
``_build_configuration`` does, in the same order: the IdP section of the metadata at
``settings_url`` (fetched through an authkit transport, and only when one is given), then the
``idp`` section of ``settings_file_path`` (IdP metadata when the name ends in ``.xml``, a
python3-saml settings JSON when it ends in ``.json``) — the file wins over the URL — then the SP
certificate and key read from ``sp_cert_file`` and ``sp_key_file``. Unlike invenio-saml, it does
not merge invenio-saml's own defaults (they include ``wantAssertionsSigned: False``):
:meth:`SAMLIdPConfig.to_settings` hands the dict to :meth:`SAMLSettings.from_dict
<authkit.saml.SAMLSettings.from_dict>`, whose defaults are the secure ones.

Reading files happens here, at configuration time, never inside protocol code.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from authkit.errors import (
    ConfigurationError,
    InvalidSettingError,
    MissingSettingError,
    SAMLValidationError,
    UnknownSettingError,
)
from authkit.saml._attributes import DEFAULT_ATTRIBUTE_REGISTRY, AttributeRegistry
from authkit.saml._idp_metadata import IdPMetadata, fetch_idp_metadata, parse_idp_metadata
from authkit.saml._mapping import AttributeMapping, MappedIdentity
from authkit.saml._settings import SAMLSettings
from authkit.transport import Timeout, Transport

if TYPE_CHECKING:
    from authkit.saml._response import SAMLAuthn

__all__ = [
    "INVENIO_IDP_KEYS",
    "SAMLIdPConfig",
    "load_sso_saml_idp",
    "load_sso_saml_idps",
]

#: The handler keys of an invenio-saml IdP entry, kept as given (callables or import strings).
HANDLER_KEYS = ("settings_handler", "login_handler", "acs_handler", "logout_handler", "sls_handler")

#: Every key an invenio-saml IdP entry may have.
INVENIO_IDP_KEYS = (
    "title",
    "description",
    "icon",
    "settings",
    "settings_file_path",
    "settings_url",
    "sp_cert_file",
    "sp_key_file",
    "mappings",
    "auto_confirm",
    *HANDLER_KEYS,
)


@attrs.frozen(kw_only=True)
class SAMLIdPConfig:
    """One IdP of ``SSO_SAML_IDPS``, with its settings dict resolved.

    Args:
        name: The IdP's key in ``SSO_SAML_IDPS`` (used in URLs and as username prefix).
        title: Label of the login button (defaults to ``name``).
        description: Description shown next to it.
        icon: Icon of the login button.
        settings: The python3-saml settings dict, after the metadata, the JSON settings file and
            the SP certificate and key files were merged in.
        mappings: invenio-saml's ``mappings`` as given.
        attribute_mapping: The :class:`~authkit.saml.AttributeMapping` built from ``mappings``.
        auto_confirm: Mark the e-mail of accounts created through this IdP as confirmed.
        handlers: The handlers that were configured (``acs_handler``…), as given.
        metadata: The IdP metadata read from ``settings_file_path`` (``.xml``) or
            ``settings_url``, when there was one (its scopes check scoped attributes).
        settings_file_path: As given.
        settings_url: As given.
        sp_cert_file: As given.
        sp_key_file: As given.
        metadata_pending: ``settings_url`` is set but was not fetched (no transport was given):
            call :meth:`resolve` before :meth:`to_settings`.
        raw: The configuration entry as given (for :meth:`resolve` and round-trips).
        base_dir: The directory relative file paths were resolved against.
    """

    name: str
    title: str
    description: str = ""
    icon: str = ""
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    mappings: Mapping[str, Any] | None = None
    attribute_mapping: AttributeMapping | None = None
    auto_confirm: bool = False
    handlers: Mapping[str, Any] = attrs.field(factory=dict)
    metadata: IdPMetadata | None = None
    settings_file_path: str | None = None
    settings_url: str | None = None
    sp_cert_file: str | None = None
    sp_key_file: str | None = None
    metadata_pending: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    base_dir: str | None = None

    def to_settings(self) -> SAMLSettings:
        """Build the :class:`~authkit.saml.SAMLSettings` of this IdP.

        Raises:
            MissingSettingError: ``settings_url`` was not fetched yet (``config.missing_key``).
            ConfigurationError: What :meth:`SAMLSettings.from_dict` raises, the key prefixed with
                ``SSO_SAML_IDPS.<name>.settings``.
        """
        if self.metadata_pending:
            raise MissingSettingError(
                "the IdP metadata at settings_url was not fetched",
                key=f"SSO_SAML_IDPS.{self.name}.settings_url",
                hint="call resolve(transport) (or pass transport= to load_sso_saml_idps) first",
            )
        try:
            return SAMLSettings.from_dict(self.settings)
        except ConfigurationError as exc:
            prefix = f"SSO_SAML_IDPS.{self.name}.settings"
            key = f"{prefix}.{exc.key}" if exc.key else prefix
            message = exc.message
            if exc.key and message.startswith(f"{exc.key}: "):
                message = message[len(exc.key) + 2 :]
            raise type(exc)(message, key=key, code=exc.code, hint=exc.hint) from exc

    def resolve(
        self,
        transport: Transport,
        *,
        now: datetime | None = None,
        timeout: Timeout | None = None,
    ) -> SAMLIdPConfig:
        """Fetch ``settings_url`` through ``transport`` and return the completed configuration.

        Raises:
            ProviderError: The metadata could not be fetched (``provider.timeout``…).
            InvalidSettingError: The metadata is invalid, expired or lacks the IdP; its ``code``
                is the metadata error's (``saml.metadata_expired``…).
        """
        return load_sso_saml_idp(
            self.name,
            self.raw,
            transport=transport,
            base_dir=self.base_dir,
            now=now,
            timeout=timeout,
            registry=(
                self.attribute_mapping.registry
                if self.attribute_mapping is not None
                else DEFAULT_ATTRIBUTE_REGISTRY
            ),
        )

    def map_attributes(
        self,
        attributes: Mapping[str, Sequence[str]],
        *,
        name_id: str | None = None,
        name_id_format: str | None = None,
    ) -> MappedIdentity:
        """Map an assertion's attributes with this IdP's ``mappings`` (and metadata scopes).

        Raises:
            MissingSettingError: The IdP has no ``mappings`` (``config.missing_key``).
            SAMLValidationError: ``saml.mapping_missing_attribute`` /
                ``saml.mapping_scope_mismatch``.
        """
        return self._mapping().map(
            attributes,
            name_id=name_id,
            name_id_format=name_id_format,
            scopes=self.metadata.scopes if self.metadata is not None else None,
        )

    def map_authn(self, authn: SAMLAuthn) -> MappedIdentity:
        """Map a validated :class:`~authkit.saml.SAMLAuthn` with this IdP's ``mappings``.

        Raises:
            MissingSettingError: The IdP has no ``mappings``.
            SAMLValidationError: ``saml.mapping_missing_attribute`` /
                ``saml.mapping_scope_mismatch``.
        """
        return self._mapping().map_authn(
            authn, scopes=self.metadata.scopes if self.metadata is not None else None
        )

    def _mapping(self) -> AttributeMapping:
        if self.attribute_mapping is None:
            raise MissingSettingError(
                "this IdP has no mappings", key=f"SSO_SAML_IDPS.{self.name}.mappings"
            )
        return self.attribute_mapping


def load_sso_saml_idps(
    idps: Mapping[str, Mapping[str, Any]],
    *,
    transport: Transport | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    timeout: Timeout | None = None,
    registry: AttributeRegistry = DEFAULT_ATTRIBUTE_REGISTRY,
) -> dict[str, SAMLIdPConfig]:
    """Read invenio-saml's ``SSO_SAML_IDPS`` into one :class:`SAMLIdPConfig` per IdP.

    Args:
        idps: The ``SSO_SAML_IDPS`` mapping, unchanged.
        transport: When given, each ``settings_url`` is fetched through it; otherwise such IdPs
            are returned with ``metadata_pending`` set.
        base_dir: Directory relative file paths are resolved against (default: the current
            directory, as invenio-saml does).
        now: The current time, for the metadata ``validUntil`` check (default: the clock).
        timeout: Timeouts for fetching ``settings_url``.
        registry: The attribute registry the mappings resolve names with.

    Raises:
        ConfigurationError: A subclass naming the key (``SSO_SAML_IDPS.<idp>.<key>``): unknown
            key (with the likely intended one), unreadable file, invalid JSON or metadata
            (carrying the metadata error's ``code``), missing mapping.
        ProviderError: ``settings_url`` could not be fetched.
    """
    if not isinstance(idps, Mapping):
        raise InvalidSettingError(f"expected a mapping, got {idps!r}", key="SSO_SAML_IDPS")
    return {
        name: load_sso_saml_idp(
            name,
            entry,
            transport=transport,
            base_dir=base_dir,
            now=now,
            timeout=timeout,
            registry=registry,
        )
        for name, entry in idps.items()
    }


def load_sso_saml_idp(
    name: str,
    entry: Mapping[str, Any],
    *,
    transport: Transport | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    timeout: Timeout | None = None,
    registry: AttributeRegistry = DEFAULT_ATTRIBUTE_REGISTRY,
) -> SAMLIdPConfig:
    """Read one ``SSO_SAML_IDPS`` entry; see :func:`load_sso_saml_idps`."""
    key = f"SSO_SAML_IDPS.{name}"
    if not isinstance(name, str) or not name:
        raise InvalidSettingError(f"an IdP name must be a non-empty string, got {name!r}", key=key)
    if not isinstance(entry, Mapping):
        raise InvalidSettingError(f"expected a mapping, got {type(entry).__name__}", key=key)
    for option in entry:
        if option not in INVENIO_IDP_KEYS:
            close = difflib.get_close_matches(str(option), INVENIO_IDP_KEYS, n=1)
            raise UnknownSettingError(
                f"unknown key {option!r}",
                key=f"{key}.{option}",
                hint=f"did you mean {close[0]!r}?" if close else None,
            )
    directory = Path(base_dir) if base_dir is not None else None

    settings_value = entry.get("settings") or {}
    if not isinstance(settings_value, Mapping):
        raise InvalidSettingError("expected a mapping", key=f"{key}.settings")
    settings = _plain(copy.deepcopy(dict(settings_value)))
    idp_section = settings.setdefault("idp", {})
    if not isinstance(idp_section, dict):
        raise InvalidSettingError("expected a mapping", key=f"{key}.settings.idp")
    configured_entity_id = idp_section.get("entityId") or None

    metadata: IdPMetadata | None = None
    pending = False
    settings_url = _optional_str(entry, "settings_url", key)
    if settings_url:
        if transport is None:
            pending = True
        else:
            try:
                metadata = fetch_idp_metadata(
                    settings_url,
                    transport,
                    entity_id=configured_entity_id,
                    now=now,
                    timeout=timeout,
                )
            except SAMLValidationError as exc:
                raise InvalidSettingError(
                    exc.message, key=f"{key}.settings_url", code=exc.code, hint=exc.hint
                ) from exc
            _merge_idp(idp_section, metadata.to_settings_dict())

    settings_file = _optional_str(entry, "settings_file_path", key)
    if settings_file:
        file_key = f"{key}.settings_file_path"
        if not settings_file.lower().endswith((".xml", ".json")):
            raise InvalidSettingError(
                f"expected a file ending in .xml (IdP metadata) or .json (settings), "
                f"got {settings_file!r}",
                key=file_key,
            )
        data = _read(settings_file, directory, key=file_key)
        if settings_file.lower().endswith(".xml"):
            try:
                metadata = parse_idp_metadata(data, entity_id=configured_entity_id, now=now)
            except SAMLValidationError as exc:
                raise InvalidSettingError(
                    exc.message, key=file_key, code=exc.code, hint=exc.hint
                ) from exc
            _merge_idp(idp_section, metadata.to_settings_dict())
        else:
            try:
                loaded = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidSettingError("the file is not valid JSON", key=file_key) from exc
            if not isinstance(loaded, Mapping) or not isinstance(loaded.get("idp"), Mapping):
                raise MissingSettingError(
                    "the JSON settings file has no 'idp' section", key=file_key
                )
            _merge_idp(idp_section, _plain(dict(loaded["idp"])))

    sp_section = settings.setdefault("sp", {})
    if not isinstance(sp_section, dict):
        raise InvalidSettingError("expected a mapping", key=f"{key}.settings.sp")
    sp_cert_file = _optional_str(entry, "sp_cert_file", key)
    if sp_cert_file:
        sp_section["x509cert"] = _read_text(sp_cert_file, directory, key=f"{key}.sp_cert_file")
    sp_key_file = _optional_str(entry, "sp_key_file", key)
    if sp_key_file:
        sp_section["privateKey"] = _read_text(sp_key_file, directory, key=f"{key}.sp_key_file")

    mappings = entry.get("mappings")
    attribute_mapping = None
    if mappings is not None:
        attribute_mapping = AttributeMapping.from_invenio(
            mappings, idp=name, key=f"{key}.mappings", registry=registry
        )

    auto_confirm = entry.get("auto_confirm", False)
    if not isinstance(auto_confirm, bool):
        raise InvalidSettingError(
            f"expected true or false, got {auto_confirm!r}", key=f"{key}.auto_confirm"
        )
    handlers: dict[str, Any] = {}
    for handler in HANDLER_KEYS:
        value = entry.get(handler)
        if value is None:
            continue
        if not isinstance(value, str) and not callable(value):
            raise InvalidSettingError(
                f"expected a callable or an import string, got {value!r}",
                key=f"{key}.{handler}",
            )
        handlers[handler] = value

    return SAMLIdPConfig(
        name=name,
        title=_optional_str(entry, "title", key) or name,
        description=_optional_str(entry, "description", key) or "",
        icon=_optional_str(entry, "icon", key) or "",
        settings=settings,
        mappings=dict(mappings) if isinstance(mappings, Mapping) else None,
        attribute_mapping=attribute_mapping,
        auto_confirm=auto_confirm,
        handlers=handlers,
        metadata=metadata,
        settings_file_path=settings_file,
        settings_url=settings_url,
        sp_cert_file=sp_cert_file,
        sp_key_file=sp_key_file,
        metadata_pending=pending,
        raw=dict(entry),
        base_dir=str(directory) if directory is not None else None,
    )


def _plain(value: Any) -> Any:
    """Mappings as dicts, recursively (configuration may use any Mapping)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _merge_idp(section: dict[str, Any], update: Mapping[str, Any]) -> None:
    """invenio-saml's ``settings["idp"].update(...)``, without contradicting certificates.

    A plain update would leave a stale ``x509certMulti`` next to a new ``x509cert`` (or the
    reverse); like python3-saml's ``merge_settings``, the older form is dropped.
    """
    if update.get("x509cert"):
        section.pop("x509certMulti", None)
    if update.get("x509certMulti"):
        section.pop("x509cert", None)
    section.update(copy.deepcopy(dict(update)))


def _optional_str(entry: Mapping[str, Any], option: str, key: str) -> str | None:
    value = entry.get(option)
    if value is None or value == "":
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise InvalidSettingError(f"expected a string, got {value!r}", key=f"{key}.{option}")
    return value


def _path(value: str, directory: Path | None) -> Path:
    path = Path(value).expanduser()
    if directory is not None and not path.is_absolute():
        path = directory / path
    return path


def _read(value: str, directory: Path | None, *, key: str) -> bytes:
    path = _path(value, directory)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidSettingError(
            f"cannot read {str(path)!r}: {exc.strerror or type(exc).__name__}", key=key
        ) from exc


def _read_text(value: str, directory: Path | None, *, key: str) -> str:
    data = _read(value, directory, key=key)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSettingError(
            "expected a PEM text file (UTF-8), not binary data", key=key
        ) from exc
