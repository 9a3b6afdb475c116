"""Precedence masks: who owns each account field, the provider or the person.

A mask is nested like the data it governs, and reads Invenio's ``precedence_mask`` unchanged::

    PrecedenceMask({"email": True, "profile": {"username": False, "full_name": False}})

Each leaf is one of:

``True`` or ``"import"``
    The provider owns the field: when the provider has a value, it is taken and the person
    cannot override it. It is read at sign-up only (Invenio's meaning).
``"force"``
    Owned like ``True``, and also refreshed from the provider on every sign-in
    (:meth:`PrecedenceMask.sync`), so a change at the provider reaches the account.
``False`` or ``"user"``
    The person owns the field: their input wins; the provider's value only pre-fills it.

A field the mask does not mention is ``True`` (as in Invenio). A leaf set on a group applies to
every field below it: ``{"profile": "force"}`` refreshes every profile field.

"Did not say" and "said empty" differ. A provider value that is absent (or
:data:`~authkit.accounts.UNSET`) is *not said*: a provider-owned field then takes the person's
input, and :meth:`~PrecedenceMask.sync` leaves the account's value alone. A value of ``None``
(or an empty string or list) is *said empty*: at sign-up the person may still fill the field in,
and the merged data carries the explicit empty value when they do not; :meth:`sync` clears a
``"force"`` field the provider now says is empty.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from authkit.accounts._unset import UNSET, has_value
from authkit.errors import InvalidSettingError, RequestError

__all__ = ["DEFAULT_REGISTRATION_FIELDS", "PrecedenceMask", "RegistrationField", "SyncMode"]

#: How a field is owned: by the provider at sign-up (``import``), by the provider on every
#: sign-in (``force``), or by the person (``user``).
SyncMode = Literal["import", "force", "user"]

_LEAVES: dict[Any, SyncMode] = {"import": "import", "force": "force", "user": "user"}

#: The fields a registration form offers by default (dotted paths).
DEFAULT_REGISTRATION_FIELDS: tuple[str, ...] = (
    "email",
    "profile.username",
    "profile.full_name",
    "profile.given_name",
    "profile.family_name",
    "profile.affiliations",
)

_Node = SyncMode | Mapping[str, Any]


def _compile(spec: Any, path: str) -> _Node:
    if isinstance(spec, bool):
        return "import" if spec else "user"
    if isinstance(spec, str) and spec in _LEAVES:
        return _LEAVES[spec]
    if isinstance(spec, Mapping):
        compiled: dict[str, _Node] = {}
        for key, value in spec.items():
            if not isinstance(key, str) or not key:
                raise InvalidSettingError(
                    f"expected field names, got {key!r}", key=f"precedence_mask{path}"
                )
            compiled[key] = _compile(value, f"{path}.{key}")
        return compiled
    shown = repr(spec)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise InvalidSettingError(
        f"expected true, false, 'import', 'force', 'user' or a mapping, got {shown}",
        key=f"precedence_mask{path}",
    )


def _child(node: _Node, key: str) -> _Node:
    if isinstance(node, str):
        return node  # a mode set on a group applies to every field below it
    return node.get(key, "import")  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class RegistrationField:
    """One field of a registration form, as the mask and the provider's data make it.

    Attributes:
        name: Dotted path (``"email"``, ``"profile.username"``).
        mode: Who owns it (``import``, ``force``, ``user``).
        required: The site requires a value.
        editable: The person may enter or change it (user-owned, or provider-owned without a
            provider value).
        value: The value to pre-fill, UNSET when there is none.
        missing: Required and without a value yet: the person must provide it.
    """

    name: str
    mode: SyncMode
    required: bool
    editable: bool
    value: Any = UNSET
    missing: bool = False


class PrecedenceMask:
    """Which account fields the provider owns, and how they are kept in sync.

    Args:
        spec: The mask, nested like the account data (Invenio's ``precedence_mask``; see the
            module documentation for the leaf values). ``None`` is Invenio's default,
            ``{"email": True}``.

    Raises:
        InvalidSettingError: A leaf that is none of ``True``, ``False``, ``"import"``,
            ``"force"``, ``"user"`` or a mapping (``config.invalid_value``, naming the path).

    Example::

        mask = PrecedenceMask({"email": True, "profile": {"username": False}})
        mask.merge(
            provider={"email": "jane@example.org", "profile": {"username": "jd"}},
            user_input={"profile": {"username": "jane"}},
        )
        # {"email": "jane@example.org", "profile": {"username": "jane"}}
    """

    __slots__ = ("_root", "_spec")

    def __init__(self, spec: Mapping[str, Any] | PrecedenceMask | None = None) -> None:
        if isinstance(spec, PrecedenceMask):
            spec = spec.to_dict()
        if spec is None:
            spec = {"email": True}
        if not isinstance(spec, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {spec!r}", key="precedence_mask")
        self._root: Mapping[str, Any] = _compile(spec, "")  # type: ignore[assignment]
        self._spec: dict[str, Any] = copy.deepcopy(dict(spec))

    def __repr__(self) -> str:
        return f"PrecedenceMask({self._spec!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrecedenceMask) and self._root == other._root

    def __hash__(self) -> int:
        return hash(repr(self._root))

    def to_dict(self) -> dict[str, Any]:
        """The mask as given (Invenio's shape when it was given in Invenio's shape)."""
        return copy.deepcopy(self._spec)

    def mode_of(self, field: str) -> SyncMode:
        """Who owns ``field`` (a dotted path): ``"import"``, ``"force"`` or ``"user"``.

        A group (``"profile"``) answers for itself only when the mask sets a mode on it.
        """
        node: _Node = self._root
        for part in field.split("."):
            node = _child(node, part)
        return node if isinstance(node, str) else "import"

    def provider_owns(self, field: str) -> bool:
        """Whether the provider owns ``field`` (``import`` or ``force``)."""
        return self.mode_of(field) != "user"

    # --- sign-up ---------------------------------------------------------------------------------

    def merge(
        self,
        *,
        provider: Mapping[str, Any] | None = None,
        user_input: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Merge what the provider said with what the person entered.

        For a provider-owned field, the provider's value wins when it has one; the person's
        input is taken otherwise (ORCID gives no e-mail: the person types it). For a user-owned
        field, the person's input wins and the provider's value is the default. A field neither
        side mentions is absent from the result; one the provider said empty (and the person
        left alone) is present with the provider's empty value.

        Args:
            provider: The provider's data (:meth:`AccountInfo.user_data`), nested; UNSET values
                count as absent.
            user_input: What the person entered, nested (``{"profile": {"username": ...}}``).

        Returns:
            The merged data (a new dictionary).

        Raises:
            RequestError: ``accounts.field_provider_owned`` when the input sets a
                provider-owned field the provider has a value for to anything else;
                ``accounts.field_invalid`` when the input gives a single value where the mask
                expects a group of fields.
        """
        return _merge(self._root, provider or {}, user_input or {}, "")

    def required_user_fields(
        self, provider_data: Mapping[str, Any], required: Iterable[str] = ("email",)
    ) -> tuple[str, ...]:
        """The required fields the person must still provide, as dotted paths.

        A field is listed when the site requires it (``required``) and the provider gave no
        value for it — whoever owns it.
        """
        return tuple(f for f in required if not has_value(_get(provider_data, f)))

    def registration_fields(
        self,
        provider_data: Mapping[str, Any],
        *,
        fields: Iterable[str] = DEFAULT_REGISTRATION_FIELDS,
        required: Iterable[str] = ("email",),
    ) -> tuple[RegistrationField, ...]:
        """Describe a registration form: each field's owner, whether it is required or
        editable, its pre-filled value and whether it is still missing.

        Args:
            provider_data: The provider's data (:meth:`AccountInfo.user_data`).
            fields: The fields the site's form offers (dotted paths).
            required: The fields the site requires.
        """
        required_set = set(required)
        names = list(dict.fromkeys([*fields, *required]))
        result = []
        for name in names:
            value = _get(provider_data, name)
            mode = self.mode_of(name)
            present = has_value(value)
            result.append(
                RegistrationField(
                    name=name,
                    mode=mode,
                    required=name in required_set,
                    editable=mode == "user" or not present,
                    value=value if present else UNSET,
                    missing=name in required_set and not present,
                )
            )
        return tuple(result)

    # --- sign-in ---------------------------------------------------------------------------------

    def sync(self, *, current: Mapping[str, Any], provider: Mapping[str, Any]) -> dict[str, Any]:
        """Refresh ``"force"`` fields of an existing account from the provider.

        Fields the provider did not mention are left alone; ``"force"`` fields it said empty
        are set to the empty value it sent. Other fields never change on sign-in.

        Args:
            current: The account's data, nested like the provider's.
            provider: The provider's data (:meth:`AccountInfo.user_data`).

        Returns:
            The updated data (a new dictionary; ``current`` is not modified).
        """
        result = copy.deepcopy(dict(current))
        _sync(self._root, provider, result)
        return result

    def force_fields(self, provider_data: Mapping[str, Any]) -> tuple[str, ...]:
        """The dotted paths :meth:`sync` would take from ``provider_data``."""
        found: list[str] = []
        _walk_force(self._root, provider_data, "", found)
        return tuple(found)


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return UNSET
        node = node[part]
    return node


def _merge(
    node: _Node, provider: Mapping[str, Any], user: Mapping[str, Any], path: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in dict.fromkeys([*provider, *user]):
        child = _child(node, key)
        dotted = f"{path}.{key}" if path else key
        p: Any = provider.get(key, UNSET)
        u: Any = user.get(key, UNSET)
        group = isinstance(child, Mapping) or isinstance(p, Mapping) or isinstance(u, Mapping)
        if group:
            if p is not UNSET and not isinstance(p, Mapping):
                p = UNSET  # the mask says group, the provider sent a value: inconsistent, dropped
            if u is not UNSET and not isinstance(u, Mapping):
                if isinstance(child, Mapping):
                    raise RequestError(
                        f"{dotted} is a group of fields, not a single value",
                        code="accounts.field_invalid",
                    )
                # a whole value for a leaf-moded field: handled as a leaf below
                group = False
        if group:
            sub = _merge(child, p if p is not UNSET else {}, u if u is not UNSET else {}, dotted)
            if sub or p is not UNSET or u is not UNSET:
                out[key] = sub
            continue
        mode = child if isinstance(child, str) else "import"
        if mode == "user":
            if u is not UNSET:
                out[key] = u
            elif p is not UNSET:
                out[key] = p
            continue
        if has_value(p):
            if u is not UNSET and u != p:
                raise RequestError(
                    f"{dotted} comes from the provider and cannot be changed here",
                    code="accounts.field_provider_owned",
                    hint="leave the field as the provider sent it",
                )
            out[key] = p
        elif u is not UNSET:
            out[key] = u
        elif p is not UNSET:
            out[key] = p
    return out


def _sync(node: _Node, provider: Mapping[str, Any], target: dict[str, Any]) -> None:
    for key, value in provider.items():
        if value is UNSET:
            continue
        child = _child(node, key)
        if isinstance(value, Mapping) and (isinstance(child, Mapping) or child == "force"):
            existing = target.get(key)
            sub = dict(existing) if isinstance(existing, Mapping) else {}
            _sync(child, value, sub)
            if sub or key in target:
                target[key] = sub
            continue
        if child == "force":
            target[key] = copy.deepcopy(value)


def _walk_force(node: _Node, provider: Mapping[str, Any], path: str, found: list[str]) -> None:
    for key, value in provider.items():
        if value is UNSET:
            continue
        child = _child(node, key)
        dotted = f"{path}.{key}" if path else key
        if isinstance(value, Mapping) and (isinstance(child, Mapping) or child == "force"):
            _walk_force(child, value, dotted, found)
        elif child == "force":
            found.append(dotted)
