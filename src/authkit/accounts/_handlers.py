"""Info handlers: from a completed OAuth sign-in to :class:`AccountInfo`, with the remote app's
own ``info`` / ``info_serializer`` hooks replacing the defaults.

authkit's default for every OAuth provider is :meth:`AccountInfo.from_claims` over the user
info the :class:`~authkit.oauth.OAuthClient` already fetched (contrib providers — GitHub,
ORCID, GitLab — normalise their profiles to OIDC claims there), with the username taken from
``RemoteApp.username_claim``.

A remote app may bring its own hooks, as in InvenioRDM's "custom user info" recipe. authkit
calls them like invenio-oauthclient does:

``info(remote, resp)``
    Fetches and returns the account information. ``remote`` is a :class:`RemoteContext`
    (``remote.name``, ``remote.app``, ``remote.get(url).data`` — a GET with the person's access
    token, like flask-oauthlib's remote — plus ``remote.userinfo`` and
    ``remote.id_token_claims`` already fetched); ``resp`` is the token response as a dict.
    When set, it replaces everything else (it may call ``remote.serialize(...)`` to use the
    configured ``info_serializer``).
``info_serializer(remote, resp, token_user_info, user_info)``
    Shapes what was fetched. ``token_user_info`` is the validated ID token's claims (the user
    info when the provider issues no ID token), ``user_info`` the user info. A serializer with
    three parameters, as in the InvenioRDM documentation, is called as
    ``info_serializer(remote, resp, user_info)``.

Both return Invenio's account-info dictionary (``{"user": {...}, "external_id": ...,
"external_method": ...}``) or an :class:`AccountInfo`. Invenio's dictionary has no
``email_verified``: when the address a hook returns is the one the provider's claims mark as
verified, it counts as verified (``user.email_verified`` in the dictionary is read too). Hook
strings naming Invenio's own handlers (``"invenio_oauthclient...."``) resolve to authkit's
built-in behaviour.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from authkit.accounts._info import AccountInfo
from authkit.config import RemoteApp
from authkit.errors import AuthkitError, InvalidSettingError, ProviderResponseError
from authkit.transport import HTTPRequest

if TYPE_CHECKING:
    from authkit.oauth import OAuthClient, SignInResult

__all__ = ["RemoteContext", "RemoteResponse", "account_info_from_sign_in"]


@attrs.frozen(kw_only=True)
class RemoteResponse:
    """The answer of :meth:`RemoteContext.get` (flask-oauthlib's ``.data`` and ``.status``)."""

    status: int
    data: Any


class RemoteContext:
    """The ``remote`` argument of ``info`` and ``info_serializer`` hooks.

    Attributes:
        app: The remote app (with the endpoints discovery filled in, when a client is given).
        name: Its name.
        consumer_key: Its client id (Invenio's ``remote.consumer_key``).
        sign_in: The completed sign-in.
        client: The OAuth client, when given (needed by :meth:`get`).
        userinfo: The user info fetched during the sign-in.
        id_token_claims: The validated ID token's claims (empty without an ID token).
    """

    def __init__(
        self, app: RemoteApp, sign_in: SignInResult, client: OAuthClient | None = None
    ) -> None:
        # with a client, the app with the endpoints discovery filled in (userinfo_url…)
        self.app = client.app if client is not None else app
        self.name = app.name
        self.consumer_key = app.client_id
        self.sign_in = sign_in
        self.client = client
        self.userinfo: Mapping[str, Any] = sign_in.userinfo
        self.id_token_claims: Mapping[str, Any] = sign_in.id_token_claims

    def __repr__(self) -> str:
        return f"RemoteContext({self.name!r})"

    def get(self, url: str) -> RemoteResponse:
        """GET ``url`` with the person's access token; the JSON body is in ``.data``.

        Raises:
            InvalidSettingError: No OAuth client was given to
                :func:`account_info_from_sign_in` (``config.invalid_value``).
            ProviderError: What the transport raises (unreachable, timeout, HTTP error,
                malformed JSON).
        """
        if self.client is None:
            raise InvalidSettingError(
                "the info hook fetches from the provider but no OAuth client was given",
                key=f"RemoteApp({self.name!r}).hooks.info",
                hint="pass client= to account_info_from_sign_in",
            )
        app = self.client.app
        response = self.client.transport.send(
            HTTPRequest(
                method="GET",
                url=url,
                headers={
                    "Authorization": f"Bearer {self.sign_in.tokens.access_token}",
                    "Accept": "application/json",
                },
                timeout=app.timeout,
                provider=app.name,
            )
        )
        response.raise_for_status(provider=app.name)
        return RemoteResponse(status=response.status, data=response.json(provider=app.name))

    def serialize(self, resp: Mapping[str, Any], *args: Any) -> AccountInfo:
        """Run the configured ``info_serializer`` (or the default) — for ``info`` hooks that
        fetch and then want the configured shaping, like Invenio's Keycloak ``info_handler``."""
        token_user_info = args[0] if args else (self.id_token_claims or self.userinfo)
        user_info = args[1] if len(args) > 1 else self.userinfo
        serializer = self.app.hooks.resolve("info_serializer", key=self._key)
        if serializer is None:
            return _default(self.app, token_user_info, user_info)
        value = _call_serializer(serializer, self, resp, token_user_info, user_info)
        return _coerce(value, self.app, "info_serializer", user_info)

    @property
    def _key(self) -> str:
        return f"RemoteApp({self.name!r}).hooks"


def _token_response(sign_in: SignInResult) -> dict[str, Any]:
    if sign_in.tokens.raw:
        return dict(sign_in.tokens.raw)
    data = sign_in.tokens.to_dict()
    data.pop("raw", None)
    return {k: v for k, v in data.items() if v is not None}


def _default(
    app: RemoteApp, token_user_info: Mapping[str, Any], user_info: Mapping[str, Any]
) -> AccountInfo:
    return AccountInfo.from_claims(
        user_info,
        provider=app.name,
        username_claim=app.username_claim,
        id_token_claims=token_user_info if token_user_info is not user_info else None,
    )


def _positional_arity(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 4
    count = 0
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return 4
        if param.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


def _call_serializer(
    serializer: Callable[..., Any],
    remote: RemoteContext,
    resp: Mapping[str, Any],
    token_user_info: Mapping[str, Any],
    user_info: Mapping[str, Any],
) -> Any:
    arity = _positional_arity(serializer)
    if arity >= 4:
        return _run(
            serializer, remote.app, "info_serializer", remote, resp, token_user_info, user_info
        )
    if arity == 3:
        return _run(serializer, remote.app, "info_serializer", remote, resp, user_info)
    raise InvalidSettingError(
        "an info_serializer takes (remote, resp, token_user_info, user_info) or "
        "(remote, resp, user_info)",
        key=f"RemoteApp({remote.name!r}).hooks.info_serializer",
    )


def _run(func: Callable[..., Any], app: RemoteApp, hook: str, *args: Any) -> Any:
    try:
        return func(*args)
    except AuthkitError:
        raise
    except Exception as exc:  # a site's hook: report it as an authkit error, chained
        raise ProviderResponseError(
            f"the {hook} hook of {app.name!r} failed: {type(exc).__name__}: {exc}",
            provider=app.name,
            code="accounts.info_hook_failed",
        ) from exc


def _coerce(value: Any, app: RemoteApp, hook: str, raw: Mapping[str, Any]) -> AccountInfo:
    if isinstance(value, AccountInfo):
        return _verified_from_claims(value, raw)
    if isinstance(value, Mapping):
        return _verified_from_claims(AccountInfo.from_dict(value, provider=app.name, raw=raw), raw)
    raise InvalidSettingError(
        f"the {hook} hook returned a {type(value).__name__}; expected Invenio's account-info "
        "dict or an AccountInfo",
        key=f"RemoteApp({app.name!r}).hooks.{hook}",
    )


def _verified_from_claims(info: AccountInfo, claims: Mapping[str, Any]) -> AccountInfo:
    """Invenio's account-info dict has no ``email_verified``: keep the provider's word when the
    address a hook returned is the one the claims say is verified."""
    email = info.email
    if info.user.email_verified or email is None:
        return info
    claimed = claims.get("email")
    verified = claims.get("email_verified")
    if (
        isinstance(claimed, str)
        and claimed.strip().lower() == email.lower()
        and (verified is True or (isinstance(verified, str) and verified.lower() == "true"))
    ):
        return attrs.evolve(info, user=attrs.evolve(info.user, email_verified=True))
    return info


def account_info_from_sign_in(
    app: RemoteApp, sign_in: SignInResult, *, client: OAuthClient | None = None
) -> AccountInfo:
    """The account information of a completed OAuth / OIDC sign-in.

    Runs the app's ``info`` hook when it has one, else its ``info_serializer`` over the fetched
    claims, else authkit's default (:meth:`AccountInfo.from_claims`).

    Args:
        app: The remote app (``app.name`` must be the sign-in's provider).
        sign_in: What :meth:`OAuthClient.handle_callback` returned.
        client: The OAuth client; needed only by hooks that fetch more (``remote.get``).

    Raises:
        HandlerImportError: A hook string does not resolve.
        InvalidSettingError: A hook returned something else than account information.
        ProviderResponseError: ``accounts.external_id_missing`` / ``accounts.info_invalid``
            (the information is unusable) or ``accounts.info_hook_failed`` (a hook raised).
    """
    remote = RemoteContext(app, sign_in, client)
    resp = _token_response(sign_in)
    key = f"RemoteApp({app.name!r}).hooks"
    info_hook = app.hooks.resolve("info", key=key)
    raw: dict[str, Any] = {**sign_in.id_token_claims, **sign_in.userinfo}
    if info_hook is not None:
        return _coerce(_run(info_hook, app, "info", remote, resp), app, "info", raw)
    serializer = app.hooks.resolve("info_serializer", key=key)
    if serializer is None:
        return _default(app, sign_in.id_token_claims, sign_in.userinfo)
    token_user_info = sign_in.id_token_claims or sign_in.userinfo
    value = _call_serializer(serializer, remote, resp, token_user_info, sign_in.userinfo)
    return _coerce(value, app, "info_serializer", raw)
