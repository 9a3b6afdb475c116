"""Framework-neutral HTTP request and response values.

An adapter turns its framework's request into a :class:`WebRequest` and authkit's
:class:`WebResponse` back into its framework's response; everything in between is shared.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import attrs

from authkit.errors import AuthkitError, RequestError

__all__ = ["Session", "WebRequest", "WebResponse", "parse_form"]

#: The session an adapter provides: any mutable mapping of JSON-compatible values (Flask's,
#: Django's and Starlette's sessions all are).
Session = MutableMapping[str, Any]

#: Largest form body read, in bytes (a SAML response with an encrypted assertion fits easily).
MAX_FORM_BYTES = 1024 * 1024


def _lower_keys(value: Any) -> Mapping[str, str]:
    return {str(k).lower(): str(v) for k, v in dict(value).items()}


def _header_pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in value)


def _multi(value: Any) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for key, item in dict(value).items():
        result[str(key)] = tuple(item) if isinstance(item, list | tuple) else (str(item),)
    return result


def parse_form(body: bytes, content_type: str) -> Mapping[str, tuple[str, ...]]:
    """Decode an ``application/x-www-form-urlencoded`` body (other types give no fields).

    Raises:
        RequestError: The body is too large or not valid UTF-8 (``request.malformed``).
    """
    if "application/x-www-form-urlencoded" not in content_type:
        return {}
    if len(body) > MAX_FORM_BYTES:
        raise RequestError("the form is too large", code="request.too_large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError("the form is not valid UTF-8", code="request.malformed") from exc
    return {k: tuple(v) for k, v in parse_qs(text, keep_blank_values=True).items()}


@attrs.frozen(kw_only=True)
class WebRequest:
    """A request, as every adapter describes it.

    Args:
        method: The HTTP method, upper-case.
        path: The path below authkit's mount point, starting with ``/``
            (``/oauth/login/orcid/``).
        query: Query parameters (every value of each name).
        form: Form fields of a POST (every value of each name).
        headers: Request headers, names lower-cased.
        session: The session (the adapter's, or authkit's signed cookie session).
        script_root: Where authkit is mounted (``""`` or ``/auth``), for building links.
    """

    method: str
    path: str
    query: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_multi)
    form: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_multi)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    session: Session = attrs.field(factory=dict, eq=False)
    script_root: str = ""

    def arg(self, name: str) -> str | None:
        """The single query parameter ``name``, or ``None``.

        Raises:
            RequestError: The parameter is repeated (``request.malformed``).
        """
        return _single(self.query, name)

    def field(self, name: str) -> str | None:
        """The single form field ``name``, or ``None``."""
        return _single(self.form, name)

    def params(self) -> dict[str, str]:
        """Query or form parameters (the form's for a POST), one value each; repeated names
        keep every value as a list so that protocol code can refuse them."""
        source = self.form if self.method == "POST" else self.query
        return {k: v[0] if len(v) == 1 else list(v) for k, v in source.items()}  # type: ignore[misc]

    @property
    def wants_json(self) -> bool:
        """Whether the client prefers JSON (a REST or single-page client) to HTML."""
        accept = self.headers.get("accept", "")
        return "application/json" in accept and "text/html" not in accept


def _single(values: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    found = values.get(name)
    if not found:
        return None
    if len(found) > 1:
        raise RequestError(f"the parameter {name!r} is repeated", code="request.malformed")
    return found[0]


@attrs.frozen(kw_only=True)
class WebResponse:
    """A response, as every adapter sends it back.

    Args:
        status: HTTP status.
        headers: Header name/value pairs (a name may repeat, as ``Set-Cookie`` does).
        body: The body.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_header_pairs)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def with_headers(self, extra: Iterable[tuple[str, str]]) -> WebResponse:
        """A copy with ``extra`` headers appended."""
        return attrs.evolve(self, headers=(*self.headers, *extra))

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> WebResponse:
        """A redirect (the target must already be checked)."""
        return cls(status=status, headers=(("Location", location), *_NO_STORE))

    @classmethod
    def html(cls, text: str, *, status: int = 200) -> WebResponse:
        """An HTML page."""
        return cls(
            status=status,
            headers=(("Content-Type", "text/html; charset=utf-8"), *_NO_STORE, *_PAGE_SECURITY),
            body=text.encode("utf-8"),
        )

    @classmethod
    def json(
        cls, data: Any, *, status: int = 200, content_type: str = "application/json"
    ) -> WebResponse:
        """A JSON document."""
        return cls(
            status=status,
            headers=(("Content-Type", content_type), *_NO_STORE),
            body=json.dumps(data, sort_keys=True).encode("utf-8"),
        )

    @classmethod
    def problem(
        cls, error: AuthkitError, *, as_json: bool, title: str = "", status: int | None = None
    ) -> WebResponse:
        """An error as an RFC 9457 problem document or a readable HTML page.

        Only the error's code, its message and hint are shown: never a stack trace, never the
        attacker-controlled input a verification error refused.
        """
        status = status or error.status_hint
        if as_json:
            document = {"type": f"urn:authkit:error:{error.code}", "status": status,
                        "title": title or "Sign-in failed", **error.to_dict()}  # fmt: skip
            return cls.json(document, status=status, content_type="application/problem+json")
        hint = f"<p>{html.escape(error.hint)}</p>" if error.hint else ""
        body = (
            f"<h1>{html.escape(title or 'Sign-in failed')}</h1>"
            f"<p>{html.escape(error.message)}</p>{hint}"
            f'<p class="code">Error code: <code>{html.escape(error.code)}</code></p>'
        )
        return cls.html(page(title or "Sign-in failed", body), status=status)


_NO_STORE = (("Cache-Control", "no-store"),)
_PAGE_SECURITY = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
    "color:#1d2330}a.button,button{display:inline-block;padding:.6rem 1rem;margin:.3rem 0;"
    "border:1px solid #345;border-radius:.4rem;background:#f4f6fa;color:#123;"
    "text-decoration:none;font-size:1rem;cursor:pointer}code{background:#eef}"
    "label{display:block;margin:.6rem 0}input{font-size:1rem;padding:.3rem}"
    ".code{color:#666}table{border-collapse:collapse}td,th{padding:.2rem .6rem;"
    "border-bottom:1px solid #ddd;text-align:left}"
)


def page(title: str, body_html: str) -> str:
    """A minimal, self-contained HTML page around ``body_html`` (already escaped)."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body_html}</body></html>"
    )
