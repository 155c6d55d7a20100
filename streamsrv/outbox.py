"""The transactional outbox: events are rows written in the same transaction as their cause.

``emit`` is the only way code records an event. The relay (``streamsrv.relay``) moves committed
rows to Redis; a commit hook wakes it so delivery does not wait for a polling timer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import Session

from streamsrv import hooks
from streamsrv.models import OutboxEvent, utcnow

_AFTER_COMMIT_FLAG = "streamsrv_outbox_written"
_PENDING = "streamsrv_outbox_pending"

# Called (from the committing thread) after a transaction that emitted events commits.
_listeners: list[Callable[[], None]] = []


def add_commit_listener(fn: Callable[[], None]) -> None:
    _listeners.append(fn)


def remove_commit_listener(fn: Callable[[], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def emit(session: Session, org_id: int, type: str, streams: Sequence[str], payload: dict[str, Any]) -> None:
    """Record an event for ``streams``; it is published only if the surrounding transaction commits.

    Events are collected on the session and written with one multi-row INSERT just before the
    commit: a response causes several events, and one statement for all of them costs far less
    than an ORM object each.
    """
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    names = list(dict.fromkeys(streams))
    pending.append(
        {
            "org_id": org_id,
            "type": type,
            "streams": names,
            "payload": payload,
            "created_at": utcnow(),
            "attempts": 0,
        }
    )
    if not hooks.EVENT_EMITTED.idle:
        hooks.EVENT_EMITTED.fire(session, hooks.EventEmitted(org_id, type, tuple(names), payload))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.execute(insert(OutboxEvent), pending)
        session.info[_AFTER_COMMIT_FLAG] = True


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_AFTER_COMMIT_FLAG, False):
        for fn in list(_listeners):
            fn()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_FLAG, None)
    session.info.pop(_PENDING, None)
