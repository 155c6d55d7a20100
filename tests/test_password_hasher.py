"""The bounded password hasher on its own: how many hash at once, how many may wait, who goes first."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from streamsrv.security.passwords import HASHER, PENDING_PER_WORKER, HasherBusy
from tests.support import TIMEOUT, async_wait_until


@pytest.fixture
def two_workers() -> Iterator[None]:
    """The process-wide hasher, sized to two for one test (its metrics are the server's)."""
    before = HASHER.workers
    HASHER.configure(2)
    yield
    HASHER.configure(before)


async def test_at_most_workers_hash_at_once_and_the_line_is_bounded(two_workers: None) -> None:
    extra = 5
    results = await asyncio.gather(
        *(HASHER.verify(None, f"guess {n}") for n in range(PENDING_PER_WORKER * 2 + extra)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, HasherBusy) for r in results) == extra
    assert all(r is False for r in results if not isinstance(r, HasherBusy))
    assert HASHER.peak == 2
    assert not HASHER.full()


def verifies() -> float:
    return REGISTRY.get_sample_value("streamsrv_password_hashes_total", {"op": "verify"}) or 0.0


async def line_holds(count: int) -> None:
    async def reached() -> bool:
        return HASHER.pending >= count

    await async_wait_until(reached)


def running() -> float:
    return REGISTRY.get_sample_value("streamsrv_password_hashes_running") or 0.0


async def test_priority_goes_first_and_a_cancelled_wait_frees_its_place(two_workers: None) -> None:
    checked_before = verifies()
    order: list[str] = []

    async def check(name: str, priority: bool = False) -> None:
        await HASHER.verify(None, name, priority=priority)
        order.append(name)

    async def both_workers_busy() -> bool:
        return running() == 2

    # Both workers held until the line is built: four ordinary checks, one whose caller hangs
    # up, then a priority one.
    released = threading.Event()
    held = [asyncio.ensure_future(HASHER._submit("verify", lambda: released.wait(TIMEOUT))) for _ in range(2)]
    await async_wait_until(both_workers_busy)
    ordinary = [asyncio.ensure_future(check(f"ordinary {n}")) for n in range(4)]
    await line_holds(6)
    gave_up = asyncio.ensure_future(HASHER.verify(None, "a caller that hangs up"))
    await line_holds(7)
    first = asyncio.ensure_future(check("priority", priority=True))
    await line_holds(8)
    gave_up.cancel()
    released.set()
    await asyncio.gather(first, *ordinary, *held)
    # Taken first; only the check the other worker took at the same moment may finish before it.
    assert order.index("priority") <= 1, order
    # The abandoned check was never run, and its place in line is free again.
    await HASHER.verify(None, "after")
    assert verifies() - checked_before == 2 + 4 + 1 + 1
    assert HASHER.pending == 0 and HASHER.peak == 2
