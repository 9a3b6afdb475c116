"""The service provider: one object per IdP tying settings, bindings and validation together.

:class:`ServiceProvider` is a thin, stateless-per-call facade: every method takes its inputs and
returns a value (a :class:`~authkit.saml.LoginRequest`, a :class:`~authkit.saml.SAMLAuthn`, the
metadata bytes) — nothing is kept between calls except the replay cache, and nothing is read
back afterwards. The application keeps :attr:`LoginRequest.id` between the two legs of the login
(in its session) and passes it back to :meth:`ServiceProvider.process_response`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from authkit.errors import InvalidSettingError
from authkit.saml._authn_request import LoginRequest, login_request
from authkit.saml._bindings import decode_post
from authkit.saml._logout import (
    IdPLogoutRequest,
    LogoutMessage,
    LogoutResult,
    build_logout_request,
    build_logout_response,
    validate_logout_request,
    validate_logout_response,
)
from authkit.saml._replay import MemoryReplayCache, ReplayCache
from authkit.saml._response import SAMLAuthn, validate_response
from authkit.saml._settings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, SAMLSettings
from authkit.saml._sp_metadata import build_sp_metadata

__all__ = ["ServiceProvider"]


def _check_binding(binding: str | None) -> None:
    if binding is not None and binding not in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        raise InvalidSettingError(
            "expected the HTTP-Redirect or HTTP-POST binding URI", key="binding"
        )


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidSettingError("now must be a timezone-aware datetime", key="now")
    return now.astimezone(UTC)


class ServiceProvider:
    """A SAML 2.0 service provider for one identity provider.

    Args:
        settings: The SP and IdP settings (see :meth:`SAMLSettings.from_dict`).
        replay_cache: Where accepted assertion IDs are remembered. The default
            :class:`~authkit.saml.MemoryReplayCache` serves one process; several web workers
            need a shared one (``StateStoreReplayCache`` over Redis).

    Example::

        sp = ServiceProvider(SAMLSettings.from_dict(settings_dict))
        login = sp.login_request(relay_state="/dashboard")
        session["saml_request_id"] = login.id      # then redirect to login.url
        ...
        authn = sp.process_response(form["SAMLResponse"], request_id=session["saml_request_id"])
    """

    def __init__(self, settings: SAMLSettings, *, replay_cache: ReplayCache | None = None) -> None:
        self._settings = settings
        self._replay_cache = replay_cache if replay_cache is not None else MemoryReplayCache()

    @property
    def settings(self) -> SAMLSettings:
        """The settings this SP was built with."""
        return self._settings

    @property
    def entity_id(self) -> str:
        """This SP's entityID."""
        return self._settings.sp.entity_id

    @property
    def idp_entity_id(self) -> str:
        """The entityID of the IdP this SP trusts."""
        return self._settings.idp.entity_id

    def login_request(
        self,
        *,
        relay_state: str | None = None,
        binding: str | None = None,
        force_authn: bool = False,
        is_passive: bool = False,
        name_id_format: str | None = None,
        requested_authn_context: tuple[str, ...] | None = None,
        now: datetime | None = None,
    ) -> LoginRequest:
        """An AuthnRequest to send the browser to the IdP with.

        Args:
            relay_state: Opaque value the IdP returns with the Response (where to go next).
            binding: HTTP-Redirect or HTTP-POST URI; default ``idp.singleSignOnService.binding``.
            force_authn: Ask the IdP to authenticate again even with a session (``ForceAuthn``).
            is_passive: Ask the IdP not to interact with the user (``IsPassive``).
            name_id_format: NameIDPolicy format; default ``sp.NameIDFormat``.
            requested_authn_context: AuthnContextClassRefs to request; default
                ``security.requestedAuthnContext``.
            now: The current time (aware); default the system clock.

        Returns:
            The request: keep :attr:`~LoginRequest.id` for :meth:`process_response`, send the
            browser to :attr:`~LoginRequest.url` or answer with :attr:`~LoginRequest.form`.
        """
        _check_binding(binding)
        return login_request(
            self._settings,
            now=_now(now),
            relay_state=relay_state,
            binding=binding,
            force_authn=force_authn,
            is_passive=is_passive,
            name_id_format=name_id_format,
            requested_authn_context=requested_authn_context,
        )

    def process_response(
        self,
        saml_response: str | bytes,
        *,
        request_id: str | None,
        now: datetime | None = None,
    ) -> SAMLAuthn:
        """Validate the ``SAMLResponse`` form field the IdP posted to the ACS URL.

        Args:
            saml_response: The ``SAMLResponse`` value as posted (base64).
            request_id: The :attr:`LoginRequest.id` this Response answers; ``None`` for an
                IdP-initiated Response (refused unless ``security.allow_unsolicited``).
            now: The current time (aware); default the system clock.

        Returns:
            The validated authentication.

        Raises:
            SAMLValidationError: With the ``code`` of the check that failed (see
                ``docs/saml.md`` for the table).
        """
        current = _now(now)
        xml = decode_post(saml_response, max_size=self._settings.security.max_message_size)
        return validate_response(
            xml,
            settings=self._settings,
            request_id=request_id,
            now=current,
            replay_cache=self._replay_cache,
        )

    def metadata(self, *, valid_until: datetime | None = None) -> bytes:
        """This SP's metadata (XML bytes), signed when ``security.signMetadata``.

        Args:
            valid_until: ``validUntil`` to publish; default ``security.metadataValidUntil``.
        """
        return build_sp_metadata(self._settings, valid_until=valid_until)

    # -- single logout -------------------------------------------------------------------------

    def logout_request(
        self,
        *,
        name_id: str,
        name_id_format: str | None = None,
        session_index: str | None = None,
        relay_state: str | None = None,
        binding: str | None = None,
        now: datetime | None = None,
    ) -> LogoutMessage:
        """A LogoutRequest asking the IdP to end the session of a login.

        Args:
            name_id: :attr:`SAMLAuthn.name_id` of the login.
            name_id_format: :attr:`SAMLAuthn.name_id_format` of the login.
            session_index: :attr:`SAMLAuthn.session_index` of the login.
            relay_state: Returned by the IdP with its LogoutResponse.
            binding: Default ``idp.singleLogoutService.binding``.
            now: The current time (aware); default the system clock.

        Returns:
            The message: keep its ``id`` for :meth:`process_logout_response`.

        Raises:
            MissingSettingError: the IdP has no SingleLogoutService.
        """
        _check_binding(binding)
        return build_logout_request(
            self._settings,
            name_id=name_id,
            name_id_format=name_id_format,
            session_index=session_index,
            relay_state=relay_state,
            binding=binding,
            now=_now(now),
        )

    def process_logout_response(
        self,
        *,
        request_id: str,
        query_string: str | None = None,
        form: Mapping[str, str] | None = None,
    ) -> LogoutResult:
        """Validate the IdP's LogoutResponse (HTTP-Redirect: the raw query string, as received;
        HTTP-POST: the form fields).

        Raises:
            SAMLValidationError: With the ``code`` of the failed check.
        """
        return validate_logout_response(
            self._settings, request_id=request_id, query_string=query_string, form=form
        )

    def process_logout_request(
        self,
        *,
        query_string: str | None = None,
        form: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> IdPLogoutRequest:
        """Validate an IdP-initiated LogoutRequest; end the sessions it names, then answer with
        :meth:`logout_response`.

        Raises:
            SAMLValidationError: With the ``code`` of the failed check.
        """
        return validate_logout_request(
            self._settings, query_string=query_string, form=form, now=_now(now)
        )

    def logout_response(
        self,
        *,
        in_response_to: str,
        relay_state: str | None = None,
        success: bool = True,
        binding: str | None = None,
        now: datetime | None = None,
    ) -> LogoutMessage:
        """The answer to an IdP-initiated LogoutRequest (:attr:`IdPLogoutRequest.id`)."""
        _check_binding(binding)
        return build_logout_response(
            self._settings,
            in_response_to=in_response_to,
            relay_state=relay_state,
            status=(
                "urn:oasis:names:tc:SAML:2.0:status:Success"
                if success
                else "urn:oasis:names:tc:SAML:2.0:status:Responder"
            ),
            binding=binding,
            now=_now(now),
        )
