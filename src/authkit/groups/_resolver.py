"""The group resolver: one provider's sources and rules, run at every sign-in.

Theory of operation. ``GroupResolver.resolve_detailed(data, ...)``:

1. asks every source, in the order configured, for names (claim, SAML attributes, expression,
   handler, remote endpoint). A source that fails with a :class:`~authkit.errors.ProviderError`
   (the provider or a handler misbehaved: timeout, error status, malformed value) is handled by
   the provider's failure policy:

   - ``"deny"`` (default): the error is raised and the sign-in fails;
   - ``"keep_cached"``: a remote source's last cached answer stands in (``kept_cached``); a
     source with nothing cached is left out (``skipped``);
   - ``"continue"``: the source is left out (``skipped``).

   Other errors (a missing access token, a configuration error) always propagate;
2. runs the provider's :class:`~authkit.groups.GroupRules` over the union of those names;
3. adds the static groups and, when asked, the provider's name (rules do not touch them);
4. compares the result with ``previous`` — the groups the person had from this provider last
   time — and reports ``added`` and ``removed``. When a source was left out the resolution is
   *partial*: nothing is reported removed, so an outage never strips a person's groups.

``managed`` is what the application should now record as managed by this provider (and pass as
``previous`` next time); applications remove only groups in ``removed``, never groups granted
by hand (:meth:`GroupResolution.apply`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import attrs

from authkit.config import HookRef, RemoteApp
from authkit.errors import (
    AuthkitError,
    InvalidSettingError,
    ProviderError,
    ProviderResponseError,
    UnknownSettingError,
)
from authkit.groups._remote import RemoteSource
from authkit.groups._rules import DroppedGroup, GroupRules
from authkit.groups._saml import AttributeNameForms, SAMLAttributeSource
from authkit.groups._sources import (
    ClaimSource,
    Collected,
    ExpressionSource,
    HandlerSource,
    InvenioHooksSource,
    SourceContext,
)
from authkit.stores import MemoryStateStore, StateStore
from authkit.transport import RequestsTransport, Transport

__all__ = [
    "FailurePolicy",
    "GroupResolution",
    "GroupResolver",
    "GroupSource",
    "OutcomeStatus",
    "SourceOutcome",
]

FailurePolicy = Literal["deny", "keep_cached", "continue"]
OutcomeStatus = Literal["ok", "absent", "cached", "kept_cached", "skipped"]
GroupSource = (
    ClaimSource
    | SAMLAttributeSource
    | ExpressionSource
    | HandlerSource
    | RemoteSource
    | InvenioHooksSource
)
_SOURCE_TYPES = (
    ClaimSource,
    SAMLAttributeSource,
    ExpressionSource,
    HandlerSource,
    RemoteSource,
    InvenioHooksSource,
)
_POLICIES = ("deny", "keep_cached", "continue")


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _timestamp(now: datetime | None, clock: Callable[[], float]) -> float:
    """Epoch seconds of ``now``, or the clock's when ``now`` is not given."""
    if now is None:
        return clock()
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidSettingError("now must be a timezone-aware datetime", key="now")
    return now.timestamp()


@attrs.frozen(kw_only=True)
class SourceOutcome:
    """What happened to one source during a resolution.

    Attributes:
        source: The source's label (``"claim:groups"``, ``"remote:https://…"``, ``"static"``).
        status: ``ok`` (read or fetched now), ``absent`` (the provider sent nothing there),
            ``cached`` (fresh cache, no request), ``kept_cached`` (failed; the last cached
            answer was used), ``skipped`` (failed; left out).
        names: The names the source contributed, before rules.
        fetched_at: When those names were obtained (``None`` for a skipped source).
        error: The failure, for ``kept_cached`` and ``skipped``.
    """

    source: str
    status: OutcomeStatus
    names: tuple[str, ...] = ()
    fetched_at: datetime | None = None
    error: AuthkitError | None = attrs.field(default=None, eq=False)

    @property
    def failed(self) -> bool:
        """Whether the source failed (and the failure policy applied)."""
        return self.status in ("kept_cached", "skipped")


@attrs.frozen(kw_only=True)
class GroupResolution:
    """The result of resolving one person's groups at one provider.

    Attributes:
        provider: The provider's name.
        groups: The groups the person has from this provider for this sign-in.
        added: Groups in ``groups`` that were not in ``previous``.
        removed: Groups of ``previous`` the provider no longer asserts (empty when partial).
        managed: Groups to record as managed by this provider (``groups``, plus the previous
            ones kept because the resolution is partial).
        outcomes: One :class:`SourceOutcome` per source, in order.
        dropped: Names a limit rule dropped.
        fetched_at: When the oldest contributing names were obtained (the groups' freshness).
    """

    provider: str | None
    groups: frozenset[str]
    added: frozenset[str]
    removed: frozenset[str]
    managed: frozenset[str]
    outcomes: tuple[SourceOutcome, ...]
    dropped: tuple[DroppedGroup, ...]
    fetched_at: datetime

    @property
    def partial(self) -> bool:
        """Whether a source failed and was left out or replaced by its cache."""
        return any(outcome.failed for outcome in self.outcomes)

    def apply(self, current: Iterable[str], *, hand_granted: Iterable[str] = ()) -> frozenset[str]:
        """The person's groups after this sign-in, from their groups before it.

        Removes only groups the provider stopped asserting, and never one in ``hand_granted``
        (granted in the application, whatever the provider says); adds the provider's groups.
        """
        keep = frozenset(hand_granted)
        return (frozenset(current) - (self.removed - keep)) | self.groups


class GroupResolver:
    """Resolves the groups of a person signing in through one provider.

    Sources are combined (their union); the rules run over the provider-asserted names; static
    groups are added as they are. Every argument is checked here: a bad claim path, regular
    expression, JMESPath expression or handler string fails now, not at the first sign-in.

    Args:
        provider: The provider's name (outcomes, cache keys, ``provider_group``).
        static: Groups given to everyone who signs in through the provider (Opal's "Groups").
        provider_group: Also give the provider's name as a group.
        claim: A claim name or dotted path, or several (``["groups", "realm_access.roles"]``).
        saml_attributes: SAML attribute name(s) holding groups, in any name form.
        urn_prefixes: For ``saml_attributes``: keep what follows these prefixes.
        expression: A JMESPath expression over the user info.
        handler: A callable or ``"module:attr"``: ``handler(userinfo) -> names``.
        remote: A remote groups endpoint.
        sources: Further sources, after the ones above.
        rules: The provider's rules (default: :class:`GroupRules` defaults).
        on_failure: ``"deny"``, ``"keep_cached"`` or ``"continue"`` (see the module).
        transport: Sends the remote source's requests (default, when there is a remote
            source: ``RequestsTransport()``).
        store: Caches remote groups (default, when there is a remote source: a
            ``MemoryStateStore`` using ``clock``; use a shared store with several workers).
        clock: Current time in epoch seconds, when ``resolve`` gets no ``now``.
        attribute_names: Knows SAML attribute name forms (default: the SAML attribute registry).

    Raises:
        InvalidSettingError: A value of the wrong type or shape (the message names it).
        HandlerImportError: The handler string does not resolve.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        static: Iterable[str] = (),
        provider_group: bool = False,
        claim: str | Sequence[str] | None = None,
        saml_attributes: str | Sequence[str] | None = None,
        urn_prefixes: str | Sequence[str] = (),
        expression: str | None = None,
        handler: HookRef | None = None,
        remote: RemoteSource | None = None,
        sources: Sequence[GroupSource] = (),
        rules: GroupRules | None = None,
        on_failure: FailurePolicy = "deny",
        transport: Transport | None = None,
        store: StateStore | None = None,
        clock: Callable[[], float] = time.time,
        attribute_names: AttributeNameForms | None = None,
    ) -> None:
        if provider is not None and (not isinstance(provider, str) or not provider):
            raise InvalidSettingError(
                f"expected a provider name, got {provider!r}", key="GroupResolver.provider"
            )
        if not isinstance(provider_group, bool):
            raise InvalidSettingError(
                f"expected true or false, got {provider_group!r}",
                key="GroupResolver.provider_group",
            )
        if provider_group and provider is None:
            raise InvalidSettingError(
                "needs the provider's name: pass provider=", key="GroupResolver.provider_group"
            )
        if on_failure not in _POLICIES:
            raise InvalidSettingError(
                f"expected one of {', '.join(_POLICIES)}, got {on_failure!r}",
                key="GroupResolver.on_failure",
            )
        if rules is not None and not isinstance(rules, GroupRules):
            raise InvalidSettingError(
                f"expected GroupRules, got {rules!r}", key="GroupResolver.rules"
            )
        built: list[GroupSource] = []
        for path in _strings(claim, "GroupResolver.claim"):
            built.append(ClaimSource(claim=path))
        saml_names = _strings(saml_attributes, "GroupResolver.saml_attributes")
        prefixes = _strings(urn_prefixes, "GroupResolver.urn_prefixes")
        if prefixes and not saml_names:
            raise InvalidSettingError(
                "applies to SAML attributes: set saml_attributes too",
                key="GroupResolver.urn_prefixes",
            )
        if saml_names:
            built.append(
                SAMLAttributeSource(
                    names=saml_names,
                    urn_prefixes=prefixes,
                    name_forms=attribute_names,
                )
            )
        if expression is not None:
            built.append(ExpressionSource(expression=expression))
        if handler is not None:
            built.append(HandlerSource(handler=handler))
        if remote is not None:
            if not isinstance(remote, RemoteSource):
                raise InvalidSettingError(
                    f"expected a RemoteSource, got {remote!r}", key="GroupResolver.remote"
                )
            built.append(remote)
        for index, source in enumerate(sources):
            if not isinstance(source, _SOURCE_TYPES):
                raise InvalidSettingError(
                    f"expected a group source (ClaimSource, SAMLAttributeSource, "
                    f"ExpressionSource, HandlerSource, RemoteSource), got {source!r}",
                    key=f"GroupResolver.sources[{index}]",
                )
            built.append(source)
        static_groups = _strings(static, "GroupResolver.static")
        if provider_group and provider is not None:
            static_groups += (provider,)

        self.provider = provider
        self.static: tuple[str, ...] = static_groups
        self.sources: tuple[GroupSource, ...] = tuple(built)
        self.rules = rules if rules is not None else GroupRules()
        self.on_failure: FailurePolicy = on_failure
        self._clock = clock
        self._needs_io = any(isinstance(s, RemoteSource) for s in built)
        # Made now, not on first use: two workers' threads racing to create the default store
        # would split the cache.
        if transport is None and self._needs_io:
            transport = RequestsTransport()
        if store is None and self._needs_io:  # not `store or`: an empty store is falsy
            store = MemoryStateStore(clock=clock)
        self._transport = transport
        self._store = store

    def __repr__(self) -> str:
        labels = ", ".join(s.label for s in self.sources)
        return (
            f"GroupResolver(provider={self.provider!r}, static={list(self.static)!r}, "
            f"sources=[{labels}], on_failure={self.on_failure!r})"
        )

    @property
    def transport(self) -> Transport | None:
        """The transport remote sources use (``None`` when no source does I/O)."""
        return self._transport

    @property
    def store(self) -> StateStore | None:
        """The store remote groups are cached in (``None`` when no source does I/O)."""
        return self._store

    @classmethod
    def from_remote_app(
        cls,
        app: RemoteApp,
        *,
        remote: RemoteSource | None = None,
        rules: GroupRules | None = None,
        on_failure: FailurePolicy = "deny",
        provider_group: bool = False,
        transport: Transport | None = None,
        store: StateStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> GroupResolver:
        """The resolver a remote app describes.

        Uses ``static_groups``, ``groups_claim``, ``groups_expression`` and Invenio's ``groups``
        / ``groups_serializer`` hooks: a ``groups`` hook replaces the claim; a serializer alone
        shapes the claim (``groups`` when ``groups_claim`` is unset). Hooks naming Invenio's own
        handlers (``invenio_oauthclient.…``) mean authkit's built-in behaviour: the claim.

        Raises:
            HandlerImportError: A hook string does not resolve.
            InvalidSettingError: The claim path or expression is invalid.
        """
        key = f"RemoteApp({app.name!r}).hooks"
        groups_hook = app.hooks.resolve("groups", key=key)
        serializer = app.hooks.resolve("groups_serializer", key=key)
        claim: str | None = app.groups_claim
        sources: list[GroupSource] = []
        if groups_hook is not None or serializer is not None:
            sources.append(
                InvenioHooksSource(
                    remote_app=app,
                    groups=groups_hook,
                    serializer=serializer,
                    claim=app.groups_claim or "groups",
                )
            )
            claim = None
        elif claim is None and app.hooks.groups is not None:
            claim = "groups"  # Invenio's built-in groups handler reads the "groups" claim
        return cls(
            provider=app.name,
            static=app.static_groups,
            provider_group=provider_group,
            claim=claim,
            expression=app.groups_expression,
            remote=remote,
            sources=sources,
            rules=rules,
            on_failure=on_failure,
            transport=transport,
            store=store,
            clock=clock,
        )

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        transport: Transport | None = None,
        store: StateStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> GroupResolver:
        """Build a resolver from configuration data (JSON-compatible).

        Keys: ``provider``, ``static``, ``provider_group``, ``claim``, ``saml_attributes``,
        ``urn_prefixes``, ``expression``, ``handler`` (a ``"module:attr"`` string), ``remote``
        (the :class:`RemoteSource` fields), ``rules`` (the :class:`GroupRules` fields) and
        ``on_failure``.

        Raises:
            UnknownSettingError: A key that is not one of those (typos are caught).
            InvalidSettingError: A value of the wrong type or shape.
        """
        if not isinstance(data, Mapping):
            raise InvalidSettingError(f"expected a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - _DICT_KEYS)
        if unknown:
            raise UnknownSettingError(
                f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(_DICT_KEYS))}",
                key="GroupResolver",
            )
        kwargs = dict(data)
        if "remote" in kwargs and kwargs["remote"] is not None:
            kwargs["remote"] = _sub(RemoteSource, kwargs["remote"], "GroupResolver.remote")
        if "rules" in kwargs and kwargs["rules"] is not None:
            kwargs["rules"] = _sub(GroupRules, kwargs["rules"], "GroupResolver.rules")
        if "handler" in kwargs and not isinstance(kwargs["handler"], str | None):
            raise InvalidSettingError(
                "expected a 'module:attr' string in configuration data",
                key="GroupResolver.handler",
            )
        return cls(**kwargs, transport=transport, store=store, clock=clock)

    # --- resolving -------------------------------------------------------------------------------

    def resolve(
        self,
        data: Mapping[str, Any],
        *,
        access_token: str | None = None,
        token: Mapping[str, Any] | None = None,
        subject: str | None = None,
        now: datetime | None = None,
    ) -> frozenset[str]:
        """The person's groups from this provider (see :meth:`resolve_detailed`)."""
        return self.resolve_detailed(
            data, access_token=access_token, token=token, subject=subject, now=now
        ).groups

    def resolve_detailed(
        self,
        data: Mapping[str, Any],
        *,
        previous: Iterable[str] | None = None,
        access_token: str | None = None,
        token: Mapping[str, Any] | None = None,
        subject: str | None = None,
        now: datetime | None = None,
    ) -> GroupResolution:
        """Resolve the person's groups and say how.

        Args:
            data: The user info (OIDC claims) or SAML attributes (``name -> [values]``).
            previous: The groups the person had from this provider last time (the previous
                resolution's ``managed``), for change tracking; ``None`` on a first sign-in.
            access_token: The person's access token (remote sources).
            token: The token response (Invenio's ``resp``: passed to Invenio ``groups``
                handlers; its ``access_token`` is used when ``access_token`` is not given).
            subject: The person's stable identifier at the provider, the key of cached remote
                groups (default: ``data["sub"]`` when it is a string).
            now: The current time (aware); default: the resolver's clock.

        Raises:
            ProviderError: A source failed and the failure policy is ``deny`` (the source's
                own error: ``provider.timeout``, ``provider.http_error``,
                ``groups.malformed_value``…), or a limit rule with ``on_limit="deny"``
                (``groups.limit_exceeded``).
            ProviderResponseError: ``data`` is not a mapping (``groups.malformed_input``).
            RequestError: A remote source needs a fetch and no access token was given
                (``groups.access_token_missing``).
        """
        if not isinstance(data, Mapping):
            raise ProviderResponseError(
                f"expected the user info or SAML attributes as a mapping, "
                f"got a {type(data).__name__}",
                provider=self.provider,
                code="groups.malformed_input",
            )
        moment = _timestamp(now, self._clock)
        if access_token is None and token is not None:
            candidate = token.get("access_token")
            access_token = candidate if isinstance(candidate, str) else None
        if subject is None and isinstance(data.get("sub"), str):
            subject = data["sub"]
        ctx = SourceContext(
            data=data,
            provider=self.provider,
            now=moment,
            access_token=access_token,
            token=token,
            subject=subject,
            transport=self._transport,
            store=self._store,
        )
        outcomes: list[SourceOutcome] = []
        names: list[str] = []
        oldest = moment
        for source in self.sources:
            outcome = self._run(source, ctx)
            outcomes.append(outcome)
            names.extend(outcome.names)
            if outcome.fetched_at is not None:
                oldest = min(oldest, outcome.fetched_at.timestamp())
        accepted, dropped = self.rules.apply(names, provider=self.provider)
        if self.static:
            outcomes.append(
                SourceOutcome(
                    source="static", status="ok", names=self.static, fetched_at=_utc(moment)
                )
            )
        groups = accepted | frozenset(self.static)
        before = frozenset(previous) if previous is not None else frozenset()
        partial = any(outcome.failed for outcome in outcomes)
        removed = frozenset() if partial else before - groups
        return GroupResolution(
            provider=self.provider,
            groups=groups,
            added=groups - before,
            removed=removed,
            managed=groups | (before - groups - removed),
            outcomes=tuple(outcomes),
            dropped=dropped,
            fetched_at=_utc(oldest),
        )

    def _run(self, source: GroupSource, ctx: SourceContext) -> SourceOutcome:
        try:
            found = source._collect(ctx)
        except ProviderError as exc:
            if self.on_failure == "deny":
                raise
            fallback: Collected | None = None
            if self.on_failure == "keep_cached" and isinstance(source, RemoteSource):
                fallback = source._last_known(ctx)
            if fallback is not None:
                return SourceOutcome(
                    source=source.label,
                    status="kept_cached",
                    names=fallback.names,
                    fetched_at=_utc(fallback.fetched_at),
                    error=exc,
                )
            return SourceOutcome(source=source.label, status="skipped", error=exc)
        return SourceOutcome(
            source=source.label,
            status=found.status,
            names=found.names,
            fetched_at=_utc(found.fetched_at),
        )


_DICT_KEYS = {
    "provider",
    "static",
    "provider_group",
    "claim",
    "saml_attributes",
    "urn_prefixes",
    "expression",
    "handler",
    "remote",
    "rules",
    "on_failure",
}


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise InvalidSettingError(f"expected a string or a list of strings, got {value!r}", key=key)
    result = tuple(items)
    if not all(isinstance(item, str) and item.strip() for item in result):
        raise InvalidSettingError(f"expected non-empty strings, got {list(result)!r}", key=key)
    return result


def _sub(kind: Any, value: Any, key: str) -> Any:
    if isinstance(value, kind):
        return value
    if not isinstance(value, Mapping):
        raise InvalidSettingError(f"expected a mapping, got {value!r}", key=key)
    known = {f.alias for f in attrs.fields(kind) if f.init}
    unknown = sorted(set(value) - known)
    if unknown:
        raise UnknownSettingError(
            f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}", key=key
        )
    return kind(**value)
