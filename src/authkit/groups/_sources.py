"""Where groups come from: claims, expressions and handlers (SAML and remote sources live apart).

Every source is a frozen, keyword-only configuration value checked when it is built: a claim
path is parsed, an expression compiled, a handler string imported. At sign-in the resolver hands
each source a :class:`SourceContext` (the user info or SAML attributes, the token, the time, the
transport and the store) and gets back the names the source found, *before* the provider's rules
run. A source that cannot read what the provider sent raises a typed error; the resolver then
applies the provider's failure policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from authkit.config import HookRef, hook_name, resolve_hook
from authkit.config import _validators as v
from authkit.errors import (
    AuthkitError,
    ConfigurationError,
    InvalidSettingError,
    ProviderError,
    ProviderResponseError,
)
from authkit.groups._values import MISSING, coerce_names, lookup_path, parse_path
from authkit.stores import StateStore
from authkit.transport import Transport

__all__ = [
    "ClaimSource",
    "Collected",
    "ExpressionSource",
    "HandlerSource",
    "InvenioHooksSource",
    "SourceContext",
    "handler_names",
]

CollectStatus = Literal["ok", "absent", "cached"]


@attrs.frozen(kw_only=True)
class SourceContext:
    """What a source may look at while resolving one sign-in (built by the resolver).

    Attributes:
        data: The user info (OIDC claims) or SAML attributes (``name -> [values]``).
        provider: The provider's name.
        now: The current time, in seconds since the epoch.
        access_token: The person's access token, for remote sources.
        token: The whole token response (Invenio's ``resp``), for Invenio handlers.
        subject: Stable identifier of the person at the provider (cache key of remote sources).
        transport: Sends HTTP requests (``None`` when no source of the resolver does I/O).
        store: Caches remote groups (``None`` likewise).
    """

    data: Mapping[str, Any]
    provider: str | None
    now: float
    access_token: str | None
    token: Mapping[str, Any] | None
    subject: str | None
    transport: Transport | None
    store: StateStore | None

    def io(self) -> tuple[Transport, StateStore]:
        """The transport and store, for a source that does I/O."""
        if self.transport is None or self.store is None:  # pragma: no cover - resolver bug
            raise AssertionError("the resolver gave an I/O source no transport or store")
        return self.transport, self.store


@attrs.frozen
class Collected:
    """What one source found: the raw names and how they were obtained."""

    status: CollectStatus
    names: tuple[str, ...]
    fetched_at: float


def _as_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidSettingError(
            f"expected a non-empty string, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class ClaimSource:
    """Groups in a claim, found by name or dotted path (``groups``, ``realm_access.roles``).

    The claim may be an array of strings, one string of names separated by spaces or commas, or
    a JSON array inside a string. Write a dot that belongs to a key as ``\\.``
    (``resource_access.my\\.app.roles``).

    Args:
        claim: Name or dotted path of the claim.
        split: Split a single string value on spaces and commas (default ``True``).

    Raises:
        InvalidSettingError: The path is empty or badly escaped.
    """

    claim: str = attrs.field(validator=_as_str)
    split: bool = attrs.field(default=True, validator=v.is_bool)
    _keys: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_keys", parse_path(self.claim, key="ClaimSource.claim"))

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        return f"claim:{self.claim}"

    def _collect(self, ctx: SourceContext) -> Collected:
        value = lookup_path(ctx.data, self._keys, label=self.label)
        if value is MISSING:
            return Collected("absent", (), ctx.now)
        return Collected("ok", coerce_names(value, label=self.label, split=self.split), ctx.now)


@attrs.frozen(kw_only=True)
class ExpressionSource:
    """Groups computed by a JMESPath expression over the user info (needs ``authkit[groups]``).

    Operators who configure providers as data (Opal's "groups script") write an expression, not
    code: JMESPath can select, filter and project but cannot run anything. The result may take
    any of the shapes a claim may take.

    Args:
        expression: A JMESPath expression, e.g.
            ``"resource_access.*.roles[] | [?starts_with(@, 'app-')]"``.

    Raises:
        InvalidSettingError: The expression does not compile, or calls a function JMESPath does
            not have (the message gives the reason).
        ConfigurationError: ``jmespath`` is not installed (``config.missing_dependency``).
    """

    expression: str = attrs.field(validator=_as_str)
    _compiled: Any = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        try:
            import jmespath
            import jmespath.exceptions
        except ImportError:  # pragma: no cover - jmespath is a dev dependency
            raise ConfigurationError(
                "group expressions need the 'jmespath' package",
                key="ExpressionSource.expression",
                code="config.missing_dependency",
                hint="pip install 'authkit[groups]'",
            ) from None
        try:
            compiled = jmespath.compile(self.expression)
        except jmespath.exceptions.JMESPathError as exc:
            raise InvalidSettingError(
                f"invalid JMESPath expression {self.expression!r}: {_jmespath_reason(exc)}",
                key="ExpressionSource.expression",
            ) from None
        unknown = sorted(_function_names(compiled.parsed) - _JMESPATH_FUNCTIONS)
        if unknown:
            raise InvalidSettingError(
                f"invalid JMESPath expression {self.expression!r}: unknown function "
                f"{unknown[0]}(); JMESPath's built-in functions are: "
                f"{', '.join(sorted(_JMESPATH_FUNCTIONS))}",
                key="ExpressionSource.expression",
            )
        object.__setattr__(self, "_compiled", compiled)

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        return "expression"

    def _collect(self, ctx: SourceContext) -> Collected:
        import jmespath.exceptions

        try:
            value = self._compiled.search(_plain(ctx.data))
        except jmespath.exceptions.JMESPathError as exc:
            raise ProviderResponseError(
                f"group expression failed on the user info: {_jmespath_reason(exc)}",
                provider=ctx.provider,
                code="groups.expression_failed",
            ) from None
        if value is None:
            return Collected("absent", (), ctx.now)
        return Collected("ok", coerce_names(value, label=self.label), ctx.now)


def _jmespath_function_table() -> frozenset[str]:
    try:
        import jmespath.functions
    except ImportError:  # pragma: no cover - jmespath is a dev dependency
        return frozenset()
    return frozenset(getattr(jmespath.functions.Functions, "FUNCTION_TABLE", {}))


_JMESPATH_FUNCTIONS = _jmespath_function_table()


def _function_names(node: Any) -> set[str]:
    """Every function an expression calls (JMESPath checks them only when it runs)."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_expression" and isinstance(item.get("value"), str):
            names.add(item["value"])
        stack.extend(item.get("children") or ())
    return names


def _jmespath_reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _plain(data: Any) -> Any:
    """JMESPath's functions test for ``dict`` and ``list``; give it plain containers.

    Decoded JSON (a ``dict``) is passed as it is: copying it would cost more than the search.
    """
    if type(data) is dict:
        return data
    return _copy(data)


def _copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _copy(val) for k, val in data.items()}
    if isinstance(data, list | tuple):
        return [_copy(item) for item in data]
    return data


def _hook(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(value) and not (isinstance(value, str) and value):
        raise InvalidSettingError(
            f"expected a callable or a 'module:attr' string, got {value!r}",
            key=f"{type(inst).__name__}.{attribute.name}",
        )


@attrs.frozen(kw_only=True)
class HandlerSource:
    """Groups computed by your own code: ``handler(userinfo) -> names``.

    The handler receives the user info (or SAML attributes) and returns an iterable of names,
    a string (split like a claim), or Invenio-style group objects (``{"id": ..., "name": ...}``,
    the ``id`` is used). A ``"module:attr"`` string is imported when the source is built.

    Args:
        handler: A callable or ``"module:attr"`` string.

    Raises:
        HandlerImportError: The string does not resolve to a callable
            (``config.handler_unresolvable``).
    """

    handler: HookRef = attrs.field(validator=_hook)
    _call: Callable[..., Any] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_call", resolve_hook(self.handler, key="HandlerSource.handler"))

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        try:
            return f"handler:{hook_name(self.handler)}"
        except AuthkitError:
            return "handler"

    def _collect(self, ctx: SourceContext) -> Collected:
        result = _call_hook(self._call, (ctx.data,), label=self.label, provider=ctx.provider)
        return Collected("ok", handler_names(result, label=self.label), ctx.now)


@attrs.frozen(kw_only=True)
class InvenioHooksSource:
    """Invenio's ``groups`` / ``groups_serializer`` handlers of a remote app.

    As in Invenio, ``groups(remote, resp)`` (called with the remote app and the token response)
    returns the person's groups already serialised. When it is not set, the groups claim
    (``groups`` by default) is read and, when ``groups_serializer(remote, groups)`` is set,
    passed through it. Either may return names or Invenio group objects (``{"id": ...,
    "name": ...}``; the ``id`` is used). Built by
    :meth:`~authkit.groups.GroupResolver.from_remote_app`.

    Args:
        remote_app: The remote app passed as ``remote`` to the handlers.
        groups: Resolved ``groups`` handler, or ``None``.
        serializer: Resolved ``groups_serializer`` handler, or ``None``.
        claim: Claim path read when there is no ``groups`` handler.
    """

    remote_app: Any
    groups: Callable[..., Any] | None = None
    serializer: Callable[..., Any] | None = None
    claim: str = "groups"
    _keys: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_keys", parse_path(self.claim, key="RemoteApp.groups_claim"))

    @property
    def label(self) -> str:
        """Names the source in outcomes and messages."""
        return "invenio:groups" if self.groups is not None else f"invenio:claim:{self.claim}"

    def _collect(self, ctx: SourceContext) -> Collected:
        if self.groups is not None:
            token = dict(ctx.token or {})
            if ctx.access_token and "access_token" not in token:
                token["access_token"] = ctx.access_token
            raw: Any = _call_hook(
                self.groups, (self.remote_app, token), label=self.label, provider=ctx.provider
            )
            return Collected("ok", handler_names(raw, label=self.label), ctx.now)
        raw = lookup_path(ctx.data, self._keys, label=self.label)
        if raw is MISSING:
            return Collected("absent", (), ctx.now)
        raw = list(coerce_names(raw, label=self.label))
        if self.serializer is not None:
            raw = _call_hook(
                self.serializer,
                (self.remote_app, raw),
                label="invenio:groups_serializer",
                provider=ctx.provider,
            )
        return Collected("ok", handler_names(raw, label=self.label), ctx.now)


def _call_hook(
    hook: Callable[..., Any], args: tuple[Any, ...], *, label: str, provider: str | None
) -> Any:
    try:
        return hook(*args)
    except AuthkitError:
        raise
    except Exception as exc:
        raise ProviderError(
            f"{label} raised {type(exc).__name__}",
            provider=provider,
            code="groups.handler_failed",
        ) from exc


def handler_names(result: Any, *, label: str) -> tuple[str, ...]:
    """Names from what a handler returned: strings, a string, or ``{"id"/"name": ...}`` objects.

    Raises:
        ProviderResponseError: Anything else (``groups.malformed_value``).
    """
    if result is None or isinstance(result, str):
        return coerce_names(result, label=label)
    if isinstance(result, Mapping) or not isinstance(result, Iterable):
        raise ProviderResponseError(
            f"{label}: expected an iterable of group names, got a {type(result).__name__}",
            code="groups.malformed_value",
        )
    names: list[str] = []
    for item in result:
        if isinstance(item, Mapping):
            item = item.get("id", item.get("name"))
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
        if not isinstance(item, str):
            raise ProviderResponseError(
                f"{label}: expected group names or objects with an 'id' or 'name', "
                f"found a {type(item).__name__}",
                code="groups.malformed_value",
            )
        item = item.strip()
        if item:
            names.append(item)
    return tuple(names)
