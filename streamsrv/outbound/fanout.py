"""Fan-out: outbox rows marked for webhooks become one delivery per endpoint, after ingest commits.

The ingest transaction only marks the event (``outbox.fanout``, set by ``messages.on_event``);
the outbox row is the durable record, so nothing is lost between the commit and this step.
:func:`fan_out` claims up to a batch of marked rows, oldest first, in one transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets several nodes run it side by side; SQLite has one
writer), matches each against its organization's active endpoints as they are now (an endpoint
created after the event does not get it), writes the deliveries with one INSERT and clears the
mark. A message's id is derived from the outbox row and the endpoint and is the delivery's
dedupe key, and duplicates are skipped by the INSERT itself: a re-run (two processes racing on
SQLite, a crash between two steps) can never send a message twice.

:class:`Fanout` runs it on every node with a delivery worker: woken by the commits that marked
rows, polling for other nodes' ones. While the node is busy with ingest (the worker's pacing
signal) it runs at most once per ``busy_interval`` in big batches, so ingest pays for one
short transaction a second rather than one per commit; otherwise at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from streamsrv import outbox
from streamsrv.db import Database
from streamsrv.deliveries import queue
from streamsrv.models import OutboxEvent, WebhookEndpoint, WebhookStatus, utcnow
from streamsrv.outbound import messages
from streamsrv.outbound.endpoints import Subscription

log = logging.getLogger("streamsrv.webhooks")

BATCH_SIZE = 500


def claim_query(limit: int) -> Any:
    """The marked rows, oldest first; rows another node is fanning out are skipped, not waited for."""
    return (
        select(  # type: ignore[call-overload]
            col(OutboxEvent.id),
            col(OutboxEvent.org_id),
            col(OutboxEvent.type),
            col(OutboxEvent.streams),
            col(OutboxEvent.payload),
            col(OutboxEvent.created_at),
        )
        .where(col(OutboxEvent.fanout))
        .order_by(col(OutboxEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def fan_out(session: Session, limit: int = BATCH_SIZE) -> tuple[int, int]:
    """Queue the deliveries of up to ``limit`` marked outbox rows; (rows handled, deliveries
    offered: those already queued are skipped by the INSERT, and counted here all the same)."""
    events = session.execute(claim_query(limit)).all()
    if not events:
        return 0, 0
    orgs = sorted({e.org_id for e in events})
    found = session.execute(
        select(  # type: ignore[call-overload]
            col(WebhookEndpoint.id),
            col(WebhookEndpoint.org_id),
            col(WebhookEndpoint.events),
            col(WebhookEndpoint.account_ids),
            col(WebhookEndpoint.created_at),
        ).where(col(WebhookEndpoint.org_id).in_(orgs), col(WebhookEndpoint.status) == WebhookStatus.active)
    ).all()
    by_org: dict[int, list[tuple[Subscription, Any]]] = {}
    for endpoint_id, org_id, types, accounts, created_at in found:
        sub = Subscription(int(endpoint_id), frozenset(types or ()), frozenset(accounts or ()))
        by_org.setdefault(int(org_id), []).append((sub, created_at))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for e in events:
        account_id = messages.account_of(e.payload, tuple(e.streams))
        data: dict[str, Any] | None = None
        for sub, created_at in by_org.get(e.org_id, ()):
            if created_at > e.created_at or not sub.wants(e.type, account_id):
                continue
            if data is None:
                data = messages.data_of(e.payload, e.streams)
            # Each message carries its own copy of the data: deliveries outlive the outbox row.
            msg = messages.message(sub.endpoint_id, e.id, e.type, data, e.created_at)
            rows.append(messages.delivery_row(e.org_id, sub.endpoint_id, msg, now))
    queue.enqueue_many(session, rows, skip_duplicates=True)
    session.execute(
        update(OutboxEvent).where(col(OutboxEvent.id).in_([e.id for e in events])).values(fanout=False)
    )
    return len(events), len(rows)


class Fanout:
    """Runs :func:`fan_out` on this node (``app.py`` starts and stops it with the worker)."""

    def __init__(
        self,
        db: Database,
        *,
        busy: Callable[[], bool] = lambda: False,
        batch_size: int = BATCH_SIZE,
        poll_interval: float = 2.0,
        busy_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.busy = busy
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.busy_interval = busy_interval
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        outbox.add_fanout_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name="webhook-fanout")

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        outbox.remove_fanout_listener(self.wake)
        self._wake.set()
        if self._task is None:
            return
        # A step in the middle of its transaction finishes it; rows it did not reach stay marked.
        _, late = await asyncio.wait([self._task], timeout=grace)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def wake(self) -> None:
        """Thread-safe: called from the committing thread. Already woken: nothing more to do,
        so a burst of commits costs one write to the loop's wake-up pipe, not one each."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and not self._wake.is_set():
            loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self) -> int:
        handled, _ = await self.db.run(lambda s: fan_out(s, self.batch_size))
        return handled

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("webhooks: fan-out failed; retrying")
                handled = 0
            if handled >= self.batch_size and not self.busy():
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            if self.busy():
                rest = self.busy_interval - (loop.time() - started)
                if rest > 0 and not self._stopping:
                    await asyncio.sleep(rest)
            self._wake.clear()
