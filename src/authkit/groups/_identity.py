"""The identity of a signed-in person: their account and the needs they provide.

InvenioRDM builds, at sign-in, an identity that provides the account's :func:`UserNeed` and one
:func:`RoleNeed` per group. :func:`identity_from` does that from a resolution, and
:class:`IdentitySerializer` keeps the identity in a session between requests: a compact string,
signed with HMAC-SHA256 so that a client cannot grant itself a group, carrying when it was
issued and when its groups were fetched (so an application can re-resolve stale groups).

Token format (all parts base64url without padding)::

    <kind> "." <payload> "." <signature>

``kind`` is ``i1`` (JSON payload) or ``i1z`` (zlib-compressed JSON, used when shorter). The
signature is ``HMAC-SHA256(HMAC-SHA256(secret, salt), kind "." payload)``: keys are derived per
``salt``, so the same site secret used for another purpose never produces a valid identity.
Key rotation: the first key signs, every key verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from authkit.config import _validators as v
from authkit.errors import AuthkitError, InvalidSettingError, VerificationError
from authkit.groups._needs import Need, RoleNeed, SystemRoleNeed, UserNeed
from authkit.groups._resolver import GroupResolution, _timestamp

__all__ = ["Identity", "IdentitySerializer", "identity_from"]

#: Longest serialised identity accepted, and largest decompressed payload.
MAX_TOKEN = 64 * 1024
_KIND_JSON = "i1"
_KIND_ZLIB = "i1z"


def _needs(value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return frozenset(
            Need(item[0], item[1]) if isinstance(item, tuple) and len(item) == 2 else item
            for item in value
        )
    return value


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _check_id(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _scalar(value) or value == "":
        raise InvalidSettingError(
            f"expected a non-empty string or an integer, got {value!r}", key="Identity.id"
        )


def _check_needs(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, frozenset):
        raise InvalidSettingError(
            f"expected a set of needs, got {value!r}", key="Identity.provides"
        )
    for need in value:
        if not isinstance(need, Need) or not isinstance(need.method, str) or not need.method:
            raise InvalidSettingError(
                f"expected Need(method, value) items, got {need!r}", key="Identity.provides"
            )
        if not _scalar(need.value):
            raise InvalidSettingError(
                f"need values must be strings or integers (they go into sessions), got {need!r}",
                key="Identity.provides",
            )


def _check_time(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise InvalidSettingError(
            f"expected an aware datetime or None, got {value!r}", key=f"Identity.{attribute.name}"
        )


@attrs.frozen(kw_only=True)
class Identity:
    """A signed-in person: the account and every need it provides.

    Args:
        id: The account's identifier.
        provides: The needs provided (``Need`` or ``(method, value)`` tuples; values must be
            strings or integers).
        auth_provider: The provider the person signed in through.
        groups_fetched_at: When the groups were obtained (their freshness).
        issued_at: When this copy was signed into a session (set by
            :meth:`IdentitySerializer.loads`).

    Raises:
        InvalidSettingError: An id, need or time of the wrong type.
    """

    id: str | int = attrs.field(validator=_check_id)
    provides: frozenset[Need[Any]] = attrs.field(
        factory=frozenset, converter=_needs, validator=_check_needs
    )
    auth_provider: str | None = attrs.field(default=None, validator=v.optional(v.is_str))
    groups_fetched_at: datetime | None = attrs.field(default=None, validator=_check_time)
    issued_at: datetime | None = attrs.field(default=None, validator=_check_time)

    @property
    def groups(self) -> frozenset[str]:
        """The groups (role needs) the identity provides."""
        return frozenset(str(n.value) for n in self.provides if n.method == "role")

    def provides_any(self, needs: Iterable[Need[Any] | tuple[str, Any]]) -> bool:
        """Whether the identity provides at least one of ``needs``."""
        return any(need in self.provides for need in needs)

    def provides_all(self, needs: Iterable[Need[Any] | tuple[str, Any]]) -> bool:
        """Whether the identity provides every one of ``needs`` (true for none)."""
        return all(need in self.provides for need in needs)

    def can(
        self,
        *,
        any_of: Iterable[Need[Any] | tuple[str, Any]] = (),
        all_of: Iterable[Need[Any] | tuple[str, Any]] = (),
    ) -> bool:
        """A permission check: provides one of ``any_of`` (when given) and all of ``all_of``.

        A check naming no need at all allows no one (unlike Flask-Principal, whose empty
        permission allows everyone): a permission left empty by mistake stays closed.
        """
        wanted_any = list(any_of)
        wanted_all = list(all_of)
        if not wanted_any and not wanted_all:
            return False
        if wanted_any and not self.provides_any(wanted_any):
            return False
        return self.provides_all(wanted_all)

    def groups_age(self, now: datetime | None = None) -> timedelta | None:
        """How old the groups are; ``None`` when their fetch time is unknown."""
        if self.groups_fetched_at is None:
            return None
        return (now or datetime.now(UTC)) - self.groups_fetched_at


def identity_from(
    account_id: str | int,
    groups: Iterable[str] | GroupResolution,
    *,
    provider: str | None = None,
    fetched_at: datetime | None = None,
    system_roles: Iterable[str] = (),
    needs: Iterable[Need[Any]] = (),
) -> Identity:
    """The identity of an account with its groups, as InvenioRDM builds it at sign-in.

    Provides ``UserNeed(account_id)``, one ``RoleNeed`` per group, a ``SystemRoleNeed`` per
    name in ``system_roles`` (Invenio adds ``"any_user"`` and ``"authenticated_user"``) and
    ``needs``.

    Args:
        account_id: The local account's identifier.
        groups: Group names, or a :class:`~authkit.groups.GroupResolution` (its provider and
            ``fetched_at`` are used unless given).
        provider: The provider the person signed in through.
        fetched_at: When the groups were obtained.
        system_roles: System role names to provide.
        needs: Further needs.

    Raises:
        InvalidSettingError: An id or need of the wrong type.
    """
    if isinstance(groups, GroupResolution):
        provider = provider if provider is not None else groups.provider
        fetched_at = fetched_at if fetched_at is not None else groups.fetched_at
        names: Iterable[str] = groups.groups
    else:
        names = groups
    provides: set[Need[Any]] = {UserNeed(account_id)}
    provides.update(RoleNeed(name) for name in names)
    provides.update(SystemRoleNeed(name) for name in system_roles)
    provides.update(needs)
    return Identity(
        id=account_id,
        provides=frozenset(provides),
        auth_provider=provider,
        groups_fetched_at=fetched_at,
    )


# --- serialisation -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _keys(value: Any) -> Any:
    if isinstance(value, str | bytes):
        value = (value,)
    if isinstance(value, list | tuple):
        return tuple(k.encode() if isinstance(k, str) else k for k in value)
    return value


def _check_keys(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise InvalidSettingError(
            "expected a secret key or a non-empty list of them (the first signs)",
            key="IdentitySerializer.keys",
        )
    for index, key in enumerate(value):
        if not isinstance(key, bytes) or len(key) < 32:
            raise InvalidSettingError(
                "expected secret keys of at least 32 bytes (a random string: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')",
                key=f"IdentitySerializer.keys[{index}]",
            )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, value)


def _optional_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _fail(message: str, code: str) -> VerificationError:
    return VerificationError(message, code=code)


@attrs.frozen(kw_only=True)
class IdentitySerializer:
    """Keeps an :class:`Identity` in a session: compact, signed, with its age.

    Args:
        keys: Secret key(s), at least 32 bytes each. The first signs; all verify, so a new key
            is put first and the old one kept until sessions signed with it have expired.
        max_age: Default seconds an identity is accepted after it was issued.
        salt: Separates these signatures from any other use of the same secret.
        leeway: Seconds of clock difference tolerated between the workers that sign and verify.
        clock: Current time in epoch seconds, when ``now`` is not given.

    Raises:
        InvalidSettingError: No key, a short key, or a bad number.
    """

    keys: tuple[bytes, ...] = attrs.field(converter=_keys, validator=_check_keys, repr=False)
    max_age: float = attrs.field(default=24 * 3600.0, validator=v.positive)
    salt: str = attrs.field(default="authkit.identity", validator=v.is_str)
    leeway: float = attrs.field(default=60.0, validator=v.positive)
    clock: Callable[[], float] = attrs.field(default=time.time, repr=False)
    _derived: tuple[bytes, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        derived = tuple(
            hmac.new(key, self.salt.encode(), hashlib.sha256).digest() for key in self.keys
        )
        object.__setattr__(self, "_derived", derived)

    def _moment(self, now: datetime | None) -> float:
        return _timestamp(now, self.clock)

    def dumps(self, identity: Identity, *, now: datetime | None = None) -> str:
        """Serialise and sign ``identity``, issued at ``now``.

        Returns:
            An ASCII string safe in a cookie.
        """
        by_method: dict[str, list[Any]] = {}
        for need in identity.provides:
            by_method.setdefault(need.method, []).append(need.value)
        payload: dict[str, Any] = {
            "i": identity.id,
            "n": {m: sorted(vals, key=_sort_key) for m, vals in sorted(by_method.items())},
            "t": int(self._moment(now)),
        }
        if identity.auth_provider is not None:
            payload["p"] = identity.auth_provider
        if identity.groups_fetched_at is not None:
            payload["g"] = int(identity.groups_fetched_at.timestamp())
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        packed = zlib.compress(raw, 9)
        kind, body = (_KIND_ZLIB, packed) if len(packed) < len(raw) else (_KIND_JSON, raw)
        signing_input = f"{kind}.{_b64(body)}"
        signature = hmac.new(self._derived[0], signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def loads(
        self, data: str | bytes, *, max_age: float | None = None, now: datetime | None = None
    ) -> Identity:
        """Verify and read a serialised identity.

        Args:
            data: What :meth:`dumps` returned.
            max_age: Seconds the identity is accepted after issue (default: ``self.max_age``).
            now: The current time (aware); default: the serializer's clock.

        Raises:
            VerificationError: ``identity.malformed`` (not a serialised identity),
                ``identity.signature_invalid`` (altered, or signed with an unknown key),
                ``identity.expired`` (older than ``max_age``), ``identity.not_yet_valid``
                (issued in the future beyond the leeway).
        """
        limit = self.max_age if max_age is None else max_age
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
            raise InvalidSettingError(
                f"expected a number of seconds greater than 0, got {max_age!r}",
                key="IdentitySerializer.loads.max_age",
            )
        if isinstance(data, bytes):
            try:
                data = data.decode("ascii")
            except UnicodeDecodeError:
                raise _fail("not a serialised identity", "identity.malformed") from None
        if not isinstance(data, str) or len(data) > MAX_TOKEN or data.count(".") != 2:
            raise _fail("not a serialised identity", "identity.malformed")
        kind, body_b64, signature_b64 = data.split(".")
        if kind not in (_KIND_JSON, _KIND_ZLIB):
            raise _fail("not a serialised identity (unknown kind)", "identity.malformed")
        try:
            signature = _unb64(signature_b64)
        except (binascii.Error, ValueError):
            signature = b""
        if _b64(signature) != signature_b64:  # only the canonical encoding: no look-alikes
            raise _fail("the identity's signature is not valid", "identity.signature_invalid")
        signing_input = f"{kind}.{body_b64}".encode()
        if not any(
            hmac.compare_digest(hmac.new(key, signing_input, hashlib.sha256).digest(), signature)
            for key in self._derived
        ):
            raise _fail("the identity's signature is not valid", "identity.signature_invalid")
        payload = self._payload(kind, body_b64)
        moment = self._moment(now)
        issued = payload["t"]
        if issued > moment + self.leeway:
            raise _fail("the identity was issued in the future", "identity.not_yet_valid")
        if moment - issued > limit:
            raise _fail(f"the identity is older than {limit:g} seconds", "identity.expired")
        try:
            return Identity(
                id=payload["i"],
                provides=frozenset(
                    Need(method, value)
                    for method, values in payload["n"].items()
                    for value in values
                ),
                auth_provider=payload.get("p"),
                groups_fetched_at=(
                    datetime.fromtimestamp(payload["g"], tz=UTC) if "g" in payload else None
                ),
                issued_at=datetime.fromtimestamp(issued, tz=UTC),
            )
        except (AuthkitError, AttributeError, TypeError, ValueError, OverflowError):
            raise _fail("the identity's content is malformed", "identity.malformed") from None

    def _payload(self, kind: str, body_b64: str) -> dict[str, Any]:
        try:
            body = _unb64(body_b64)
            if kind == _KIND_ZLIB:
                inflater = zlib.decompressobj()
                body = inflater.decompress(body, MAX_TOKEN)
                if inflater.unconsumed_tail:
                    raise ValueError("too large")
            payload = json.loads(body)
        except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError):
            raise _fail("the identity's content is malformed", "identity.malformed") from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("n"), dict)
            or not all(isinstance(vals, list) for vals in payload["n"].values())
            or isinstance(payload.get("t"), bool)
            or not isinstance(payload.get("t"), int)
            or not _optional_int(payload.get("g"))
        ):
            raise _fail("the identity's content is malformed", "identity.malformed")
        return payload
