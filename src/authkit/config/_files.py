"""Reading a configuration file — JSON, TOML, or a Python file such as ``invenio.cfg`` — without
executing it.

An ``invenio.cfg`` is Python: Flask executes it. Checking one must not: the file may come from
another machine, and running it would import the site's packages, open its files and connect to
its services. This module reads Python configuration files with :mod:`ast` and evaluates only a
small, side-effect-free part of the language.

Theory of operation
-------------------
The module's statements are visited in order, with a namespace of the names evaluated so far:

* ``NAME = expression`` (also ``a = b = …``, ``a, b = …``, ``NAME: type = …``, ``NAME += …``,
  ``NAME["key"] = …`` into a dictionary built earlier, and ``if``/``elif``/``else`` whose
  condition can be evaluated) update the namespace.
* Expressions may use literals, containers, f-strings, arithmetic and comparisons of known
  values, ``dict()``/``list()``/``tuple()``/``set()``/``str()``/``int()``/``float()``/``bool()``,
  a few pure ``str``/``dict``/``list`` methods, ``os.environ.get`` / ``os.environ[...]`` /
  ``os.getenv`` (reading the real environment, or the one given), ``timedelta(...)``,
  ``_``/``lazy_gettext`` (identity), and the contrib presets and settings helpers of
  ``invenio_oauthclient`` mapped to authkit's (``orcid.REMOTE_APP``,
  ``KeycloakSettingsHelper(...).remote_app``; ``invenio_oauthclient.contrib.X`` is
  ``authkit.providers.X``, ``cern_openid`` is ``cern``).
* A name imported from any other module stands for its import string (``"module:attr"``), which
  is how Invenio and authkit refer to handlers; it cannot be called.
* Anything else — other calls, lambdas, comprehensions, attribute access on values, ``def``,
  ``class``, ``for``, ``try``, ``with``, star imports — is not evaluated. The names it would
  bind become *unevaluated*, and a finding (``config.unevaluated``, a warning) names the line
  and the setting. A later statement that uses an unevaluated name is itself not evaluated.

The settings are the upper-case names at the end (Flask reads only those). Settings that could not
be evaluated are listed in :attr:`LoadedConfig.unevaluated`, so that :func:`check_config` skips the
checks that need them instead of assuming Invenio's default.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import os
import pkgutil
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from authkit.config._checks import Finding, check_config
from authkit.errors import ConfigurationError

__all__ = ["MAX_CONFIG_FILE_SIZE", "LoadedConfig", "load_config_file"]

_T = TypeVar("_T")

#: Larger files are refused: a configuration file is a few kilobytes.
MAX_CONFIG_FILE_SIZE: Final = 2 * 1024 * 1024

# Limits that keep evaluation cheap whatever the file says ("a" * 10**12, 9**9**9).
_MAX_SIZE: Final = 1_000_000
_MAX_EXPONENT: Final = 256
_MAX_DEPTH: Final = 200
_WIDE_FORMAT = re.compile(r"\d{4,}")

#: invenio_oauthclient.contrib modules whose authkit module has another name.
_CONTRIB_ALIASES: Final = {"cern_openid": "cern"}
#: invenio_oauthclient.contrib modules authkit has no equivalent of (Invenio's legacy CERN
#: OAuth module shares its name with authkit's CERN OpenID module).
_CONTRIB_UNMAPPED: Final = frozenset({"cern"})


@attrs.frozen(kw_only=True)
class LoadedConfig:
    """A configuration file as read by :func:`load_config_file`.

    Args:
        source: The file's path.
        values: The settings that were evaluated, by name.
        findings: What the loader could not evaluate (``config.unevaluated``) or found invalid
            while evaluating (a settings helper refusing its arguments, a missing environment
            variable).
        unevaluated: Settings the file defines but whose value is unknown.

    .. versionadded:: 0.1
    """

    source: str
    values: dict[str, Any]
    findings: list[Finding]
    unevaluated: frozenset[str] = frozenset()

    def check(
        self, *, public_url: str | None = None, environ: Mapping[str, str] | None = None
    ) -> list[Finding]:
        """The loader's findings followed by :func:`check_config`'s on the values.

        Args:
            public_url: The site's public URL (default: the ``SITE_UI_URL`` setting).
            environ: Environment variables Invenio would also read for credentials
                (default: none).
        """
        return [
            *self.findings,
            *check_config(
                self.values, public_url=public_url, unknown=self.unevaluated, environ=environ
            ),
        ]


def load_config_file(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    env_prefix: str | None = None,
) -> LoadedConfig:
    """Read a configuration file without executing it.

    ``.json`` files are JSON objects, ``.toml`` files TOML documents; anything else is read as a
    Python configuration file (``invenio.cfg``, ``settings.py``) as the module documentation
    describes.

    Example:
        >>> import pathlib, tempfile
        >>> cfg = pathlib.Path(tempfile.mkdtemp()) / "invenio.cfg"
        >>> _ = cfg.write_text("from datetime import timedelta\\n"
        ...                    "PERMANENT_SESSION_LIFETIME = timedelta(hours=8)\\n"
        ...                    "SECRET_KEY = open('/etc/secret').read()\\n")
        >>> loaded = load_config_file(cfg)
        >>> loaded.values
        {'PERMANENT_SESSION_LIFETIME': datetime.timedelta(seconds=28800)}
        >>> [(f.code, f.key, f.line) for f in loaded.findings]
        [('config.unevaluated', 'SECRET_KEY', 3)]

    Args:
        path: The file.
        environ: The environment ``os.environ.get`` and friends read (default: the process's).
        env_prefix: Also apply environment variables starting with this prefix as settings,
            the way invenio-config does with ``INVENIO_`` (``INVENIO_SECRET_KEY`` sets
            ``SECRET_KEY``; values are Python literals, or strings when they are not).

    Raises:
        ConfigurationError: The file cannot be read at all (``config.unreadable``): it does not
            exist, is too large, is not UTF-8, is not valid JSON, TOML or Python, or its JSON is
            not an object.

    .. versionadded:: 0.1
    """
    source = os.fspath(path)
    env: Mapping[str, str] = os.environ if environ is None else environ
    data = _read(source)
    suffix = Path(source).suffix.lower()
    if suffix == ".json":
        loaded = LoadedConfig(source=source, values=_json(data, source), findings=[])
    elif suffix == ".toml":
        loaded = LoadedConfig(source=source, values=_toml(data, source), findings=[])
    else:
        loaded = _Evaluator(env).run(_parse(data, source), source)
    if env_prefix:
        loaded = _apply_environment(loaded, env, env_prefix)
    return loaded


# --- reading ------------------------------------------------------------------------------


def _unreadable(source: str, reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"cannot read the configuration file: {reason}", key=source, code="config.unreadable"
    )


def _read(source: str) -> bytes:
    try:
        with open(source, "rb") as handle:
            data = handle.read(MAX_CONFIG_FILE_SIZE + 1)
    except OSError as exc:
        raise _unreadable(source, exc.strerror or str(exc)) from exc
    if len(data) > MAX_CONFIG_FILE_SIZE:
        raise _unreadable(source, f"larger than {MAX_CONFIG_FILE_SIZE} bytes")
    return data


def _text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _unreadable(source, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _json(data: bytes, source: str) -> dict[str, Any]:
    try:
        parsed = json.loads(_text(data, source))
    except json.JSONDecodeError as exc:
        raise _unreadable(source, f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise _unreadable(source, "JSON nested too deeply") from exc
    if not isinstance(parsed, dict):
        raise _unreadable(source, f"the JSON document is a {type(parsed).__name__}, not an object")
    return parsed


def _toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(data, source))
    except tomllib.TOMLDecodeError as exc:
        raise _unreadable(source, f"invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise _unreadable(source, "TOML nested too deeply") from exc


def _parse(data: bytes, source: str) -> ast.Module:
    try:
        return ast.parse(data, filename=source)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise _unreadable(source, f"invalid Python{where}: {exc.msg}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _unreadable(source, f"not a Python file ({type(exc).__name__})") from exc


def _apply_environment(loaded: LoadedConfig, env: Mapping[str, str], prefix: str) -> LoadedConfig:
    values = dict(loaded.values)
    unevaluated = set(loaded.unevaluated)
    for name, raw in sorted(env.items()):
        if not name.startswith(prefix) or len(name) == len(prefix):
            continue
        key = name[len(prefix) :]
        value: Any
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = raw
        values[key] = value
        unevaluated.discard(key)
    return attrs.evolve(loaded, values=values, unevaluated=frozenset(unevaluated))


# --- the evaluator ------------------------------------------------------------------------


class _Skip(Exception):
    """The expression or statement is not evaluated; the message says why."""

    def __init__(self, reason: str, *, fix: str | None = None) -> None:
        super().__init__(reason)
        self.fix = fix


class _Invalid(Exception):
    """A settings helper refused its arguments, or the environment lacks a variable."""

    def __init__(self, code: str, message: str, fix: str, *, severity: str = "error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix
        self.severity = severity


@attrs.frozen
class _Unevaluated:
    """The value of a name that could not be evaluated."""

    reason: str
    line: int


@attrs.frozen
class _ImportRef:
    """A name imported from a module the loader does not map: stands for ``"module:attr"``."""

    module: str
    attr: str | None = None

    @property
    def path(self) -> str:
        return self.module if self.attr is None else f"{self.module}:{self.attr}"


@attrs.frozen(eq=False)
class _Function:
    """A callable the loader may call: a pure builtin, ``timedelta``, a settings helper class."""

    name: str
    call: Callable[..., Any]
    helper: bool = False  # calling it builds a settings helper, whose attributes may be read


class _Module:
    """A module the loader understands, exposing only chosen members."""

    def __init__(self, name: str, members: Callable[[], Mapping[str, Any]]) -> None:
        self.name = name
        self._members = members
        self._cache: Mapping[str, Any] | None = None

    def members(self) -> Mapping[str, Any]:
        if self._cache is None:
            self._cache = self._members()
        return self._cache

    def member(self, attr: str) -> Any:
        members = self.members()
        if attr not in members:
            raise _Skip(f"{self.name}.{attr} is not known to authkit")
        value = members[attr]
        # Copies, so that a file editing orcid.REMOTE_APP does not edit authkit's preset.
        return copy.deepcopy(value) if isinstance(value, dict | list | set) else value


class _Environ:
    """``os.environ``, read-only."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env


def _identity(value: Any) -> Any:
    return value


_PLAIN: Final[tuple[type, ...]] = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    timedelta,
    list,
    tuple,
    dict,
    set,
    frozenset,
)

_BUILTIN_CALLABLES: Final[Mapping[str, Callable[..., Any]]] = {
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "len": len,
    "sorted": sorted,
    "min": min,
    "max": max,
}
_BUILTINS: Final[Mapping[str, _Function]] = {
    name: _Function(name, fn) for name, fn in _BUILTIN_CALLABLES.items()
}

# Pure methods of plain values, and the mutating ones that only touch values the file built.
_METHODS: Final[Mapping[type, frozenset[str]]] = {
    str: frozenset(
        {
            "lower",
            "upper",
            "strip",
            "lstrip",
            "rstrip",
            "replace",
            "split",
            "rsplit",
            "join",
            "startswith",
            "endswith",
            "format",
            "title",
            "capitalize",
            "removeprefix",
            "removesuffix",
        }
    ),
    dict: frozenset({"get", "copy", "update", "setdefault", "pop", "keys", "values", "items"}),
    list: frozenset({"append", "extend", "insert", "copy", "pop", "remove", "index", "count"}),
    set: frozenset({"add", "update", "discard", "copy"}),
    tuple: frozenset({"index", "count"}),
}

_BIN_OPS: Final[Mapping[type, Callable[[Any, Any], Any]]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitXor: lambda a, b: a ^ b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
}

_COMPARE: Final[Mapping[type, Callable[[Any, Any], bool]]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: lambda a, b: bool(a < b),
    ast.LtE: lambda a, b: bool(a <= b),
    ast.Gt: lambda a, b: bool(a > b),
    ast.GtE: lambda a, b: bool(a >= b),
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}


@functools.cache
def _provider_modules() -> frozenset[str]:
    import authkit.providers

    return frozenset(m.name for m in pkgutil.iter_modules(authkit.providers.__path__))


class _Evaluator:
    """Visits a module's statements with a namespace of evaluated names (see the module doc)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.ns: dict[str, Any] = {}
        self.assigned_at: dict[str, int] = {}
        self.findings: list[Finding] = []
        self.helper_types: set[type] = set()
        self.line = 0

    # --- statements ---------------------------------------------------------------------------

    def run(self, module: ast.Module, source: str) -> LoadedConfig:
        self.block(module.body)
        values: dict[str, Any] = {}
        unevaluated: set[str] = set()
        for name, value in self.ns.items():
            if not name.isupper():
                continue
            if isinstance(value, _Unevaluated):
                unevaluated.add(name)
                continue
            try:
                values[name] = self.plain(value, name)
            except _Skip as exc:
                unevaluated.add(name)
                self.report(self.assigned_at.get(name, 1), [name], str(exc))
        self.findings.sort(key=lambda f: f.line or 0)
        return LoadedConfig(
            source=source,
            values=values,
            findings=self.findings,
            unevaluated=frozenset(unevaluated),
        )

    def block(self, statements: Iterable[ast.stmt]) -> None:
        for node in statements:
            self.line = node.lineno
            try:
                self.statement(node)
            except _Skip as exc:
                names = self.affected(node)
                self.forget(names, str(exc), node.lineno)
                self.report(node.lineno, names, str(exc), fix=exc.fix)
            except _Invalid as exc:
                names = self.affected(node)
                self.forget(names, exc.message, node.lineno)
                setting = ", ".join(names) or None
                self.findings.append(
                    Finding(
                        severity="error" if exc.severity == "error" else "warning",
                        code=exc.code,
                        message=f"line {node.lineno}: {setting or 'statement'}: {exc.message}",
                        fix=exc.fix,
                        key=setting,
                        line=node.lineno,
                    )
                )
            except RecursionError:
                names = self.affected(node)
                self.forget(names, "nested too deeply", node.lineno)
                self.report(node.lineno, names, "nested too deeply")

    def affected(self, node: ast.stmt) -> list[str]:
        """The names whose value is unknown once ``node`` could not be evaluated.

        Names it binds, and the containers built in the file that it would have changed; a
        module, function or settings helper it would have called or changed stays known, since
        nothing was done to it.
        """
        names, roots = _bound_names(node)
        changed = [r for r in roots if isinstance(self.ns.get(r), dict | list | set)]
        return names + changed

    def forget(self, names: Iterable[str], reason: str, line: int) -> None:
        for name in names:
            self.ns[name] = _Unevaluated(reason, line)
            self.assigned_at[name] = line

    def report(self, line: int, names: list[str], reason: str, *, fix: str | None = None) -> None:
        setting = ", ".join(names) if names else None
        self.findings.append(
            Finding(
                severity="warning",
                code="config.unevaluated",
                message=f"line {line}: {setting or 'statement'} not evaluated: {reason}",
                fix=fix
                or "write the value as a literal, or read it with os.environ.get(...): authkit "
                "reads configuration files without executing them, so its checks skip this "
                "setting",
                key=setting,
                line=line,
            )
        )

    def bind(self, name: str, value: Any) -> None:
        self.ns[name] = value
        self.assigned_at[name] = self.line

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.assign(target, value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value))
        elif isinstance(node, ast.AugAssign):
            self.augassign(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(alias.asname, self.module(alias.name))
                else:
                    top = alias.name.partition(".")[0]
                    self.bind(top, self.module(top))
        elif isinstance(node, ast.ImportFrom):
            self.import_from(node)
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return  # a docstring
            self.expr(node.value)  # e.g. LIST.append(...): allowed methods only
        elif isinstance(node, ast.If):
            chosen = node.body if self.truth(self.expr(node.test)) else node.orelse
            self.block(chosen)
        elif isinstance(node, ast.Pass):
            return
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if not isinstance(target, ast.Name):
                    raise _Skip("only 'del NAME' is evaluated")
                self.ns.pop(target.id, None)
        elif isinstance(node, ast.FunctionDef) and _is_identity(node):
            self.bind(node.name, _Function(node.name, _identity))
        else:
            raise _Skip(f"{_describe(node)} is not evaluated")

    def truth(self, value: Any) -> bool:
        self.require_plain(value, "a condition")
        return bool(value)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value)
        elif isinstance(target, ast.Tuple | ast.List):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise _Skip("starred assignment is not evaluated")
            if not isinstance(value, list | tuple) or len(value) != len(target.elts):
                raise _Skip("the value does not unpack into the names")
            for element, item in zip(target.elts, value, strict=True):
                self.assign(element, item)
        elif isinstance(target, ast.Subscript):
            container = self.expr(target.value)
            key = self.expr(target.slice)
            if not isinstance(container, dict | list):
                raise _Skip("only items of dictionaries and lists built in the file can be set")
            self.require_plain(key, "a key")
            try:
                container[key] = value
            except (TypeError, IndexError) as exc:
                raise _Skip(f"cannot set item: {exc}") from exc
            root = _root_name(target)
            if root:
                self.assigned_at.setdefault(root, self.line)
        else:
            raise _Skip(f"assignment to {_describe(target)} is not evaluated")

    def augassign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            current = self.name(target.id)
        elif isinstance(target, ast.Subscript):
            current = self.expr(target)
        else:
            raise _Skip(f"augmented assignment to {_describe(target)} is not evaluated")
        value = self.binop(node.op, current, self.expr(node.value))
        self.assign(target, value)

    # --- imports -----------------------------------------------------------------------------

    def import_from(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                raise _Skip(f"'from {module} import *' is not evaluated (its names are unknown)")
            bound = alias.asname or alias.name
            mapped = self.module(module) if node.level == 0 else None
            if isinstance(mapped, _Module):
                if alias.name in mapped.members():
                    self.bind(bound, mapped.member(alias.name))
                    continue
                # Known module, unknown name: a problem only if the name is used, or is a
                # setting itself (Flask reads upper-case names, imported ones too).
                reason = f"authkit has no equivalent of {module}.{alias.name}"
                self.bind(bound, _Unevaluated(reason, self.line))
                if bound.isupper():
                    self.report(self.line, [bound], reason)
                continue
            nested = self.module(f"{module}.{alias.name}") if node.level == 0 else None
            if isinstance(nested, _Module):
                self.bind(bound, nested)
            else:
                self.bind(bound, _ImportRef(module, alias.name))

    def module(self, dotted: str) -> _Module | _ImportRef:
        """The module ``dotted`` as the loader sees it (mapped, or an import reference)."""
        if dotted == "os":
            return _Module(
                "os",
                lambda: {
                    "environ": _Environ(self.env),
                    "getenv": _Function("os.getenv", self.getenv),
                },
            )
        if dotted == "datetime":
            return _Module("datetime", lambda: {"timedelta": _Function("timedelta", timedelta)})
        if dotted in ("invenio_i18n", "flask_babel", "flask_babelex", "invenio_i18n.ext"):
            identity = _Function("gettext", _identity)
            return _Module(
                dotted, lambda: {"_": identity, "gettext": identity, "lazy_gettext": identity}
            )
        for prefix in ("invenio_oauthclient.contrib", "authkit.providers"):
            if dotted == prefix:
                return _Module(dotted, functools.partial(self.contrib_members, prefix))
            if dotted.startswith(prefix + "."):
                name = dotted[len(prefix) + 1 :].split(".")[0]
                if prefix == "invenio_oauthclient.contrib":
                    if name == "settings":
                        return self.authkit_module("authkit.config", dotted)
                    if name in _CONTRIB_UNMAPPED:
                        return _ImportRef(dotted)
                    name = _CONTRIB_ALIASES.get(name, name)
                if name in _provider_modules() and not name.startswith("_"):
                    return self.authkit_module(f"authkit.providers.{name}", dotted)
        if dotted == "authkit.config":
            return self.authkit_module("authkit.config", dotted)
        return _ImportRef(dotted)

    def contrib_members(self, prefix: str) -> Mapping[str, Any]:
        names = {n for n in _provider_modules() if not n.startswith("_")}
        if prefix == "invenio_oauthclient.contrib":
            aliases = {alias for alias, target in _CONTRIB_ALIASES.items() if target in names}
            names = (names - _CONTRIB_UNMAPPED) | aliases
        members: dict[str, Any] = {}
        for name in sorted(names):
            module = self.module(f"{prefix}.{name}")
            if isinstance(module, _Module):
                members[name] = module
        return members

    def authkit_module(self, real: str, shown: str) -> _Module:
        def members() -> Mapping[str, Any]:
            try:
                module = import_module(real)
            except ImportError as exc:  # a broken authkit module: say so, do not crash
                raise _Skip(f"{real} cannot be imported: {exc}") from exc
            exported: dict[str, Any] = {}
            for attr in getattr(module, "__all__", ()):
                value = getattr(module, attr, None)
                if isinstance(value, type):
                    if issubclass(value, BaseException):
                        continue
                    if value.__module__.startswith(("authkit.config", "authkit.providers")):
                        self.helper_types.add(value)
                        exported[attr] = _Function(f"{shown}.{attr}", value, helper=True)
                elif callable(value):
                    exported[attr] = _ImportRef(shown, attr)
                elif isinstance(value, _PLAIN):
                    exported[attr] = value
            return exported

        return _Module(shown, members)

    # --- expressions -------------------------------------------------------------------------

    def expr(self, node: ast.expr) -> Any:
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            raise _Skip(f"{_describe(node)} is not evaluated")
        return method(node)

    def expr_Constant(self, node: ast.Constant) -> Any:
        if node.value is Ellipsis:
            raise _Skip("'...' is not a value")
        return node.value

    def expr_Name(self, node: ast.Name) -> Any:
        return self.name(node.id)

    def name(self, name: str) -> Any:
        if name in self.ns:
            value = self.ns[name]
            if isinstance(value, _Unevaluated):
                why = value.reason if len(value.reason) <= 100 else value.reason[:97] + "..."
                raise _Skip(
                    f"uses {name!r}, which was not evaluated (line {value.line}: {why})",
                    fix=f"see line {value.line}, which defines {name!r}",
                )
            if isinstance(value, _ImportRef) and value.attr and value.attr.isupper():
                raise _Skip(f"uses {name!r}, a setting of {value.module}, which is not imported")
            return value
        if name in _BUILTINS:
            return _BUILTINS[name]
        raise _Skip(f"{name!r} is not defined in the file (or is not a supported builtin)")

    def expr_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(self.formatted(value))
            else:
                raise _Skip("unsupported f-string part")
        return self.sized("".join(parts))

    def formatted(self, node: ast.FormattedValue) -> str:
        value = self.plain(self.expr(node.value), "f-string")
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("s"):
            value = str(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        spec = ""
        if node.format_spec is not None:
            spec = self.expr(node.format_spec)
            if _WIDE_FORMAT.search(spec):
                raise _Skip("format width too large")
        try:
            return format(value, spec)
        except (TypeError, ValueError) as exc:
            raise _Skip(f"cannot format: {exc}") from exc

    def expr_List(self, node: ast.List) -> list[Any]:
        return self.sized(self.elements(node.elts))

    def expr_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.sized(self.elements(node.elts)))

    def expr_Set(self, node: ast.Set) -> set[Any]:
        try:
            return set(self.elements(node.elts))
        except TypeError as exc:
            raise _Skip(f"cannot build the set: {exc}") from exc

    def elements(self, nodes: list[ast.expr]) -> list[Any]:
        items: list[Any] = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                value = self.expr(element.value)
                if not isinstance(value, list | tuple | set | frozenset | dict | str):
                    raise _Skip("only containers can be unpacked with *")
                items.extend(value)
            else:
                items.append(self.expr(element))
        return items

    def expr_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                merged = self.expr(value_node)
                if not isinstance(merged, dict):
                    raise _Skip("only dictionaries can be unpacked with **")
                result.update(merged)
                continue
            key = self.expr(key_node)
            self.require_plain(key, "a key")
            try:
                result[key] = self.expr(value_node)
            except TypeError as exc:
                raise _Skip(f"unhashable key: {exc}") from exc
        return result

    def expr_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.expr(node.operand)
        self.require_plain(operand, "an operand")
        try:
            if isinstance(node.op, ast.Not):
                return not operand
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return +operand
            if isinstance(node.op, ast.Invert):
                return ~operand
        except TypeError as exc:
            raise _Skip(f"invalid operand: {exc}") from exc
        raise _Skip("unsupported unary operator")

    def expr_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.expr(node.left), self.expr(node.right))

    def binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        operation = _BIN_OPS.get(type(op))
        if operation is None:
            raise _Skip(f"the operator {type(op).__name__} is not evaluated")
        self.require_plain(left, "an operand")
        self.require_plain(right, "an operand")
        _check_cost(op, left, right)
        try:
            return self.sized(operation(left, right))
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise _Skip(f"cannot compute: {exc}") from exc

    def expr_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value_node in node.values:
            result = self.expr(value_node)
            truth = self.truth(result)
            if isinstance(node.op, ast.Or) and truth:
                return result
            if isinstance(node.op, ast.And) and not truth:
                return result
        return result

    def expr_IfExp(self, node: ast.IfExp) -> Any:
        return self.expr(node.body if self.truth(self.expr(node.test)) else node.orelse)

    def expr_Compare(self, node: ast.Compare) -> bool:
        left = self.expr(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.expr(right_node)
            self.require_plain(left, "an operand")
            self.require_plain(right, "an operand")
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise _Skip(f"cannot compare: {exc}") from exc
            left = right
        return True

    def expr_Subscript(self, node: ast.Subscript) -> Any:
        container = self.expr(node.value)
        key = self.expr(node.slice)
        if isinstance(container, _Environ):
            if not isinstance(key, str):
                raise _Skip("environment variable names are strings")
            if key not in container.env:
                raise _Invalid(
                    "config.env_missing",
                    f"the environment variable {key} is not set here (os.environ[{key!r}] "
                    "would stop the application from starting)",
                    f"set {key} in the environment the check runs in, or use "
                    f"os.environ.get({key!r}, default)",
                    severity="warning",
                )
            return container.env[key]
        self.require_plain(container, "a container")
        if not isinstance(key, slice):
            self.require_plain(key, "an index")
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Skip(f"no item {key!r}: {type(exc).__name__}") from exc

    def expr_Slice(self, node: ast.Slice) -> slice:
        parts = [None if p is None else self.expr(p) for p in (node.lower, node.upper, node.step)]
        for part in parts:
            if part is not None and not isinstance(part, int):
                raise _Skip("slice bounds are integers")
        return slice(*parts)

    def expr_Attribute(self, node: ast.Attribute) -> Any:
        owner = self.expr(node.value)
        attr = node.attr
        if attr.startswith("_"):
            raise _Skip(f"private attribute {attr!r} is not read")
        if isinstance(owner, _Module):
            return owner.member(attr)
        if isinstance(owner, _ImportRef):
            if owner.attr is not None:
                # `from pkg import thing; thing.attr`: `thing` may be any object, whose
                # attribute cannot be known without importing pkg.
                raise _Skip(
                    f"{owner.attr}.{attr} reads an object of {owner.module}, which is not imported"
                )
            if attr.isupper():
                raise _Skip(
                    f"uses {owner.module}.{attr}, a setting of a module that is not imported"
                )
            mapped = self.module(f"{owner.module}.{attr}")
            if isinstance(mapped, _Module):
                return mapped
            return _ImportRef(owner.module, attr)
        if type(owner) in self.helper_types:
            value = getattr(owner, attr, None)
            if value is None and not hasattr(owner, attr):
                raise _Skip(f"{type(owner).__name__} has no attribute {attr!r}")
            if callable(value):
                raise _Skip(f"{type(owner).__name__}.{attr}() is a method; it is not called")
            try:
                return copy.deepcopy(value)
            except Exception as exc:
                raise _Skip(f"cannot copy {attr}: {exc}") from exc
        raise _Skip(f"attribute {attr!r} of a {type(owner).__name__} is not read")

    def expr_Call(self, node: ast.Call) -> Any:
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                unpacked = self.expr(arg.value)
                if not isinstance(unpacked, list | tuple):
                    raise _Skip("only lists and tuples can be unpacked with *")
                args.extend(unpacked)
            else:
                args.append(self.expr(arg))
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.expr(keyword.value)
            if keyword.arg is None:
                if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                    raise _Skip("only dictionaries with string keys can be unpacked with **")
                kwargs.update(value)
            else:
                kwargs[keyword.arg] = value
        if isinstance(node.func, ast.Attribute):
            owner = self.expr(node.func.value)
            if isinstance(owner, _Environ):
                if node.func.attr != "get":
                    raise _Skip(f"os.environ.{node.func.attr}() is not evaluated")
                return self.getenv(*args, **kwargs)
            if not isinstance(owner, _Module) and type(owner) in _METHODS:
                return self.method(owner, node.func.attr, args, kwargs)
            function = self.expr_Attribute(node.func)
        else:
            function = self.expr(node.func)
        if not isinstance(function, _Function):
            what = function.path if isinstance(function, _ImportRef) else _describe(node.func)
            raise _Skip(f"calling {what} is not evaluated")
        return self.call(function, args, kwargs)

    def call(self, function: _Function, args: list[Any], kwargs: dict[str, Any]) -> Any:
        plain_args = [self.plain(a, function.name) for a in args]
        plain_kwargs = {k: self.plain(val, function.name) for k, val in kwargs.items()}
        try:
            result = function.call(*plain_args, **plain_kwargs)
        except ConfigurationError as exc:
            raise _Invalid(
                exc.code,
                f"{function.name}(...) refused its arguments: {exc}",
                exc.hint or f"correct the arguments of {function.name}",
            ) from exc
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            raise _Skip(f"{function.name}(...) failed: {exc}") from exc
        if function.helper:
            self.helper_types.add(type(result))
            return result
        return self.sized(result)

    def method(self, owner: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if name not in _METHODS[type(owner)]:
            raise _Skip(f"{type(owner).__name__}.{name}() is not evaluated")
        if isinstance(owner, str) and name == "format":
            _check_format_string(owner)
            args = [self.plain(a, "str.format") for a in args]
            kwargs = {k: self.plain(val, "str.format") for k, val in kwargs.items()}
        elif isinstance(owner, str):
            for argument in (*args, *kwargs.values()):
                self.require_plain(argument, "an argument")
        try:
            result = getattr(owner, name)(*args, **kwargs)
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise _Skip(f"{type(owner).__name__}.{name}() failed: {exc}") from exc
        if isinstance(result, type({}.keys()) | type({}.values()) | type({}.items())):
            result = list(result)
        return self.sized(result)

    def getenv(self, key: Any = None, default: Any = None, *extra: Any) -> Any:
        if extra or not isinstance(key, str):
            raise _Skip("os.environ.get/os.getenv take a variable name and a default")
        return self.env.get(key, default)

    # --- values ------------------------------------------------------------------------------

    def require_plain(self, value: Any, what: str) -> None:
        if not isinstance(value, _PLAIN):
            raise _Skip(f"{_kind(value)} used as {what}")

    def sized(self, value: _T) -> _T:
        if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > _MAX_SIZE:
            raise _Skip(f"value larger than {_MAX_SIZE} items")
        return value

    def plain(self, value: Any, where: str, depth: int = 0) -> Any:
        """``value`` as a setting: import references become strings, nothing else foreign."""
        if depth > _MAX_DEPTH:
            raise _Skip("value nested too deeply (or refers to itself)")
        if isinstance(value, _ImportRef):
            if value.attr and value.attr.isupper():
                raise _Skip(
                    f"{value.module}.{value.attr} is a setting of a module that is not read"
                )
            return value.path
        if isinstance(value, dict):
            return {
                self.plain(k, where, depth + 1): self.plain(val, where, depth + 1)
                for k, val in value.items()
            }
        if isinstance(value, list):
            return [self.plain(item, where, depth + 1) for item in value]
        if isinstance(value, tuple):
            return tuple(self.plain(item, where, depth + 1) for item in value)
        if isinstance(value, set | frozenset):
            return type(value)(self.plain(item, where, depth + 1) for item in value)
        if isinstance(value, _PLAIN) or type(value) in self.helper_types:
            return value
        raise _Skip(f"{_kind(value)} is not a setting value")


def _check_cost(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse operations whose result would be huge before computing them."""
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            if (
                isinstance(seq, str | bytes | list | tuple)
                and isinstance(count, int)
                and len(seq) * max(count, 0) > _MAX_SIZE
            ):
                raise _Skip("repetition too large")
    if isinstance(op, ast.Pow) and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
        raise _Skip("exponent too large")
    if isinstance(op, ast.Pow) and isinstance(left, int) and abs(left) > 2**64:
        raise _Skip("power too large")
    if isinstance(op, ast.LShift) and isinstance(right, int) and right > _MAX_EXPONENT:
        raise _Skip("shift too large")
    if isinstance(op, ast.Mod) and isinstance(left, str | bytes):
        text = left.decode("latin-1") if isinstance(left, bytes) else left
        if _WIDE_FORMAT.search(text):
            raise _Skip("format width too large")


def _check_format_string(template: str) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _Skip(f"invalid format string: {exc}") from exc
    for _, field, spec, _ in fields:
        if field and not re.fullmatch(r"\d*|[A-Za-z_]\w*", field):
            raise _Skip("format fields may not read attributes or items")
        if spec and (_WIDE_FORMAT.search(spec) or "{" in spec):
            raise _Skip("format specification not evaluated")


def _is_identity(node: ast.FunctionDef) -> bool:
    """``def _(x): return x`` (with an optional docstring), common at the top of invenio.cfg."""
    args = node.args
    if node.decorator_list or len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs:
        return False
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Return)
        and isinstance(body[0].value, ast.Name)
        and body[0].value.id == args.args[0].arg
    )


def _bound_names(node: ast.stmt) -> tuple[list[str], list[str]]:
    """The module-level names a statement would bind, and those whose value it would change.

    ``X = …`` binds ``X``; ``X["k"] = …`` and ``X.append(…)`` change ``X``. Function and class
    bodies are not entered: their assignments are local.
    """
    names: list[str] = []
    roots: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in names:
            names.append(name)

    def add_root(name: str | None) -> None:
        if name and name not in roots:
            roots.append(name)

    def targets(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                targets(element)
        elif isinstance(target, ast.Starred):
            targets(target.value)
        else:
            add_root(_root_name(target))

    def visit(child: ast.AST) -> None:
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            add(child.name)
            return
        if isinstance(child, ast.Lambda):
            return
        if isinstance(child, ast.Assign):
            for target in child.targets:
                targets(target)
        elif isinstance(child, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
            targets(child.target)
        elif isinstance(child, ast.withitem) and child.optional_vars is not None:
            targets(child.optional_vars)
        elif isinstance(child, ast.ExceptHandler):
            add(child.name)
        elif isinstance(child, ast.Import | ast.ImportFrom):
            for alias in child.names:
                if alias.name != "*":
                    add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(child, ast.NamedExpr):
            add(child.target.id)
        elif isinstance(child, ast.Expr) and isinstance(child.value, ast.Call):
            func = child.value.func
            if isinstance(func, ast.Attribute):
                add_root(_root_name(func.value))
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild)

    visit(node)
    return names, [root for root in roots if root not in names]


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _describe(node: ast.AST) -> str:
    descriptions = {
        "Lambda": "a lambda",
        "ListComp": "a list comprehension",
        "DictComp": "a dict comprehension",
        "SetComp": "a set comprehension",
        "GeneratorExp": "a generator expression",
        "NamedExpr": "an assignment expression (:=)",
        "Await": "await",
        "Yield": "yield",
        "YieldFrom": "yield from",
        "FunctionDef": "a function definition",
        "AsyncFunctionDef": "a function definition",
        "ClassDef": "a class definition",
        "For": "a for loop",
        "AsyncFor": "a for loop",
        "While": "a while loop",
        "With": "a with block",
        "AsyncWith": "a with block",
        "Try": "a try block",
        "TryStar": "a try block",
        "Raise": "raise",
        "Assert": "assert",
        "Global": "global",
        "Nonlocal": "nonlocal",
        "Match": "a match statement",
        "Attribute": "an attribute",
        "Call": "a call",
    }
    name = type(node).__name__
    if isinstance(node, ast.Name):
        return repr(node.id)
    return descriptions.get(name, name)


def _kind(value: Any) -> str:
    if isinstance(value, _Module):
        return f"the module {value.name}"
    if isinstance(value, _Function):
        return f"the function {value.name}"
    if isinstance(value, _Environ):
        return "os.environ"
    if isinstance(value, _ImportRef):
        return value.path
    return f"a {type(value).__name__}"
