"""Redis goes away while responses keep arriving and clients stay connected."""

from __future__ import annotations

import asyncio
import threading

import httpx

from streamsrv.client import Event, StreamClient
from tests.conftest import Stack
from tests.streaming import emit_events, make_floor
from tests.support import TIMEOUT, async_wait_until, wait_until

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
        # Redis stays down until the test has seen /readyz report it (or gave up waiting).
        seen_unready = threading.Event()

        def produce() -> None:
            emit_events(db, org_id, [stream], EVENTS // 3, 0)
            own_redis.stop()
            killed.set()
            emit_events(db, org_id, [stream], EVENTS // 3, EVENTS // 3)
            seen_unready.wait(TIMEOUT * 4)
            own_redis.start()
            emit_events(db, org_id, [stream], EVENTS - 2 * (EVENTS // 3), 2 * (EVENTS // 3))

        producer = asyncio.create_task(asyncio.to_thread(produce))
        try:
            assert await asyncio.to_thread(killed.wait, TIMEOUT), "the producer never stopped Redis"
            # While Redis is down the node reports not ready, and the sockets stay open.
            async with httpx.AsyncClient(base_url=outage_server.url, timeout=TIMEOUT) as http:

                async def unready() -> httpx.Response | None:
                    assert own_redis.proc is None, "Redis must still be down while /readyz is polled"
                    r = await http.get("/readyz")
                    return r if r.status_code == 503 else None

                ready = await async_wait_until(unready, timeout=TIMEOUT * 2)
                assert ready.json()["checks"]["redis"]["ok"] is False
        finally:
            seen_unready.set()
        await producer
        for c in clients:
            got: list[Event] = []
            try:
                while len(got) < EVENTS:
                    got.append(await c.next_event(TIMEOUT * 4))
            except TimeoutError:
                raise AssertionError(f"missing events; got {[e.data['n'] for e in got]}") from None
            assert [e.data["n"] for e in got] == list(range(EVENTS))
            assert c.connects == 1, "clients stay connected through the outage"
        # Nothing is delivered twice: a sentinel committed after every client has had every event
        # is the very next event each one gets (a stream is delivered in order, so a duplicate
        # would have come before it).
        await asyncio.to_thread(emit_events, db, org_id, [stream], 1, EVENTS)
        for c in clients:
            assert (await c.next_event(TIMEOUT * 4)).data["n"] == EVENTS
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
