"""Redis goes away while responses keep arriving and clients stay connected."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from streamsrv.client import Event, StreamClient
from tests.conftest import Stack
from tests.streaming import emit_events, make_floor
from tests.support import TIMEOUT, wait_until

CLIENTS = 5
EVENTS = 120


async def test_redis_restart_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    db, own_redis, outage_server, org_id, key = (
        stack.db,
        stack.redis,
        stack.server,
        stack.org.org_id,
        stack.org.api_key,
    )
    floor = make_floor(db, org_id)
    stream = f"team:{floor.team_id}"
    url = outage_server.ws_url + "/ws"
    clients = [StreamClient(url, api_key=key, streams=[stream]) for _ in range(CLIENTS)]
    for c in clients:
        await c.__aenter__()
    try:
        for c in clients:
            await c.wait_subscribed(TIMEOUT)
        killed = threading.Event()

        def produce() -> None:
            emit_events(db, org_id, [stream], EVENTS // 3, 0)
            own_redis.stop()
            killed.set()
            emit_events(db, org_id, [stream], EVENTS // 3, EVENTS // 3)
            own_redis.start()
            emit_events(db, org_id, [stream], EVENTS - 2 * (EVENTS // 3), 2 * (EVENTS // 3))

        producer = asyncio.create_task(asyncio.to_thread(produce))
        await asyncio.to_thread(killed.wait, TIMEOUT)
        # While Redis is down the node reports not ready, and the sockets stay open.
        async with httpx.AsyncClient(base_url=outage_server.url, timeout=TIMEOUT) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503 or own_redis.proc is not None
        await producer
        for c in clients:
            got: list[Event] = []
            try:
                while len(got) < EVENTS:
                    got.append(await c.next_event(TIMEOUT * 4))
            except TimeoutError:
                raise AssertionError(f"missing events; got {[e.data['n'] for e in got]}") from None
            assert [e.data["n"] for e in got] == list(range(EVENTS))
            with pytest.raises(TimeoutError):
                await c.next_event(0.3)
            assert c.connects == 1, "clients stay connected through the outage"
        hub = outage_server.app.state.ctx.services["hub"]
        assert hub.reconnects >= 1

        def ready_again() -> bool:
            return httpx.get(outage_server.url + "/readyz", timeout=TIMEOUT).status_code == 200

        await asyncio.to_thread(wait_until, ready_again)
    finally:
        for c in clients:
            await c.close()


def test_readyz_fails_while_redis_is_down(stack: Stack) -> None:
    own_redis, outage_server = stack.redis, stack.server
    assert httpx.get(outage_server.url + "/readyz", timeout=TIMEOUT).status_code == 200
    own_redis.stop()
    try:
        r = httpx.get(outage_server.url + "/readyz", timeout=TIMEOUT * 2)
        assert r.status_code == 503
        assert r.json()["checks"]["redis"]["ok"] is False
        assert r.json()["checks"]["database"]["ok"] is True
    finally:
        own_redis.start()
    wait_until(
        lambda: httpx.get(outage_server.url + "/readyz", timeout=TIMEOUT).status_code == 200,
        timeout=TIMEOUT * 2,
    )
