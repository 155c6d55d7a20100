"""The outbox relay: moves committed outbox events to Redis, in batches, one round trip each.

It runs in its own thread with a synchronous database session and Redis client, so a batch is
claimed, published and marked sent inside one database transaction:

- PostgreSQL: a transaction-scoped advisory lock lets one relay at a time publish, so events
  leave in outbox order (an update never overtakes the creation it follows), whichever of
  several processes committed them;
- SQLite (one host): relays may race, and the publish script's per-event ``SET NX`` marker turns
  the loser's attempt into a no-op.

A commit that wrote events wakes the relay at once (``outbox.add_commit_listener``); the poll
interval only matters for events committed by another process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import redis
from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from streamsrv import metrics, outbox
from streamsrv.backoff import Backoff
from streamsrv.db import Database
from streamsrv.history import PUBLISH_SCRIPT, Keys, OutgoingEvent, publish_args
from streamsrv.models import OutboxEvent
from streamsrv.protocol import encode_event_tail
from streamsrv.redaction import contact_responses, erasures, quoted_responses, visibility_change

log = logging.getLogger("streamsrv.relay")

SENT_RETENTION = timedelta(days=7)
CLEANUP_EVERY = 600.0


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Pending(NamedTuple):
    """An unsent outbox row, read with a plain SELECT: no ORM objects on the relay's path."""

    id: int
    type: str
    streams: list[str]
    payload: dict[str, Any]
    created_at: datetime


_CLAIM_COLUMNS = (
    col(OutboxEvent.id),
    col(OutboxEvent.type),
    col(OutboxEvent.streams),
    col(OutboxEvent.payload),
    col(OutboxEvent.created_at),
)


def to_outgoing(row: Pending) -> OutgoingEvent:
    tail = encode_event_tail(row.type, iso(row.created_at), row.payload, row.id)
    change = visibility_change(row.type, row.payload)
    visibility = "" if change is None else f"{'+' if change[1] else '-'}{change[0]}"
    return OutgoingEvent(
        event_id=row.id,
        tail=tail,
        streams=row.streams,
        quotes=_joined(quoted_responses(row.payload)),
        visibility=visibility,
        contacts=_joined(contact_responses(row.payload)),
        erased=_joined(erasures(row.payload)),
    )


def _joined(ids: list[int]) -> str:
    return ",".join(map(str, ids))


class Relay:
    def __init__(
        self,
        db: Database,
        redis_url: str,
        keys: Keys,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        history_maxlen: int = 10_000,
        history_ttl: int = 7 * 24 * 3600,
    ) -> None:
        self.db = db
        self.keys = keys
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.history_maxlen = history_maxlen
        self.history_ttl = history_ttl
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self._script = self._redis.register_script(PUBLISH_SCRIPT)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._last_cleanup = time.monotonic()
        # SQLite: ids published but not yet marked sent (see _publish_batch_sqlite).
        self._unmarked: list[int] = []
        # One advisory lock per Redis prefix: installations sharing a database stay independent.
        self.lock_key = int.from_bytes(hashlib.sha256(keys.prefix.encode()).digest()[:8], "big", signed=True)

    def start(self) -> None:
        outbox.add_commit_listener(self.wake)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        outbox.remove_commit_listener(self.wake)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        try:
            self._flush_marks()
        except Exception:  # noqa: BLE001 - unmarked events are republished (as no-ops) later
            log.warning("relay: could not mark the last batch sent")
        self._redis.close()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        backoff = Backoff(first=0.05, cap=2.0, jitter=0.2)
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            try:
                # A full batch means more may be waiting: keep going until one comes back short.
                full = True
                while full and not self._stop.is_set():
                    full = self.publish_batch() == self.batch_size
                self._maybe_cleanup()
                backoff.reset()
            except (redis.RedisError, OSError) as exc:
                metrics.RELAY_ERRORS.inc()
                delay = backoff.next()
                log.warning("relay: Redis unavailable (%s); retrying in %.2fs", exc, delay)
                self._stop.wait(delay)
                self._wake.set()
            except Exception:
                metrics.RELAY_ERRORS.inc()
                log.exception("relay: unexpected error")
                self._stop.wait(1.0)
                self._wake.set()

    def publish_batch(self) -> int:
        """Claim, publish and mark one batch; returns how many events it moved."""
        if self.db.is_sqlite:
            return self._publish_batch_sqlite()
        with self.db.session() as session:
            rows = self._claim(session)
            if not rows:
                return 0
            self._publish(rows)
            self._mark_sent(session, [r.id for r in rows])
        self._count(rows)
        return len(rows)

    def _publish_batch_sqlite(self) -> int:
        # The database is not held while Redis is called: SQLite has one writer, and a Redis that
        # hangs must not stall every request. What was published is marked sent in the next
        # claim's transaction (or within a poll interval, or on stop): one transaction per batch.
        # A crash before the mark republishes those events, which the publish script's per-event
        # marker turns into a no-op.
        with self.db.session() as session:
            if self._unmarked:
                self._mark_sent(session, self._unmarked)
            rows = self._claim(session)
        self._unmarked = []
        if not rows:
            return 0
        self._publish(rows)
        self._unmarked = [r.id for r in rows]
        self._count(rows)
        return len(rows)

    def _flush_marks(self) -> None:
        if self._unmarked:
            with self.db.session() as session:
                self._mark_sent(session, self._unmarked)
            self._unmarked = []

    def _publish(self, rows: list[Pending]) -> None:
        events = [to_outgoing(r) for r in rows]
        self._script(args=publish_args(self.keys, events, self.history_maxlen, self.history_ttl))

    def _mark_sent(self, session: Session, ids: list[int]) -> None:
        session.exec(  # type: ignore[call-overload]
            update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(sent_at=datetime.now(UTC))
        )

    def _count(self, rows: list[Pending]) -> None:
        now = datetime.now(UTC)
        for r in rows:
            metrics.RELAY_LAG.observe(max(0.0, (now - r.created_at).total_seconds()))
        metrics.EVENTS_PUBLISHED.inc(len(rows))

    def _claim(self, session: Session) -> list[Pending]:
        query: Any = (
            select(*_CLAIM_COLUMNS)  # type: ignore[call-overload]
            .where(col(OutboxEvent.sent_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(self.batch_size)
        )
        if not self.db.is_sqlite:
            session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=self.lock_key))  # type: ignore[call-overload]
        return [Pending(*row) for row in session.execute(query).all()]

    def _maybe_cleanup(self) -> None:
        if time.monotonic() - self._last_cleanup < CLEANUP_EVERY:
            return
        self._last_cleanup = time.monotonic()
        cutoff = datetime.now(UTC) - SENT_RETENTION
        with self.db.session() as session:
            # A row still waiting for fan-out is the only record of its webhooks: it stays.
            session.exec(  # type: ignore[call-overload]
                delete(OutboxEvent).where(col(OutboxEvent.sent_at) < cutoff, ~col(OutboxEvent.fanout))
            )
