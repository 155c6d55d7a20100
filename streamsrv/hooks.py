"""The seams where features attach to the core: "a response was stored", and more to come.

The survey flow fires :data:`RESPONSE_STORED` inside the transaction that stores a response,
and :data:`REQUEST_ISSUED` inside the one that records an interaction and its request;
personal-data retention fires :data:`CONTACTS_ERASED` inside the one that erases customers'
contact details, so features that copied them (cases, deliveries) clear their copies too;
every feature that derives rows or events from it (recovery cases, coaching alerts, board
standings, and next deliveries and the reward ledger) connects a receiver here. ``app.py``
decides which features are connected (``streamsrv.app.wire_hooks``), so the survey flow imports
no feature and no feature imports another: the shared types live in this low-level module.

Receivers run synchronously in the caller's database session: what they write commits with the
response or not at all. They must stay cheap on the common path; ingest pays for each of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from streamsrv.models import FOLLOWUP_SOURCE, Account, FeedbackRequest, Interaction, Response

T = TypeVar("T")
Receiver = Callable[[Session, T], None]


class HooksNotWired(RuntimeError):
    """A hook fired before the application connected its receivers: features would silently
    miss the event, so this fails loudly instead."""


class Hook(Generic[T]):
    """A named event with receivers in connection order. ``connect`` is idempotent per name,
    so wiring twice (a test building several apps in one process) does not run a receiver twice."""

    def __init__(self, name: str, *, optional: bool = False) -> None:
        self.name = name
        self._receivers: dict[str, Receiver[T]] = {}
        # An optional hook may fire with nobody listening (nothing derives from it yet).
        self.wired = optional

    def connect(self, name: str, receiver: Receiver[T]) -> None:
        self._receivers[name] = receiver
        self.wired = True

    def disconnect(self, name: str) -> None:
        self._receivers.pop(name, None)

    @property
    def receivers(self) -> tuple[str, ...]:
        return tuple(self._receivers)

    def fire(self, session: Session, payload: T) -> None:
        if not self.wired:
            raise HooksNotWired(f"hook {self.name!r} fired before any receiver was connected")
        for receiver in self._receivers.values():
            receiver(session, payload)

    @property
    def idle(self) -> bool:
        """No receiver: callers on a hot path skip building the payload."""
        return not self._receivers


@dataclass(frozen=True)
class ResponseChange:
    """What a receiver of :data:`RESPONSE_STORED` learns about one stored response."""

    account: Account
    request: FeedbackRequest
    response: Response
    # The response's public JSON (as carried by feedback.received).
    payload: dict[str, Any]
    created: bool
    previous_rating: int | None
    now: datetime
    # The reward before an edit (None for a new response or none before).
    previous_reward: str | None = None

    @property
    def is_followup(self) -> bool:
        """A customer's second opinion after service recovery: it belongs to the recovery case,
        never to the agent's standings, alerts or pay."""
        return self.response.source == FOLLOWUP_SOURCE


RESPONSE_STORED: Hook[ResponseChange] = Hook("response.stored")


@dataclass(frozen=True)
class RequestIssued:
    """A new feedback request for a new interaction (never fired for an idempotent replay)."""

    account: Account
    interaction: Interaction
    request: FeedbackRequest
    # The caller's choice of channel ("email", "none"); None: the account's send_channel.
    send: str | None
    now: datetime


REQUEST_ISSUED: Hook[RequestIssued] = Hook("request.issued")


@dataclass
class ContactsErased:
    """Customers' contact details were erased from these interactions (and their requests), in
    the receiver's transaction: each feature clears what it keeps of them and says how much."""

    org_id: int
    interaction_ids: list[int]
    request_ids: list[int]
    response_ids: list[int]
    now: datetime
    # Rows changed, by what they are ("deliveries", "cases", ...), for the audit log.
    counts: dict[str, int]

    def count(self, what: str, n: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


CONTACTS_ERASED: Hook[ContactsErased] = Hook("contacts.erased")


@dataclass
class EventEmitted:
    """An event recorded in the outbox (fired by ``streamsrv.outbox.emit`` in the event's
    transaction), for features that carry events beyond the streams. A receiver writes nothing
    on ingest's path: it sets ``fanout`` when the event has to go further (outbound webhooks),
    and the outbox row records that for the fan-out step, which runs after the commit."""

    org_id: int
    type: str
    streams: tuple[str, ...]
    payload: dict[str, Any]
    fanout: bool = False


EVENT_EMITTED: Hook[EventEmitted] = Hook("event.emitted", optional=True)
