"""A real SAML 2.0 identity provider on loopback, for tests: :class:`SAMLIdentityProvider`.

It publishes IdP metadata (saml-metadata-2.0-os §2.4.3, with the Shibboleth ``shibmd:Scope`` and
MDUI extensions), accepts AuthnRequests over HTTP-Redirect and HTTP-POST (saml-bindings-2.0-os
§3.4 and §3.5) and answers the Web Browser SSO profile (saml-profiles-2.0-os §4.1) with an
auto-posting form that carries a Response to the SP's Assertion Consumer Service; it takes part
in Single Logout both ways (saml-profiles-2.0-os §4.4). It serves over real HTTP from
:class:`~authkit.testing._http.LoopbackHTTPServer`; its Responses are built by
:class:`~authkit.testing._saml_builder.SAMLResponseBuilder`, signed and encrypted in memory by
the same xmlsec binding the SP side uses.

It is strict where a lax IdP would hide SP bugs: an AuthnRequest from an unknown SP, for another
ACS URL, with a wrong Destination, a bad or missing required signature, a stale IssueInstant or a
reused ID is refused (a ``400`` page; nothing is posted to the SP), and the reason is kept in
:attr:`SAMLIdentityProvider.rejections`.

Theory of operation:

- *SSO.* ``/sso`` decodes the AuthnRequest (GET: HTTP-Redirect, inflate; POST: HTTP-POST),
  checks it (issuer is a registered :class:`~authkit.testing.SAMLRelyingParty`, signature —
  the query signature or the enveloped XML one — verified with that SP's certificate, ACS URL,
  Destination, freshness, replay of the ID) and then either approves it at once for the user
  chosen with :meth:`~SAMLIdentityProvider.login_as`, or parks it as a *pending login*
  (random id, CSRF token) answered with an HTML form whose POST to ``/login`` completes it.
  ``IsPassive`` without an automatic user and an unsupported ``NameIDPolicy`` get a Response
  with the failure status SAML core §3.2.2.2 names; a cancelled form gets ``AuthnFailed``.
- *Responses.* Each Response is described by a
  :class:`~authkit.testing._saml_builder.ResponseSpec` from the relying party's options, then
  the test's :meth:`~SAMLIdentityProvider.response_options`, then every fault switched on with
  :meth:`~SAMLIdentityProvider.fault` (the builder's broken variants, plus ``wrong_key`` and
  ``tampered``). Every successful Response opens an IdP *session* (its SessionIndex).
- *SLO.* ``/slo`` takes LogoutRequests from SPs (ends the matching sessions, answers a
  LogoutResponse to the SP's logout endpoint, signed unless the relying party says otherwise)
  and the LogoutResponses that answer the IdP's own :meth:`~SAMLIdentityProvider.logout_request`.
  Other SPs where the user has sessions are not notified (no front-channel chain).
- *Concurrency.* Requests are served in parallel threads; all state changes and message
  building happen under one lock.
"""

from __future__ import annotations

import hmac
import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, quote_plus

import attrs
from lxml import etree

from authkit.errors import InvalidSettingError, SAMLValidationError
from authkit.saml._attributes import DEFAULT_ATTRIBUTE_REGISTRY
from authkit.saml._authn_request import new_id
from authkit.saml._bindings import (
    RedirectMessage,
    decode_post,
    decode_redirect,
    encode_post,
    encode_redirect,
    post_form,
)
from authkit.saml._settings import (
    AC_PASSWORD_PROTECTED_TRANSPORT,
    BINDING_HTTP_POST,
    BINDING_HTTP_REDIRECT,
    NAMEID_EMAIL_ADDRESS,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
)
from authkit.saml._xml import (
    NS_DS,
    NS_MD,
    NS_SAML,
    NS_SAMLP,
    format_instant,
    parse_instant,
    parse_xml,
    qname,
    text_content,
)
from authkit.saml._xmldsig import decrypt_element, sign_element, verify_signed_element
from authkit.testing._http import (
    LoopbackHTTPServer,
    LoopbackService,
    RecordedRequest,
    ServerRequest,
    ServerResponse,
)
from authkit.testing._saml_builder import (
    ATTRNAME_FORMAT_URI,
    BROKEN_VARIANTS,
    STATUS_AUTHN_FAILED,
    STATUS_RESPONDER,
    STATUS_SUCCESS,
    KeyPair,
    ResponseSpec,
    SAMLResponseBuilder,
    generate_key_pair,
)
from authkit.testing._saml_idp_model import (
    IssuedResponse,
    ReceivedAuthnRequest,
    ReceivedLogoutRequest,
    ReceivedLogoutResponse,
    Rejection,
    SAMLMessage,
    SAMLRelyingParty,
    SAMLSession,
    SAMLUser,
)

__all__ = ["IDP_FAULTS", "RESPONSE_FAULTS", "SAMLIdentityProvider"]

STATUS_REQUESTER: Final = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_NO_PASSIVE: Final = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
STATUS_INVALID_NAME_ID_POLICY: Final = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
STATUS_UNKNOWN_PRINCIPAL: Final = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"
ATTRNAME_FORMAT_BASIC: Final = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"

#: Faults of the IdP itself, beyond the builder's broken variants: ``wrong_key`` signs with a key
#: that is not in the metadata; ``tampered`` changes the signed NameID after signing.
IDP_FAULTS: Final = ("wrong_key", "tampered")

#: Every fault :meth:`SAMLIdentityProvider.fault` accepts.
RESPONSE_FAULTS: Final = (*BROKEN_VARIANTS, *IDP_FAULTS)

#: The NameID formats the IdP supports (and publishes) by default.
DEFAULT_NAME_ID_FORMATS: Final = (
    NAMEID_EMAIL_ADDRESS,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
)

#: How long a login form stays valid, in seconds.
LOGIN_LIFETIME = 600
#: How old an AuthnRequest or LogoutRequest may be (its IssueInstant), in seconds.
REQUEST_LIFETIME = 300
#: Tolerance on the IssueInstant of requests, in seconds.
CLOCK_SKEW = 180

_PATHS: Final = {
    "metadata": "/metadata",
    "sso": "/sso",
    "unsolicited": "/sso/unsolicited",
    "login": "/login",
    "slo": "/slo",
}
_ROUTES: Final = {path: name for name, path in _PATHS.items()}
_FORM = "application/x-www-form-urlencoded"
_SIGNATURE = qname(NS_DS, "Signature")
_ISSUER = qname(NS_SAML, "Issuer")
_NAME_ID = qname(NS_SAML, "NameID")
_ENCRYPTED_ID = qname(NS_SAML, "EncryptedID")
_SHIBMD = "urn:mace:shibboleth:metadata:1.0"
_MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


class _Refused(Exception):
    """A message the IdP refuses: answered with a 400 page, recorded as a :class:`Rejection`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.define
class _Pending:
    csrf: str
    party: SAMLRelyingParty
    request: ReceivedAuthnRequest | None
    relay_state: str | None
    expires_at: float


@attrs.define
class _Session:
    value: SAMLSession
    active: bool = True


def _page(title: str, body: str, *, status: int = 200) -> ServerResponse:
    text = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return ServerResponse.html(
        text, status=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    )


def _refusal_page(refused: _Refused, *, status: int = 400) -> ServerResponse:
    return _page(
        "SAML request refused",
        f"<h1>The SAML request was refused</h1>\n"
        f'<p class="error" data-code="{html.escape(refused.code)}">'
        f"{html.escape(refused.message)}</p>",
        status=status,
    )


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidSettingError(
            f"expected a number of seconds greater than 0, got {value!r}",
            key=f"SAMLIdentityProvider.{name}",
        )
    return float(value)


def _quote_lower(value: str) -> str:
    return _HEX_ESCAPE.sub(lambda m: m.group(0).lower(), quote(value, safe=""))


#: The ways SP libraries URL-encode a Redirect-binding query (authkit, python3-saml, ADFS).
_ENCODERS: Final[tuple[Callable[[str], str], ...]] = (
    lambda v: quote(v, safe=""),
    lambda v: quote_plus(v, safe=""),
    _quote_lower,
)


def _redirect_candidates(params: Mapping[str, tuple[str, ...]], param: str) -> list[str]:
    """Raw query strings that ``params`` may have been sent as.

    The loopback server hands over the query already decoded, while the Redirect binding's
    signature covers the octets as sent (§3.4.4.1); so the query is encoded again the ways SP
    libraries do, and a signature is accepted when it verifies over one of them.
    """
    names = [n for n in (param, "RelayState", "SigAlg", "Signature") if n in params]
    found: list[str] = []
    for encode in _ENCODERS:
        query = "&".join(f"{name}={encode(params[name][0])}" for name in names)
        if query not in found:
            found.append(query)
    return found


def _single(params: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    values = params.get(name, ())
    if len(values) > 1:
        raise _Refused("idp.malformed", f"the {name} parameter was sent more than once")
    return values[0] if values else None


def _child_text(parent: etree._Element, tag: str) -> str | None:
    node = next(parent.iterchildren(tag), None)
    return None if node is None else text_content(node).strip()


def _is_true(value: str | None) -> bool:
    return value in ("true", "1")


def _from_saml_error(exc: SAMLValidationError) -> _Refused:
    return _Refused(exc.code, exc.message)


class SAMLIdentityProvider(LoopbackService):
    """A real SAML 2.0 identity provider on ``127.0.0.1`` and a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        sp = SAMLRelyingParty(entity_id="https://sp.example.org", acs_url="https://sp.example.org/acs")
        with SAMLIdentityProvider(users=[alice], relying_parties=[sp], auto_login="alice") as idp:
            idp.issuer        # http://127.0.0.1:<port>/metadata
            idp.metadata_url  # the same URL: the entityID resolves to the metadata

    Args:
        users: The people who can sign in.
        relying_parties: The registered service providers.
        entity_id: The IdP's entityID; default ``<base URL>/metadata``.
        auto_login: ``username`` of the user to approve AuthnRequests for, without a login
            form; ``None`` shows the HTML login form. See :meth:`login_as`.
        clock: Seconds since the epoch; drives every instant in the messages, the freshness
            checks of requests and the expiry of login forms, so tests can share a fake clock.
        name_id_formats: The NameID formats supported (and published in the metadata).
        default_name_id_format: The format sent when neither the relying party nor the
            AuthnRequest names one.
        authn_context: The AuthnContextClassRef of the assertions (an exactly requested one
            is echoed instead).
        assertion_lifetime: Seconds an assertion (and its bearer confirmation) stays valid.
        session_lifetime: Seconds until the ``SessionNotOnOrAfter`` of the IdP session.
        scopes: ``shibmd:Scope`` values to publish (``example.org``).
        display_name: An ``mdui:DisplayName`` (English) to publish.
        want_authn_requests_signed: Publish ``WantAuthnRequestsSigned="true"`` and refuse
            unsigned AuthnRequests from every SP.
        sign_metadata: Sign the metadata document with the IdP key.
        host: Address to bind (keep loopback).
        port: Port to bind; ``0`` picks a free one.

    Raises:
        InvalidSettingError: A bad option (named in the error's ``key``).
    """

    def __init__(
        self,
        *,
        users: Iterable[SAMLUser] = (),
        relying_parties: Iterable[SAMLRelyingParty] = (),
        entity_id: str | None = None,
        auto_login: str | None = None,
        clock: Callable[[], float] = time.time,
        name_id_formats: Sequence[str] = DEFAULT_NAME_ID_FORMATS,
        default_name_id_format: str = NAMEID_UNSPECIFIED,
        authn_context: str = AC_PASSWORD_PROTECTED_TRANSPORT,
        assertion_lifetime: float = 300,
        session_lifetime: float = 8 * 3600,
        scopes: Sequence[str] = (),
        display_name: str | None = None,
        want_authn_requests_signed: bool = False,
        sign_metadata: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not callable(clock):
            raise InvalidSettingError(
                f"expected a callable returning epoch seconds, got {clock!r}",
                key="SAMLIdentityProvider.clock",
            )
        if entity_id is not None and (not isinstance(entity_id, str) or not entity_id.strip()):
            raise InvalidSettingError(
                f"expected a non-empty string, got {entity_id!r}",
                key="SAMLIdentityProvider.entity_id",
            )
        formats = tuple(name_id_formats)
        if not formats or not all(isinstance(f, str) and f for f in formats):
            raise InvalidSettingError(
                f"expected a list of NameID format URIs, got {name_id_formats!r}",
                key="SAMLIdentityProvider.name_id_formats",
            )
        if default_name_id_format not in formats:
            raise InvalidSettingError(
                f"expected one of the supported formats {formats!r}, "
                f"got {default_name_id_format!r}",
                key="SAMLIdentityProvider.default_name_id_format",
            )
        if isinstance(scopes, str) or not all(isinstance(s, str) and s for s in scopes):
            raise InvalidSettingError(
                f"expected a list of domains, got {scopes!r}", key="SAMLIdentityProvider.scopes"
            )
        for name, flag in (
            ("want_authn_requests_signed", want_authn_requests_signed),
            ("sign_metadata", sign_metadata),
        ):
            if not isinstance(flag, bool):
                raise InvalidSettingError(
                    f"expected true or false, got {flag!r}", key=f"SAMLIdentityProvider.{name}"
                )
        self._clock = clock
        self._entity_id = entity_id
        self._name_id_formats = formats
        self._default_name_id_format = default_name_id_format
        self._authn_context = authn_context
        self._assertion_lifetime = _positive("assertion_lifetime", assertion_lifetime)
        self._session_lifetime = _positive("session_lifetime", session_lifetime)
        self._scopes = tuple(scopes)
        self._display_name = display_name
        self._want_authn_requests_signed = want_authn_requests_signed
        self._sign_metadata = sign_metadata

        self._lock = threading.RLock()
        self._users: dict[str, SAMLUser] = {}
        self._parties: dict[str, SAMLRelyingParty] = {}
        for user in users:
            self.add_user(user)
        for party in relying_parties:
            self.add_relying_party(party)
        self._auto_login: str | None = None
        self.login_as(auto_login)

        self._key_pair = generate_key_pair(now=self._now(), common_name="authkit test SAML IdP")
        self._wrong_key_pair: KeyPair | None = None
        self._faults: dict[str, int | None] = {}
        self._response_options: dict[str, Any] = {}
        self._pending: dict[str, _Pending] = {}
        self._seen_request_ids: set[str] = set()
        self._outstanding_logouts: dict[str, str] = {}
        self._sessions: list[_Session] = []
        self._log: list[RecordedRequest] = []
        self._authn_requests: list[ReceivedAuthnRequest] = []
        self._logout_requests: list[ReceivedLogoutRequest] = []
        self._logout_responses: list[ReceivedLogoutResponse] = []
        self._responses: list[IssuedResponse] = []
        self._rejections: list[Rejection] = []
        self._server = LoopbackHTTPServer(self._handle, host=host, port=port, name="authkit-saml")

    # -- life cycle -------------------------------------------------------------------------------

    # -- URLs and keys ----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The IdP's entityID (the ``Issuer`` of its messages)."""
        return self._entity_id if self._entity_id is not None else self.metadata_url

    @property
    def entity_id(self) -> str:
        """The same as :attr:`issuer`."""
        return self.issuer

    def url_for(self, endpoint: str) -> str:
        """The URL of ``endpoint``: ``"metadata"``, ``"sso"`` (both bindings),
        ``"unsolicited"``, ``"login"`` or ``"slo"`` (both bindings).

        Raises:
            InvalidSettingError: No such endpoint (``testing.no_such_endpoint``).
        """
        path = _PATHS.get(endpoint)
        if path is None:
            raise InvalidSettingError(
                f"the IdP serves {', '.join(sorted(_PATHS))}; it has no {endpoint!r} endpoint",
                key="SAMLIdentityProvider.url_for",
                code="testing.no_such_endpoint",
            )
        return self.base_url + path

    @property
    def metadata_url(self) -> str:
        """Where the IdP metadata is served."""
        return self.url_for("metadata")

    @property
    def sso_url(self) -> str:
        """The SingleSignOnService (HTTP-Redirect with GET, HTTP-POST with POST)."""
        return self.url_for("sso")

    @property
    def slo_url(self) -> str:
        """The SingleLogoutService (HTTP-Redirect with GET, HTTP-POST with POST)."""
        return self.url_for("slo")

    @property
    def unsolicited_url(self) -> str:
        """IdP-initiated SSO: ``GET ?providerId=<SP entityID>&target=<RelayState>``."""
        return self.url_for("unsolicited")

    @property
    def login_url(self) -> str:
        """Where the login form posts."""
        return self.url_for("login")

    @property
    def key_pair(self) -> KeyPair:
        """The IdP's signing (and decryption) key and its certificate."""
        return self._key_pair

    @property
    def certificate(self) -> str:
        """The IdP certificate's base64 body, as python3-saml settings hold it."""
        return self._key_pair.cert_base64

    @property
    def certificate_pem(self) -> str:
        """The IdP certificate, PEM."""
        return self._key_pair.cert_pem.decode("ascii")

    def idp_settings(
        self, *, sso_binding: str = BINDING_HTTP_REDIRECT, slo_binding: str = BINDING_HTTP_REDIRECT
    ) -> dict[str, Any]:
        """The python3-saml / invenio-saml ``settings["idp"]`` section for this IdP.

        Raises:
            InvalidSettingError: A binding that is neither HTTP-Redirect nor HTTP-POST.
        """
        for name, binding in (("sso_binding", sso_binding), ("slo_binding", slo_binding)):
            if binding not in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
                raise InvalidSettingError(
                    f"expected {BINDING_HTTP_REDIRECT} or {BINDING_HTTP_POST}, got {binding!r}",
                    key=f"SAMLIdentityProvider.idp_settings.{name}",
                )
        return {
            "entityId": self.issuer,
            "singleSignOnService": {"url": self.sso_url, "binding": sso_binding},
            "singleLogoutService": {"url": self.slo_url, "binding": slo_binding},
            "x509cert": self.certificate,
        }

    # -- users and relying parties ----------------------------------------------------------------

    def add_user(self, user: SAMLUser) -> None:
        """Register a person.

        Raises:
            InvalidSettingError: Not a :class:`SAMLUser`, or the username is taken.
        """
        if not isinstance(user, SAMLUser):
            raise InvalidSettingError(
                f"expected a SAMLUser, got {user!r}", key="SAMLIdentityProvider.users"
            )
        with self._lock:
            if user.username in self._users:
                raise InvalidSettingError(
                    f"a user named {user.username!r} is already registered",
                    key="SAMLIdentityProvider.users",
                )
            self._users[user.username] = user

    def add_relying_party(self, party: SAMLRelyingParty, *, replace: bool = False) -> None:
        """Register a service provider (``replace=True`` changes a registered one's options).

        Raises:
            InvalidSettingError: Not a :class:`SAMLRelyingParty`, or the entityID is taken and
                ``replace`` is false.
        """
        if not isinstance(party, SAMLRelyingParty):
            raise InvalidSettingError(
                f"expected a SAMLRelyingParty, got {party!r}",
                key="SAMLIdentityProvider.relying_parties",
            )
        with self._lock:
            if party.entity_id in self._parties and not replace:
                raise InvalidSettingError(
                    f"a service provider {party.entity_id!r} is already registered "
                    "(pass replace=True to change it)",
                    key="SAMLIdentityProvider.relying_parties",
                )
            self._parties[party.entity_id] = party

    @property
    def users(self) -> Mapping[str, SAMLUser]:
        """The registered people by username (a copy)."""
        with self._lock:
            return dict(self._users)

    @property
    def relying_parties(self) -> Mapping[str, SAMLRelyingParty]:
        """The registered service providers by entityID (a copy)."""
        with self._lock:
            return dict(self._parties)

    def login_as(self, username: str | None) -> None:
        """Approve every AuthnRequest from now on for ``username``, without a form.

        ``None`` switches back to the HTML login form.

        Raises:
            InvalidSettingError: No user has this username.
        """
        with self._lock:
            if username is not None and username not in self._users:
                raise InvalidSettingError(
                    f"expected the username of a registered user, got {username!r}",
                    key="SAMLIdentityProvider.login_as",
                )
            self._auto_login = username

    # -- faults and response options --------------------------------------------------------------

    def set_fault(self, fault: str, *, times: int | None = None) -> None:
        """Break every Response issued from now on in one way (until cleared or ``times`` used).

        Args:
            fault: One of the builder's broken variants (``expired``, ``not_yet_valid``,
                ``wrong_audience``, ``wrong_recipient``, ``wrong_destination``,
                ``wrong_issuer``, ``status_failure``, ``unsigned``… see
                :data:`~authkit.testing._saml_builder.BROKEN_VARIANTS`), or ``wrong_key`` (signed
                with a key that is not in the metadata) or ``tampered`` (the NameID changed
                after signing). Several faults may be on at once.
            times: Apply to the next ``times`` Responses only; ``None``: until cleared.

        Raises:
            InvalidSettingError: Unknown fault or bad ``times``.
        """
        if fault not in RESPONSE_FAULTS:
            raise InvalidSettingError(
                f"expected one of {', '.join(RESPONSE_FAULTS)}, got {fault!r}",
                key="SAMLIdentityProvider.fault",
            )
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise InvalidSettingError(f"expected a positive integer, got {times!r}", key="times")
        if times is not None and times < 1:
            raise InvalidSettingError(f"expected a positive integer, got {times!r}", key="times")
        with self._lock:
            self._faults[fault] = times

    def clear_faults(self, fault: str | None = None) -> None:
        """Switch one fault off, or (no argument) all of them."""
        with self._lock:
            if fault is None:
                self._faults.clear()
            else:
                self._faults.pop(fault, None)

    @property
    def active_faults(self) -> tuple[str, ...]:
        """The faults switched on, in the order they were."""
        with self._lock:
            return tuple(self._faults)

    @contextmanager
    def fault(self, fault: str, *, times: int | None = None) -> Iterator[None]:
        """Switch ``fault`` on inside a ``with`` block (see :meth:`set_fault`)."""
        self.set_fault(fault, times=times)
        try:
            yield
        finally:
            self.clear_faults(fault)

    def set_response_options(self, **changes: Any) -> None:
        """Override :class:`~authkit.testing._saml_builder.ResponseSpec` fields of every
        Response issued from now on (``sign_response=True``, ``encrypt_assertion=True``,
        ``name_id_format=…``, ``attributes={…}``, ``encrypt_name_id=True``…), applied after the
        relying party's options; replaces earlier overrides, none clears them.

        Raises:
            InvalidSettingError: A name that is not a ResponseSpec field, or one the IdP sets
                itself (``sp_entity_id``, ``acs_url``, ``request_id``, ``now``).
        """
        allowed = {f.name for f in attrs.fields(ResponseSpec)} - {
            "sp_entity_id",
            "acs_url",
            "request_id",
            "now",
        }
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidSettingError(
                f"expected ResponseSpec fields among {', '.join(sorted(allowed))}, got {unknown!r}",
                key="SAMLIdentityProvider.response_options",
            )
        with self._lock:
            self._response_options = dict(changes)

    @contextmanager
    def response_options(self, **changes: Any) -> Iterator[None]:
        """:meth:`set_response_options` inside a ``with`` block; the earlier ones come back."""
        with self._lock:
            previous = dict(self._response_options)
        self.set_response_options(**changes)
        try:
            yield
        finally:
            with self._lock:
                self._response_options = previous

    # -- observations for assertions --------------------------------------------------------------

    @property
    def authn_requests(self) -> list[ReceivedAuthnRequest]:
        """The AuthnRequests accepted, oldest first."""
        with self._lock:
            return list(self._authn_requests)

    @property
    def last_authn_request(self) -> ReceivedAuthnRequest | None:
        """The most recent accepted AuthnRequest, or ``None``."""
        with self._lock:
            return self._authn_requests[-1] if self._authn_requests else None

    @property
    def logout_requests(self) -> list[ReceivedLogoutRequest]:
        """The LogoutRequests accepted from SPs, oldest first."""
        with self._lock:
            return list(self._logout_requests)

    @property
    def last_logout_request(self) -> ReceivedLogoutRequest | None:
        """The most recent LogoutRequest accepted from an SP, or ``None``."""
        with self._lock:
            return self._logout_requests[-1] if self._logout_requests else None

    @property
    def logout_responses(self) -> list[ReceivedLogoutResponse]:
        """The LogoutResponses accepted from SPs, oldest first."""
        with self._lock:
            return list(self._logout_responses)

    @property
    def last_logout_response(self) -> ReceivedLogoutResponse | None:
        """The most recent LogoutResponse accepted from an SP, or ``None``."""
        with self._lock:
            return self._logout_responses[-1] if self._logout_responses else None

    @property
    def responses(self) -> list[IssuedResponse]:
        """The Responses issued, oldest first."""
        with self._lock:
            return list(self._responses)

    @property
    def last_response(self) -> IssuedResponse | None:
        """The most recent Response issued, or ``None``."""
        with self._lock:
            return self._responses[-1] if self._responses else None

    @property
    def rejections(self) -> list[Rejection]:
        """The messages refused, oldest first."""
        with self._lock:
            return list(self._rejections)

    @property
    def last_rejection(self) -> Rejection | None:
        """The most recent refusal, or ``None``."""
        with self._lock:
            return self._rejections[-1] if self._rejections else None

    @property
    def sessions(self) -> list[SAMLSession]:
        """The IdP sessions not ended by single logout, oldest first."""
        with self._lock:
            return [s.value for s in self._sessions if s.active]

    @property
    def server_errors(self) -> list[BaseException]:
        """Exceptions raised inside the IdP while serving (a bug; normally empty)."""
        return self._server.errors

    # -- metadata ---------------------------------------------------------------------------------

    def metadata(self) -> bytes:
        """The IdP metadata (an ``md:EntityDescriptor``), as served at :attr:`metadata_url`."""
        nsmap = {"md": NS_MD, "ds": NS_DS}
        if self._scopes:
            nsmap["shibmd"] = _SHIBMD
        if self._display_name:
            nsmap["mdui"] = _MDUI
        root = etree.Element(
            qname(NS_MD, "EntityDescriptor"), nsmap=nsmap, entityID=self.issuer, ID=new_id()
        )
        descriptor = etree.SubElement(
            root,
            qname(NS_MD, "IDPSSODescriptor"),
            protocolSupportEnumeration=_PROTOCOL,
            WantAuthnRequestsSigned="true" if self._want_authn_requests_signed else "false",
        )
        if self._scopes or self._display_name:
            extensions = etree.SubElement(descriptor, qname(NS_MD, "Extensions"))
            for scope in self._scopes:
                node = etree.SubElement(extensions, f"{{{_SHIBMD}}}Scope", regexp="false")
                node.text = scope
            if self._display_name:
                info = etree.SubElement(extensions, f"{{{_MDUI}}}UIInfo")
                name = etree.SubElement(info, f"{{{_MDUI}}}DisplayName")
                name.set(_XML_LANG, "en")
                name.text = self._display_name
        for use in ("signing", "encryption"):
            key = etree.SubElement(descriptor, qname(NS_MD, "KeyDescriptor"), use=use)
            data = etree.SubElement(
                etree.SubElement(key, qname(NS_DS, "KeyInfo")), qname(NS_DS, "X509Data")
            )
            etree.SubElement(data, qname(NS_DS, "X509Certificate")).text = self.certificate
        for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            etree.SubElement(
                descriptor,
                qname(NS_MD, "SingleLogoutService"),
                Binding=binding,
                Location=self.slo_url,
            )
        for name_id_format in self._name_id_formats:
            etree.SubElement(descriptor, qname(NS_MD, "NameIDFormat")).text = name_id_format
        for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            etree.SubElement(
                descriptor,
                qname(NS_MD, "SingleSignOnService"),
                Binding=binding,
                Location=self.sso_url,
            )
        if self._sign_metadata:
            sign_element(root, key_pem=self._key_pair.key_pem, cert_pem=self._key_pair.cert_pem)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    # -- messages made without HTTP ---------------------------------------------------------------

    def issue_response(
        self,
        sp_entity_id: str,
        *,
        username: str | None = None,
        request_id: str | None = None,
        relay_state: str | None = None,
        attributes: Mapping[str, Sequence[str]] | None = None,
    ) -> SAMLMessage:
        """A Response for ``sp_entity_id``, as the IdP would post it (faults and options apply).

        With ``request_id=None`` (the default) this is an IdP-initiated, *unsolicited*
        Response; with the ID of an AuthnRequest the SP made, a solicited one.

        Args:
            sp_entity_id: A registered service provider.
            username: Who signs in; default the :meth:`login_as` user.
            request_id: The AuthnRequest answered (``InResponseTo``), if any.
            relay_state: ``RelayState`` to post with it.
            attributes: Attributes added to the user's for this Response.

        Raises:
            InvalidSettingError: Unknown SP (``testing.unknown_sp``) or user, or no user given
                and none chosen with :meth:`login_as`.
        """
        with self._lock:
            party = self._parties.get(sp_entity_id)
            if party is None:
                raise InvalidSettingError(
                    f"no service provider {sp_entity_id!r} is registered",
                    key="SAMLIdentityProvider.issue_response",
                    code="testing.unknown_sp",
                )
            name = username if username is not None else self._auto_login
            if name is None or name not in self._users:
                raise InvalidSettingError(
                    f"expected the username of a registered user, got {name!r}",
                    key="SAMLIdentityProvider.issue_response.username",
                )
            request = None
            if request_id is not None:
                request = ReceivedAuthnRequest(
                    id=request_id, issuer=party.entity_id, binding=BINDING_HTTP_POST
                )
            return self._approve(
                party, self._users[name], request, relay_state, extra_attributes=attributes
            )

    def logout_request(
        self,
        sp_entity_id: str,
        *,
        username: str | None = None,
        session_index: str | None = None,
        relay_state: str | None = None,
        binding: str | None = None,
        reason: str | None = None,
    ) -> SAMLMessage:
        """Start single logout at an SP: end the user's session(s) there and build the
        LogoutRequest to send the browser with (to the SP's ``slo_url``).

        The LogoutResponse the SP sends back to :attr:`slo_url` is checked against this
        request and recorded in :attr:`logout_responses`.

        Args:
            sp_entity_id: A registered service provider with a ``slo_url``.
            username: Whose session to end; default: the most recent session at the SP.
            session_index: Which session, when the user has several.
            relay_state: ``RelayState`` to send.
            binding: HTTP-Redirect or HTTP-POST; default the relying party's ``slo_binding``.
            reason: The ``Reason`` attribute (``urn:oasis:names:tc:SAML:2.0:logout:user``…).

        Raises:
            InvalidSettingError: Unknown SP (``testing.unknown_sp``), no ``slo_url``, or no
                active session matches (``testing.no_session``).
        """
        with self._lock:
            party = self._parties.get(sp_entity_id)
            if party is None:
                raise InvalidSettingError(
                    f"no service provider {sp_entity_id!r} is registered",
                    key="SAMLIdentityProvider.logout_request",
                    code="testing.unknown_sp",
                )
            if party.slo_url is None:
                raise InvalidSettingError(
                    f"service provider {sp_entity_id!r} has no slo_url",
                    key="SAMLRelyingParty.slo_url",
                )
            matching = [
                s
                for s in self._sessions
                if s.active
                and s.value.sp_entity_id == sp_entity_id
                and (username is None or s.value.username == username)
                and (session_index is None or s.value.session_index == session_index)
            ]
            if not matching:
                raise InvalidSettingError(
                    "no active session matches at this service provider",
                    key="SAMLIdentityProvider.logout_request",
                    code="testing.no_session",
                )
            session = matching[-1]
            session.active = False
            now = self._now()
            request_id = new_id()
            element = etree.Element(
                qname(NS_SAMLP, "LogoutRequest"),
                nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
                ID=request_id,
                Version="2.0",
                IssueInstant=format_instant(now),
                Destination=party.slo_url,
                NotOnOrAfter=format_instant(now + timedelta(seconds=REQUEST_LIFETIME)),
            )
            if reason is not None:
                element.set("Reason", reason)
            etree.SubElement(element, _ISSUER).text = self.issuer
            name_id = etree.SubElement(
                element,
                _NAME_ID,
                Format=session.value.name_id_format,
                SPNameQualifier=party.entity_id,
            )
            name_id.text = session.value.name_id
            etree.SubElement(
                element, qname(NS_SAMLP, "SessionIndex")
            ).text = session.value.session_index
            self._outstanding_logouts[request_id] = party.entity_id
            return self._outgoing(
                party,
                element,
                kind="LogoutRequest",
                param="SAMLRequest",
                destination=party.slo_url,
                binding=binding or party.slo_binding,
                relay_state=relay_state,
                sign=party.sign_logout_messages,
            )

    # -- dispatch ---------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _handle(self, request: ServerRequest) -> ServerResponse:
        endpoint = _ROUTES.get(request.path)
        if endpoint is None:
            return _page("Not found", "<h1>Not found</h1>", status=404)
        params = request.query if request.method in ("GET", "HEAD") else request.form()
        with self._lock:
            self._log.append(
                RecordedRequest(
                    endpoint=endpoint,
                    method=request.method,
                    path=request.path,
                    params={k: v[0] for k, v in params.items() if v},
                    headers=dict(request.headers),
                )
            )
            handler: Callable[[ServerRequest], ServerResponse] = getattr(self, f"_serve_{endpoint}")
            try:
                return handler(request)
            except _Refused as refused:
                self._rejections.append(
                    Rejection(endpoint=endpoint, code=refused.code, message=refused.message)
                )
                return _refusal_page(refused)

    @staticmethod
    def _message_params(request: ServerRequest) -> tuple[Mapping[str, tuple[str, ...]], str]:
        if request.method == "GET":
            return request.query, BINDING_HTTP_REDIRECT
        if request.method == "POST" and request.content_type == _FORM:
            return request.form(), BINDING_HTTP_POST
        raise _Refused("idp.method_not_allowed", "use GET (HTTP-Redirect) or POST (HTTP-POST)")

    def _decode(
        self, params: Mapping[str, tuple[str, ...]], binding: str, param: str
    ) -> tuple[bytes, list[RedirectMessage], str | None]:
        """The XML of ``param``, the Redirect decodings (empty for POST) and the RelayState."""
        value = _single(params, param)
        relay_state = _single(params, "RelayState")
        if value is None:
            raise _Refused("idp.malformed", f"the {param} parameter is missing")
        try:
            if binding == BINDING_HTTP_POST:
                return decode_post(value), [], relay_state
            for name in ("SigAlg", "Signature"):
                _single(params, name)
            messages = [
                decode_redirect(query, param=param) for query in _redirect_candidates(params, param)
            ]
        except SAMLValidationError as exc:
            raise _from_saml_error(exc) from None
        return messages[0].xml, messages, relay_state

    def _parse(self, xml: bytes, *tags: str) -> etree._Element:
        try:
            root = parse_xml(xml, expected={qname(NS_SAMLP, tag) for tag in tags})
        except SAMLValidationError as exc:
            raise _from_saml_error(exc) from None
        if root.get("Version") != "2.0":
            raise _Refused("idp.version_unsupported", "the message is not SAML 2.0")
        if not root.get("ID") or not root.get("IssueInstant"):
            raise _Refused("idp.malformed", "the message has no ID or IssueInstant")
        return root

    def _party_of(self, root: etree._Element) -> SAMLRelyingParty:
        issuer = _child_text(root, _ISSUER)
        if not issuer:
            raise _Refused("idp.unknown_sp", "the message has no Issuer")
        party = self._parties.get(issuer)
        if party is None:
            raise _Refused("idp.unknown_sp", "the Issuer is not a registered service provider")
        return party

    def _check_signature(
        self,
        root: etree._Element,
        party: SAMLRelyingParty,
        redirect: list[RedirectMessage],
        *,
        required: bool,
    ) -> bool:
        """Verify the query signature (Redirect) or the enveloped one (POST); whether signed."""
        signed = redirect[0].signed if redirect else any(c.tag == _SIGNATURE for c in root)
        if not signed:
            if required:
                raise _Refused(
                    "idp.signature_missing", "the service provider must sign its messages"
                )
            return False
        if party.certificate is None:
            raise _Refused(
                "idp.signature_unverifiable",
                "the message is signed but the service provider's certificate is not known",
            )
        try:
            if not redirect:
                verify_signed_element(root, certificates=[party.certificate])
                return True
            failure: SAMLValidationError | None = None
            for message in redirect:
                try:
                    message.verify(certificates=[party.certificate])
                except SAMLValidationError as exc:
                    failure = failure or exc
                else:
                    return True
            assert failure is not None
            raise failure
        except SAMLValidationError as exc:
            raise _from_saml_error(exc) from None

    def _check_fresh(self, root: etree._Element) -> None:
        now = self._now()
        try:
            issued = parse_instant(root.get("IssueInstant"), what="IssueInstant")
            not_on_or_after = parse_instant(root.get("NotOnOrAfter"), what="NotOnOrAfter")
        except SAMLValidationError as exc:
            raise _from_saml_error(exc) from None
        skew = timedelta(seconds=CLOCK_SKEW)
        assert issued is not None  # _parse checked it is there
        if issued > now + skew:
            raise _Refused("idp.request_not_yet_valid", "the IssueInstant lies in the future")
        if issued < now - timedelta(seconds=REQUEST_LIFETIME) - skew:
            raise _Refused("idp.request_expired", "the IssueInstant is too old")
        if not_on_or_after is not None and not_on_or_after <= now - skew:
            raise _Refused("idp.request_expired", "the NotOnOrAfter has passed")

    # -- SSO --------------------------------------------------------------------------------------

    def _serve_metadata(self, request: ServerRequest) -> ServerResponse:
        if request.method not in ("GET", "HEAD"):
            return _page("Method not allowed", "<h1>Use GET</h1>", status=405)
        return ServerResponse(
            headers={"Content-Type": "application/samlmetadata+xml"}, body=self.metadata()
        )

    def _serve_sso(self, request: ServerRequest) -> ServerResponse:
        params, binding = self._message_params(request)
        xml, redirect, relay_state = self._decode(params, binding, "SAMLRequest")
        root = self._parse(xml, "AuthnRequest")
        party = self._party_of(root)
        signed = self._check_signature(
            root,
            party,
            redirect,
            required=party.require_signed_messages or self._want_authn_requests_signed,
        )
        destination = root.get("Destination")
        if destination is not None and destination != self.sso_url:
            raise _Refused("idp.destination_mismatch", "the Destination is not this SSO service")
        self._check_fresh(root)
        acs_url = root.get("AssertionConsumerServiceURL")
        if acs_url is not None and acs_url != party.acs_url:
            raise _Refused(
                "idp.acs_mismatch",
                "the AssertionConsumerServiceURL is not the one registered for the SP",
            )
        protocol_binding = root.get("ProtocolBinding")
        if protocol_binding is not None and protocol_binding != BINDING_HTTP_POST:
            raise _Refused(
                "idp.unsupported_binding", "only the HTTP-POST binding is used for Responses"
            )
        request_id = str(root.get("ID"))
        if request_id in self._seen_request_ids:
            raise _Refused("idp.replayed_request", "this AuthnRequest ID was already used")
        self._seen_request_ids.add(request_id)

        policy = next(root.iterchildren(qname(NS_SAMLP, "NameIDPolicy")), None)
        requested = next(root.iterchildren(qname(NS_SAMLP, "RequestedAuthnContext")), None)
        received = ReceivedAuthnRequest(
            id=request_id,
            issuer=party.entity_id,
            binding=binding,
            destination=destination,
            acs_url=acs_url,
            protocol_binding=protocol_binding,
            relay_state=relay_state,
            signed=signed,
            force_authn=_is_true(root.get("ForceAuthn")),
            is_passive=_is_true(root.get("IsPassive")),
            name_id_format=None if policy is None else policy.get("Format"),
            allow_create=policy is not None and _is_true(policy.get("AllowCreate")),
            requested_authn_context=()
            if requested is None
            else tuple(
                text_content(node).strip()
                for node in requested.iterchildren(qname(NS_SAML, "AuthnContextClassRef"))
            ),
            authn_context_comparison=None if requested is None else requested.get("Comparison"),
            xml=xml,
        )
        self._authn_requests.append(received)
        if self._auto_login is not None:
            message = self._approve(party, self._users[self._auto_login], received, relay_state)
            return ServerResponse.html(message.form or "", headers={"Cache-Control": "no-store"})
        if received.is_passive:
            message = self._failure(
                party, received, relay_state, STATUS_NO_PASSIVE, "the user is not signed in"
            )
            return ServerResponse.html(message.form or "", headers={"Cache-Control": "no-store"})
        return self._park(party, received, relay_state)

    def _serve_unsolicited(self, request: ServerRequest) -> ServerResponse:
        if request.method != "GET":
            return _page("Method not allowed", "<h1>Use GET</h1>", status=405)
        provider = _single(request.query, "providerId")
        target = _single(request.query, "target")
        shire = _single(request.query, "shire")
        party = self._parties.get(provider or "")
        if party is None:
            raise _Refused("idp.unknown_sp", "providerId is not a registered service provider")
        if shire is not None and shire != party.acs_url:
            raise _Refused("idp.acs_mismatch", "shire is not the ACS registered for the SP")
        if self._auto_login is not None:
            message = self._approve(party, self._users[self._auto_login], None, target)
            return ServerResponse.html(message.form or "", headers={"Cache-Control": "no-store"})
        return self._park(party, None, target)

    def _park(
        self,
        party: SAMLRelyingParty,
        request: ReceivedAuthnRequest | None,
        relay_state: str | None,
    ) -> ServerResponse:
        pending_id = secrets.token_urlsafe(24)
        self._pending[pending_id] = _Pending(
            csrf=secrets.token_urlsafe(24),
            party=party,
            request=request,
            relay_state=relay_state,
            expires_at=self._clock() + LOGIN_LIFETIME,
        )
        return self._login_page(pending_id)

    def _login_page(self, pending_id: str, error: str | None = None) -> ServerResponse:
        pending = self._pending[pending_id]
        notice = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
        return _page(
            "Sign in",
            f"<h1>Sign in to continue to {html.escape(pending.party.entity_id)}</h1>\n{notice}"
            f'<form method="post" action="{html.escape(self.login_url)}">\n'
            f'<input type="hidden" name="request_id" value="{html.escape(pending_id)}">\n'
            f'<input type="hidden" name="csrf_token" value="{html.escape(pending.csrf)}">\n'
            '<label>Username <input name="username" autocomplete="username" required></label>\n'
            '<label>Password <input type="password" name="password" '
            'autocomplete="current-password"></label>\n'
            '<button type="submit" name="action" value="login">Sign in</button>\n'
            '<button type="submit" name="action" value="deny">Cancel</button>\n'
            "</form>",
        )

    def _serve_login(self, request: ServerRequest) -> ServerResponse:
        if request.method != "POST" or request.content_type != _FORM:
            raise _Refused("idp.method_not_allowed", "post the login form")
        form = {k: v[0] for k, v in request.form().items() if v}
        pending_id = form.get("request_id", "")
        pending = self._pending.get(pending_id)
        if pending is None or self._clock() >= pending.expires_at:
            self._pending.pop(pending_id, None)
            raise _Refused("idp.login_expired", "this sign-in request is unknown or expired")
        if not hmac.compare_digest(form.get("csrf_token", "").encode(), pending.csrf.encode()):
            raise _Refused("idp.csrf_mismatch", "the form's CSRF token does not match")
        if form.get("action") == "deny":
            del self._pending[pending_id]
            message = self._failure(
                pending.party,
                pending.request,
                pending.relay_state,
                STATUS_AUTHN_FAILED,
                "the user cancelled the sign-in",
            )
            return ServerResponse.html(message.form or "", headers={"Cache-Control": "no-store"})
        user = self._users.get(form.get("username", ""))
        password = form.get("password", "")
        if (
            user is None
            or user.password is None
            or not hmac.compare_digest(password.encode(), user.password.encode())
        ):
            return self._login_page(pending_id, error="Invalid username or password.")
        del self._pending[pending_id]
        message = self._approve(pending.party, user, pending.request, pending.relay_state)
        return ServerResponse.html(message.form or "", headers={"Cache-Control": "no-store"})

    # -- Responses --------------------------------------------------------------------------------

    def _fire_faults(self) -> tuple[str, ...]:
        fired = tuple(self._faults)
        for fault in fired:
            remaining = self._faults[fault]
            if remaining is not None:
                if remaining <= 1:
                    del self._faults[fault]
                else:
                    self._faults[fault] = remaining - 1
        return fired

    def _name_id_format(
        self, party: SAMLRelyingParty, request: ReceivedAuthnRequest | None
    ) -> str | None:
        """The format to send, or ``None`` when the request asks for an unsupported one.

        A test's ``response_options(name_id_format=…)`` wins; then a specific format in the
        AuthnRequest's NameIDPolicy; then the relying party's; then the IdP's default.
        """
        forced = self._response_options.get("name_id_format")
        if isinstance(forced, str):
            return forced
        wanted = request.name_id_format if request is not None else None
        if wanted is not None and wanted != NAMEID_UNSPECIFIED:
            return wanted if wanted in self._name_id_formats else None
        if party.name_id_format is not None:
            return party.name_id_format
        return self._default_name_id_format

    def _wire_attributes(
        self, party: SAMLRelyingParty, attributes: Mapping[str, Sequence[str]]
    ) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Attribute values and FriendlyNames by the Name they are sent under."""
        values: dict[str, list[str]] = {}
        friendly: dict[str, str] = {}
        for name, given in attributes.items():
            wire = name
            if party.attribute_names == "uri":
                definition = DEFAULT_ATTRIBUTE_REGISTRY.lookup(name)
                if definition is not None and definition.uri:
                    wire = definition.uri
                    friendly[wire] = definition.friendly_name
            merged = values.setdefault(wire, [])
            merged.extend(v for v in given if v not in merged)
        return values, friendly

    def _approve(
        self,
        party: SAMLRelyingParty,
        user: SAMLUser,
        request: ReceivedAuthnRequest | None,
        relay_state: str | None,
        *,
        extra_attributes: Mapping[str, Sequence[str]] | None = None,
    ) -> SAMLMessage:
        name_id_format = self._name_id_format(party, request)
        if name_id_format is None:
            return self._failure(
                party,
                request,
                relay_state,
                STATUS_INVALID_NAME_ID_POLICY,
                "the requested NameID format is not supported",
                top=STATUS_REQUESTER,
            )
        try:
            name_id = user.name_id_for(
                name_id_format, idp_entity_id=self.issuer, sp_entity_id=party.entity_id
            )
        except InvalidSettingError:
            return self._failure(
                party,
                request,
                relay_state,
                STATUS_INVALID_NAME_ID_POLICY,
                "the user has no value for the requested NameID format",
                top=STATUS_REQUESTER,
            )
        attributes, friendly = self._wire_attributes(
            party, {**user.attributes, **party.extra_attributes, **(extra_attributes or {})}
        )
        authn_context = self._authn_context
        if (
            request is not None
            and request.requested_authn_context
            and request.authn_context_comparison in (None, "exact")
        ):
            authn_context = request.requested_authn_context[0]
        now = self._now()
        session_index = new_id()
        spec = ResponseSpec(
            sp_entity_id=party.entity_id,
            acs_url=party.acs_url,
            request_id=request.id if request is not None else None,
            now=now,
            name_id=name_id,
            name_id_format=name_id_format,
            attributes=attributes,
            friendly_names=friendly,
            attribute_name_format=ATTRNAME_FORMAT_URI
            if party.attribute_names == "uri"
            else ATTRNAME_FORMAT_BASIC,
            authn_context=authn_context,
            session_index=session_index,
            lifetime=timedelta(seconds=self._assertion_lifetime),
            session_lifetime=timedelta(seconds=self._session_lifetime),
            sign_assertion=party.sign_assertion,
            sign_response=party.sign_response,
            encrypt_assertion=party.encrypt_assertion,
            sp_certificate=None
            if party.encrypting_certificate is None
            else party.encrypting_certificate.encode("ascii"),
            encryption_algorithm=party.encryption_algorithm,
            signature_algorithm=party.signature_algorithm,
            digest_algorithm=party.digest_algorithm,
        )
        spec = attrs.evolve(spec, **self._response_options)
        if spec.sp_certificate is None and (
            spec.encrypt_assertion or spec.encrypt_name_id or spec.encrypt_attributes
        ):
            raise InvalidSettingError(
                f"encryption needs the certificate of {party.entity_id!r}",
                key="SAMLRelyingParty.certificate",
            )
        fired = self._fire_faults()
        for fault in fired:
            if fault in BROKEN_VARIANTS:
                spec = spec.broken(fault)
        key_pair = self._key_pair
        if "wrong_key" in fired:
            if self._wrong_key_pair is None:
                self._wrong_key_pair = generate_key_pair(now=now, common_name="not the IdP")
            key_pair = self._wrong_key_pair
        element = SAMLResponseBuilder(entity_id=self.issuer, key_pair=key_pair).build_element(spec)
        if "tampered" in fired:
            _tamper(element)
        success = spec.status == (STATUS_SUCCESS,)
        message = self._post_response(party, element, relay_state)
        self._responses.append(
            IssuedResponse(
                id=message.id,
                sp_entity_id=party.entity_id,
                username=user.username if success else None,
                request_id=spec.request_id,
                name_id=spec.name_id if success else None,
                name_id_format=spec.name_id_format if success else None,
                session_index=session_index if success else None,
                status=spec.status[0],
                faults=fired,
                relay_state=relay_state,
                saml_response=message.fields["SAMLResponse"],
            )
        )
        if success and spec.name_id is not None:
            self._sessions.append(
                _Session(
                    SAMLSession(
                        session_index=session_index,
                        username=user.username,
                        sp_entity_id=party.entity_id,
                        name_id=spec.name_id,
                        name_id_format=spec.name_id_format,
                    )
                )
            )
        return message

    def _failure(
        self,
        party: SAMLRelyingParty,
        request: ReceivedAuthnRequest | None,
        relay_state: str | None,
        status: str,
        message_text: str,
        *,
        top: str = STATUS_RESPONDER,
    ) -> SAMLMessage:
        """A Response with a failure status (no assertion), the Response signed."""
        spec = ResponseSpec(
            sp_entity_id=party.entity_id,
            acs_url=party.acs_url,
            request_id=request.id if request is not None else None,
            now=self._now(),
            status=(top, status),
            status_message=message_text,
            sign_assertion=False,
            sign_response=True,
            signature_algorithm=party.signature_algorithm,
            digest_algorithm=party.digest_algorithm,
        )
        element = SAMLResponseBuilder(entity_id=self.issuer, key_pair=self._key_pair).build_element(
            spec
        )
        message = self._post_response(party, element, relay_state)
        self._responses.append(
            IssuedResponse(
                id=message.id,
                sp_entity_id=party.entity_id,
                username=None,
                request_id=spec.request_id,
                name_id=None,
                name_id_format=None,
                session_index=None,
                status=top,
                relay_state=relay_state,
                saml_response=message.fields["SAMLResponse"],
            )
        )
        return message

    def _post_response(
        self, party: SAMLRelyingParty, element: etree._Element, relay_state: str | None
    ) -> SAMLMessage:
        xml = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
        fields = encode_post(xml, param="SAMLResponse", relay_state=relay_state)
        return SAMLMessage(
            id=str(element.get("ID")),
            kind="Response",
            binding=BINDING_HTTP_POST,
            destination=party.acs_url,
            url=party.acs_url,
            form=post_form(party.acs_url, fields),
            fields=fields,
            relay_state=relay_state,
            xml=xml,
        )

    def _outgoing(
        self,
        party: SAMLRelyingParty,
        element: etree._Element,
        *,
        kind: str,
        param: str,
        destination: str,
        binding: str,
        relay_state: str | None,
        sign: bool,
    ) -> SAMLMessage:
        if binding not in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            raise InvalidSettingError(
                f"expected {BINDING_HTTP_REDIRECT} or {BINDING_HTTP_POST}, got {binding!r}",
                key="binding",
            )
        message_id = str(element.get("ID"))
        if binding == BINDING_HTTP_POST:
            if sign:
                sign_element(
                    element,
                    key_pem=self._key_pair.key_pem,
                    cert_pem=self._key_pair.cert_pem,
                    signature_algorithm=party.signature_algorithm,
                    digest_algorithm=party.digest_algorithm,
                )
            xml = etree.tostring(element)
            fields = encode_post(xml, param=param, relay_state=relay_state)
            return SAMLMessage(
                id=message_id,
                kind=kind,
                binding=binding,
                destination=destination,
                url=destination,
                form=post_form(destination, fields),
                fields=fields,
                relay_state=relay_state,
                xml=xml,
            )
        xml = etree.tostring(element)
        url = encode_redirect(
            destination,
            xml,
            param=param,
            relay_state=relay_state,
            key_pem=self._key_pair.key_pem if sign else None,
            signature_algorithm=party.signature_algorithm if sign else None,
        )
        return SAMLMessage(
            id=message_id,
            kind=kind,
            binding=binding,
            destination=destination,
            url=url,
            relay_state=relay_state,
            xml=xml,
        )

    # -- SLO --------------------------------------------------------------------------------------

    def _serve_slo(self, request: ServerRequest) -> ServerResponse:
        params, binding = self._message_params(request)
        if "SAMLRequest" in params:
            message = self._logout_request_received(params, binding)
            if message.form is not None:
                return ServerResponse.html(message.form, headers={"Cache-Control": "no-store"})
            return ServerResponse.redirect(message.url)
        if "SAMLResponse" in params:
            received = self._logout_response_received(params, binding)
            outcome = "You are signed out." if received.success else "Single logout failed."
            return _page("Signed out", f"<h1>{html.escape(outcome)}</h1>")
        raise _Refused("idp.malformed", "expected a SAMLRequest or a SAMLResponse")

    def _logout_request_received(
        self, params: Mapping[str, tuple[str, ...]], binding: str
    ) -> SAMLMessage:
        xml, redirect, relay_state = self._decode(params, binding, "SAMLRequest")
        root = self._parse(xml, "LogoutRequest")
        party = self._party_of(root)
        if party.slo_url is None:
            raise _Refused("idp.no_slo_service", "the service provider has no slo_url registered")
        signed = self._check_signature(
            root, party, redirect, required=party.require_signed_messages
        )
        destination = root.get("Destination")
        if destination is not None and destination != self.slo_url:
            raise _Refused("idp.destination_mismatch", "the Destination is not this SLO service")
        self._check_fresh(root)
        node = next(root.iterchildren(_NAME_ID), None)
        encrypted = next(root.iterchildren(_ENCRYPTED_ID), None)
        if node is None and encrypted is not None:
            try:
                node = decrypt_element(
                    encrypted,
                    private_keys=[self._key_pair.key_pem],
                    expected=_NAME_ID,
                )
            except SAMLValidationError as exc:
                raise _from_saml_error(exc) from None
        if node is None or not text_content(node).strip():
            raise _Refused("idp.name_id_missing", "the LogoutRequest has no NameID")
        name_id = text_content(node).strip()
        indexes = tuple(
            text_content(n).strip() for n in root.iterchildren(qname(NS_SAMLP, "SessionIndex"))
        )
        ended = [
            s
            for s in self._sessions
            if s.active
            and s.value.sp_entity_id == party.entity_id
            and s.value.name_id == name_id
            and (not indexes or s.value.session_index in indexes)
        ]
        for session in ended:
            session.active = False
        status = STATUS_SUCCESS if ended else STATUS_UNKNOWN_PRINCIPAL
        request_id = str(root.get("ID"))
        self._logout_requests.append(
            ReceivedLogoutRequest(
                id=request_id,
                issuer=party.entity_id,
                binding=binding,
                name_id=name_id,
                name_id_format=node.get("Format"),
                session_indexes=indexes,
                relay_state=relay_state,
                signed=signed,
                encrypted_name_id=encrypted is not None,
                status=status,
                xml=xml,
            )
        )
        destination_url = party.logout_response_url
        assert destination_url is not None  # slo_url is set
        element = etree.Element(
            qname(NS_SAMLP, "LogoutResponse"),
            nsmap={"samlp": NS_SAMLP, "saml": NS_SAML},
            ID=new_id(),
            Version="2.0",
            IssueInstant=format_instant(self._now()),
            Destination=destination_url,
            InResponseTo=request_id,
        )
        etree.SubElement(element, _ISSUER).text = self.issuer
        status_node = etree.SubElement(element, qname(NS_SAMLP, "Status"))
        if ended:
            etree.SubElement(status_node, qname(NS_SAMLP, "StatusCode"), Value=STATUS_SUCCESS)
        else:
            top = etree.SubElement(
                status_node, qname(NS_SAMLP, "StatusCode"), Value=STATUS_REQUESTER
            )
            etree.SubElement(top, qname(NS_SAMLP, "StatusCode"), Value=STATUS_UNKNOWN_PRINCIPAL)
        return self._outgoing(
            party,
            element,
            kind="LogoutResponse",
            param="SAMLResponse",
            destination=destination_url,
            binding=party.slo_binding,
            relay_state=relay_state,
            sign=party.sign_logout_messages,
        )

    def _logout_response_received(
        self, params: Mapping[str, tuple[str, ...]], binding: str
    ) -> ReceivedLogoutResponse:
        xml, redirect, relay_state = self._decode(params, binding, "SAMLResponse")
        root = self._parse(xml, "LogoutResponse")
        party = self._party_of(root)
        in_response_to = root.get("InResponseTo") or ""
        expected_party = self._outstanding_logouts.get(in_response_to)
        if expected_party is None:
            raise _Refused(
                "idp.unknown_logout_request",
                "InResponseTo is not a LogoutRequest this IdP sent (or it was answered already)",
            )
        if expected_party != party.entity_id:
            raise _Refused(
                "idp.issuer_mismatch", "the LogoutRequest was sent to another service provider"
            )
        signed = self._check_signature(
            root, party, redirect, required=party.require_signed_messages
        )
        destination = root.get("Destination")
        if destination is not None and destination != self.slo_url:
            raise _Refused("idp.destination_mismatch", "the Destination is not this SLO service")
        self._check_fresh(root)
        status = next(root.iterchildren(qname(NS_SAMLP, "Status")), None)
        codes: list[str] = []
        node = status
        while node is not None:
            node = next(node.iterchildren(qname(NS_SAMLP, "StatusCode")), None)
            if node is not None:
                codes.append(node.get("Value") or "")
        if not codes:
            raise _Refused("idp.malformed", "the LogoutResponse has no StatusCode")
        del self._outstanding_logouts[in_response_to]
        received = ReceivedLogoutResponse(
            id=str(root.get("ID")),
            issuer=party.entity_id,
            in_response_to=in_response_to,
            binding=binding,
            status_codes=tuple(codes),
            relay_state=relay_state,
            signed=signed,
            xml=xml,
        )
        self._logout_responses.append(received)
        return received

    def __repr__(self) -> str:
        where = self.base_url if self._server.running else "not running"
        return f"<SAMLIdentityProvider {where}>"


def _tamper(response: etree._Element) -> None:
    """Change the signed content of a Response after signing (the NameID, else an instant)."""
    assertion = next(response.iterchildren(qname(NS_SAML, "Assertion")), None)
    if assertion is not None:
        name_id = assertion.find(f"{qname(NS_SAML, 'Subject')}/{_NAME_ID}")
        if name_id is not None:
            name_id.text = "mallory@example.org"
            return
        assertion.set("IssueInstant", "2000-01-01T00:00:00Z")
        return
    if any(child.tag == _SIGNATURE for child in response):
        response.set("IssueInstant", "2000-01-01T00:00:00Z")
        return
    raise InvalidSettingError(
        "the tampered fault needs a plaintext assertion or a signed Response",
        key="SAMLIdentityProvider.fault",
        code="testing.fault_not_applicable",
    )
