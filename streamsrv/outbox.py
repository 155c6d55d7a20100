"""The transactional outbox: events are rows written in the same transaction as their cause.

``emit`` is the only way code records an event. The relay (``streamsrv.relay``) moves committed
rows to Redis; a commit hook wakes it so delivery does not wait for a polling timer. A row a
``hooks.EVENT_EMITTED`` receiver marked for fan-out (``fanout``) is also picked up after the
commit by ``streamsrv.outbound.fanout``, which fan-out listeners wake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import Session

from streamsrv import hooks
from streamsrv.models import OutboxEvent, utcnow

_AFTER_COMMIT_FLAG = "streamsrv_outbox_written"
_FANOUT_FLAG = "streamsrv_outbox_fanout"
_PENDING = "streamsrv_outbox_pending"

# Called (from the committing thread) after a transaction that emitted events commits.
_listeners: list[Callable[[], None]] = []
# Called after a transaction that emitted events marked for fan-out commits (most do not: the
# fan-out step is not woken by ingest that no webhook listens to).
_fanout_listeners: list[Callable[[], None]] = []


def add_commit_listener(fn: Callable[[], None]) -> None:
    _listeners.append(fn)


def remove_commit_listener(fn: Callable[[], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def add_fanout_listener(fn: Callable[[], None]) -> None:
    _fanout_listeners.append(fn)


def remove_fanout_listener(fn: Callable[[], None]) -> None:
    if fn in _fanout_listeners:
        _fanout_listeners.remove(fn)


def emit(session: Session, org_id: int, type: str, streams: Sequence[str], payload: dict[str, Any]) -> None:
    """Record an event for ``streams``; it is published only if the surrounding transaction commits.

    Events are collected on the session and written with one multi-row INSERT just before the
    commit: a response causes several events, and one statement for all of them costs far less
    than an ORM object each.
    """
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    names = list(dict.fromkeys(streams))
    fanout = False
    if not hooks.EVENT_EMITTED.idle:
        emitted = hooks.EventEmitted(org_id, type, tuple(names), payload)
        hooks.EVENT_EMITTED.fire(session, emitted)
        fanout = emitted.fanout
    # Every row has the same keys: the rows of a transaction go in one executemany INSERT.
    pending.append(
        {
            "org_id": org_id,
            "type": type,
            "streams": names,
            "payload": payload,
            "created_at": utcnow(),
            "attempts": 0,
            "fanout": fanout,
        }
    )
    if fanout:
        session.info[_FANOUT_FLAG] = True


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
    if session.info.pop(_FANOUT_FLAG, False):
        for fn in list(_fanout_listeners):
            fn()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_FLAG, None)
    session.info.pop(_FANOUT_FLAG, None)
    session.info.pop(_PENDING, None)
