"""The transactional outbox: events are rows written in the same transaction as their cause.

``emit`` is the only way code records an event. The relay (``streamsrv.relay``) moves committed
rows to Redis; a commit hook wakes it so delivery does not wait for a polling timer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from streamsrv.models import OutboxEvent

_AFTER_COMMIT_FLAG = "streamsrv_outbox_pending"

# Called (from the committing thread) after a transaction that emitted events commits.
_listeners: list[Callable[[], None]] = []


def add_commit_listener(fn: Callable[[], None]) -> None:
    _listeners.append(fn)


def remove_commit_listener(fn: Callable[[], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def emit(
    session: Session, org_id: int, type: str, streams: Sequence[str], payload: dict[str, Any]
) -> OutboxEvent:
    """Record an event for ``streams``; it is published only if the surrounding transaction commits."""
    row = OutboxEvent(org_id=org_id, type=type, streams=list(dict.fromkeys(streams)), payload=payload)
    session.add(row)
    session.info[_AFTER_COMMIT_FLAG] = True
    return row


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_AFTER_COMMIT_FLAG, False):
        for fn in list(_listeners):
            fn()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_FLAG, None)
