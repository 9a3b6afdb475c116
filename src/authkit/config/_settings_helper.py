"""Invenio's ``OAuthSettingsHelper``: build remote-app dictionaries from a few arguments.

The constructor takes exactly invenio-oauthclient's arguments, applies its defaults and exposes
the same results (``base_app``, ``remote_app``, ``remote_rest_app``, ``get_handlers()``,
``get_rest_handlers()``), so an ``invenio.cfg`` that subclasses or calls the helper keeps working
with ``from authkit.config import OAuthSettingsHelper``. :meth:`OAuthSettingsHelper.to_remote_app`
gives the typed :class:`RemoteApp`, carrying both handler sets.

Two differences from Invenio, both so that no web framework is needed:

- ``hide`` is ``hide_when`` itself when it is a boolean, and a :class:`HideWhen` wrapping it when
  it is callable (Invenio uses a werkzeug ``LocalProxy``); both are tested for truth the same way.
- The base class's ``get_handlers()`` / ``get_rest_handlers()`` return no handlers instead of
  raising ``NotImplementedError``: a provider without handlers gets authkit's built-in behaviour
  for its ``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authkit.config._invenio import HideWhen, copy_tree, from_invenio, rest_part
from authkit.config._remote_app import RemoteApp
from authkit.errors import InvalidSettingError

__all__ = ["OAuthSettingsHelper"]

#: Invenio's default precedence mask: the provider owns the e-mail, the person the rest.
DEFAULT_PRECEDENCE_MASK: dict[str, Any] = {
    "email": True,
    "password": False,
    "profile": {"username": False, "full_name": False},
}


class OAuthSettingsHelper:
    """Build Invenio ``REMOTE_APP`` / ``REMOTE_REST_APP`` dictionaries (Invenio-compatible).

    Args:
        title: Shown on the sign-in button.
        description: Shown under "Linked accounts".
        base_url: The provider's API base URL; a trailing ``/`` is added.
        app_key: Name of the setting holding ``dict(consumer_key=..., consumer_secret=...)``.
        icon: CSS class of an icon (``""`` when unset).
        access_token_url: Token endpoint; defaults to ``<base_url>oauth2/token``.
        authorize_url: Authorization endpoint; defaults to ``<base_url>oauth2/authorize``.
        access_token_method: HTTP method of the token request.
        request_token_params: Authorization request parameters (``scope``…); defaults to
            ``{"scope": ""}``.
        request_token_url: OAuth 1 request-token URL (``None`` for OAuth 2).
        precedence_mask: Which profile fields the provider owns; defaults to Invenio's
            :data:`DEFAULT_PRECEDENCE_MASK`.
        signup_options: ``auto_confirm`` (default ``True``) and ``send_register_msg`` (default
            ``False``).
        logout_url: Where to send the person after a local logout.
        hide_when: ``True``/``False``, or a callable returning whether to hide the button.
        link_only: Only for linking to a signed-in account.
        **kwargs: More flask-oauthlib parameters, written into ``params``
            (``content_type="application/json"``…).

    Raises:
        InvalidSettingError: ``base_url`` is not a string.
    """

    #: The provider kind :meth:`to_remote_app` gives (inferred from the handlers when generic).
    kind: ClassVar[str] = "generic"

    def __init__(
        self,
        title: str,
        description: str,
        base_url: str,
        app_key: str | None,
        icon: str | None = None,
        access_token_url: str | None = None,
        authorize_url: str | None = None,
        access_token_method: str = "POST",
        request_token_params: Mapping[str, Any] | None = None,
        request_token_url: str | None = None,
        precedence_mask: Mapping[str, Any] | None = None,
        signup_options: Mapping[str, Any] | None = None,
        logout_url: str | None = None,
        hide_when: Any = False,
        link_only: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(base_url, str):
            raise InvalidSettingError(
                f"expected a URL string, got {base_url!r}", key=f"{type(self).__name__}.base_url"
            )
        self.base_url = "{}/".format(base_url.rstrip("/"))
        options = dict(signup_options or {})
        options.setdefault("auto_confirm", True)
        options.setdefault("send_register_msg", False)
        self.hide_when = hide_when if hide_when is not None else False
        hide = HideWhen(self.hide_when) if callable(self.hide_when) else bool(self.hide_when)
        self._base_app: dict[str, Any] = {
            "title": title,
            "description": description,
            "icon": icon or "",
            "precedence_mask": copy_tree(precedence_mask or DEFAULT_PRECEDENCE_MASK),
            "signup_options": options,
            "logout_url": logout_url,
            "hide": hide,
            "link_only": link_only,
            "params": {
                "base_url": self.base_url,
                "request_token_params": copy_tree(request_token_params or {"scope": ""}),
                "request_token_url": request_token_url,
                "access_token_url": access_token_url or f"{self.base_url}oauth2/token",
                "access_token_method": access_token_method,
                "authorize_url": authorize_url or f"{self.base_url}oauth2/authorize",
                "app_key": app_key,
                **kwargs,
            },
        }

    @property
    def base_app(self) -> dict[str, Any]:
        """The dictionary without handlers (a fresh copy)."""
        result: dict[str, Any] = copy_tree(self._base_app)
        return result

    #: The ``invenio_oauthclient.contrib`` module whose handlers a preset names, when they
    #: follow Invenio's usual names (``account_info``, ``account_setup``…); ``None`` for none.
    contrib: ClassVar[str | None] = None

    def get_handlers(self) -> dict[str, Any]:
        """The handlers of the ``REMOTE_APP`` (``authorized_handler``, ``signup_handler``…).

        Presets name Invenio's handler strings for their provider (through :attr:`contrib`, or
        by overriding this); this base class names none (Invenio raises
        ``NotImplementedError``).
        """
        return _contrib_handlers(self.contrib, rest=False) if self.contrib else {}

    def get_rest_handlers(self) -> dict[str, Any]:
        """The handlers and redirect URLs of the ``REMOTE_REST_APP``."""
        return _contrib_handlers(self.contrib, rest=True) if self.contrib else {}

    @property
    def remote_app(self) -> dict[str, Any]:
        """The Invenio ``REMOTE_APP`` dictionary (a fresh copy)."""
        app = self.base_app
        app.update(copy_tree(self.get_handlers()))
        return app

    @property
    def remote_rest_app(self) -> dict[str, Any]:
        """The Invenio ``REMOTE_REST_APP`` dictionary (a fresh copy)."""
        app = self.base_app
        app.update(copy_tree(self.get_rest_handlers()))
        return app

    def remote_app_fields(self) -> dict[str, Any]:
        """Typed :class:`RemoteApp` fields Invenio's dictionary has no key for.

        Subclasses add what they know (``issuer``, ``jwks_url``, ``userinfo_url``…); an
        ``extra`` mapping is merged into the remote app's ``extra``.
        """
        return {}

    def to_remote_app(
        self, name: str, *, credentials: Mapping[str, Any] | None = None
    ) -> RemoteApp:
        """The typed remote app; ``to_invenio(app)`` is :attr:`remote_app` and
        ``to_invenio(app, rest=True)`` is :attr:`remote_rest_app`.

        Args:
            name: The provider's name (``/oauth/login/<name>/``).
            credentials: ``dict(consumer_key=..., consumer_secret=...)``, when at hand.

        Raises:
            ConfigurationError: A value the helper was given is invalid (see
                :func:`~authkit.config.from_invenio`).
        """
        kind = None if self.kind == "generic" else self.kind
        app = from_invenio(name, self.remote_app, credentials=credentials, kind=kind)
        invenio = dict(app.extra.get("invenio", {}))
        invenio["rest"] = rest_part(self.remote_rest_app)
        fields = self.remote_app_fields()
        extra = {**app.extra, **fields.pop("extra", {}), "invenio": invenio}
        return app.evolve(extra=extra, **fields)


def _contrib_handlers(module: str, *, rest: bool) -> dict[str, Any]:
    """Invenio's handler strings for a contrib module with the usual handler names."""
    handlers = "invenio_oauthclient.handlers" + (".rest" if rest else "")
    result: dict[str, Any] = {
        "authorized_handler": f"{handlers}:authorized_signup_handler",
        "disconnect_handler": f"{module}:disconnect{'_rest' if rest else ''}_handler",
        "signup_handler": {
            "info": f"{module}:account_info",
            "info_serializer": f"{module}:account_info_serializer",
            "setup": f"{module}:account_setup",
            "view": f"{handlers}:signup_handler",
        },
    }
    if rest:
        result["response_handler"] = f"{handlers}:default_remote_response_handler"
        for page in ("authorized", "disconnect", "signup", "error"):
            result[f"{page}_redirect_url"] = "/"
    return result
