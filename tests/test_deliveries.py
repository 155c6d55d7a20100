"""The durable delivery queue and the scheduler, on both databases, with real workers.

Each test owns a fresh database: the suite's shared server runs a worker of its own, which would
otherwise claim these rows.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from streamsrv.db import Database
from streamsrv.deliveries import queue
from streamsrv.deliveries.schedule import Periodic, Scheduler, slot_of
from streamsrv.deliveries.worker import PermanentFailure, Sender, Senders, TemporaryFailure, Worker
from streamsrv.models import Delivery, DeliveryStatus, Organization, utcnow
from tests.conftest import fresh_database
from tests.support import TIMEOUT, async_wait_until


@pytest.fixture
def qdb(backend: str, tmp_path: Path) -> Iterator[Database]:
    with fresh_database(backend, tmp_path) as database:
        yield database


def new_org(db: Database) -> int:
    with db.session() as session:
        org = Organization(name=f"Org {secrets.token_hex(3)}")
        session.add(org)
        session.flush()
        assert org.id is not None
        return org.id


def put(db: Database, org_id: int, n: int = 1, queue_name: str = "q", kind: str = "test", **kw) -> list[int]:
    now = utcnow()
    ids: list[int] = []
    with db.session() as session:
        for i in range(n):
            new = queue.enqueue(
                session,
                org_id=org_id,
                kind=kind,
                queue=queue_name if isinstance(queue_name, str) else queue_name[i % len(queue_name)],
                payload={"n": i},
                due_at=kw.get("due_at", now),
                now=now,
                ref=kw.get("ref"),
                dedupe_key=kw.get("dedupe_key"),
            )
            assert new is not None
            ids.append(new)
    return ids


def row(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def test_enqueue_claim_and_finish(qdb: Database) -> None:
    org = new_org(qdb)
    [did] = put(qdb, org, ref="request:1", dedupe_key="request:1")
    with qdb.session() as session:
        again = queue.enqueue(
            session,
            org_id=org,
            kind="test",
            queue="q",
            payload={},
            due_at=utcnow(),
            now=utcnow(),
            dedupe_key="request:1",
        )
    assert again is None, "the same dedupe key is enqueued once"
    with qdb.session() as session:
        [job] = queue.claim(session, "node-a", utcnow(), 10)
        assert queue.claim(session, "node-b", utcnow(), 10) == []
    assert job.id == did and job.attempts == 1 and job.payload == {"n": 0}
    with qdb.session() as session:
        assert queue.finish(session, job, "node-a", queue.SENT, utcnow()) == "sent"
    done = row(qdb, did)
    assert done.status == DeliveryStatus.sent and done.sent_at is not None and done.lease_until is None


def test_future_deliveries_wait_for_their_time(qdb: Database) -> None:
    org = new_org(qdb)
    [did] = put(qdb, org, due_at=utcnow() + timedelta(hours=1))
    with qdb.session() as session:
        assert queue.claim(session, "n", utcnow(), 10) == []
        [job] = queue.claim(session, "n", utcnow() + timedelta(hours=1, seconds=1), 10)
    assert job.id == did


def test_temporary_failures_back_off_then_give_up(qdb: Database) -> None:
    org = new_org(qdb)
    [did] = put(qdb, org)
    now = utcnow()
    with qdb.session() as session:
        [job] = queue.claim(session, "n", now, 10)
        status = queue.finish(session, job, "n", queue.Outcome("retry", "421 try later"), now)
    assert status == "scheduled"
    again = row(qdb, did)
    # The first retry comes within about a minute.
    assert timedelta(seconds=20) <= again.due_at - now <= timedelta(seconds=60)
    assert again.last_error == "421 try later" and again.attempts == 1
    late = again.give_up_at + timedelta(seconds=1)
    with qdb.session() as session:
        [job] = queue.claim(session, "n", late, 10)
        status = queue.finish(session, job, "n", queue.Outcome("retry", "421 still"), late)
    assert status == "failed"
    failed = row(qdb, did)
    assert failed.attempts == 2 and "gave up after 2 attempts" in (failed.last_error or "")


def test_a_lost_lease_is_taken_over_and_the_old_claim_cannot_finish(qdb: Database) -> None:
    org = new_org(qdb)
    [did] = put(qdb, org)
    now = utcnow()
    with qdb.session() as session:
        [first] = queue.claim(session, "dead-node", now, 10)
    later = now + queue.LEASE + timedelta(seconds=1)
    with qdb.session() as session:
        [second] = queue.claim(session, "live-node", later, 10)
    assert second.id == did and second.attempts == 2
    with qdb.session() as session:
        assert queue.finish(session, first, "dead-node", queue.SENT, later) is None
        assert queue.finish(session, second, "live-node", queue.SENT, later) == "sent"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.release = asyncio.Event()
        self.slow_started = asyncio.Event()

    async def send(self, job: queue.Job) -> None:
        if job.queue == "slow":
            self.slow_started.set()
            await self.release.wait()
        if job.payload.get("fail") == "temporary":
            raise TemporaryFailure("421 busy")
        if job.payload.get("fail") == "permanent":
            raise PermanentFailure("550 no such user")
        self.sent.append(job.id)


async def test_two_workers_send_each_delivery_exactly_once(
    qdb: Database, backend: str, tmp_path: Path
) -> None:
    org = new_org(qdb)
    ids = put(qdb, org, n=300, queue_name=[f"smtp-{i}" for i in range(10)])  # type: ignore[arg-type]
    recorder = Recorder()
    senders = Senders()
    senders.register(Sender("test", recorder.send))
    # Two nodes: each its own engine and connection pool, as two processes would have.
    other = Database(qdb.url)
    a = Worker(qdb, senders, poll_interval=0.05, batch_size=20)
    b = Worker(other, senders, poll_interval=0.05, batch_size=20)
    a.start()
    b.start()
    try:
        await async_wait_until(_true_when(lambda: len(recorder.sent) >= 300), timeout=TIMEOUT * 6)
        await a.drain()
        await b.drain()
    finally:
        await a.stop()
        await b.stop()
        other.dispose()
    counts = Counter(recorder.sent)
    assert sorted(counts) == sorted(ids)
    assert max(counts.values()) == 1, "a delivery was sent twice"
    with qdb.session() as session:
        statuses = Counter(d.status for d in session.exec(select(Delivery)).all())
        nodes = {d.claimed_by for d in session.exec(select(Delivery)).all()}
    assert statuses == {"sent": 300}
    assert len(nodes) >= 1


async def test_a_slow_queue_holds_up_only_itself(qdb: Database) -> None:
    org = new_org(qdb)
    put(qdb, org, n=1, queue_name="slow")
    fast = put(qdb, org, n=5, queue_name="fast")
    recorder = Recorder()
    senders = Senders()
    senders.register(Sender("test", recorder.send, timeout=TIMEOUT * 10))
    worker = Worker(qdb, senders, poll_interval=0.05)
    worker.start()
    try:
        await asyncio.wait_for(recorder.slow_started.wait(), TIMEOUT)
        await async_wait_until(_true_when(lambda: set(fast) <= set(recorder.sent)))
        more = put(qdb, org, n=3, queue_name="fast")
        await async_wait_until(_true_when(lambda: set(more) <= set(recorder.sent)))
        recorder.release.set()
        await async_wait_until(_true_when(lambda: len(recorder.sent) == 9))
    finally:
        recorder.release.set()
        await worker.stop()


async def test_failures_are_recorded_and_the_after_hook_commits_with_them(qdb: Database) -> None:
    org = new_org(qdb)
    now = utcnow()
    with qdb.session() as session:
        temp = queue.enqueue(
            session, org_id=org, kind="test", queue="q", payload={"fail": "temporary"}, due_at=now, now=now
        )
        perm = queue.enqueue(
            session, org_id=org, kind="test", queue="q", payload={"fail": "permanent"}, due_at=now, now=now
        )
    seen: list[tuple[int, str, str | None]] = []

    def after(session: Session, job: queue.Job, status: str, error: str | None) -> None:
        seen.append((job.id, status, error))

    recorder = Recorder()
    senders = Senders()
    senders.register(Sender("test", recorder.send, after=after))
    worker = Worker(qdb, senders, poll_interval=0.05)
    worker.start()
    try:
        await async_wait_until(_true_when(lambda: len(seen) == 2))
    finally:
        await worker.stop()
    assert sorted(seen) == sorted([(temp, "scheduled", "421 busy"), (perm, "failed", "550 no such user")])
    assert row(qdb, temp or 0).status == "scheduled" and row(qdb, perm or 0).status == "failed"


async def test_a_scheduled_job_runs_once_per_slot_across_nodes(qdb: Database) -> None:
    runs: list[str] = []

    async def job(now) -> None:  # type: ignore[no-untyped-def]
        runs.append(slot_of(now, timedelta(hours=1)))

    jobs = [Periodic("retention", timedelta(hours=1), job)]
    other = Database(qdb.url)
    try:
        a = Scheduler(qdb, "node-a", jobs)
        b = Scheduler(other, "node-b", jobs)
        now = utcnow()
        ran = await asyncio.gather(a.run_due(now), b.run_due(now), a.run_due(now))
        assert sorted(name for names in ran for name in names) == ["retention"]
        next_hour = now + timedelta(hours=1)
        assert await b.run_due(next_hour) == ["retention"]
        assert await a.run_due(next_hour) == []
    finally:
        other.dispose()
    assert len(runs) == 2 and runs[0] != runs[1]


def _true_when(predicate):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return bool(predicate())

    return check
