"""Personal access tokens: long-lived secrets a person creates for scripts and command-line
clients, modelled on Opal's (a name, permissions, an optional project restriction, an expiry,
an inactivity timeout, a last-used time).

What is stored (through the accounts store, :class:`~authkit.stores.PersonalAccessTokenRecord`)
is never the secret: only ``HMAC-SHA256(key, lookup_id ":" secret)``. The secret carries about
190 random bits, so a fast hash is enough — there is nothing to brute-force, unlike a password
(which is why Opal's iterated, salted SHA-512 buys nothing here). ``key`` is the site's
*pepper* when one is configured, otherwise a fixed, public domain-separation constant. With a
pepper, someone who can read *or write* the token table still cannot forge a token: they cannot
compute the hash of a secret of their choosing. Peppers can be rotated (``previous_peppers``);
a token hashed under an older pepper is re-hashed under the current one the next time it is used.

Theory of operation of :meth:`PersonalAccessTokens.verify`:

1. *Parse* the string (:class:`~authkit.tokens._format.TokenFormat`): wrong shape →
   ``pat.malformed``, wrong CRC32 checksum → ``pat.checksum_invalid``. Neither touches the store:
   a scanner's false positive or a typo costs nothing.
2. *Look up* the record by its lookup id and *compare* the secret's hash with
   :func:`hmac.compare_digest` — always, against every configured key, and against a dummy
   value when the record does not exist, so an unknown id and a wrong secret take the same
   path. Both answer ``pat.unknown``: the caller learns nothing about which ids exist.
3. Only once the secret is proven, say *why* the token cannot be used: ``pat.revoked``,
   ``pat.expired`` (past ``expires_at``), ``pat.inactive`` (unused for longer than its
   inactivity period — Opal's ``inactiveAt``), ``pat.user_inactive`` (the owner was disabled or
   removed), ``pat.scope_missing``, ``pat.project_not_allowed``.
4. On success, record the use (``last_used_at``, written at most once per
   ``touch_interval``) and return a :class:`TokenPrincipal`. A failed verification writes
   nothing.

Time comes from the ``clock`` given to :class:`PersonalAccessTokens` (seconds since the epoch,
like :func:`time.time`), so tests move it by hand.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from typing import Any, Literal, Self, TypeGuard

import attrs

from authkit.errors import (
    ConflictError,
    InvalidSettingError,
    RequestError,
    VerificationError,
)
from authkit.stores import AccountsStore, AccountsTransaction, PersonalAccessTokenRecord
from authkit.tokens._format import TokenFormat

__all__ = [
    "OPAL_TOKEN_SCOPES",
    "CreatedToken",
    "PersonalAccessToken",
    "PersonalAccessTokenPolicy",
    "PersonalAccessTokens",
    "TokenPrincipal",
    "TokenStatus",
]

TokenStatus = Literal["active", "inactive", "expired", "revoked"]

#: Opal's token permissions as scopes: data access level, task commands, project management,
#: R / DataSHIELD / SQL use and system administration (``SubjectToken`` in Opal). Pass it as
#: ``PersonalAccessTokenPolicy(allowed_scopes=OPAL_TOKEN_SCOPES)`` to mirror Opal exactly.
OPAL_TOKEN_SCOPES: frozenset[str] = frozenset(
    {
        "access:READ",
        "access:READ_NO_VALUES",
        "command:import",
        "command:export",
        "command:copy",
        "command:analyse",
        "command:report",
        "command:import_vcf",
        "command:export_vcf",
        "command:backup",
        "command:restore",
        "createProject",
        "updateProject",
        "deleteProject",
        "useR",
        "useDatashield",
        "useSQL",
        "sysAdmin",
    }
)

_DEFAULT_KEY = b"authkit.personal-access-token.v1"  # public: domain separation, not a secret
_MIN_PEPPER = 32
_NO_HASH = bytes(32)  # stands in for a missing record's hash; no digest equals it in practice
_PROJECT_MARK = "@project:"  # project restrictions live among the record's scopes
_NAME_MAX = 100
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}")
_CENTURY = timedelta(days=36_525)  # "never" is None; anything longer is a mistake
_ATTEMPTS = 3  # lookup ids are 95 random bits; a retry after a collision is a formality


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"


_DEFAULT = _Default.DEFAULT
Duration = timedelta | float | int


def _digest(key: bytes, lookup_id: str, secret: str) -> bytes:
    """The stored hash of a secret (HMAC-SHA256, bound to the lookup id)."""
    return hmac.new(key, f"{lookup_id}:{secret}".encode("ascii"), hashlib.sha256).digest()


def _utc(value: datetime | None) -> datetime | None:
    """Stores may hand naive datetimes back (SQLite); they were written as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- policy ------------------------------------------------------------------------------------


def _to_timedelta(value: Any) -> Any:
    """Seconds to a timedelta; anything else (or an impossible number) is left for the check."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return timedelta(seconds=value)
        except (OverflowError, ValueError):  # inf, nan, beyond timedelta.max
            return value
    return value


def _bounded(value: Any) -> TypeGuard[timedelta]:
    """A duration authkit accepts: more than zero, at most a century."""
    return isinstance(value, timedelta) and timedelta(0) < value <= _CENTURY


def _to_scope_set(value: Any) -> Any:
    if value is None or isinstance(value, str | bytes):
        return value
    try:
        return frozenset(value)
    except TypeError:
        return value


def _setting_error(attribute: attrs.Attribute[Any], value: Any, expected: str) -> None:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidSettingError(
        f"expected {expected}, got {shown}", key=f"PersonalAccessTokenPolicy.{attribute.name}"
    )


def _duration(positive: bool) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and attribute.name != "touch_interval":
            return
        if not isinstance(value, timedelta) or not timedelta(0) <= value <= _CENTURY:
            _setting_error(attribute, value, "a duration (timedelta or seconds), at most 100 years")
        elif positive and value == timedelta(0):
            _setting_error(attribute, value, "a duration greater than 0")

    return check


def _scope_set(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, frozenset) or not all(
        isinstance(s, str) and _WORD.fullmatch(s) for s in value
    ):
        _setting_error(
            attribute,
            value,
            "a collection of scopes (letters, digits and _ . : / -, starting with a letter or "
            "digit)",
        )


@attrs.frozen(kw_only=True)
class PersonalAccessTokenPolicy:
    """What a site allows its users' tokens to be (Opal's ``pat.expiresIn`` and
    ``pat.activityTimeout`` settings, and more).

    Durations are :class:`~datetime.timedelta` or a number of seconds.

    Attributes:
        allowed_scopes: The scopes a token may carry; ``None`` accepts any well-formed scope.
        default_lifetime: The lifetime of a token created without an expiry; ``None``: such a
            token never expires.
        max_lifetime: When set, every token must expire within this long of its creation.
        default_inactivity: The inactivity period of a token created without one (Opal's
            ``activityTimeout``); ``None``: no inactivity limit.
        max_inactivity: When set, every token must have an inactivity period no longer than this.
        touch_interval: ``last_used_at`` is written at most this often per token, so a busy
            script does not cause a database write per request (default one minute; ``0``
            writes on every use). Inactivity is measured with this granularity.

    Raises:
        InvalidSettingError: A value of the wrong type, a non-positive duration or one beyond
            100 years, or a default above its maximum.

    .. versionadded:: 0.1
    """

    allowed_scopes: frozenset[str] | None = attrs.field(
        default=None, converter=_to_scope_set, validator=_scope_set
    )
    default_lifetime: timedelta | None = attrs.field(
        default=None, converter=_to_timedelta, validator=_duration(positive=True)
    )
    max_lifetime: timedelta | None = attrs.field(
        default=None, converter=_to_timedelta, validator=_duration(positive=True)
    )
    default_inactivity: timedelta | None = attrs.field(
        default=None, converter=_to_timedelta, validator=_duration(positive=True)
    )
    max_inactivity: timedelta | None = attrs.field(
        default=None, converter=_to_timedelta, validator=_duration(positive=True)
    )
    touch_interval: timedelta = attrs.field(
        default=timedelta(minutes=1), converter=_to_timedelta, validator=_duration(positive=False)
    )

    def __attrs_post_init__(self) -> None:
        for default, maximum in (
            ("default_lifetime", "max_lifetime"),
            ("default_inactivity", "max_inactivity"),
        ):
            low, high = getattr(self, default), getattr(self, maximum)
            if low is not None and high is not None and low > high:
                raise InvalidSettingError(
                    f"expected at most {maximum} ({high}), got {low}",
                    key=f"PersonalAccessTokenPolicy.{default}",
                )


# --- what callers get back ---------------------------------------------------------------------


def _scopes_of(record: PersonalAccessTokenRecord) -> tuple[str, ...]:
    return tuple(sorted(s for s in record.scopes if not s.startswith(_PROJECT_MARK)))


def _projects_of(record: PersonalAccessTokenRecord) -> frozenset[str] | None:
    projects = frozenset(
        s[len(_PROJECT_MARK) :] for s in record.scopes if s.startswith(_PROJECT_MARK)
    )
    return projects or None


def _inactive_at(record: PersonalAccessTokenRecord) -> datetime | None:
    if record.inactivity_seconds is None:
        return None
    since = _utc(record.last_used_at) or _utc(record.created_at)
    if since is None:
        return None
    return since + timedelta(seconds=record.inactivity_seconds)


def _status(record: PersonalAccessTokenRecord, now: datetime) -> TokenStatus:
    if record.revoked_at is not None:
        return "revoked"
    expires_at = _utc(record.expires_at)
    if expires_at is not None and now >= expires_at:
        return "expired"
    inactive_at = _inactive_at(record)
    if inactive_at is not None and now >= inactive_at:
        return "inactive"
    return "active"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@attrs.frozen(kw_only=True)
class PersonalAccessToken:
    """A token as its owner sees it in a list: everything but the secret.

    Attributes:
        id: The lookup id (it also appears in the token string, after ``ak_pat_``).
        user_id: The owner.
        name: The owner's name for it (unique among the owner's usable tokens).
        scopes: The permissions it carries, sorted.
        projects: The projects it is restricted to, or ``None`` for all.
        created_at: When it was created.
        expires_at: When it stops working, or ``None``.
        inactivity: How long it may go unused before it stops working, or ``None``.
        last_used_at: When it was last used (or renewed), or ``None``.
        revoked_at: When it was revoked, or ``None``.
        inactive_at: When it becomes (or became) inactive if not used before (Opal's
            ``inactiveAt``), or ``None``.
        status: ``"active"``, ``"inactive"``, ``"expired"`` or ``"revoked"`` at the time the
            value was made.

    .. versionadded:: 0.1
    """

    id: str
    user_id: str
    name: str
    scopes: tuple[str, ...]
    projects: frozenset[str] | None
    created_at: datetime | None
    expires_at: datetime | None
    inactivity: timedelta | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    inactive_at: datetime | None
    status: TokenStatus

    @classmethod
    def from_record(cls, record: PersonalAccessTokenRecord, *, now: datetime) -> Self:
        """The view of a stored record at time ``now``."""
        return cls(
            id=record.lookup_id,
            user_id=record.user_id,
            name=record.name,
            scopes=_scopes_of(record),
            projects=_projects_of(record),
            created_at=_utc(record.created_at),
            expires_at=_utc(record.expires_at),
            inactivity=(
                timedelta(seconds=record.inactivity_seconds)
                if record.inactivity_seconds is not None
                else None
            ),
            last_used_at=_utc(record.last_used_at),
            revoked_at=_utc(record.revoked_at),
            inactive_at=_inactive_at(record),
            status=_status(record, now),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (times in ISO 8601, inactivity in seconds)."""
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "projects": sorted(self.projects) if self.projects is not None else None,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "inactivity": self.inactivity.total_seconds() if self.inactivity else None,
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
            "inactive_at": _iso(self.inactive_at),
            "status": self.status,
        }


@attrs.frozen(kw_only=True)
class CreatedToken:
    """A token just created.

    Attributes:
        secret: The token string to hand to its owner — now, once: only its hash is stored,
            so it cannot be shown again. Kept out of ``repr``.
        token: What is stored about it.

    .. versionadded:: 0.1
    """

    secret: str = attrs.field(repr=False)
    token: PersonalAccessToken


@attrs.frozen(kw_only=True)
class TokenPrincipal:
    """Who a verified token speaks for, and with which permissions.

    Attributes:
        user_id: The token's owner: the request acts on their behalf.
        token_id: The token's lookup id (for audit logs).
        name: The token's name.
        scopes: The permissions the token carries (never more than its owner has: the
            application still applies the owner's own permissions).
        projects: The projects the token is restricted to, or ``None`` for all.

    .. versionadded:: 0.1
    """

    user_id: str
    token_id: str
    name: str
    scopes: frozenset[str]
    projects: frozenset[str] | None

    def has_scope(self, scope: str) -> bool:
        """Whether the token carries ``scope``."""
        return scope in self.scopes

    def allows_project(self, project: str) -> bool:
        """Whether the token may act on ``project``."""
        return self.projects is None or project in self.projects


# --- the service --------------------------------------------------------------------------------


class PersonalAccessTokens:
    """Create, list, revoke, renew and verify personal access tokens.

    Args:
        store: The accounts store the token records live in.
        policy: What the site allows (scopes, lifetimes, inactivity).
        pepper: A server-side secret key (at least 32 bytes, kept out of the database, e.g.
            in an environment variable) mixed into every stored hash. Optional but
            recommended: without it, someone who can write to the token table can plant a
            token of their own.
        previous_peppers: Peppers used before the current one (``None`` for "no pepper"),
            still accepted; a token verified under one is re-hashed under ``pepper``.
        prefix: The site's token prefix (``ak_`` gives ``ak_pat_…``): lowercase letters and
            digits ending in ``_``. Choose a distinctive one so secret scanners can spot leaks.
        clock: Returns the current time in seconds since the epoch (:func:`time.time`).

    Raises:
        InvalidSettingError: Not an accounts store, a clock that is not callable, a pepper
            that is not bytes of at least 32, or a malformed prefix.

    Example:
        >>> from authkit.stores import MemoryAccountsStore, User
        >>> store = MemoryAccountsStore()
        >>> with store.transaction() as tx:
        ...     _ = tx.create_user(User(id="u1"))
        >>> tokens = PersonalAccessTokens(store)
        >>> created = tokens.create("u1", "backup script", scopes=["read"])
        >>> tokens.verify(created.secret, required_scopes=["read"]).user_id
        'u1'

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        store: AccountsStore,
        *,
        policy: PersonalAccessTokenPolicy | None = None,
        pepper: bytes | None = None,
        previous_peppers: Sequence[bytes | None] = (),
        prefix: str = "ak_",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if policy is not None and not isinstance(policy, PersonalAccessTokenPolicy):
            raise InvalidSettingError(
                f"expected a PersonalAccessTokenPolicy, got {type(policy).__name__}",
                key="PersonalAccessTokens.policy",
            )
        if not isinstance(store, AccountsStore):
            raise InvalidSettingError(
                f"expected an accounts store, got {type(store).__name__}",
                key="PersonalAccessTokens.store",
            )
        if not callable(clock):
            raise InvalidSettingError(
                "expected a callable returning seconds since the epoch",
                key="PersonalAccessTokens.clock",
            )
        keys = [self._key(pepper, "pepper")]
        for index, old in enumerate(previous_peppers):
            key = self._key(old, f"previous_peppers[{index}]")
            if key not in keys:
                keys.append(key)
        self._store = store
        self._policy = policy or PersonalAccessTokenPolicy()
        self._keys = tuple(keys)
        self._format = TokenFormat(prefix)
        self._clock = clock

    @staticmethod
    def _key(pepper: object, name: str) -> bytes:
        if pepper is None:
            return _DEFAULT_KEY
        if not isinstance(pepper, bytes) or len(pepper) < _MIN_PEPPER:
            raise InvalidSettingError(
                f"expected at least {_MIN_PEPPER} random bytes (e.g. secrets.token_bytes(32))",
                key=f"PersonalAccessTokens.{name}",
            )
        return pepper

    @property
    def policy(self) -> PersonalAccessTokenPolicy:
        """The policy in force."""
        return self._policy

    @property
    def pattern(self) -> re.Pattern[str]:
        """A regular expression that finds this site's tokens in text (logs, files): for
        redaction and for secret-scanning rules."""
        return self._format.pattern

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- create --------------------------------------------------------------------------------

    def create(
        self,
        user_id: str,
        name: str,
        *,
        scopes: Iterable[str] = (),
        projects: Iterable[str] | None = None,
        expires_in: Duration | _Default | None = _DEFAULT,
        expires_at: datetime | None = None,
        inactivity: Duration | _Default | None = _DEFAULT,
    ) -> CreatedToken:
        """Create a token for ``user_id``. Its secret is in the result, and only there.

        Args:
            user_id: The owner (an existing, active user).
            name: A name the owner recognises ("laptop backup"), unique among their usable
                tokens (ignoring case); a revoked or expired token's name can be reused.
            scopes: The permissions to grant (a list, or one space-separated string); each
                must be in the policy's ``allowed_scopes`` when it has some.
            projects: Restrict the token to these projects (Opal's project restriction);
                ``None``, the default, for all. An empty collection is refused rather than
                read as "all".
            expires_in: Lifetime (timedelta or seconds); ``None`` for no expiry; by default
                the policy's ``default_lifetime``.
            expires_at: An aware expiry time instead of ``expires_in``.
            inactivity: How long the token may go unused before it stops working; ``None``
                for no limit; by default the policy's ``default_inactivity``.

        Raises:
            RequestError: ``pat.name_invalid``, ``pat.scope_invalid``,
                ``pat.scope_not_allowed``, ``pat.project_invalid``, ``pat.expiry_invalid``
                (in the past, naive, not a duration, or both ``expires_in`` and
                ``expires_at``), ``pat.lifetime_too_long`` (beyond ``max_lifetime``, or no
                expiry when the policy requires one), ``pat.inactivity_invalid``,
                ``pat.inactivity_too_long``, ``pat.user_unknown``, ``pat.user_inactive``.
            ConflictError: ``pat.name_taken`` (``what="name"``): the owner has a usable token
                with this name.

        Nothing is stored when an error is raised.
        """
        now = self._now()
        clean_name = _check_name(name)
        stored_scopes = self._check_scopes(scopes) + _check_projects(projects)
        expiry = self._expiry(now, expires_in, expires_at)
        idle = self._inactivity(inactivity)
        for attempt in range(_ATTEMPTS):
            lookup_id = self._format.new_lookup_id()
            secret = self._format.new_secret()
            record = PersonalAccessTokenRecord(
                lookup_id=lookup_id,
                user_id=user_id,
                name=clean_name,
                secret_hash=_digest(self._keys[0], lookup_id, secret),
                scopes=stored_scopes,
                created_at=now,
                expires_at=expiry,
                inactivity_seconds=idle.total_seconds() if idle is not None else None,
            )
            try:
                with self._store.transaction() as tx:
                    self._check_owner(tx, user_id)
                    self._check_name_free(tx, user_id, clean_name, now)
                    tx.create_pat(record)
            except ConflictError as error:
                if error.what == "pat" and attempt + 1 < _ATTEMPTS:
                    continue  # lookup id collision: draw again
                raise
            return CreatedToken(
                secret=self._format.format(lookup_id, secret),
                token=PersonalAccessToken.from_record(record, now=now),
            )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _check_scopes(self, scopes: Iterable[str]) -> tuple[str, ...]:
        if isinstance(scopes, str):
            scopes = scopes.split()
        try:
            wanted = set(scopes)
        except TypeError:
            raise RequestError(
                "scopes must be a list of strings", code="pat.scope_invalid"
            ) from None
        for scope in wanted:
            if not isinstance(scope, str) or not _WORD.fullmatch(scope):
                raise RequestError(
                    f"{_shown(scope)} is not a valid scope (letters, digits and _ . : / -, "
                    "starting with a letter or digit)",
                    code="pat.scope_invalid",
                )
        allowed = self._policy.allowed_scopes
        if allowed is not None and not wanted <= allowed:
            refused = ", ".join(sorted(wanted - allowed))
            raise RequestError(
                f"these scopes are not available for personal access tokens: {refused}",
                code="pat.scope_not_allowed",
            )
        return tuple(sorted(wanted))

    def _expiry(
        self, now: datetime, expires_in: Duration | _Default | None, expires_at: datetime | None
    ) -> datetime | None:
        maximum = self._policy.max_lifetime
        if expires_at is not None:
            if expires_in is not _DEFAULT:
                raise RequestError(
                    "give expires_in or expires_at, not both", code="pat.expiry_invalid"
                )
            if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
                raise RequestError(
                    "expires_at must be an aware datetime (with a time zone)",
                    code="pat.expiry_invalid",
                )
            expiry: datetime | None = expires_at.astimezone(UTC)
        else:
            lifetime = self._policy.default_lifetime if expires_in is _DEFAULT else expires_in
            lifetime = _to_timedelta(lifetime)
            if lifetime is not None and not _bounded(lifetime):
                raise RequestError(
                    "expires_in must be a positive duration (timedelta or seconds) of at most "
                    "100 years; None for no expiry",
                    code="pat.expiry_invalid",
                )
            expiry = now + lifetime if lifetime is not None else None
        if expiry is None:
            if maximum is not None:
                raise RequestError(
                    f"tokens must expire on this site, within {_human(maximum)}",
                    code="pat.lifetime_too_long",
                )
            return None
        if expiry <= now:
            raise RequestError("the expiry must be in the future", code="pat.expiry_invalid")
        if expiry - now > _CENTURY:
            raise RequestError(
                "the expiry must be within 100 years; None for no expiry",
                code="pat.expiry_invalid",
            )
        if maximum is not None and expiry - now > maximum:
            raise RequestError(
                f"tokens on this site live at most {_human(maximum)}", code="pat.lifetime_too_long"
            )
        return expiry

    def _inactivity(self, inactivity: Duration | _Default | None) -> timedelta | None:
        value = self._policy.default_inactivity if inactivity is _DEFAULT else inactivity
        value = _to_timedelta(value)
        maximum = self._policy.max_inactivity
        if value is None:
            if maximum is not None:
                raise RequestError(
                    "tokens on this site must have an inactivity period of at most "
                    + _human(maximum),
                    code="pat.inactivity_too_long",
                )
            return None
        if not _bounded(value):
            raise RequestError(
                "inactivity must be a positive duration (timedelta or seconds) of at most 100 "
                "years; None for no limit",
                code="pat.inactivity_invalid",
            )
        if maximum is not None and value > maximum:
            raise RequestError(
                f"tokens on this site may stay unused for at most {_human(maximum)}",
                code="pat.inactivity_too_long",
            )
        return value

    @staticmethod
    def _check_owner(tx: AccountsTransaction, user_id: str) -> None:
        user = tx.get_user(user_id)
        if user is None:
            raise RequestError("no such user", code="pat.user_unknown")
        if not user.active:
            raise RequestError(
                "the account is disabled: it cannot create tokens", code="pat.user_inactive"
            )

    @staticmethod
    def _check_name_free(tx: AccountsTransaction, user_id: str, name: str, now: datetime) -> None:
        wanted = name.casefold()
        for other in tx.pats_of(user_id):
            if other.name.casefold() == wanted and _status(other, now) in ("active", "inactive"):
                raise ConflictError(
                    "you already have a token with this name", what="name", code="pat.name_taken"
                )

    # --- list, get, revoke, renew ----------------------------------------------------------------

    def tokens_of(self, user_id: str) -> list[PersonalAccessToken]:
        """The tokens of ``user_id`` (revoked and expired ones too), oldest first; never a secret.

        The caller decides who may see them (the owner, an administrator).
        """
        now = self._now()
        with self._store.transaction() as tx:
            records = tx.pats_of(user_id)
        views = [PersonalAccessToken.from_record(r, now=now) for r in records]
        far_past = datetime.min.replace(tzinfo=UTC)
        return sorted(views, key=lambda t: (t.created_at or far_past, t.id))

    def get(self, token_id: str, *, user_id: str, admin: bool = False) -> PersonalAccessToken:
        """The token ``token_id``, as seen by ``user_id``.

        Args:
            token_id: The lookup id.
            user_id: Who asks; they must own the token unless ``admin``.
            admin: The asker may see anyone's tokens.

        Raises:
            RequestError: ``pat.not_found``: no such token, or not the asker's (the two are
                not told apart).
        """
        with self._store.transaction() as tx:
            record = self._owned(tx, token_id, user_id, admin)
        return PersonalAccessToken.from_record(record, now=self._now())

    def revoke(self, token_id: str, *, user_id: str, admin: bool = False) -> PersonalAccessToken:
        """Revoke a token for good. Revoking a revoked token changes nothing (idempotent).

        Args:
            token_id: The lookup id.
            user_id: Who asks; they must own the token unless ``admin``.
            admin: The asker may revoke anyone's tokens.

        Returns:
            The token, revoked.

        Raises:
            RequestError: ``pat.not_found``: no such token, or not the asker's.
        """
        now = self._now()
        with self._store.transaction() as tx:
            record = self._owned(tx, token_id, user_id, admin)
            if record.revoked_at is None:
                record = attrs.evolve(record, revoked_at=now)
                tx.update_pat(record)
        return PersonalAccessToken.from_record(record, now=now)

    def renew(self, token_id: str, *, user_id: str, admin: bool = False) -> PersonalAccessToken:
        """Restart a token's inactivity period, as Opal's "renew" does (it counts as a use).

        An inactive token becomes usable again; an expired or revoked one does not (expiry is
        absolute: create a new token).

        Raises:
            RequestError: ``pat.not_found``; ``pat.revoked``; ``pat.expired``.
        """
        now = self._now()
        with self._store.transaction() as tx:
            record = self._owned(tx, token_id, user_id, admin)
            status = _status(record, now)
            if status in ("revoked", "expired"):
                raise RequestError(
                    f"the token is {status}: it cannot be renewed", code=f"pat.{status}"
                )
            record = attrs.evolve(record, last_used_at=now)
            tx.update_pat(record)
        return PersonalAccessToken.from_record(record, now=now)

    @staticmethod
    def _owned(
        tx: AccountsTransaction, token_id: str, user_id: str, admin: bool
    ) -> PersonalAccessTokenRecord:
        record = tx.get_pat(token_id) if isinstance(token_id, str) else None
        if record is None or (record.user_id != user_id and not admin):
            raise RequestError("no such personal access token", code="pat.not_found")
        return record

    # --- verify ---------------------------------------------------------------------------------

    def verify(
        self,
        token: str,
        *,
        required_scopes: Iterable[str] = (),
        project: str | None = None,
    ) -> TokenPrincipal:
        """Check a presented token and return whom it speaks for.

        Args:
            token: The token string as presented (e.g. from ``Authorization: Bearer …``).
            required_scopes: Scopes the request needs (a list, or one space-separated
                string); all must be granted.
            project: The project the request touches, checked against the token's project
                restriction.

        Returns:
            The principal: owner, token id, scopes and projects.

        Raises:
            InvalidSettingError: ``required_scopes`` holds something other than strings (a
                mistake in the calling code, not in the request).
            VerificationError: with code ``pat.malformed``, ``pat.checksum_invalid``,
                ``pat.unknown`` (no such token, or wrong secret), ``pat.revoked``,
                ``pat.expired``, ``pat.inactive``, ``pat.user_inactive``,
                ``pat.scope_missing`` or ``pat.project_not_allowed``.
        """
        if isinstance(required_scopes, str):
            required_scopes = required_scopes.split()
        needed = set(required_scopes)
        if not all(isinstance(scope, str) for scope in needed):
            raise InvalidSettingError(
                "expected scope names (strings)", key="PersonalAccessTokens.verify.required_scopes"
            )
        parsed = self._format.parse(token)
        now = self._now()
        with self._store.transaction() as tx:
            record = tx.get_pat(parsed.lookup_id)
            key_index = self._match(parsed.lookup_id, parsed.secret, record)
            if record is None or key_index is None:
                raise VerificationError("unknown personal access token", code="pat.unknown")
            status = _status(record, now)
            if status != "active":
                raise VerificationError(_REASONS[status], code=f"pat.{status}")
            user = tx.get_user(record.user_id)
            if user is None or not user.active:
                raise VerificationError(
                    "the token's owner account is disabled or removed", code="pat.user_inactive"
                )
            scopes = frozenset(_scopes_of(record))
            missing = needed - scopes
            if missing:
                raise VerificationError(
                    "the token lacks the scopes " + ", ".join(sorted(missing)),
                    code="pat.scope_missing",
                )
            projects = _projects_of(record)
            if project is not None and projects is not None and project not in projects:
                raise VerificationError(
                    "the token is not valid for this project", code="pat.project_not_allowed"
                )
            changes: dict[str, Any] = {}
            if key_index != 0:
                changes["secret_hash"] = _digest(self._keys[0], parsed.lookup_id, parsed.secret)
            last = _utc(record.last_used_at)
            if last is None or now - last >= self._policy.touch_interval:
                changes["last_used_at"] = now
            if changes:
                tx.update_pat(attrs.evolve(record, **changes))
        return TokenPrincipal(
            user_id=record.user_id,
            token_id=record.lookup_id,
            name=record.name,
            scopes=scopes,
            projects=projects,
        )

    def _match(
        self, lookup_id: str, secret: str, record: PersonalAccessTokenRecord | None
    ) -> int | None:
        """The index of the key the secret's hash matches under, or ``None``.

        Every key is tried and every comparison made, whether or not the record exists and
        whether or not an earlier key matched, so the work done does not depend on the answer.
        """
        expected = record.secret_hash if record is not None else _NO_HASH
        matched: int | None = None
        for index, key in enumerate(self._keys):
            same = compare_digest(_digest(key, lookup_id, secret), expected)
            if same and matched is None:
                matched = index
        return matched if record is not None else None


_REASONS: dict[str, str] = {
    "revoked": "the token was revoked",
    "expired": "the token has expired",
    "inactive": "the token went unused for longer than its inactivity period; renew it",
}


def _human(duration: timedelta) -> str:
    """``90 days``, ``12 hours``, ``90 seconds``: a limit as a person would write it."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{duration.total_seconds():g} seconds"


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RequestError("give the token a name", code="pat.name_invalid")
    clean = " ".join(name.split())
    if len(clean) > _NAME_MAX or any(not c.isprintable() for c in clean):
        raise RequestError(
            f"a token name is at most {_NAME_MAX} printable characters", code="pat.name_invalid"
        )
    return clean


def _check_projects(projects: Iterable[str] | None) -> tuple[str, ...]:
    if projects is None:
        return ()
    if isinstance(projects, str):
        projects = [projects]
    try:
        wanted = set(projects)
    except TypeError:
        raise RequestError(
            "projects must be a list of project names", code="pat.project_invalid"
        ) from None
    if not wanted:
        raise RequestError(
            "name at least one project, or none at all (None) for every project",
            code="pat.project_invalid",
        )
    for project in wanted:
        if not isinstance(project, str) or not _WORD.fullmatch(project):
            raise RequestError(
                f"{_shown(project)} is not a valid project name", code="pat.project_invalid"
            )
    return tuple(_PROJECT_MARK + p for p in sorted(wanted))
