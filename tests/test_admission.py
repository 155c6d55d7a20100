"""The ingest admission gate (streamsrv.admission): bookkeeping only, no server needed."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamsrv.admission import Gate, Refused


@given(limit=st.integers(0, 5), ops=st.lists(st.booleans(), max_size=60))
def test_count_stays_between_zero_and_the_limit(limit: int, ops: list[bool]) -> None:
    """Any order of enters (True) and leaves (False, of an admitted holder) keeps the count sane."""
    gate = Gate(limit)
    held = refused = 0
    for enter in ops:
        if enter:
            if gate.try_enter():
                held += 1
            else:
                refused += 1
                assert limit and held == limit
        elif held:
            gate.leave()
            held -= 1
        assert gate.in_flight == held >= 0
        assert gate.refused == refused
        assert gate.saturated == (limit > 0 and held >= limit)
        if limit:
            assert held <= limit


def test_no_limit_admits_everything_and_counts() -> None:
    gate = Gate(0)
    assert all(gate.try_enter() for _ in range(1000))
    assert gate.in_flight == 1000 and not gate.saturated and gate.refused == 0


def test_leave_without_enter_is_an_error_not_a_negative_count() -> None:
    gate = Gate(2)
    with pytest.raises(RuntimeError):
        gate.leave()
    assert gate.in_flight == 0
    with pytest.raises(ValueError):
        Gate(-1)


async def test_admit_refuses_at_once_when_full_and_releases_on_exit() -> None:
    gate = Gate(1)
    async with gate.admit():
        assert gate.in_flight == 1 and gate.saturated
        with pytest.raises(Refused):
            async with gate.admit():
                pytest.fail("a second holder was admitted past the limit")
        assert gate.in_flight == 1 and gate.refused == 1
    assert gate.in_flight == 0 and not gate.saturated


async def test_admit_releases_on_an_exception() -> None:
    gate = Gate(1)
    with pytest.raises(ZeroDivisionError):
        async with gate.admit():
            _ = 1 / 0
    assert gate.in_flight == 0
    async with gate.admit():
        assert gate.in_flight == 1


async def test_admit_releases_on_cancellation() -> None:
    gate = Gate(2)
    inside = asyncio.Event()
    never = asyncio.Event()

    async def holder() -> None:
        async with gate.admit():
            inside.set()
            await never.wait()

    task = asyncio.create_task(holder())
    await inside.wait()
    assert gate.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.in_flight == 0 and not gate.saturated
