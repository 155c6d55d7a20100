"""Scheduled work that runs once per slot, however many nodes run the scheduler.

A job has a name and a period; its slot is the period's start (``retention`` at an hourly period
has the slot ``2026-11-26T03:00Z``). Every node ticks, and the one whose insert of
``(job, slot)`` succeeds runs it: the unique key is the lock, in the database that every node
already shares. Jobs that work per account (a digest at 7 am in each account's time zone) claim
finer slots themselves with :func:`claim_slot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from streamsrv.db import Database
from streamsrv.models import ScheduleRun, utcnow

log = logging.getLogger("streamsrv.schedule")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def claim_slot(session: Session, job: str, slot: str, node: str, now: datetime) -> int | None:
    """Take ``(job, slot)`` for this node; the run's id, or None when another node has it."""
    try:
        with session.begin_nested():
            run_id = session.execute(
                insert(ScheduleRun)
                .values(job=job, slot=slot, node=node, started_at=now)
                .returning(col(ScheduleRun.id))
            ).scalar_one()
    except IntegrityError:
        return None
    return int(run_id)


def finish_run(session: Session, run_id: int, now: datetime, error: str | None) -> None:
    session.execute(
        update(ScheduleRun)
        .where(col(ScheduleRun.id) == run_id)
        .values(finished_at=now, error=error[:1000] if error else None)
    )


def slot_of(now: datetime, every: timedelta) -> str:
    start = EPOCH + ((now - EPOCH) // every) * every
    return start.strftime("%Y-%m-%dT%H:%MZ")


JobFn = Callable[[datetime], Awaitable[None]]


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    run: JobFn


class Scheduler:
    def __init__(self, db: Database, node: str, jobs: list[Periodic], tick: float = 30.0) -> None:
        self.db = db
        self.node = node
        self.jobs = jobs
        self.tick = tick
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self, grace: float = 5.0) -> None:
        if self._task is None:
            return
        self._stopping.set()
        # A job in the middle of a database call finishes it; one that runs long is cut off.
        _, late = await asyncio.wait([self._task], timeout=grace)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self.run_due(utcnow())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick)

    async def run_due(self, now: datetime) -> list[str]:
        """Run every job whose current slot no node has taken yet; returns the jobs run here."""
        ran: list[str] = []
        for job in self.jobs:
            slot = slot_of(now, job.every)
            try:
                run_id = await self.db.run(
                    lambda s, job=job, slot=slot: claim_slot(s, job.name, slot, self.node, now)  # type: ignore[misc]
                )
            except Exception:
                log.exception("schedule: could not claim %s %s", job.name, slot)
                continue
            if run_id is None:
                continue
            error: str | None = None
            try:
                await job.run(now)
                ran.append(job.name)
            except Exception as exc:
                log.exception("schedule: %s %s failed", job.name, slot)
                error = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                await self.db.run(lambda s, rid=run_id, err=error: finish_run(s, rid, utcnow(), err))  # type: ignore[misc]
        return ran
