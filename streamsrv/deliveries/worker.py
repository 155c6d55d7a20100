"""The delivery worker: every node runs one; whichever claims a delivery first sends it.

It wakes when a local transaction enqueues something (the same commit hook idea as the outbox
relay) and polls for the rest (other nodes' commits, retries falling due). Claimed deliveries are
grouped by queue: one queue is worked through in order, different queues side by side, so a slow
SMTP server or webhook receiver holds up only its own queue. The database is the record of what
was sent; nothing here is kept only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from streamsrv import metrics, outbox
from streamsrv.db import Database
from streamsrv.deliveries import queue
from streamsrv.deliveries.queue import SENT, Job, Outcome
from streamsrv.models import utcnow

log = logging.getLogger("streamsrv.deliveries")

# Seconds between two readings of the queue-age gauge.
AGES_EVERY = 5.0
# How far behind a busy node's paced queue may fall before it sends at full speed again.
MAX_LAG = timedelta(seconds=60)


class TemporaryFailure(Exception):
    """Try again later (a 4xx SMTP reply, a refused connection, a 5xx from a webhook)."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class PermanentFailure(Exception):
    """Never try again (a 5xx SMTP reply for the address, a receiver that is gone for good)."""


class Suppressed(Exception):
    """Decided at send time not to send (the address unsubscribed after it was scheduled)."""


# A send may return a short note on what the receiver answered, kept as the delivery's last_error
# field of a sent row (a webhook's "HTTP 204").
SendFn = Callable[[Job], Awaitable[str | None]]
# Runs in the transaction that records the outcome: a sender's own bookkeeping (marking an
# address undeliverable, a request's state) commits with it.
AfterFn = Callable[[Session, Job, str, str | None], None]


@dataclass
class Sender:
    kind: str
    send: SendFn
    after: AfterFn | None = None
    # Longest a single send may take; far below the claim's lease.
    timeout: float = 60.0
    # Releases what the sender keeps between sends (open SMTP connections) when the worker stops.
    close: Callable[[], Awaitable[None]] | None = None


@dataclass
class Senders:
    """Which code executes each kind of delivery; ``app.py`` registers them."""

    by_kind: dict[str, Sender] = field(default_factory=dict)

    def register(self, sender: Sender) -> None:
        self.by_kind[sender.kind] = sender


class Worker:
    def __init__(
        self,
        db: Database,
        senders: Senders,
        *,
        poll_interval: float = 2.0,
        batch_size: int = 50,
        max_queues: int = 16,
        min_claim_interval: float = 0.2,
        record_batch: int = 32,
        record_wait: float = 0.25,
        busy_events_per_s: float = 20.0,
        busy_send_rate: float = 10.0,
    ) -> None:
        self.db = db
        self.senders = senders
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.max_queues = max_queues
        # Under a burst of ingest every commit wakes the worker; claiming at most this often
        # keeps its transactions (each one SQLite's only writer while it runs) from crowding
        # out the ingest ones. A delivery may wait this much longer; none is lost.
        self.min_claim_interval = min_claim_interval
        # Outcomes of one queue are recorded together, up to this many or after this long:
        # one transaction for many sends. A node dying in between re-sends those after the
        # lease (at least once, never lost; receivers deduplicate by message id).
        self.record_batch = record_batch
        self.record_wait = record_wait
        self._ages_at = 0.0
        # Ingest comes first: while this node commits more than ``busy_events_per_s`` outbox
        # transactions a second, sends are paced to ``busy_send_rate`` a second in all. The
        # queue lags behind a burst and catches up after it; it never stops.
        self.busy_events_per_s = busy_events_per_s
        self.busy_send_rate = busy_send_rate
        self._commits = 0
        self._rate_at = 0.0
        self._rate_commits = 0
        self._busy_node = False
        self._next_send = 0.0
        self.node = f"{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        queue.add_commit_listener(self.wake)
        outbox.add_commit_listener(self._count_commit)
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        queue.remove_commit_listener(self.wake)
        outbox.remove_commit_listener(self._count_commit)
        self._wake.set()
        # Let the loop and in-flight sends finish their database calls rather than cancelling
        # them mid-transaction; what is still cut off after the grace is retried after its lease.
        tasks = [t for t in (self._task, *self._busy.values()) if t is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for sender in self.senders.by_kind.values():
            if sender.close is not None:
                try:
                    await sender.close()
                except Exception:
                    log.exception("deliveries: closing the %s sender failed", sender.kind)

    def _count_commit(self) -> None:
        """Called from committing threads; a lost increment between two of them is harmless."""
        self._commits += 1

    def busy(self) -> bool:
        """Whether this node is busy with ingest now (other background work paces itself too)."""
        return self._node_busy(asyncio.get_running_loop().time())

    def _node_busy(self, now: float) -> bool:
        elapsed = now - self._rate_at
        if elapsed >= 0.5:
            rate = (self._commits - self._rate_commits) / elapsed
            self._busy_node = rate > self.busy_events_per_s
            self._rate_at, self._rate_commits = now, self._commits
        return self._busy_node

    async def _pace(self, job: Job) -> None:
        """Wait for this send's turn while the node is busy with ingest (see ``__init__``).

        A message already ``MAX_LAG`` late goes at once: under sustained load the queue would
        otherwise fall further behind for good, until its messages gave up."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._node_busy(now) or utcnow() - job.due_at > MAX_LAG:
            return
        wait = self._next_send - now
        self._next_send = max(now, self._next_send) + 1.0 / self.busy_send_rate
        if wait > 0:
            await asyncio.sleep(wait)

    def wake(self) -> None:
        """Thread-safe: called from the committing thread."""
        loop = self._loop
        # Already woken and not yet handled (a burst of commits): another call would only cost
        # the committing thread a write to the loop's wake-up pipe. A stale read is harmless:
        # the loop clears the flag only before it claims again.
        if loop is not None and not loop.is_closed() and not self._wake.is_set():
            loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            claimed_at = loop.time()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("deliveries: claiming failed; retrying")
                claimed = 0
            if claimed >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            # A busy node claims once a second: its queues are paced anyway (``_pace``).
            interval = 1.0 if self._node_busy(loop.time()) else self.min_claim_interval
            rest = interval - (loop.time() - claimed_at)
            if rest > 0 and not self._stopping:
                await asyncio.sleep(rest)
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and start working through it; returns how many were claimed."""
        free = self.max_queues - len(self._busy)
        if free <= 0:
            return 0
        busy = set(self._busy)
        now = utcnow()

        # The age gauge reads every waiting row: a few seconds old is fresh enough for it.
        loop = asyncio.get_running_loop()
        measure = loop.time() - self._ages_at >= AGES_EVERY
        if measure:
            self._ages_at = loop.time()

        def claim(session: Session) -> tuple[list[Job], dict[str, float] | None]:
            return (
                queue.claim(session, self.node, now, self.batch_size, busy),
                queue.oldest_due(session, now) if measure else None,
            )

        jobs, ages = await self.db.run(claim)
        if ages is not None:
            for kind in self.senders.by_kind:
                metrics.DELIVERY_QUEUE_AGE.labels(kind).set(ages.get(kind, 0.0))
        by_queue: dict[str, list[Job]] = {}
        for job in jobs:
            by_queue.setdefault(job.queue, []).append(job)
        for name, items in by_queue.items():
            self._busy[name] = asyncio.create_task(self._work(name, items), name=f"delivery:{name}")
        return len(jobs)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queue started so far is done (tests and shutdown)."""
        pending = list(self._busy.values())
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def _work(self, name: str, jobs: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        done: list[tuple[Job, Outcome]] = []
        first = 0.0
        try:
            for job in jobs:
                if self._stopping:
                    break  # the rest stay claimed until their lease runs out, then any node sends them
                await self._pace(job)
                done.append((job, await self._deliver(job)))
                if len(done) == 1:
                    first = loop.time()
                if len(done) >= self.record_batch or loop.time() - first >= self.record_wait:
                    await self._record(done)
                    done = []
        finally:
            if done:
                await self._record(done)
            self._busy.pop(name, None)
            self._wake.set()

    async def _deliver(self, job: Job) -> Outcome:
        sender = self.senders.by_kind.get(job.kind)
        if sender is None:
            return Outcome("failed", f"no sender for deliveries of kind {job.kind!r}")
        return await self._attempt(sender, job)

    async def _record(self, done: list[tuple[Job, Outcome]]) -> None:
        node = self.node
        senders = self.senders.by_kind

        def record(session: Session) -> list[str | None]:
            statuses = queue.finish_many(session, done, node, utcnow())
            for (job, outcome), status in zip(done, statuses, strict=True):
                sender = senders.get(job.kind)
                if status is not None and sender is not None and sender.after is not None:
                    sender.after(session, job, status, outcome.error)
            return statuses

        try:
            statuses = await self.db.run(record)
        except Exception:
            # The sends happened but their record did not: the lease runs out and the rows are
            # sent again. Rare (the database failing right now) and logged, never silent.
            log.exception("deliveries: could not record the outcome of %d deliveries", len(done))
            return
        for (job, _), status in zip(done, statuses, strict=True):
            if status is not None:
                metrics.DELIVERIES.labels(job.kind, status).inc()

    async def _attempt(self, sender: Sender, job: Job) -> Outcome:
        try:
            note = await asyncio.wait_for(sender.send(job), sender.timeout)
        except TemporaryFailure as exc:
            return Outcome("retry", str(exc), exc.retry_at)
        except PermanentFailure as exc:
            return Outcome("failed", str(exc))
        except Suppressed as exc:
            return Outcome("suppressed", str(exc))
        except TimeoutError:
            return Outcome("retry", f"no answer within {sender.timeout:.0f}s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("deliveries: %s %s raised", job.kind, job.id)
            return Outcome("retry", f"{type(exc).__name__}: {exc}")
        return Outcome("sent", note) if note else SENT
