"""The hub's ordering core on the in-process backend: no Redis, no server, no sleeps.

Every interleaving that matters (an event published while a subscription replays, a reconnect,
a lost history) is produced step by step: the backend publishes synchronously and a gated read
stops a replay exactly where the test wants it.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from streamsrv import metrics, protocol
from streamsrv.hub import Entry, Hub
from streamsrv.hub_memory import MemoryBackend
from streamsrv.protocol import Cursor, Frame, parse_cursor
from streamsrv.revocation import SocketRegistry
from streamsrv.ws.connection import Connection
from streamsrv.ws.fastpath import RawSocket

STREAM = "team:7"


def tail(n: int, eid: int, pad: int = 0) -> str:
    data = {"n": n, "pad": "x" * pad}
    return protocol.encode_event_tail("feedback.received", "2025-03-02T10:15:31.204Z", data, eid).decode()


def publish(
    backend: MemoryBackend, n: int, eid: int | None = None, stream: str = STREAM, pad: int = 0
) -> str:
    """Event number ``n`` (outbox id ``1000 + n`` unless given); returns its cursor."""
    eid = 1000 + n if eid is None else eid
    return backend.publish(stream, eid, tail(n, eid, pad))


class ListSink:
    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def send_frame(self, frame: Frame) -> None:
        self.frames.append(frame)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(f.text) for f in self.frames]

    @property
    def ns(self) -> list[int]:
        return [e["data"]["n"] for e in self.events]


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
async def hub(backend: MemoryBackend) -> Any:
    hub = Hub(backend)
    await hub.start()
    yield hub
    await hub.stop()


async def subscribe(hub: Hub, sink: Any, since: str | None = None, stream: str = STREAM) -> Any:
    sub, recovered, replay = await hub.attach(stream, sink, parse_cursor(since) if since else None)
    hub.release(sub, replay)
    return sub, recovered


async def test_live_events_reach_every_subscriber_as_one_frame(hub: Hub, backend: MemoryBackend) -> None:
    a, b = ListSink(), ListSink()
    await subscribe(hub, a)
    await subscribe(hub, b)
    cursors = [publish(backend, n) for n in range(5)]
    assert a.ns == b.ns == [0, 1, 2, 3, 4]
    assert [e["id"] for e in a.events] == cursors
    assert [e["eid"] for e in a.events] == [1000, 1001, 1002, 1003, 1004]
    # The same Frame object goes to every subscriber: encoded once per event.
    assert all(fa is fb for fa, fb in zip(a.frames, b.frames, strict=True))


async def test_other_streams_and_departed_subscribers_get_nothing(hub: Hub, backend: MemoryBackend) -> None:
    sink, other = ListSink(), ListSink()
    sub, _ = await subscribe(hub, sink)
    await subscribe(hub, other, stream="agent:1")
    publish(backend, 0)
    await hub.detach(sub)
    assert STREAM not in backend.subscribed  # the last local subscriber left: unsubscribed
    publish(backend, 1)
    assert sink.ns == [0]
    assert other.ns == []


class GatedBackend(MemoryBackend):
    """Stops a history read twice: before it looks at history, and after."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()
        self.look = asyncio.Event()
        self.looked = asyncio.Event()
        self.answer = asyncio.Event()

    async def read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        self.reading.set()
        await self.look.wait()
        entries = await super().read_after(stream, since)
        self.looked.set()
        await self.answer.wait()
        return entries


async def test_replay_racing_live_events_is_exactly_once_and_in_order() -> None:
    backend = GatedBackend()
    hub = Hub(backend)
    await hub.start()
    try:
        watcher = ListSink()
        await subscribe(hub, watcher)
        cursors = [publish(backend, n) for n in range(3)]
        sink = ListSink()
        attaching = asyncio.create_task(hub.attach(STREAM, sink, parse_cursor(cursors[0])))
        await backend.reading.wait()
        # Published after the subscription but before the read: in history and live, both.
        publish(backend, 3)
        publish(backend, 4)
        backend.look.set()
        await backend.looked.wait()
        # Published after the read: live only.
        publish(backend, 5)
        publish(backend, 6)
        assert sink.frames == []  # everything is held until the replay is released
        backend.answer.set()
        sub, recovered, replay = await attaching
        assert recovered is True
        assert [json.loads(f.text)["data"]["n"] for _, _, f in replay] == [1, 2, 3, 4]
        hub.release(sub, replay)
        publish(backend, 7)
        assert sink.ns == [1, 2, 3, 4, 5, 6, 7]
        assert watcher.ns == [0, 1, 2, 3, 4, 5, 6, 7]
    finally:
        await hub.stop()


async def test_resume_from_the_latest_cursor_replays_nothing(hub: Hub, backend: MemoryBackend) -> None:
    last = [publish(backend, n) for n in range(3)][-1]
    sink = ListSink()
    _, recovered = await subscribe(hub, sink, since=last)
    assert recovered is True
    publish(backend, 3)
    assert sink.ns == [3]


async def test_republished_outbox_event_is_passed_on_once(hub: Hub, backend: MemoryBackend) -> None:
    sink = ListSink()
    await subscribe(hub, sink)
    publish(backend, 0, eid=10)
    publish(backend, 0, eid=10)  # the relay published it again: new entry id, same outbox id
    publish(backend, 1, eid=11)
    assert [e["eid"] for e in sink.events] == [10, 11]


async def test_catch_up_after_reconnect_delivers_the_missed_events_then_live_ones(
    hub: Hub, backend: MemoryBackend
) -> None:
    sink = ListSink()
    await subscribe(hub, sink)
    publish(backend, 0)
    publish(backend, 1)
    backend.disconnect()
    assert not hub.connected
    publish(backend, 2)  # stored while the hub is away: not delivered live
    publish(backend, 3)
    assert sink.ns == [0, 1]
    backend.reconnect()
    # Live events that arrive before the catch-up has read history wait behind it.
    publish(backend, 4)
    assert sink.ns == [0, 1]
    assert hub._catch_up_task is not None
    await hub._catch_up_task
    publish(backend, 5)
    assert sink.ns == [0, 1, 2, 3, 4, 5]
    assert hub.reconnects == 1


async def test_history_lost_while_away_replays_the_new_epoch_without_repeats(
    hub: Hub, backend: MemoryBackend
) -> None:
    sink = ListSink()
    await subscribe(hub, sink)
    publish(backend, 0)
    publish(backend, 1)
    backend.disconnect()
    backend.lose_history(STREAM)
    publish(backend, 1)  # the relay publishes event 1 again into the new epoch...
    publish(backend, 2)  # ...and a new one
    backend.reconnect()
    assert hub._catch_up_task is not None
    await hub._catch_up_task
    assert sink.ns == [0, 1, 2]
    assert len({e["id"].split("-")[0] for e in sink.events}) == 2  # two epochs


async def test_cursor_from_a_lost_epoch_leads_to_resync_and_live_events_continue(
    hub: Hub, backend: MemoryBackend
) -> None:
    old = publish(backend, 0)
    backend.lose_history(STREAM)
    publish(backend, 1)
    sink = ListSink()
    before = metrics.RESYNCS._value.get()
    sub, recovered, replay = await hub.attach(STREAM, sink, parse_cursor(old))
    assert recovered is False
    assert replay == []
    assert metrics.RESYNCS._value.get() == before + 1
    hub.release(sub, replay)
    publish(backend, 2)
    assert sink.ns == [2]


async def test_trimmed_history_leads_to_resync(hub: Hub, backend: MemoryBackend) -> None:
    cursors = [publish(backend, n) for n in range(10)]
    backend.trim(STREAM, keep=3)
    _, recovered = await subscribe(hub, ListSink(), since=cursors[2])
    assert recovered is False
    _, recovered = await subscribe(hub, ListSink(), since=cursors[7], stream=STREAM)
    assert recovered is True


async def test_replay_while_the_backend_is_down_asks_for_resync(
    hub: Hub, backend: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursor = publish(backend, 0)
    backend.disconnect()
    # Nothing confirms a subscription while the backend is down: do not wait for it.
    monkeypatch.setattr("streamsrv.hub.READY_TIMEOUT", 0)
    sub, recovered, replay = await hub.attach(STREAM, ListSink(), parse_cursor(cursor))
    assert recovered is False
    assert replay == []
    await hub.detach(sub)


# slow consumers: the real Connection sink, on both of its write paths ----------------------------


class FakeWebSocket:
    """The ASGI side of a websocket: ``send_text`` blocks while the client is not reading."""

    def __init__(self, reading: bool) -> None:
        self.reading = asyncio.Event()
        if reading:
            self.reading.set()
        self.texts: list[str] = []
        self.progress = asyncio.Event()
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        await self.reading.wait()
        self.texts.append(text)
        self.progress.set()

    async def received(self, count: int) -> None:
        while len(self.texts) < count:
            self.progress.clear()
            await self.progress.wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = (code, reason)


class FakeTransport:
    """A transport whose write buffer empties at once when the client reads, never when not."""

    def __init__(self, reading: bool) -> None:
        self.reading = reading
        self.written: list[bytes] = []
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)
        if not self.reading:
            self.buffered += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


def unframe(wire: bytes) -> str:
    """The text of one unmasked server frame (the forms ``websocket_text_frame`` writes)."""
    n = wire[1]
    start = 2 if n < 126 else 4 if n == 126 else 10
    return wire[start:].decode()


def make_connection(kind: str, reading: bool, limit: int) -> tuple[Connection, FakeWebSocket, Any]:
    websocket = FakeWebSocket(reading)
    if kind == "asgi":
        return Connection(websocket, limit, None), websocket, None  # type: ignore[arg-type]
    transport = FakeTransport(reading)
    raw = RawSocket(SimpleNamespace(transport=transport, close_sent=False))
    return Connection(websocket, limit, raw), websocket, transport  # type: ignore[arg-type]


def delivered_texts(websocket: FakeWebSocket, transport: FakeTransport | None) -> list[str]:
    if transport is None:
        return websocket.texts
    return [unframe(w) for w in transport.written]


@pytest.mark.parametrize("kind", ["raw", "asgi"])
async def test_slow_consumer_is_closed_alone_and_others_get_everything(
    hub: Hub, backend: MemoryBackend, kind: str
) -> None:
    limit = 64 * 1024
    slow, slow_ws, _ = make_connection(kind, reading=False, limit=limit)
    fast, fast_ws, fast_transport = make_connection(kind, reading=True, limit=limit)
    other, other_ws, other_transport = make_connection(kind, reading=True, limit=limit)
    before = metrics.SLOW_DISCONNECTS._value.get()
    try:
        for conn in (slow, fast, other):
            await subscribe(hub, conn)
        count = 100
        for n in range(count):
            publish(backend, n, pad=2000)
            if kind == "asgi":
                # Between two events the fast clients' writer tasks send what was queued.
                await fast_ws.received(n + 1)
                await other_ws.received(n + 1)
        assert slow.overflowed and slow.closed
        assert not fast.closed and not other.closed
        assert metrics.SLOW_DISCONNECTS._value.get() == before + 1
        assert slow._closer is not None
        await slow._closer
        assert slow_ws.closed_with == (protocol.CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and resume")
        for ws, transport in ((fast_ws, fast_transport), (other_ws, other_transport)):
            texts = delivered_texts(ws, transport)
            assert [json.loads(t)["data"]["n"] for t in texts] == list(range(count))
    finally:
        for conn in (slow, fast, other):
            await conn.stop()


# revocation on the control channel ---------------------------------------------------------------


class FakeSocket:
    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None
        self.reach_changes = 0

    def close_soon(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    def reach_changed(self) -> None:
        self.reach_changes += 1


async def test_revocation_closes_only_that_credentials_sockets(hub: Hub) -> None:
    registry = SocketRegistry(hub, forget_org=lambda org_id: None)
    revoked, kept, session = FakeSocket(), FakeSocket(), FakeSocket()
    registry.add(("apikey:1",), 1, revoked)
    registry.add(("apikey:2",), 1, kept)
    registry.add(("user:5", "session:9"), 1, session)
    await hub.broadcast("drop apikey:1")
    assert revoked.closed_with == (protocol.CLOSE_UNAUTHORIZED, "credentials revoked")
    assert kept.closed_with is None
    await hub.broadcast("something else apikey:2")
    assert kept.closed_with is None
    await hub.broadcast("drop session:9")
    assert session.closed_with == (protocol.CLOSE_UNAUTHORIZED, "credentials revoked")
    assert kept.closed_with is None


async def test_reach_change_reaches_only_that_organizations_sockets(hub: Hub) -> None:
    forgotten: list[int] = []
    registry = SocketRegistry(hub, forget_org=forgotten.append)
    here, elsewhere, gone = FakeSocket(), FakeSocket(), FakeSocket()
    registry.add(("apikey:1",), 7, here)
    registry.add(("apikey:2",), 8, elsewhere)
    registry.add(("apikey:3",), 7, gone)
    registry.remove(("apikey:3",), 7, gone)
    await hub.broadcast("reach 7")
    assert forgotten == [7]
    assert (here.reach_changes, elsewhere.reach_changes, gone.reach_changes) == (1, 0, 0)
    await hub.broadcast("reach seven")
    assert forgotten == [7] and here.reach_changes == 1
    assert registry.by_credential.keys() == {"apikey:1", "apikey:2"} and registry.by_org.keys() == {7, 8}
