"""Webhook messages: what an event becomes for each endpoint, and the delivery log.

``on_event`` receives every event the outbox records (``hooks.EVENT_EMITTED``, inside the
event's transaction). It writes nothing: when an active endpoint of the organization subscribes
to the type (and covers the event's account), it marks the event for fan-out, and the outbox row
that commits with the event (or not at all) is the durable record. After the commit
``streamsrv.outbound.fanout`` turns marked rows into one delivery per endpoint (kind
``webhook``, queue ``webhook:{endpoint_id}``), and the worker sends them
(``streamsrv.outbound.sender``).

The body is the Standard Webhooks shape ``{"type", "timestamp", "data"}``; ``data`` is the
event's payload as the streams carry it and ``timestamp`` the event's time. Each message has
its own ``webhook-id`` derived from the outbox row and the endpoint (``msg_{event}_{endpoint}``),
the same on every retry and every fan-out re-run, which doubles as the delivery's dedupe key.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, col, select

from streamsrv import events, stream_names
from streamsrv.coaching.shoutouts import SHOUTOUT_EVENT
from streamsrv.deliveries import queue
from streamsrv.hooks import ContactsErased, EventEmitted
from streamsrv.models import Delivery, DeliveryStatus, WebhookEndpoint
from streamsrv.outbound import endpoints
from streamsrv.recovery.views import CASE_CLAIMED, CASE_OPENED, CASE_RESOLVED, CASE_UPDATED
from streamsrv.redaction import contact_responses, redact_contacts
from streamsrv.timefmt import iso

KIND = "webhook"
TEST_EVENT = "webhook.test"
# What an endpoint may subscribe to; the test event needs no subscription.
EVENT_TYPES = (
    events.FEEDBACK_RECEIVED,
    events.FEEDBACK_UPDATED,
    events.REWARD_SUGGESTED,
    CASE_OPENED,
    CASE_CLAIMED,
    CASE_UPDATED,
    CASE_RESOLVED,
    SHOUTOUT_EVENT,
)
LOG_LIMIT = 100
# Streams whose id is an account: where an event's account is read when its payload lacks one.
_ACCOUNT_KINDS = (stream_names.ACCOUNT, stream_names.RECOVERY, stream_names.BOARD_ACCOUNT)


def queue_of(endpoint_id: int) -> str:
    return f"webhook:{endpoint_id}"


def ref_of(endpoint_id: int) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def account_of(payload: dict[str, Any], streams: tuple[str, ...]) -> int | None:
    """The account an event is about: its payload's ``account_id``, else its account stream
    (``reward.suggested`` carries no account id of its own)."""
    value = payload.get("account_id")
    if isinstance(value, int):
        return value
    for name in streams:
        ref = stream_names.parse(name)
        if ref is not None and ref.kind in _ACCOUNT_KINDS:
            return ref.id
    return None


def delivery_row(org_id: int, endpoint_id: int, message: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A delivery row for :func:`streamsrv.deliveries.queue.enqueue_many`."""
    return {
        "org_id": org_id,
        "kind": KIND,
        "queue": queue_of(endpoint_id),
        "ref": ref_of(endpoint_id),
        "dedupe_key": message["id"],
        "payload": message,
        "status": DeliveryStatus.scheduled,
        "due_at": now,
        "give_up_at": now + queue.DEFAULT_POLICY.give_up_after,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def message_id(event_token: str | int, endpoint_id: int) -> str:
    return f"msg_{event_token}_{endpoint_id}"


def message(
    endpoint_id: int, event_token: str | int, type: str, data: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """A delivery's payload: the endpoint, the message id and the body's parts."""
    return {
        "endpoint_id": endpoint_id,
        "id": message_id(event_token, endpoint_id),
        "type": type,
        "timestamp": iso(at),
        "data": data,
    }


def data_of(payload: dict[str, Any], streams: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """An event's ``data``: its payload, with the account it is about when the payload lacks it."""
    account_id = account_of(payload, tuple(streams))
    if "account_id" not in payload and account_id is not None:
        return {**payload, "account_id": account_id}
    return payload


def body_of(payload: dict[str, Any], data: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the same on every attempt."""
    return orjson.dumps({"type": payload["type"], "timestamp": payload["timestamp"], "data": data})


def on_event(session: Session, emitted: EventEmitted) -> None:
    """``hooks.EVENT_EMITTED`` receiver: mark the event for fan-out when an endpoint wants it.

    Ingest pays a cached lookup here and nothing more; the deliveries are written after the
    commit (``streamsrv.outbound.fanout``)."""
    if emitted.fanout or emitted.type not in EVENT_TYPES:
        return
    subs = endpoints.subscriptions(session, emitted.org_id)
    if not subs:
        return
    account_id = account_of(emitted.payload, emitted.streams)
    if any(s.wants(emitted.type, account_id) for s in subs):
        emitted.fanout = True


def on_contacts_erased(session: Session, erased: ContactsErased) -> None:
    """``hooks.CONTACTS_ERASED`` receiver: messages not sent yet lose the customer's contact
    details their case data carries (events still waiting for fan-out are redacted in the outbox
    by ``streamsrv.recovery.erasure``). Only unsent rows are looked at: the status index finds
    them at once, where the sent ones would mean reading every message the organization ever
    had; those went out with the details anyway."""
    if not erased.response_ids:
        return
    ids = set(erased.response_ids)
    rows = session.exec(
        select(Delivery).where(
            col(Delivery.status).in_([DeliveryStatus.scheduled, DeliveryStatus.sending]),
            col(Delivery.org_id) == erased.org_id,
            col(Delivery.kind) == KIND,
            col(Delivery.payload)["data"]["response"]["id"].as_integer().in_(sorted(ids)),
        )
    ).all()
    changed = 0
    for row in rows:
        if not set(contact_responses(row.payload.get("data") or {})) & ids:
            continue
        # A new object: the JSON column only notices a replaced value.
        payload = copy.deepcopy(row.payload)
        redact_contacts(payload["data"], ids)
        row.payload = payload
        session.add(row)
        changed += 1
    session.flush()
    if changed:
        erased.count("deliveries", changed)


def send_test(session: Session, row: WebhookEndpoint, now: datetime) -> tuple[int, str]:
    """Queue a ``webhook.test`` message to ``row`` through the same queue: (delivery id,
    message id)."""
    assert row.id is not None
    data = {
        "endpoint_id": row.id,
        "message": "A test event: your endpoint is reachable and verifies our signature.",
    }
    payload = message(row.id, secrets.token_urlsafe(12), TEST_EVENT, data, now)
    new_id = queue.enqueue(
        session,
        org_id=row.org_id,
        kind=KIND,
        queue=queue_of(row.id),
        payload=payload,
        due_at=now,
        now=now,
        ref=ref_of(row.id),
        dedupe_key=payload["id"],
    )
    assert new_id is not None
    return new_id, str(payload["id"])


@dataclass(frozen=True)
class Attempted:
    """What the log shows of one delivery."""

    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    # The receiver's answer or the error, raw: escaped wherever it is shown.
    response_excerpt: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def split_note(note: str | None) -> tuple[int | None, str | None]:
    """``"HTTP 503: busy"`` into (503, "busy"); anything else is an error without a status."""
    if not note:
        return None, None
    if note.startswith("HTTP ") and note[5:8].isdigit():
        return int(note[5:8]), note[10:] if len(note) > 10 else ""
    return None, note


def delivery_log(session: Session, row: WebhookEndpoint, limit: int = LOG_LIMIT) -> list[Attempted]:
    assert row.id is not None
    rows = session.exec(
        select(Delivery)
        .where(
            col(Delivery.org_id) == row.org_id,
            col(Delivery.queue) == queue_of(row.id),
            col(Delivery.kind) == KIND,
        )
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    ).all()
    out = []
    for d in rows:
        assert d.id is not None
        status_code, excerpt = split_note(d.last_error)
        out.append(
            Attempted(
                id=d.id,
                message_id=str(d.payload.get("id", "")),
                event_type=str(d.payload.get("type", "")),
                status=d.status,
                attempts=d.attempts,
                response_status=status_code,
                response_excerpt=excerpt,
                created_at=d.created_at,
                updated_at=d.updated_at,
                sent_at=d.sent_at,
                next_attempt_at=d.due_at if d.status == DeliveryStatus.scheduled else None,
            )
        )
    return out
