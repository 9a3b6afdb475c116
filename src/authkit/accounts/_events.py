"""Account events: what happened during a sign-in, for the application to act on.

The flow emits an :class:`AccountEvent` at each step an application may care about — to send
the registration e-mail, to log, to update a search index, to sync groups — through a small
:class:`AccountEvents` dispatcher (Invenio's ``account_info_received`` /
``account_setup_committed`` signals, without blinker):

======================  =======================================================================
kind                    when
======================  =======================================================================
``info_received``       account information arrived from a provider (before any decision)
``setup``               a remote account was set up for the first time (its ``setup`` hook ran)
``registered``          an account was created; ``data["send_register_msg"]`` and
                        ``data["confirmation_required"]`` tell whether to send the e-mail
``linked``              an identity was linked to an existing account
``signed_in``           a person signed in (an existing link, or one just made)
``disconnected``        an identity was removed from an account
======================  =======================================================================

Events of a transaction are dispatched after it committed: a rolled-back sign-up sends no
e-mail. A handler that raises makes the call that emitted the event raise (after the commit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from authkit.accounts._info import AccountInfo
from authkit.stores import User

__all__ = ["EVENT_KINDS", "AccountEvent", "AccountEvents", "EventKind"]

EventKind = Literal["info_received", "setup", "registered", "linked", "signed_in", "disconnected"]

#: Every event kind.
EVENT_KINDS: tuple[EventKind, ...] = (
    "info_received",
    "setup",
    "registered",
    "linked",
    "signed_in",
    "disconnected",
)


@attrs.frozen(kw_only=True)
class AccountEvent:
    """Something that happened to an account.

    Attributes:
        kind: What happened (see the module documentation).
        provider: The provider's name.
        user: The account, when there is one.
        info: The account information the provider sent, when the event comes from a sign-in.
        external_id: The identity at the provider.
        data: Details specific to the kind (``send_register_msg``, ``confirmation_required``,
            ``updated_fields``, ``extra_data``, ``revoked``…).
    """

    kind: EventKind
    provider: str
    user: User | None = None
    info: AccountInfo | None = None
    external_id: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)


Handler = Callable[[AccountEvent], object]


class AccountEvents:
    """A tiny, thread-safe event dispatcher.

    Example::

        events = AccountEvents()
        events.subscribe("registered", lambda event: send_welcome(event.user))
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[EventKind | None, Handler]] = []
        self._lock = threading.Lock()

    def subscribe(self, kind: EventKind | None, handler: Handler) -> Handler:
        """Call ``handler(event)`` for events of ``kind`` (every event when ``None``).

        Returns the handler, so this works as a decorator factory's body.

        Raises:
            ValueError: An unknown kind.
        """
        if kind is not None and kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
        with self._lock:
            self._handlers.append((kind, handler))
        return handler

    def unsubscribe(self, handler: Handler) -> None:
        """Stop calling ``handler``."""
        with self._lock:
            self._handlers = [(k, h) for k, h in self._handlers if h is not handler]

    def emit(self, event: AccountEvent) -> None:
        """Call the handlers subscribed to ``event.kind``, in subscription order."""
        with self._lock:
            handlers = [h for k, h in self._handlers if k is None or k == event.kind]
        for handler in handlers:
            handler(event)
