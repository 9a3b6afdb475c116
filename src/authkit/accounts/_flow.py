"""The account flow: from "a provider says this is X" to a local account, safely.

Theory of operation
-------------------
:class:`AccountFlow` is a state machine over two stores — the accounts store (users,
identities, remote accounts, encrypted tokens) and the state store (pending registrations and
link confirmations) — plus a clock. It does no I/O of its own: the application fetched the
account information (:func:`~authkit.accounts.account_info_from_sign_in`) and passes callables
for anything remote (token revocation).

A provider callback (:meth:`AccountFlow.callback`) ends in exactly one outcome:

::

    identity (provider, external_id) known?
    ├── yes ── linked to another user than the signed-in one ──> ConflictError
    │          policy denies / account inactive ───────────────> Denied
    │          otherwise: "force" fields synced, tokens stored ─> SignedIn (Linked if signed in)
    └── no ─── someone is signed in ─────────────────────────> Linked (identity added)
               provider is link-only / sign-up closed ────────> Denied
               an account has the provider's e-mail address:
               │   provider vouches (email_verified, or trusted for e-mail [in the domain])
               │   and so does the account ─────────────────> SignedIn (linked=True)
               │   otherwise ───────────────────────────────> ConfirmLinkRequired
               policy denies ──────────────────────────────────> Denied
               mask + provider data complete, no terms ────────> Registered
               otherwise ──────────────────────────────────────> RegistrationRequired

``RegistrationRequired`` and ``ConfirmLinkRequired`` carry a *pending token*: a random id,
sealed (encrypted and authenticated, timestamped) with the flow's :class:`TokenCipher`, naming
an entry of the state store that holds what the provider said and its tokens (encrypted). The
token expires after ``SignupPolicy.pending_ttl``; it may be bound to the browser session; it is
taken once. :meth:`AccountFlow.complete_registration` and :meth:`AccountFlow.confirm_link` end
those two states.

Every decision runs in one accounts-store transaction: a failure at any step leaves no user, no
identity, no remote account and no token behind. Uniqueness is the store's: when two callbacks
for the same new identity race, one commits, the other's insert fails with a conflict, and the
flow runs the decision again — which now finds the winner's identity and ends in ``SignedIn``.
Events are emitted and pending entries written only after the commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from authkit.accounts._crypto import ProviderTokens, TokenCipher
from authkit.accounts._events import AccountEvent, AccountEvents
from authkit.accounts._info import AccountInfo
from authkit.accounts._mask import _get
from authkit.accounts._outcomes import (
    CallbackOutcome,
    ConfirmLinkRequired,
    Denied,
    Disconnected,
    Linked,
    Registered,
    RegistrationRequired,
    SignedIn,
)
from authkit.accounts._policy import Denial, LoginAttempt, LoginPolicy, check_login
from authkit.accounts._settings import (
    ProviderSettings,
    SignupPolicy,
    normalize_email,
    suggest_username,
)
from authkit.accounts._unset import UNSET, has_value
from authkit.config import ProviderRegistry, RemoteApp
from authkit.errors import (
    AuthkitError,
    ConflictError,
    InvalidSettingError,
    RequestError,
    StoreError,
    UnknownProviderError,
)
from authkit.oauth import TokenSet
from authkit.stores import (
    AccountsStore,
    AccountsTransaction,
    Identity,
    RemoteAccount,
    RemoteToken,
    StateStore,
    User,
    new_user_id,
)

__all__ = ["AccountFlow", "AccountSetup", "RevokeToken"]

T = TypeVar("T")

#: ``revoke(token, token_type_hint=...)`` — :meth:`OAuthClient.revoke` fits.
RevokeToken = Callable[..., object]

_TRUE = frozenset({"true", "on", "yes", "1", "y"})


@attrs.frozen(kw_only=True)
class AccountSetup:
    """The second argument of a ``setup`` hook: the account being set up with a provider.

    A ``setup`` hook is called as ``setup(provider, account, resp)`` — Invenio's
    ``setup(remote, token, resp)`` — the first time an account gets a remote account for a
    provider (sign-up, link), inside the flow's transaction. ``provider`` is the
    :class:`ProviderSettings` (``.name``, ``.app``), ``resp`` the token response as a dict
    (empty for SAML). It returns a mapping merged into the remote account's ``extra_data``, or
    ``None``; raising rolls the whole sign-up back.

    Attributes:
        user: The local account.
        remote_account: The remote account (empty ``extra_data`` at this point).
        info: What the provider said.
    """

    user: User
    remote_account: RemoteAccount
    info: AccountInfo


@attrs.frozen
class _Pending:
    token: str
    key: str
    value: dict[str, Any]
    ttl: float


class AccountFlow:
    """Sign-in, sign-up, linking and disconnecting, over the stores.

    Args:
        accounts: The accounts store.
        state: The state store (pending registrations, link confirmations).
        providers: The providers: a :class:`~authkit.config.ProviderRegistry` (looked up on
            each call, so edits apply at once), remote apps and :class:`ProviderSettings`, or
            both — a registry for the OAuth providers and settings for the SAML IdPs.
        cipher: Encrypts provider tokens at rest and seals pending tokens.
        signup: The site's sign-up rules.
        login_policies: Login policies (or plain callables), checked in order.
        events: The event dispatcher (a new one when omitted: ``flow.events``).
        clock: Current time in epoch seconds.
        max_attempts: How often a decision is retried after losing a uniqueness race.
        key_prefix: Prefix of the state-store keys of pending entries.
    """

    def __init__(
        self,
        *,
        accounts: AccountsStore,
        state: StateStore,
        providers: ProviderRegistry | Iterable[RemoteApp | ProviderSettings | ProviderRegistry],
        cipher: TokenCipher,
        signup: SignupPolicy | None = None,
        login_policies: Iterable[LoginPolicy | Callable[[LoginAttempt], Any]] = (),
        events: AccountEvents | None = None,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 3,
        key_prefix: str = "authkit:accounts:pending:",
    ) -> None:
        self.accounts = accounts
        self.state = state
        self.cipher = cipher
        self.signup = signup if signup is not None else SignupPolicy()
        self.login_policies = tuple(login_policies)
        self.events = events if events is not None else AccountEvents()
        self.clock = clock
        if max_attempts < 1:
            raise InvalidSettingError(
                f"expected at least 1, got {max_attempts!r}", key="AccountFlow.max_attempts"
            )
        self.max_attempts = max_attempts
        self.key_prefix = key_prefix
        self._registry: ProviderRegistry | None = None
        self._static: dict[str, ProviderSettings] = {}
        self._cache: dict[str, tuple[RemoteApp, ProviderSettings]] = {}
        for item in [providers] if isinstance(providers, ProviderRegistry) else providers:
            if isinstance(item, ProviderRegistry):  # looked up live, after the static ones
                self._registry = item
            else:
                settings = self._settings_of(item)
                self._static[settings.name] = settings

    # --- providers -------------------------------------------------------------------------------

    def _settings_of(self, item: RemoteApp | ProviderSettings) -> ProviderSettings:
        if isinstance(item, ProviderSettings):
            return item
        if isinstance(item, RemoteApp):
            cached = self._cache.get(item.name)
            if cached is not None and cached[0] is item:
                return cached[1]
            settings = ProviderSettings.from_remote_app(item)
            self._cache[item.name] = (item, settings)
            return settings
        raise InvalidSettingError(
            f"expected a RemoteApp or ProviderSettings, got {type(item).__name__}",
            key="AccountFlow.providers",
        )

    def provider(self, provider: str | RemoteApp | ProviderSettings) -> ProviderSettings:
        """The settings of ``provider`` (a name, a remote app or settings).

        Raises:
            UnknownProviderError: No provider of that name (``registry.unknown``).
        """
        if not isinstance(provider, str):
            return self._settings_of(provider)
        if provider in self._static:
            return self._static[provider]
        if self._registry is not None:
            return self._settings_of(self._registry.get(provider))
        raise UnknownProviderError(
            f"no provider named {provider!r}",
            key="AccountFlow.providers",
            hint="known: " + (", ".join(sorted(self._static)) or "none"),
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock()

    @staticmethod
    def _dt(epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    def _check(
        self,
        settings: ProviderSettings,
        info: AccountInfo,
        email: str | None,
        *,
        email_pending: bool = False,
        user: User | None = None,
    ) -> Denial | None:
        if not self.login_policies:
            return None
        attempt = LoginAttempt(
            provider=settings.name, info=info, email=email, email_pending=email_pending, user=user
        )
        return check_login(self.login_policies, attempt)

    def _transact(self, decide: Callable[[AccountsTransaction, list[Callable[[], None]]], T]) -> T:
        """Run ``decide`` in a transaction, again after a lost uniqueness race; then run the
        after-commit actions it queued."""
        for attempt in range(1, self.max_attempts + 1):
            after: list[Callable[[], None]] = []
            try:
                with self.accounts.transaction() as tx:
                    result = decide(tx, after)
            except ConflictError as exc:
                if exc.code != "store.conflict" or attempt == self.max_attempts:
                    raise
                continue
            for action in after:
                action()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _emit(self, after: list[Callable[[], None]], event: AccountEvent) -> None:
        after.append(lambda: self.events.emit(event))

    def _provider_email(self, info: AccountInfo) -> str | None:
        email = info.email
        if email is None:
            return None
        try:
            return normalize_email(email)
        except RequestError:
            return None

    def _effective_provider_data(
        self, info: AccountInfo, problems: dict[str, str]
    ) -> dict[str, Any]:
        """The provider's data with the e-mail normalised and the username made acceptable
        (or dropped, with the problem recorded)."""
        data = info.user_data()
        if has_value(data.get("email")):
            email = self._provider_email(info)
            if email is None:
                problems["email"] = "invalid"
                del data["email"]
            else:
                data["email"] = email
        profile = data.get("profile")
        if isinstance(profile, dict) and has_value(profile.get("username")):
            suggestion = suggest_username(profile["username"], self.signup.username_regex)
            if suggestion is None:
                problems["profile.username"] = "invalid"
                del profile["username"]
            else:
                profile["username"] = suggestion
        return data

    def _free_username(self, tx: AccountsTransaction, base: str) -> str | None:
        if tx.find_user_by_username(base) is None:
            return base
        if self.signup.username_collision == "ask":
            return None
        pattern = self.signup.username_regex
        for n in range(2, self.signup.max_username_suffix + 1):
            candidate = f"{base[: 255 - len(str(n))]}{n}"
            if pattern.fullmatch(candidate) and tx.find_user_by_username(candidate) is None:
                return candidate
        return None

    def _token_dict(self, tokens: TokenSet | None) -> dict[str, Any]:
        if tokens is None:
            return {}
        return {
            k: v
            for k, v in (
                ("access_token", tokens.access_token),
                ("refresh_token", tokens.refresh_token),
                ("expires_at", tokens.expires_at),
                ("token_type", tokens.token_type),
                ("scope", tokens.scope),
            )
            if v is not None
        }

    def _resp(self, tokens: TokenSet | None) -> dict[str, Any]:
        if tokens is None:
            return {}
        return dict(tokens.raw) if tokens.raw else self._token_dict(tokens)

    def _store_tokens(
        self, tx: AccountsTransaction, provider: str, user_id: str, tokens: Mapping[str, Any]
    ) -> None:
        now = self._now()
        access = tokens.get("access_token")
        if isinstance(access, str) and access:
            expires = tokens.get("expires_at")
            tx.put_remote_token(
                RemoteToken(
                    user_id=user_id,
                    provider=provider,
                    token_type="access",
                    ciphertext=self.cipher.encrypt(access, now=now),
                    expires_at=self._dt(float(expires)) if expires is not None else None,
                )
            )
        refresh = tokens.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            tx.put_remote_token(
                RemoteToken(
                    user_id=user_id,
                    provider=provider,
                    token_type="refresh",
                    ciphertext=self.cipher.encrypt(refresh, now=now),
                )
            )

    def _setup_remote_account(
        self,
        tx: AccountsTransaction,
        settings: ProviderSettings,
        user: User,
        info: AccountInfo,
        resp: Mapping[str, Any],
        after: list[Callable[[], None]],
    ) -> None:
        account = tx.get_remote_account(user.id, settings.name)
        if account is not None and account.extra_data:
            return
        account = account or RemoteAccount(user_id=user.id, provider=settings.name)
        extra: dict[str, Any] = {"external_id": info.external_id, "external_method": settings.name}
        hook = settings.hooks.resolve("setup", key=f"{settings.name}.hooks")
        if hook is not None:
            try:
                returned = hook(
                    settings, AccountSetup(user=user, remote_account=account, info=info), dict(resp)
                )
            except AuthkitError:
                raise
            except Exception as exc:
                raise AuthkitError(
                    f"the setup hook of {settings.name!r} failed: {type(exc).__name__}: {exc}",
                    code="accounts.setup_hook_failed",
                ) from exc
            if returned is not None:
                if not isinstance(returned, Mapping):
                    raise InvalidSettingError(
                        f"the setup hook returned a {type(returned).__name__}; expected a "
                        "mapping (extra data) or None",
                        key=f"{settings.name}.hooks.setup",
                    )
                extra.update(returned)
        account = attrs.evolve(account, extra_data=extra)
        tx.put_remote_account(account)
        self._emit(
            after,
            AccountEvent(
                kind="setup",
                provider=settings.name,
                user=user,
                info=info,
                external_id=info.external_id,
                data={"extra_data": dict(extra)},
            ),
        )

    def _link(
        self,
        tx: AccountsTransaction,
        settings: ProviderSettings,
        user: User,
        info: AccountInfo,
        tokens: Mapping[str, Any],
        resp: Mapping[str, Any],
        after: list[Callable[[], None]],
    ) -> None:
        tx.link_identity(
            Identity(
                provider=settings.name,
                external_id=info.external_id,
                user_id=user.id,
                created_at=self._dt(self._now()),
            )
        )
        self._store_tokens(tx, settings.name, user.id, tokens)
        self._setup_remote_account(tx, settings, user, info, resp, after)

    # --- sync on sign-in -------------------------------------------------------------------------

    def _sync(
        self,
        tx: AccountsTransaction,
        settings: ProviderSettings,
        user: User,
        info: AccountInfo,
    ) -> tuple[User, tuple[str, ...]]:
        problems: dict[str, str] = {}
        provider_data = self._effective_provider_data(info, problems)
        email = provider_data.get("email")
        vouched = isinstance(email, str) and settings.vouches_for(
            email, email_verified=info.user.email_verified
        )
        mask = settings.precedence_mask
        updated: list[str] = []
        changes: dict[str, Any] = {}
        forced = mask.force_fields(provider_data)
        if forced:
            current = {
                "email": user.email,
                "active": user.active,
                "profile": {**user.profile, "username": user.username},
                "prefs": dict(user.prefs),
            }
            synced = mask.sync(current=current, provider=provider_data)
            for field in forced:
                new, old = _get(synced, field), _get(current, field)
                if new == old:
                    continue
                if field == "email":
                    if not isinstance(new, str):
                        continue  # an account keeps an address; "said empty" does not clear it
                    other = tx.find_user_by_email(new)
                    if other is not None and other.id != user.id:
                        continue  # another account has it: keep ours, sign in anyway
                    changes["email"] = new
                    changes["email_verified"] = vouched
                elif field == "profile.username":
                    if not isinstance(new, str):
                        continue
                    other = tx.find_user_by_username(new)
                    if other is not None and other.id != user.id:
                        continue
                    changes["username"] = new
                elif field == "active":
                    if isinstance(new, bool):
                        changes["active"] = new
                    else:
                        continue
                elif field.startswith("profile."):
                    profile = dict(changes.get("profile", user.profile))
                    _put(profile, field.split(".")[1:], new)
                    changes["profile"] = profile
                elif field.startswith("prefs."):
                    prefs = dict(changes.get("prefs", user.prefs))
                    _put(prefs, field.split(".")[1:], new)
                    changes["prefs"] = prefs
                else:
                    continue
                updated.append(field)
        if (
            vouched
            and not user.email_verified
            and "email" not in changes
            and isinstance(email, str)
            and user.email is not None
            and user.email.lower() == email.lower()
        ):
            changes["email_verified"] = True
            updated.append("email_verified")
        if not changes:
            return user, ()
        user = tx.update_user(attrs.evolve(user, **changes))
        return user, tuple(updated)

    # --- the callback ----------------------------------------------------------------------------

    def callback(
        self,
        provider: str | RemoteApp | ProviderSettings,
        info: AccountInfo,
        *,
        tokens: TokenSet | None = None,
        current_user_id: str | None = None,
        session_id: str | None = None,
    ) -> CallbackOutcome:
        """Decide what a provider callback means for the local accounts.

        Args:
            provider: The provider (name, remote app or settings).
            info: What the provider said (:func:`account_info_from_sign_in`,
                :meth:`AccountInfo.from_saml`).
            tokens: The provider's tokens, stored encrypted (``None`` for SAML).
            current_user_id: The signed-in person's account id, when someone is signed in:
                the identity is then linked to that account.
            session_id: The browser session; pending tokens are bound to it when given.

        Returns:
            :class:`SignedIn`, :class:`Registered`, :class:`RegistrationRequired`,
            :class:`ConfirmLinkRequired`, :class:`Linked` or :class:`Denied`.

        Raises:
            UnknownProviderError: No such provider.
            InvalidSettingError: ``info.external_method`` is not the provider's name.
            ConflictError: ``accounts.identity_linked_elsewhere`` (the identity belongs to
                another account than the signed-in one) or ``accounts.provider_already_linked``
                (the signed-in account already has another identity at this provider).
            RequestError: ``accounts.user_unknown`` (``current_user_id`` names no account).
            StoreError: The store failed; nothing was written.
        """
        settings = self.provider(provider)
        if info.external_method != settings.name:
            raise InvalidSettingError(
                f"the account information names provider {info.external_method!r}",
                key=f"{settings.name}.external_method",
                hint="an info hook must set external_method to the provider's name",
            )
        self.events.emit(
            AccountEvent(
                kind="info_received",
                provider=settings.name,
                info=info,
                external_id=info.external_id,
            )
        )
        if not settings.enabled:
            return Denied(
                provider=settings.name,
                code="accounts.provider_disabled",
                reason="Signing in with this provider is currently disabled.",
            )
        token_data = self._token_dict(tokens)
        resp = self._resp(tokens)
        pending: list[_Pending] = []

        def decide(tx: AccountsTransaction, after: list[Callable[[], None]]) -> CallbackOutcome:
            pending.clear()
            return self._decide(
                tx, settings, info, token_data, resp, current_user_id, session_id, after, pending
            )

        outcome = self._transact(decide)
        for item in pending:
            self.state.put(item.key, item.value, ttl=item.ttl)
        return outcome

    def _decide(
        self,
        tx: AccountsTransaction,
        settings: ProviderSettings,
        info: AccountInfo,
        tokens: Mapping[str, Any],
        resp: Mapping[str, Any],
        current_user_id: str | None,
        session_id: str | None,
        after: list[Callable[[], None]],
        pending: list[_Pending],
    ) -> CallbackOutcome:
        name = settings.name
        identity = tx.get_identity(name, info.external_id)
        provider_email = self._provider_email(info)

        if identity is not None:
            user = tx.get_user(identity.user_id)
            if user is None:
                raise StoreError(
                    f"identity ({name}, …) points to a missing account",
                    code="accounts.identity_orphaned",
                )
            if current_user_id is not None and identity.user_id != current_user_id:
                raise _linked_elsewhere(name)
            if current_user_id is None and settings.link_only:
                return _link_only(name)
            denial = self._check(settings, info, provider_email or user.email, user=user)
            if denial is not None:
                return Denied.from_denial(name, denial)
            if not user.active:
                return _inactive(name)
            user, updated = self._sync(tx, settings, user, info)
            if not user.active:  # a "force" mask on ``active`` and the provider said false
                return _inactive(name)
            self._store_tokens(tx, name, user.id, tokens)
            self._setup_remote_account(tx, settings, user, info, resp, after)
            if current_user_id is not None:
                return Linked(
                    user=user, provider=name, external_id=info.external_id, already_linked=True
                )
            self._emit(
                after,
                AccountEvent(
                    kind="signed_in",
                    provider=name,
                    user=user,
                    info=info,
                    external_id=info.external_id,
                    data={"updated_fields": updated},
                ),
            )
            return SignedIn(
                user=user, provider=name, external_id=info.external_id, updated_fields=updated
            )

        if current_user_id is not None:
            user = tx.get_user(current_user_id)
            if user is None:
                raise RequestError(
                    "the signed-in account does not exist", code="accounts.user_unknown"
                )
            if any(i.provider == name for i in tx.identities_of(user.id)):
                raise ConflictError(
                    f"your account is already connected to another {name} account; "
                    "disconnect it first",
                    what="identity",
                    code="accounts.provider_already_linked",
                )
            denial = self._check(settings, info, user.email or provider_email, user=user)
            if denial is not None:
                return Denied.from_denial(name, denial)
            self._link(tx, settings, user, info, tokens, resp, after)
            self._emit(after, _event("linked", name, user, info))
            return Linked(user=user, provider=name, external_id=info.external_id)

        if settings.link_only:
            return _link_only(name)

        if provider_email is not None:
            existing = tx.find_user_by_email(provider_email)
            if existing is not None:
                denial = self._check(settings, info, provider_email, user=existing)
                if denial is not None:
                    return Denied.from_denial(name, denial)
                vouched = settings.vouches_for(
                    provider_email, email_verified=info.user.email_verified
                )
                account_ok = existing.email_verified or (
                    not self.signup.auto_link_requires_verified_account
                )
                if vouched and account_ok:
                    if not existing.active:
                        return _inactive(name)
                    self._link(tx, settings, existing, info, tokens, resp, after)
                    self._emit(after, _event("linked", name, existing, info))
                    self._emit(after, _event("signed_in", name, existing, info))
                    return SignedIn(
                        user=existing, provider=name, external_id=info.external_id, linked=True
                    )
                return self._confirm_link_pending(
                    settings, info, tokens, existing, provider_email, session_id, pending
                )

        if not self.signup.allow_signup:
            return Denied(
                provider=name,
                code="accounts.signup_disabled",
                reason="New accounts cannot be created on this site; ask an administrator.",
            )
        denial = self._check(settings, info, provider_email, email_pending=provider_email is None)
        if denial is not None:
            return Denied.from_denial(name, denial)

        problems: dict[str, str] = {}
        provider_data = self._effective_provider_data(info, problems)
        username = _get(provider_data, "profile.username")
        if isinstance(username, str):
            free = self._free_username(tx, username)
            if free is None:
                problems["profile.username"] = "taken"
                del provider_data["profile"]["username"]
            else:
                provider_data["profile"]["username"] = free
        mask = settings.precedence_mask
        merged = mask.merge(provider=provider_data)
        missing = [f for f in self.signup.required_fields if not has_value(_get(merged, f))]
        # a taken username ("ask" mode) goes to the form; an unusable optional one is dropped
        if missing or self.signup.terms or problems.get("profile.username") == "taken":
            return self._registration_pending(
                settings, info, tokens, provider_data, problems, session_id, pending
            )
        user = self._new_user(settings, merged, provider_email, info)
        return self._register(tx, settings, user, info, tokens, resp, after)

    def _new_user(
        self,
        settings: ProviderSettings,
        merged: Mapping[str, Any],
        provider_email: str | None,
        info: AccountInfo,
    ) -> User:
        now = self._dt(self._now())
        email = merged.get("email")
        email = email if isinstance(email, str) and email else None
        from_provider = (
            email is not None
            and provider_email is not None
            and email.lower() == provider_email.lower()
        )
        verified = bool(
            from_provider
            and email is not None
            and settings.vouches_for(email, email_verified=info.user.email_verified)
        )
        confirmed = settings.auto_confirm and (email is None or from_provider)
        profile = dict(merged.get("profile") or {})
        username = profile.pop("username", None)
        profile = {k: v for k, v in profile.items() if v is not None}
        active = merged.get("active")
        prefs = merged.get("prefs")
        return User(
            id=new_user_id(),
            email=email,
            email_verified=verified,
            username=username if isinstance(username, str) and username else None,
            active=active if isinstance(active, bool) else True,
            profile=json.loads(json.dumps(profile)),
            prefs=dict(prefs) if isinstance(prefs, Mapping) else {},
            created_at=now,
            confirmed_at=now if confirmed else None,
        )

    def _register(
        self,
        tx: AccountsTransaction,
        settings: ProviderSettings,
        user: User,
        info: AccountInfo,
        tokens: Mapping[str, Any],
        resp: Mapping[str, Any],
        after: list[Callable[[], None]],
    ) -> Registered:
        user = tx.create_user(user)
        self._link(tx, settings, user, info, tokens, resp, after)
        confirmation_required = user.email is not None and user.confirmed_at is None
        self._emit(
            after,
            AccountEvent(
                kind="registered",
                provider=settings.name,
                user=user,
                info=info,
                external_id=info.external_id,
                data={
                    "send_register_msg": settings.send_register_msg,
                    "confirmation_required": confirmation_required,
                },
            ),
        )
        self._emit(after, _event("signed_in", settings.name, user, info))
        return Registered(
            user=user,
            provider=settings.name,
            external_id=info.external_id,
            send_register_msg=settings.send_register_msg,
            confirmation_required=confirmation_required,
        )

    # --- pending entries -------------------------------------------------------------------------

    def _new_pending(self, kind: str, value: dict[str, Any], session_id: str | None) -> _Pending:
        now = self._now()
        pending_id = secrets.token_urlsafe(24)
        token = self.cipher.seal({"k": kind, "i": pending_id}, now=now)
        value = {
            **value,
            "kind": kind,
            "session": _session_hash(session_id),
            "issued": now,
        }
        return _Pending(
            token=token, key=self.key_prefix + pending_id, value=value, ttl=self.signup.pending_ttl
        )

    def _sealed_tokens(self, tokens: Mapping[str, Any]) -> str | None:
        if not tokens:
            return None
        return self.cipher.encrypt(json.dumps(dict(tokens)), now=self._now()).decode("ascii")

    def _opened_tokens(self, sealed: Any) -> dict[str, Any]:
        if not isinstance(sealed, str):
            return {}
        data = json.loads(self.cipher.decrypt(sealed.encode("ascii")))
        return data if isinstance(data, dict) else {}

    def _registration_pending(
        self,
        settings: ProviderSettings,
        info: AccountInfo,
        tokens: Mapping[str, Any],
        provider_data: dict[str, Any],
        problems: dict[str, str],
        session_id: str | None,
        pending: list[_Pending],
    ) -> RegistrationRequired:
        item = self._new_pending(
            "registration",
            {
                "provider": settings.name,
                "info": info.to_dict(),
                "provider_data": provider_data,
                "problems": problems,
                "tokens": self._sealed_tokens(tokens),
            },
            session_id,
        )
        pending.append(item)
        return self._registration_outcome(settings, item.token, item.value)

    def _registration_outcome(
        self, settings: ProviderSettings, token: str, value: Mapping[str, Any]
    ) -> RegistrationRequired:
        provider_data = value["provider_data"]
        fields = settings.precedence_mask.registration_fields(
            provider_data, fields=self.signup.fields, required=self.signup.required_fields
        )
        problems = dict(value.get("problems") or {})
        return RegistrationRequired(
            token=token,
            provider=settings.name,
            fields=fields,
            missing=tuple(f.name for f in fields if f.missing),
            terms=self.signup.terms,
            prefill={f.name: f.value for f in fields if f.value is not UNSET},
            problems=problems,
            expires_at=self._dt(float(value["issued"]) + self.signup.pending_ttl),
        )

    def _confirm_link_pending(
        self,
        settings: ProviderSettings,
        info: AccountInfo,
        tokens: Mapping[str, Any],
        existing: User,
        email: str,
        session_id: str | None,
        pending: list[_Pending],
    ) -> ConfirmLinkRequired:
        item = self._new_pending(
            "link",
            {
                "provider": settings.name,
                "info": info.to_dict(),
                "user_id": existing.id,
                "email": email,
                "tokens": self._sealed_tokens(tokens),
            },
            session_id,
        )
        pending.append(item)
        return ConfirmLinkRequired(
            token=item.token,
            provider=settings.name,
            email=email,
            user_id=existing.id,
            expires_at=self._dt(float(item.value["issued"]) + self.signup.pending_ttl),
        )

    def _open_pending(
        self, token: str, kind: str, session_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        data = self.cipher.unseal(token, ttl=self.signup.pending_ttl, now=self._now())
        pending_id = data.get("i")
        if data.get("k") != kind or not isinstance(pending_id, str):
            raise RequestError(
                "this link is not valid here; sign in again to restart",
                code="accounts.pending_invalid",
            )
        key = self.key_prefix + pending_id
        value = self.state.get(key)
        if value is None or value.get("kind") != kind:
            raise RequestError(
                "this registration was already completed or has expired; sign in again",
                code="accounts.pending_unknown",
            )
        bound = value.get("session")
        if bound is not None:
            given = _session_hash(session_id)
            if given is None or not hmac.compare_digest(bound, given):
                raise RequestError(
                    "this registration was started in another browser session; sign in again",
                    code="accounts.pending_session_mismatch",
                )
        return key, value

    def _take(self, key: str) -> dict[str, Any]:
        taken = self.state.take(key)
        if taken is None:
            raise RequestError(
                "this registration was already completed or has expired; sign in again",
                code="accounts.pending_unknown",
            )
        return taken

    def _restore(self, key: str, value: Mapping[str, Any]) -> None:
        remaining = float(value["issued"]) + self.signup.pending_ttl - self._now()
        if remaining > 0:
            self.state.put(key, value, ttl=remaining)

    # --- registration ----------------------------------------------------------------------------

    def registration(self, token: str, *, session_id: str | None = None) -> RegistrationRequired:
        """The registration form of a pending registration again (to show it once more).

        Raises:
            RequestError: ``accounts.pending_invalid`` / ``pending_expired`` /
                ``pending_unknown`` / ``pending_session_mismatch``.
            UnknownProviderError: The provider was removed meanwhile.
        """
        _, value = self._open_pending(token, "registration", session_id)
        return self._registration_outcome(self.provider(value["provider"]), token, value)

    def complete_registration(
        self,
        token: str,
        user_input: Mapping[str, Any],
        *,
        session_id: str | None = None,
    ) -> Registered | ConfirmLinkRequired | Denied:
        """Create the account of a pending registration from the person's input.

        ``user_input`` is nested (``{"email": ..., "profile": {"username": ...}}``) or flat with
        dotted names (``{"profile.username": ...}``, what an HTML form posts), plus the
        :attr:`SignupPolicy.terms` consents (true, or ``"on"``/``"true"``/``"yes"``/``"1"``).
        Empty strings count as "not entered".

        Invalid input raises and changes nothing: the pending registration stays usable, so
        the form can be shown again with the error.

        Returns:
            :class:`Registered`; :class:`ConfirmLinkRequired` when the typed e-mail address
            belongs to an existing account; :class:`Denied` when a login policy refuses the
            typed address (the pending registration is then used up).

        Raises:
            RequestError: ``accounts.pending_invalid`` (tampered), ``accounts.pending_expired``,
                ``accounts.pending_unknown`` (used or expired in the store),
                ``accounts.pending_session_mismatch``, ``accounts.unknown_field``,
                ``accounts.field_invalid``, ``accounts.field_provider_owned``,
                ``accounts.field_required``, ``accounts.email_invalid``,
                ``accounts.username_invalid``, ``accounts.username_taken``,
                ``accounts.terms_not_accepted``.
            ConflictError: ``accounts.identity_linked_elsewhere`` — the identity was linked to
                an account meanwhile.
            UnknownProviderError: The provider was removed meanwhile.
        """
        key, value = self._open_pending(token, "registration", session_id)
        settings = self.provider(value["provider"])
        info = AccountInfo.from_dict(value["info"], provider=settings.name)
        provider_data: dict[str, Any] = value["provider_data"]
        entered, consents = self._parse_input(user_input)
        missing_terms = [t for t in self.signup.terms if not _accepted(consents.get(t))]
        merged = settings.precedence_mask.merge(provider=provider_data, user_input=entered)
        email = merged.get("email")
        if has_value(email):
            merged["email"] = normalize_email(email)
        for field in self.signup.required_fields:
            if not has_value(_get(merged, field)):
                raise RequestError(f"{field} is required", code="accounts.field_required")
        username = _get(merged, "profile.username")
        typed_username = has_value(_get(entered, "profile.username"))
        if has_value(username) and (
            not isinstance(username, str) or not self.signup.username_regex.fullmatch(username)
        ):
            raise RequestError(
                "this username is not allowed",
                code="accounts.username_invalid",
                hint=f"it must match {self.signup.username_pattern}",
            )
        if missing_terms:
            raise RequestError(
                f"the {missing_terms[0]} must be accepted", code="accounts.terms_not_accepted"
            )
        provider_email = _get(provider_data, "email")
        provider_email = provider_email if isinstance(provider_email, str) else None
        email = merged.get("email")
        attempt_email = email if isinstance(email, str) else None
        denial = self._check(settings, info, attempt_email)
        with self.accounts.transaction() as tx:  # read-only pre-checks: no side effect
            if tx.get_identity(settings.name, info.external_id) is not None:
                raise _linked_elsewhere(settings.name)
            existing = tx.find_user_by_email(attempt_email) if attempt_email else None
            if (
                denial is None
                and existing is None
                and isinstance(username, str)
                and typed_username
                and tx.find_user_by_username(username) is not None
            ):
                raise RequestError("this username is already taken", code="accounts.username_taken")
        value = self._take(key)
        if denial is not None:
            return Denied.from_denial(settings.name, denial)
        try:
            tokens = self._opened_tokens(value.get("tokens"))
            resp = dict(tokens)
            if existing is not None:
                pending: list[_Pending] = []
                outcome = self._confirm_link_pending(
                    settings, info, tokens, existing, existing.email or "", session_id, pending
                )
                for item in pending:
                    self.state.put(item.key, item.value, ttl=item.ttl)
                return outcome

            def decide(tx: AccountsTransaction, after: list[Callable[[], None]]) -> Registered:
                if tx.get_identity(settings.name, info.external_id) is not None:
                    raise _linked_elsewhere(settings.name)
                data = json.loads(json.dumps(merged))
                name = _get(data, "profile.username")
                if isinstance(name, str):
                    taken = tx.find_user_by_username(name)
                    if taken is not None:
                        if typed_username:
                            raise RequestError(
                                "this username is already taken", code="accounts.username_taken"
                            )
                        free = self._free_username(tx, name)
                        if free is None:
                            raise RequestError(
                                "this username is already taken",
                                code="accounts.username_taken",
                            )
                        data["profile"]["username"] = free
                user = self._new_user(settings, data, provider_email, info)
                return self._register(tx, settings, user, info, tokens, resp, after)

            try:
                return self._transact(decide)
            except ConflictError as exc:
                if exc.code == "store.conflict" and exc.what == "username":
                    raise RequestError(
                        "this username is already taken", code="accounts.username_taken"
                    ) from exc
                raise
        except BaseException:
            self._restore(key, value)
            raise

    def _parse_input(self, user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(user_input, Mapping):
            raise RequestError("the form data is not a mapping", code="accounts.field_invalid")
        allowed = set(self.signup.fields) | set(self.signup.required_fields)
        terms = set(self.signup.terms)
        entered: dict[str, Any] = {}
        consents: dict[str, Any] = {}
        for name, value in _flatten(user_input):
            if name in terms:
                consents[name] = value
                continue
            if name not in allowed:
                raise RequestError(
                    f"{name} cannot be set at registration", code="accounts.unknown_field"
                )
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            elif value is None:
                continue
            elif name.endswith("affiliations") and isinstance(value, list | tuple):
                if not all(isinstance(v, str) for v in value):
                    raise RequestError(f"{name} must be text", code="accounts.field_invalid")
                value = [v.strip() for v in value if v.strip()]
            else:
                raise RequestError(f"{name} must be text", code="accounts.field_invalid")
            _put(entered, name.split("."), value)
        return entered, consents

    # --- confirm link ----------------------------------------------------------------------------

    def confirm_link(
        self, token: str, *, user_id: str, session_id: str | None = None
    ) -> Linked | Denied:
        """Link the identity of a :class:`ConfirmLinkRequired` to the account the person has
        now signed in to.

        Args:
            token: The pending-link token.
            user_id: The signed-in account; it must be the account with the shared address.
            session_id: The browser session, when the token was bound to one.

        Raises:
            RequestError: ``accounts.pending_*`` as for :meth:`complete_registration`;
                ``accounts.link_user_mismatch`` (signed in to another account).
            ConflictError: ``accounts.identity_linked_elsewhere`` /
                ``accounts.provider_already_linked``.
        """
        key, value = self._open_pending(token, "link", session_id)
        if not hmac.compare_digest(str(value.get("user_id")), user_id):
            raise RequestError(
                "sign in to the account with this e-mail address to link it",
                code="accounts.link_user_mismatch",
            )
        settings = self.provider(value["provider"])
        info = AccountInfo.from_dict(value["info"], provider=settings.name)
        value = self._take(key)
        try:
            tokens = self._opened_tokens(value.get("tokens"))
            outcome = self.callback(
                settings, info, tokens=_tokenset(tokens), current_user_id=user_id
            )
        except BaseException:
            self._restore(key, value)
            raise
        if isinstance(outcome, Linked | Denied):
            return outcome
        raise AssertionError(f"a signed-in link ended in {type(outcome).__name__}")

    # --- disconnect ------------------------------------------------------------------------------

    def disconnect(
        self, user_id: str, provider: str, *, revoke: RevokeToken | None = None
    ) -> Disconnected:
        """Remove a provider from an account: identity, remote account and tokens; then revoke
        the provider's tokens through ``revoke`` (after the commit).

        Refused when it is the person's last way to sign in (no other identity, no password).

        Args:
            user_id: The account.
            provider: The provider's name (a provider removed from the configuration can still
                be disconnected; its hooks are then skipped).
            revoke: ``revoke(token, token_type_hint=...)``; :meth:`OAuthClient.revoke` fits.

        Raises:
            RequestError: ``accounts.user_unknown``, ``accounts.not_linked``,
                ``accounts.last_sign_in_method``.
        """
        try:
            settings: ProviderSettings | None = self.provider(provider)
        except UnknownProviderError:
            settings = None
        revocable: list[tuple[str, str]] = []
        removed: list[str] = []

        def decide(tx: AccountsTransaction, after: list[Callable[[], None]]) -> User:
            removed.clear()
            revocable.clear()
            user = tx.get_user(user_id)
            if user is None:
                raise RequestError("no such account", code="accounts.user_unknown")
            identities = tx.identities_of(user_id)
            mine = [i for i in identities if i.provider == provider]
            if not mine:
                raise RequestError(
                    f"this account is not connected to {provider}", code="accounts.not_linked"
                )
            if not user.has_password and not any(i.provider != provider for i in identities):
                raise RequestError(
                    f"{provider} is your only way to sign in; connect another provider or set "
                    "a password first",
                    code="accounts.last_sign_in_method",
                )
            for token in tx.remote_tokens_of(user_id, provider):
                hint = {"refresh": "refresh_token", "access": "access_token"}.get(token.token_type)
                if hint is None:
                    continue
                try:
                    revocable.append((self.cipher.decrypt(token.ciphertext).decode(), hint))
                except AuthkitError:
                    continue  # unreadable (key removed): nothing to revoke with
            account = tx.get_remote_account(user_id, provider)
            hook = (
                settings.hooks.resolve("disconnect", key=f"{provider}.hooks") if settings else None
            )
            if hook is not None:
                try:
                    hook(settings, user, account)
                except AuthkitError:
                    raise
                except Exception as exc:
                    raise AuthkitError(
                        f"the disconnect hook of {provider!r} failed: {type(exc).__name__}",
                        code="accounts.disconnect_hook_failed",
                    ) from exc
            for identity in mine:
                tx.unlink_identity(identity.provider, identity.external_id)
                removed.append(identity.external_id)
            tx.delete_remote_account(user_id, provider)
            return user

        user = self._transact(decide)
        revoked = False
        error: AuthkitError | None = None
        if revoke is not None and revocable:
            # refresh first: revoking it usually ends the access token too (RFC 7009 §2.1)
            revocable.sort(key=lambda pair: pair[1] != "refresh_token")
            try:
                for value, hint in revocable:
                    revoke(value, token_type_hint=hint)
                revoked = True
            except AuthkitError as exc:
                error = exc
        self.events.emit(
            AccountEvent(
                kind="disconnected",
                provider=provider,
                user=user,
                external_id=removed[0] if removed else None,
                data={"external_ids": tuple(removed), "revoked": revoked},
            )
        )
        return Disconnected(
            user=user,
            provider=provider,
            external_ids=tuple(removed),
            revoked=revoked,
            revoke_error=error,
        )

    # --- provider tokens -------------------------------------------------------------------------

    def provider_tokens(self, user_id: str, provider: str) -> ProviderTokens | None:
        """The account's tokens at ``provider``, decrypted; ``None`` when none is stored.

        Raises:
            VerificationError: ``accounts.token_undecryptable``.
        """
        with self.accounts.transaction() as tx:
            stored = {t.token_type: t for t in tx.remote_tokens_of(user_id, provider)}
        if not stored:
            return None
        access = stored.get("access")
        refresh = stored.get("refresh")
        return ProviderTokens(
            access_token=self.cipher.decrypt(access.ciphertext).decode() if access else None,
            refresh_token=self.cipher.decrypt(refresh.ciphertext).decode() if refresh else None,
            expires_at=access.expires_at if access else None,
        )


# --- module helpers ------------------------------------------------------------------------------


def _event(kind: Any, provider: str, user: User, info: AccountInfo) -> AccountEvent:
    return AccountEvent(
        kind=kind, provider=provider, user=user, info=info, external_id=info.external_id
    )


def _linked_elsewhere(provider: str) -> ConflictError:
    return ConflictError(
        f"this {provider} account is already connected to another account on this site",
        what="identity",
        code="accounts.identity_linked_elsewhere",
    )


def _link_only(provider: str) -> Denied:
    return Denied(
        provider=provider,
        code="accounts.link_only",
        reason=f"{provider} can only be connected to an account you are signed in to.",
    )


def _inactive(provider: str) -> Denied:
    return Denied(
        provider=provider,
        code="accounts.user_inactive",
        reason="This account is disabled; contact the site's administrators.",
    )


def _session_hash(session_id: str | None) -> str | None:
    if session_id is None:
        return None
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _accepted(value: Any) -> bool:
    if value is True:
        return True
    return isinstance(value, str) and value.strip().lower() in _TRUE


def _put(target: dict[str, Any], path: list[str], value: Any) -> None:
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise RequestError(
                f"{'.'.join(path)} conflicts with {part}", code="accounts.field_invalid"
            )
        node = child
    if isinstance(node.get(path[-1]), dict):
        raise RequestError(f"{'.'.join(path)} is a group of fields", code="accounts.field_invalid")
    node[path[-1]] = value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise RequestError("a form field has no name", code="accounts.field_invalid")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _tokenset(tokens: Mapping[str, Any]) -> TokenSet | None:
    access = tokens.get("access_token")
    if not isinstance(access, str):
        return None
    return TokenSet(
        access_token=access,
        refresh_token=tokens.get("refresh_token"),
        expires_at=tokens.get("expires_at"),
        token_type=tokens.get("token_type", "bearer"),
        scope=tokens.get("scope"),
    )
