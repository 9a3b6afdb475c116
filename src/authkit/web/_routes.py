"""The route handlers every adapter shares.

Theory of operation
-------------------
:class:`AuthRoutes` answers a :class:`~authkit.web.WebRequest` with a
:class:`~authkit.web.WebResponse`, or ``None`` when the path is not one of its own (the adapter
then lets the application answer). Its routes:

=====================================  ==========================================================
``/login/``                            sign-in page: visible OAuth providers and SAML IdPs;
                                       auto-redirect when :func:`should_auto_redirect` says so
``/logout/``                           POST: end the session (and the IdP session for SAML)
``/oauth/login/<app>/``                start an OAuth sign-in (``?next=``)
``/oauth/authorized/<app>/``           the provider's callback: sign in, sign up or link
``/oauth/signup/<app>/``               the registration form when data is missing
``/oauth/disconnect/<app>/``           POST: disconnect a provider from the account
``/saml/metadata/<idp>/``              SP metadata
``/saml/sso/<idp>/``                   start a SAML sign-in (``?next=``)
``/saml/acs/<idp>/``                   the IdP's POST with the Response (also served at
                                       invenio-saml's ``/saml/authorized/<idp>/``)
``/saml/slo/<idp>/``                   POST: SP-initiated single logout
``/saml/sls/<idp>/``                   the IdP's LogoutResponse or LogoutRequest
=====================================  ==========================================================

A completed sign-in rotates the session's binding and CSRF values (session fixation), stores
the account id, the provider and the person's groups, calls ``on_sign_in`` and redirects to the
checked ``next``. Signing out (``/logout/``, or the IdP's logout request at ``/saml/sls/``)
removes authkit's entries, rotates the session's values again and, when someone was signed
in, calls ``on_sign_out`` (adapters log the person out of their framework there).

The SAML ACS works under ``SameSite=Lax`` session cookies: the IdP's cross-site POST arrives
without the cookie, so the first answer is a same-site auto-submitting form that posts the same
fields back; the browser then sends the cookie.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from authkit._redirects import check_redirect
from authkit.accounts import (
    AccountFlow,
    AccountInfo,
    ConfirmLinkRequired,
    Denied,
    Linked,
    ProviderSettings,
    Registered,
    RegistrationRequired,
    SignedIn,
    account_info_from_sign_in,
)
from authkit.config import ProviderRegistry, RemoteApp, should_auto_redirect
from authkit.errors import AuthkitError, RequestError, UnknownProviderError
from authkit.groups import GroupResolver
from authkit.oauth import OAuthClient
from authkit.providers import oauth_client
from authkit.saml import AttributeMapping, ServiceProvider
from authkit.stores import StateStore, User
from authkit.transport import Transport
from authkit.web._http import WebRequest, WebResponse, page
from authkit.web._session import (
    SESSION_GROUPS,
    SESSION_PROVIDER,
    SESSION_SID,
    SESSION_USER,
    check_csrf,
    csrf_token,
    rotate_session,
    session_binding,
)

__all__ = ["AuthRoutes", "SAMLProvider", "SignInHook", "SignOutHook"]

SESSION_LOGOUT = "authkit.logout"
SESSION_PENDING = "authkit.pending"
SESSION_SLO = "authkit.slo"
#: How the session being signed in will sign out (the provider's logout), until it is signed in.
SESSION_NEXT_LOGOUT = "authkit.next_logout"

#: Called after a sign-in with the request and the account (adapters log the user into their
#: framework here, e.g. Django's ``login``).
SignInHook = Callable[[WebRequest, User], None]

#: Called with the request when a signed-in session ends (adapters log the user out of their
#: framework here, e.g. Django's ``logout``).
SignOutHook = Callable[[WebRequest], None]

_ROUTE = re.compile(
    r"^/(?:(?P<page>login|logout)/|(?P<proto>oauth|saml)/(?P<action>[a-z]+)/"
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})/)$"
)


@attrs.frozen(kw_only=True)
class SAMLProvider:
    """A SAML identity provider the site signs people in with.

    Args:
        name: The name in URLs (``/saml/sso/<name>/``) and identities.
        title: Shown on the sign-in button.
        sp: The service provider configured for this IdP.
        mapping: How assertion attributes become account information.
        settings: The account settings (auto-confirm, e-mail trust); defaults to the name.
        description: One line under the title.
        groups: Resolves the person's groups from the attributes.
    """

    name: str
    title: str
    sp: ServiceProvider
    mapping: AttributeMapping = attrs.field(factory=AttributeMapping.default)
    settings: ProviderSettings | None = None
    description: str = ""
    groups: GroupResolver | None = None

    @property
    def account_settings(self) -> ProviderSettings:
        """The account settings of this IdP."""
        return self.settings or ProviderSettings(name=self.name)


class AuthRoutes:
    """Sign-in routes over the framework-free core.

    Args:
        public_url: The site's public base URL (``https://data.example.org``); links and
            callback URLs are built from it, never from the request's Host header.
        registry: The OAuth / OpenID providers.
        flow: Decides sign-in, sign-up, linking and disconnecting.
        state: The state store (OAuth state, SAML request IDs).
        saml: The SAML identity providers.
        groups: A group resolver per provider name (OAuth providers without one get
            :meth:`GroupResolver.from_remote_app`).
        allowed_hosts: Hosts a ``next`` URL may point to besides this site.
        after_login: Where to go after signing in when no ``next`` was given.
        mount: The path authkit's routes are mounted under (``""`` or ``/auth``).
        auto_redirect: Send the sign-in page straight to the one visible provider (Invenio's
            ``OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN``; ignored unless exactly one).
        on_sign_in: Called after each sign-in (adapters map the account to their user).
        on_sign_out: Called when a session in which someone was signed in ends: at
            ``/logout/`` and on the IdP's logout request (``/saml/sls/<idp>/``), after
            authkit's entries were removed from the session and its values rotated, before the
            answer (which may still write the pending SAML logout to the session).
        provider_logout: After an OpenID Connect sign-in, logging out also ends the session at
            the provider (RP-Initiated Logout: a redirect to its end-session endpoint with the
            ID token as hint, back to ``public_url + "/"``, which must be registered there as
            a post-logout redirect URI). SAML sign-ins always use single logout.
        transport: For the OAuth clients.
        clock: Current time in seconds.
    """

    def __init__(
        self,
        *,
        public_url: str,
        registry: ProviderRegistry,
        flow: AccountFlow,
        state: StateStore,
        saml: Iterable[SAMLProvider] = (),
        groups: Mapping[str, GroupResolver] | None = None,
        allowed_hosts: tuple[str, ...] = (),
        after_login: str = "/",
        mount: str = "",
        auto_redirect: bool = False,
        on_sign_in: SignInHook | None = None,
        on_sign_out: SignOutHook | None = None,
        provider_logout: bool = False,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.registry = registry
        self.flow = flow
        self.state = state
        self.saml = {p.name: p for p in saml}
        self.groups = dict(groups or {})
        self._derived_groups: dict[str, tuple[RemoteApp, GroupResolver]] = {}
        self.allowed_hosts = allowed_hosts
        # A ``next`` URL may name this site or an allowed host.
        self._redirect_hosts = (urlsplit(self.public_url).netloc, *allowed_hosts)
        self.after_login = after_login
        self.mount = mount.rstrip("/")
        self.auto_redirect = auto_redirect
        self.on_sign_in = on_sign_in
        self.on_sign_out = on_sign_out
        self.provider_logout = provider_logout
        self.transport = transport
        self.clock = clock
        self._clients: dict[str, tuple[RemoteApp, OAuthClient]] = {}

    # --- dispatch --------------------------------------------------------------------------------

    def dispatch(self, request: WebRequest) -> WebResponse | None:
        """Answer ``request`` if its path is one of authkit's routes, else ``None``.

        Every :class:`~authkit.errors.AuthkitError` becomes a readable page or, for clients
        that ask for JSON, a problem document carrying the error's code.
        """
        match = _ROUTE.match(request.path)
        if match is None:
            return None
        try:
            if match["page"]:
                return self._page(match["page"], request)
            action = match["action"]
            if match["proto"] == "saml" and action == "authorized":
                action = "acs"  # invenio-saml's ACS path, so its SP settings work unchanged
            handler = getattr(self, f"_{match['proto']}_{action}", None)
            if handler is None:
                return None
            response: WebResponse = handler(match["name"], request)
            return response
        except AuthkitError as error:
            return WebResponse.problem(error, as_json=request.wants_json)

    def handles(self, path: str) -> bool:
        """Whether ``path`` (below the mount point) is one of authkit's routes: adapters read a
        request body only for these, and pass every other request through untouched."""
        return _ROUTE.match(path) is not None

    def url(self, path: str, **query: str) -> str:
        """An absolute URL of one of authkit's routes."""
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{self.public_url}{self.mount}{path}{suffix}"

    def _page(self, which: str, request: WebRequest) -> WebResponse:
        return self._login_page(request) if which == "login" else self._logout(request)

    # --- helpers ---------------------------------------------------------------------------------

    def client(self, name: str) -> tuple[RemoteApp, OAuthClient]:
        """The remote app ``name`` and its (cached) OAuth client; refused when disabled."""
        app = self.registry.get(name)
        if not app.enabled:
            raise UnknownProviderError(f"signing in with {name!r} is disabled", key=name)
        cached = self._clients.get(name)
        if cached is None or cached[0] is not app:  # an edit replaces the (immutable) value
            client = oauth_client(
                app,
                public_url=self.public_url + self.mount,
                transport=self.transport,
                store=self.state,
                allowed_hosts=self.allowed_hosts,
                clock=self.clock,
            )
            cached = (app, client)
            self._clients[name] = cached
        return cached

    def _saml_provider(self, name: str) -> SAMLProvider:
        provider = self.saml.get(name)
        if provider is None:
            raise UnknownProviderError(f"no SAML identity provider named {name!r}", key=name)
        return provider

    def _next(self, request: WebRequest) -> str | None:
        target = request.arg("next") or request.field("next")
        if target is None:
            return None
        return check_redirect(target, allowed_hosts=self._redirect_hosts)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def _user_id(self, request: WebRequest) -> str | None:
        value = request.session.get(SESSION_USER)
        return value if isinstance(value, str) else None

    # --- sign-in page and logout -----------------------------------------------------------------

    def _login_page(self, request: WebRequest) -> WebResponse:
        next_url = self._next(request)
        query = {"next": next_url} if next_url else {}
        visible = self.registry.visible(self.public_url)
        if self.auto_redirect and not self.saml:  # SAML IdPs are buttons too: never skip them
            decision = should_auto_redirect(
                {"OAUTHCLIENT_AUTO_REDIRECT_TO_EXTERNAL_LOGIN": True,
                 "ACCOUNTS_LOCAL_LOGIN_ENABLED": False},
                self.registry,
                public_url=self.public_url,
            )  # fmt: skip
            if decision.redirect and decision.provider:
                return WebResponse.redirect(self.url(f"/oauth/login/{decision.provider}/", **query))
        buttons = [
            (self.url(f"/oauth/login/{app.name}/", **query), app.display_label, app.description)
            for app in visible
        ]
        buttons += [
            (self.url(f"/saml/sso/{p.name}/", **query), p.title, p.description)
            for p in self.saml.values()
        ]
        items = "".join(
            f'<li><a class="button" href="{html.escape(href)}">Sign in with '
            f"{html.escape(title)}</a> <small>{html.escape(description)}</small></li>"
            for href, title, description in buttons
        )
        body = f"<h1>Sign in</h1><ul>{items or '<li>No provider is available.</li>'}</ul>"
        return WebResponse.html(page("Sign in", body))

    def _logout(self, request: WebRequest) -> WebResponse:
        if request.method != "POST":
            form = self._form(request, self.url("/logout/"), "Sign out", "")
            return WebResponse.html(page("Sign out", f"<h1>Sign out?</h1>{form}"))
        check_csrf(request.session, request.field("csrf_token"))
        logout = request.session.get(SESSION_LOGOUT)
        self._end_session(request)
        if isinstance(logout, dict) and logout.get("saml") in self.saml:
            sp = self.saml[logout["saml"]].sp
            message = sp.logout_request(
                name_id=logout["name_id"],
                name_id_format=logout.get("name_id_format"),
                session_index=logout.get("session_index"),
                now=self._now(),
            )
            request.session[SESSION_SLO] = {"idp": logout["saml"], "id": message.id}
            if message.form is not None:
                return WebResponse.html(message.form)
            return WebResponse.redirect(message.url)
        if self.provider_logout and isinstance(logout, dict) and logout.get("oidc"):
            url = self._oidc_logout_url(str(logout["oidc"]), logout.get("id_token"))
            if url is not None:
                return WebResponse.redirect(url)
        return WebResponse.redirect(self.after_login)

    def _oidc_logout_url(self, name: str, id_token: Any) -> str | None:
        """The provider's end-session URL (OpenID Connect RP-Initiated Logout), when it has
        one; the provider sends the person back to the site's public URL."""
        if name not in self.registry:
            return None
        return self.client(name)[1].logout_url(
            id_token_hint=id_token if isinstance(id_token, str) else None,
            post_logout_redirect_uri=self.public_url + "/",
        )

    def _end_session(self, request: WebRequest) -> None:
        signed_in = request.session.get(SESSION_USER) is not None
        for key in [k for k in request.session if k.startswith("authkit.")]:
            del request.session[key]
        rotate_session(request.session)
        if signed_in and self.on_sign_out is not None:
            self.on_sign_out(request)

    def _form(self, request: WebRequest, action: str, label: str, inner: str) -> str:
        token = html.escape(csrf_token(request.session))
        return (
            f'<form method="post" action="{html.escape(action)}">{inner}'
            f'<input type="hidden" name="csrf_token" value="{token}">'
            f'<button type="submit">{html.escape(label)}</button></form>'
        )

    # --- OAuth -----------------------------------------------------------------------------------

    def _oauth_login(self, name: str, request: WebRequest) -> WebResponse:
        _, client = self.client(name)
        redirect = client.authorization_redirect(
            session_id=session_binding(request.session), next_url=self._next(request)
        )
        return WebResponse.redirect(redirect.url)

    def _oauth_authorized(self, name: str, request: WebRequest) -> WebResponse:
        app, client = self.client(name)
        result = client.handle_callback(
            request.params(), session_id=session_binding(request.session)
        )
        info = account_info_from_sign_in(app, result, client=client)
        outcome = self.flow.callback(
            app,
            info,
            tokens=result.tokens,
            current_user_id=self._user_id(request),
            session_id=session_binding(request.session),
        )
        groups_source = {**result.id_token_claims, **result.userinfo}
        request.session[SESSION_NEXT_LOGOUT] = (
            {"oidc": name, "id_token": result.tokens.id_token} if result.tokens.id_token else None
        )
        return self._outcome(
            request,
            outcome,
            provider=name,
            next_url=result.next_url,
            groups=lambda: self._groups_for(name, app).resolve(
                groups_source, access_token=result.tokens.access_token, subject=result.subject
            ),
        )

    def _groups_for(self, name: str, app: RemoteApp) -> GroupResolver:
        """The configured resolver, else the one ``app`` describes (rebuilt after an edit)."""
        configured = self.groups.get(name)
        if configured is not None:
            return configured
        derived = self._derived_groups.get(name)
        if derived is None or derived[0] is not app:
            derived = (app, GroupResolver.from_remote_app(app))
            self._derived_groups[name] = derived
        return derived[1]

    def _oauth_signup(self, name: str, request: WebRequest) -> WebResponse:
        token = request.session.get(SESSION_PENDING)
        if not isinstance(token, str):
            raise RequestError(
                "there is no registration to complete; sign in again",
                code="accounts.pending_unknown",
            )
        binding = session_binding(request.session)
        if request.method == "POST":
            check_csrf(request.session, request.field("csrf_token"))
            user_input = {
                k: v[0] for k, v in request.form.items() if k not in ("csrf_token", "next")
            }
            try:
                outcome = self.flow.complete_registration(token, user_input, session_id=binding)
            except RequestError as error:
                form = self.flow.registration(token, session_id=binding)
                return self._registration_page(request, name, form, error=error)
            next_url = request.session.pop("authkit.next", None)
            return self._outcome(request, outcome, provider=name, next_url=next_url)
        return self._registration_page(
            request, name, self.flow.registration(token, session_id=binding)
        )

    def _registration_page(
        self,
        request: WebRequest,
        name: str,
        form: RegistrationRequired,
        *,
        error: AuthkitError | None = None,
    ) -> WebResponse:
        rows = []
        for field in form.fields:
            label = html.escape(_LABELS.get(field.name, _label(field.name)))
            value = form.prefill.get(field.name, "")
            if not field.editable:
                if value not in ("", None):
                    rows.append(f"<p>{label}: <strong>{html.escape(str(value))}</strong></p>")
                continue
            kind = "email" if field.name == "email" else "text"
            required = " required" if field.required else ""
            rows.append(
                f'<label>{label}{" *" if field.required else ""} <input type="{kind}" '
                f'name="{html.escape(field.name)}" value="{html.escape(str(value or ""))}"'
                f"{required}></label>"
            )
        for term in form.terms:
            rows.append(
                f'<label><input type="checkbox" name="{html.escape(term)}" value="on" required>'
                f" I accept the {html.escape(term.replace('_', ' '))}</label>"
            )
        problem = (
            f'<p class="error">{html.escape(error.message)} '
            f"<code>{html.escape(error.code)}</code></p>"
            if error
            else ""
        )
        body = (
            f"<h1>Complete your registration</h1>{problem}"
            + self._form(request, self.url(f"/oauth/signup/{name}/"), "Create account",
                         "".join(rows))
        )  # fmt: skip
        return WebResponse.html(page("Registration", body), status=400 if error else 200)

    def _oauth_disconnect(self, name: str, request: WebRequest) -> WebResponse:
        user_id = self._user_id(request)
        if user_id is None:
            raise RequestError("sign in first", code="request.not_signed_in")
        if request.method != "POST":
            form = self._form(request, self.url(f"/oauth/disconnect/{name}/"), "Disconnect", "")
            return WebResponse.html(page("Disconnect", f"<h1>Disconnect {name}?</h1>{form}"))
        check_csrf(request.session, request.field("csrf_token"))
        revoke = None
        if name in self.registry:
            revoke = self.client(name)[1].revoke
        self.flow.disconnect(user_id, name, revoke=revoke)
        return WebResponse.redirect(self._next(request) or self.after_login, status=303)

    # --- SAML ------------------------------------------------------------------------------------

    def _saml_metadata(self, name: str, request: WebRequest) -> WebResponse:
        xml = self._saml_provider(name).sp.metadata()
        return WebResponse(
            status=200, headers=(("Content-Type", "application/samlmetadata+xml"),), body=xml
        )

    def _saml_sso(self, name: str, request: WebRequest) -> WebResponse:
        provider = self._saml_provider(name)
        next_url = self._next(request)
        login = provider.sp.login_request(now=self._now())
        binding = session_binding(request.session)
        self.state.put(
            f"authkit:saml:request:{binding}:{name}",
            {"id": login.id, "next": next_url},
            ttl=600.0,
        )
        if login.form is not None:
            return WebResponse.html(login.form)
        return WebResponse.redirect(login.url)

    def _saml_acs(self, name: str, request: WebRequest) -> WebResponse:
        provider = self._saml_provider(name)
        if request.method != "POST":
            raise RequestError("the ACS accepts only POST", code="request.method_not_allowed")
        saml_response = request.field("SAMLResponse")
        if not saml_response:
            raise RequestError("the IdP's POST carries no SAMLResponse", code="saml.missing")
        if SESSION_SID not in request.session and request.field("authkit_resent") is None:
            return self._resend(request, f"/saml/acs/{name}/")
        binding = session_binding(request.session)
        pending = self.state.take(f"authkit:saml:request:{binding}:{name}") or {}
        authn = provider.sp.process_response(
            saml_response, request_id=pending.get("id"), now=self._now()
        )
        mapped = provider.mapping.map_authn(authn)
        info = AccountInfo.from_saml(mapped, provider=name)
        outcome = self.flow.callback(
            provider.account_settings,
            info,
            current_user_id=self._user_id(request),
            session_id=binding,
        )
        request.session[SESSION_NEXT_LOGOUT] = {
            "saml": name,
            "name_id": authn.name_id,
            "name_id_format": authn.name_id_format,
            "session_index": authn.session_index,
        }
        resolver = provider.groups
        return self._outcome(
            request,
            outcome,
            provider=name,
            next_url=pending.get("next"),
            groups=(lambda: resolver.resolve(authn.attributes)) if resolver else None,
        )

    def _resend(self, request: WebRequest, path: str) -> WebResponse:
        """Post the IdP's fields again, same-site, so that the session cookie comes along."""
        fields = {k: v[0] for k, v in request.form.items()}
        fields["authkit_resent"] = "1"
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in fields.items()
        )
        action = html.escape(self.url(path))
        body = (
            f'<form method="post" action="{action}">{inputs}'
            "<noscript><button type=submit>Continue</button></noscript></form>"
            "<script>document.forms[0].submit()</script>"
        )
        return WebResponse.html(page("Signing in…", body)).with_headers(
            [("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
              "form-action 'self'")]
        )  # fmt: skip

    def _saml_slo(self, name: str, request: WebRequest) -> WebResponse:
        self._saml_provider(name)
        return self._logout(request)

    def _saml_sls(self, name: str, request: WebRequest) -> WebResponse:
        provider = self._saml_provider(name)
        query_string = urlencode([(k, v) for k, vs in request.query.items() for v in vs])
        form = {k: v[0] for k, v in request.form.items()}
        carrier: dict[str, Any] = (
            {"form": form} if request.method == "POST" else {"query_string": query_string}
        )
        if "SAMLRequest" in (form if request.method == "POST" else request.query):
            incoming = provider.sp.process_logout_request(now=self._now(), **carrier)
            self._end_session(request)
            answer = provider.sp.logout_response(
                in_response_to=incoming.id, relay_state=incoming.relay_state, now=self._now()
            )
            if answer.form is not None:
                return WebResponse.html(answer.form)
            return WebResponse.redirect(answer.url)
        resend = request.field("authkit_resent") is None
        if request.method == "POST" and SESSION_SLO not in request.session and resend:
            return self._resend(request, f"/saml/sls/{name}/")
        pending = request.session.pop(SESSION_SLO, None)
        if not isinstance(pending, dict) or pending.get("idp") != name:
            raise RequestError(
                "this logout answer does not match a logout started in this browser",
                code="saml.logout_unknown",
            )
        provider.sp.process_logout_response(request_id=str(pending["id"]), **carrier)
        return WebResponse.redirect(self.after_login)

    # --- outcomes --------------------------------------------------------------------------------

    def _outcome(
        self,
        request: WebRequest,
        outcome: Any,
        *,
        provider: str,
        next_url: str | None,
        groups: Callable[[], Iterable[str]] | None = None,
    ) -> WebResponse:
        if isinstance(outcome, Linked) and not outcome.already_linked:
            # A provider connected to the signed-in account: the session keeps the provider it
            # was signed in with, its groups and how it signs out.
            kept = [g for g in request.session.get(SESSION_GROUPS) or [] if isinstance(g, str)]
            request.session[SESSION_NEXT_LOGOUT] = request.session.get(SESSION_LOGOUT)
            provider = str(request.session.get(SESSION_PROVIDER) or provider)
            return self._signed_in(request, outcome.user, provider, next_url, lambda: kept)
        if isinstance(outcome, SignedIn | Registered | Linked):
            return self._signed_in(request, outcome.user, provider, next_url, groups)
        if isinstance(outcome, RegistrationRequired):
            request.session[SESSION_PENDING] = outcome.token
            if next_url:
                request.session["authkit.next"] = next_url
            return WebResponse.redirect(self.url(f"/oauth/signup/{provider}/"), status=303)
        if isinstance(outcome, ConfirmLinkRequired):
            body = (
                "<h1>Is this your account?</h1><p>An account with the address "
                f"<strong>{html.escape(outcome.email)}</strong> already exists. Sign in to it "
                f"first, then connect {html.escape(provider)} from your account page.</p>"
            )
            return WebResponse.html(page("Confirm the link", body), status=409)
        if isinstance(outcome, Denied):
            error = RequestError(outcome.reason, code=outcome.code)
            return WebResponse.problem(
                error, as_json=request.wants_json, title="Sign-in refused", status=403
            )
        raise AssertionError(f"unexpected outcome {type(outcome).__name__}")

    def _signed_in(
        self,
        request: WebRequest,
        user: User,
        provider: str,
        next_url: str | None,
        groups: Callable[[], Iterable[str]] | None,
    ) -> WebResponse:
        logout = request.session.pop(SESSION_NEXT_LOGOUT, None)
        rotate_session(request.session)
        request.session.pop(SESSION_PENDING, None)
        request.session[SESSION_USER] = user.id
        request.session[SESSION_PROVIDER] = provider
        request.session[SESSION_LOGOUT] = logout
        request.session[SESSION_GROUPS] = sorted(groups()) if groups else []
        if self.on_sign_in is not None:
            self.on_sign_in(request, user)
        target = next_url or self.after_login
        return WebResponse.redirect(target, status=303)


_LABELS = {"email": "E-mail address", "profile.full_name": "Full name"}


def _label(name: str) -> str:
    """A form label for a dotted field name (``profile.given_name`` → ``Given name``)."""
    return name.rpartition(".")[2].replace("_", " ").capitalize()
