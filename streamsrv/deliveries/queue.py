"""The delivery queue's rules, as database operations (no network I/O here).

A delivery is written with :func:`enqueue` in the transaction of its cause. A worker claims due
rows with :func:`claim` (one UPDATE: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several
nodes claim side by side, SQLite's single writer makes the UPDATE atomic by itself), sends them,
and records the outcome with :func:`finish`. A claim is a lease: if the node dies mid-send the
row becomes claimable again when the lease runs out, so nothing is lost; a lease far longer than
any send timeout keeps that second attempt from overlapping the first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from streamsrv.models import Delivery, DeliveryStatus

LEASE = timedelta(minutes=5)
ERROR_LENGTH = 1000

_WRITTEN = "streamsrv_delivery_written"
_listeners: list[Callable[[], None]] = []


@dataclass(frozen=True)
class RetryPolicy:
    """Temporary failures are retried after ``first``, then at growing intervals up to ``cap``,
    for ``give_up_after`` in all; a little jitter keeps retries of many rows from bunching."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(hours=24)

    def delay(self, attempts: int) -> timedelta:
        base = self.first.total_seconds() * self.factor ** max(0, attempts - 1)
        seconds = min(base, self.cap.total_seconds()) * (0.8 + random.random() * 0.4)
        return timedelta(seconds=seconds)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Job:
    """A claimed delivery, as the sender sees it."""

    id: int
    org_id: int
    kind: str
    queue: str
    ref: str | None
    payload: dict[str, Any]
    attempts: int
    due_at: datetime


def add_commit_listener(fn: Callable[[], None]) -> None:
    _listeners.append(fn)


def remove_commit_listener(fn: Callable[[], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        for fn in list(_listeners):
            fn()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def enqueue(
    session: Session,
    *,
    org_id: int,
    kind: str,
    queue: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    ref: str | None = None,
    dedupe_key: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    status: DeliveryStatus = DeliveryStatus.scheduled,
) -> int | None:
    """Record a delivery in this transaction; None when ``dedupe_key`` was already enqueued.

    ``status`` other than scheduled records a decision without sending (``suppressed``), so the
    delivery log shows why nothing went out.
    """
    values = {
        "org_id": org_id,
        "kind": kind,
        "queue": queue,
        "ref": ref,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "status": status,
        "due_at": due_at,
        "give_up_at": max(due_at, now) + policy.give_up_after,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    if dedupe_key is not None:
        exists = session.execute(
            select(col(Delivery.id)).where(col(Delivery.kind) == kind, col(Delivery.dedupe_key) == dedupe_key)
        ).first()
        if exists is not None:
            return None
        try:
            # A savepoint: a concurrent twin winning the unique key must not undo the caller's work.
            with session.begin_nested():
                new_id = session.execute(
                    insert(Delivery).values(**values).returning(col(Delivery.id))
                ).scalar_one()
        except IntegrityError:
            return None
    else:
        new_id = session.execute(insert(Delivery).values(**values).returning(col(Delivery.id))).scalar_one()
    if status == DeliveryStatus.scheduled:
        session.info[_WRITTEN] = True
    return int(new_id)


def enqueue_many(session: Session, rows: Sequence[dict[str, Any]], *, skip_duplicates: bool = False) -> None:
    """Record many scheduled deliveries with one INSERT (an event fanned out to several
    receivers): each row has the columns :func:`enqueue` fills. ``skip_duplicates``: a row whose
    dedupe key is already queued is left out (a fan-out run again over the same events);
    otherwise a unique violation fails the transaction rather than doubling."""
    if not rows:
        return
    stmt: Any = insert(Delivery)
    if skip_duplicates:
        dialect = session.get_bind().dialect.name
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(Delivery).on_conflict_do_nothing()
    session.execute(stmt, list(rows))
    session.info[_WRITTEN] = True


def _claimable(now: datetime) -> Any:
    return or_(
        and_(col(Delivery.status) == DeliveryStatus.scheduled, col(Delivery.due_at) <= now),
        # Claimed by a node that never reported back: its lease ran out.
        and_(col(Delivery.status) == DeliveryStatus.sending, col(Delivery.lease_until) < now),
    )


def claim(
    session: Session, node: str, now: datetime, limit: int, busy_queues: Collection[str] = ()
) -> list[Job]:
    """Claim up to ``limit`` due deliveries for ``node``, oldest first, skipping ``busy_queues``
    (queues this node is still working through: a slow receiver keeps only its own rows)."""
    pick = select(col(Delivery.id)).where(_claimable(now)).order_by(col(Delivery.due_at)).limit(limit)
    if busy_queues:
        pick = pick.where(col(Delivery.queue).not_in(sorted(busy_queues)))
    pick = pick.with_for_update(skip_locked=True)
    ids = [row[0] for row in session.execute(pick).all()]
    if not ids:
        return []
    rows = session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(ids), _claimable(now))
        .values(
            status=DeliveryStatus.sending,
            claimed_by=node,
            lease_until=now + LEASE,
            attempts=col(Delivery.attempts) + 1,
            updated_at=now,
        )
        .returning(
            col(Delivery.id),
            col(Delivery.org_id),
            col(Delivery.kind),
            col(Delivery.queue),
            col(Delivery.ref),
            col(Delivery.payload),
            col(Delivery.attempts),
            col(Delivery.due_at),
        )
    ).all()
    jobs = [Job(*row) for row in rows]
    jobs.sort(key=lambda j: (j.due_at, j.id))
    return jobs


@dataclass(frozen=True)
class Outcome:
    """How a send ended: ``sent``, ``retry`` (temporary), ``failed`` or ``suppressed``."""

    status: str
    error: str | None = None
    retry_at: datetime | None = None


SENT = Outcome("sent")


def finish(session: Session, job: Job, node: str, outcome: Outcome, now: datetime) -> str | None:
    """Record ``outcome`` for a job this node claimed; returns the row's new status, or None when
    the claim was lost meanwhile (the lease ran out and another node took the row over)."""
    error = outcome.error[:ERROR_LENGTH] if outcome.error else None
    values: dict[str, Any] = {"updated_at": now, "lease_until": None, "last_error": error}
    status = outcome.status
    if status == "retry":
        give_up_at = session.execute(
            select(col(Delivery.give_up_at)).where(col(Delivery.id) == job.id)
        ).scalar_one()
        retry_at = outcome.retry_at or now + DEFAULT_POLICY.delay(job.attempts)
        if retry_at > give_up_at:
            status = DeliveryStatus.failed
            values["last_error"] = f"gave up after {job.attempts} attempts: {error}"[:ERROR_LENGTH]
        else:
            status = DeliveryStatus.scheduled
            values["due_at"] = retry_at
    values["status"] = status
    if status == DeliveryStatus.sent:
        values["sent_at"] = now
    result = session.execute(
        update(Delivery)
        .where(
            col(Delivery.id) == job.id,
            col(Delivery.claimed_by) == node,
            col(Delivery.status) == DeliveryStatus.sending,
        )
        .values(**values)
    )
    return str(status) if result.rowcount else None  # type: ignore[attr-defined]


def finish_many(
    session: Session, done: Sequence[tuple[Job, Outcome]], node: str, now: datetime
) -> list[str | None]:
    """:func:`finish` for several jobs in one transaction; the sent ones that share a note take
    one UPDATE together (a burst of webhook calls all answered ``204``)."""
    statuses: list[str | None] = [None] * len(done)
    sent: dict[str | None, list[int]] = {}
    for i, (job, outcome) in enumerate(done):
        if outcome.status == DeliveryStatus.sent:
            sent.setdefault(outcome.error[:ERROR_LENGTH] if outcome.error else None, []).append(i)
        else:
            statuses[i] = finish(session, job, node, outcome, now)
    for note, indexes in sent.items():
        ids = [done[i][0].id for i in indexes]
        rows = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id).in_(ids),
                col(Delivery.claimed_by) == node,
                col(Delivery.status) == DeliveryStatus.sending,
            )
            .values(
                status=DeliveryStatus.sent,
                sent_at=now,
                updated_at=now,
                lease_until=None,
                last_error=note,
            )
            .returning(col(Delivery.id))
        ).all()
        kept = {row[0] for row in rows}
        for i in indexes:
            statuses[i] = DeliveryStatus.sent if done[i][0].id in kept else None
    return statuses


def cancel(session: Session, ref: str | Sequence[str], now: datetime, reason: str) -> int:
    """Cancel every delivery about ``ref`` (or any of several) not sent or claimed yet."""
    refs = [ref] if isinstance(ref, str) else list(ref)
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.ref).in_(refs), col(Delivery.status) == DeliveryStatus.scheduled)
        .values(status=DeliveryStatus.cancelled, last_error=reason[:ERROR_LENGTH], updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def replace_errors(session: Session, refs: Sequence[str], text: str, now: datetime) -> int:
    """Replace the recorded error of every delivery about ``refs`` that has one (a receiving
    server's refusal may quote the recipient's address)."""
    result = session.execute(
        update(Delivery)
        .where(
            col(Delivery.ref).in_(list(refs)),
            col(Delivery.last_error).is_not(None),
            col(Delivery.last_error) != text,
        )
        .values(last_error=text[:ERROR_LENGTH], updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def oldest_due(session: Session, now: datetime) -> dict[str, float]:
    """Per kind, how long the oldest due and unsent delivery has waited (seconds)."""
    rows = session.execute(
        select(col(Delivery.kind), func.min(col(Delivery.due_at)))
        .where(col(Delivery.status) == DeliveryStatus.scheduled, col(Delivery.due_at) <= now)
        .group_by(col(Delivery.kind))
    ).all()
    return {kind: max(0.0, (now - due).total_seconds()) for kind, due in rows if due is not None}


def of_ref(session: Session, refs: Sequence[str]) -> dict[str, Delivery]:
    """The latest delivery about each of ``refs`` (for showing delivery state in API answers)."""
    if not refs:
        return {}
    rows = session.execute(
        select(Delivery).where(col(Delivery.ref).in_(list(refs))).order_by(col(Delivery.id))
    ).scalars()
    return {row.ref: row for row in rows if row.ref is not None}
