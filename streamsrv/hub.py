"""The fan-out hub: one Redis subscriber per process, many local subscribers per stream.

- Redis subscriptions are reference-counted by local interest: the first local subscriber of a
  stream subscribes its channel, the last one to leave unsubscribes it.
- Each event is turned into a frame once; the same ``Frame`` (JSON text and complete websocket
  bytes, both built once) goes to every subscriber's sink.
- Exactly once, in order: every subscription remembers the last entry it passed on and drops
  anything not newer. While a subscription replays history (``since``), or the hub catches a
  stream up after losing Redis, live events for it are held back and released afterwards.
- Losing Redis keeps subscribers attached: the hub reconnects with backoff, resubscribes, and
  replays each stream from the last entry it had seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from streamsrv import metrics, protocol
from streamsrv.backoff import Backoff
from streamsrv.history import Entry, History, Keys
from streamsrv.protocol import Cursor, EntryId, Frame, cursor_text

log = logging.getLogger("streamsrv.hub")

RECENT_EVENT_IDS = 4096
SUBSCRIBE_TIMEOUT = 5.0
# How long a new subscription waits for Redis to confirm its channel before replaying history.
# Replaying before the confirmation could miss an event published in between, so this is long:
# only an overloaded node gets near it. (With Redis down, the reconnect catch-up covers it.)
READY_TIMEOUT = 30.0


class Sink(Protocol):
    """Where a subscription's frames go: a websocket connection's bounded send buffer."""

    def send_frame(self, frame: Frame) -> None: ...


Held = tuple[str, EntryId, Frame]


class Subscription:
    __slots__ = ("epoch", "held", "last", "sink", "stream")

    def __init__(self, stream: str, sink: Sink) -> None:
        self.stream = stream
        self.sink = sink
        self.epoch: str | None = None
        self.last: EntryId | None = None
        # Not None while history is being replayed: live frames wait here.
        self.held: list[Held] | None = None

    def offer(self, epoch: str, entry: EntryId, frame: Frame) -> None:
        if self.held is not None:
            self.held.append((epoch, entry, frame))
            return
        self._pass(epoch, entry, frame)

    def _pass(self, epoch: str, entry: EntryId, frame: Frame) -> None:
        if epoch == self.epoch and self.last is not None and entry <= self.last:
            return
        self.epoch = epoch
        self.last = entry
        self.sink.send_frame(frame)

    def release(self) -> None:
        held, self.held = self.held, None
        for epoch, entry, frame in held or ():
            self._pass(epoch, entry, frame)


class _Channel:
    """Per-stream state of this process."""

    __slots__ = ("catching_up", "epoch", "held", "last", "ready", "recent", "recent_set", "subscribers")

    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self.ready = asyncio.Event()
        self.epoch: str | None = None
        self.last: EntryId | None = None
        self.catching_up = False
        self.held: list[tuple[str, EntryId, int, str]] = []
        # Outbox ids seen lately: an event re-published after a Redis crash is dropped here.
        self.recent: deque[int] = deque(maxlen=RECENT_EVENT_IDS)
        self.recent_set: set[int] = set()


class Hub:
    def __init__(self, redis: Redis, history: History, keys: Keys) -> None:
        self.redis = redis
        self.history = history
        self.keys = keys
        self.node = secrets.token_hex(6)
        self._channels: dict[str, _Channel] = {}
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False
        self._prefix = keys.channel_prefix
        self._control = keys.control(self.node).encode()
        # Broadcast to every node: "drop <credential>" closes that credential's live sockets.
        self._broadcast = keys.control("all").encode()
        self.control_handlers: list[Callable[[bytes], None]] = []
        self._pings: dict[bytes, asyncio.Future[float]] = {}
        self.reconnects = 0
        self._catch_up_task: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-reader")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), SUBSCRIBE_TIMEOUT)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # subscriptions ---------------------------------------------------------------------------

    async def attach(
        self, stream: str, sink: Sink, since: Cursor | None = None
    ) -> tuple[Subscription, bool | None, list[Held]]:
        """Subscribe ``sink`` to ``stream``; live events are held until :meth:`release`.

        Returns the subscription; whether history covered ``since`` (True), could not (False:
        the caller must send ``resync``) or no ``since`` was asked (None); and the replayed
        frames, which :meth:`release` passes on before the held live ones.
        """
        sub = Subscription(stream, sink)
        sub.held = []
        channel = self._channels.get(stream)
        if channel is None:
            channel = self._channels[stream] = _Channel()
            metrics.REDIS_CHANNELS.set(len(self._channels))
            if self._pubsub is not None and self.connected:
                try:
                    await self._pubsub.subscribe(self.keys.channel(stream))
                except (RedisError, OSError):
                    pass  # the reader resubscribes every channel when it reconnects
        channel.subscribers.add(sub)
        metrics.SUBSCRIPTIONS.inc()
        recovered: bool | None = None
        replay: list[Held] = []
        try:
            try:
                await asyncio.wait_for(channel.ready.wait(), READY_TIMEOUT)
            except TimeoutError:
                log.warning("hub: Redis did not confirm %s within %.0fs", stream, READY_TIMEOUT)
            if since is not None:
                sub.epoch, sub.last = since.epoch, since.entry
                entries = await self.history.read_after(stream, since)
                recovered = entries is not None
                for entry in entries or ():
                    cursor = cursor_text(since.epoch, entry.entry)
                    replay.append(
                        (since.epoch, entry.entry, Frame(protocol.event_frame(stream, cursor, entry.tail)))
                    )
            elif channel.epoch is not None:
                sub.epoch, sub.last = channel.epoch, channel.last
        except (RedisError, OSError) as exc:
            log.warning("hub: replay of %s failed (%s); the client will resync", stream, exc)
            recovered = False if since is not None else None
        except BaseException:
            self._detach(sub)
            raise
        if recovered is False:
            metrics.RESYNCS.inc()
        return sub, recovered, replay

    def release(self, sub: Subscription, replay: list[Held]) -> None:
        """End the replay phase: pass on the replayed frames, then live events held meanwhile."""
        for epoch, entry, frame in replay:
            sub._pass(epoch, entry, frame)
        sub.release()

    async def detach(self, sub: Subscription) -> None:
        stream = self._detach(sub)
        if stream is not None and self._pubsub is not None and self.connected:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self.keys.channel(stream))

    def _detach(self, sub: Subscription) -> str | None:
        channel = self._channels.get(sub.stream)
        if channel is None or sub not in channel.subscribers:
            return None
        channel.subscribers.discard(sub)
        metrics.SUBSCRIPTIONS.dec()
        if channel.subscribers:
            return None
        del self._channels[sub.stream]
        metrics.REDIS_CHANNELS.set(len(self._channels))
        return sub.stream

    async def broadcast(self, message: str) -> None:
        """Send a control message to every node's hub (this one included)."""
        await self.redis.publish(self._broadcast, message.encode())

    # readiness -------------------------------------------------------------------------------

    async def round_trip(self, timeout: float) -> float:
        """Publish to this node's control channel and wait until the reader receives it."""
        token = secrets.token_hex(8).encode()
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pings[token] = fut
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            await asyncio.wait_for(self.redis.publish(self._control, token), timeout)
            await asyncio.wait_for(fut, timeout)
            return (time.perf_counter() - started) * 1000
        finally:
            self._pings.pop(token, None)

    # the reader ------------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(first=0.05, cap=2.0, jitter=0.2)
        first = True
        while not self._stopping:
            pubsub = self.redis.pubsub()
            self._pubsub = pubsub
            try:
                channels = [self.keys.channel(s) for s in self._channels]
                await pubsub.subscribe(self._control, self._broadcast, *channels)
                self._connected.set()
                if not first:
                    self.reconnects += 1
                    metrics.REDIS_RECONNECTS.inc()
                    log.info("hub: reconnected to Redis; catching up %d streams", len(self._channels))
                    # Hold live events from the first one on: the catch-up must start from the
                    # last entry seen before the outage, not from whatever arrives first now.
                    for channel in self._channels.values():
                        channel.catching_up = True
                    self._catch_up_task = asyncio.create_task(self._catch_up_all())
                first = False
                backoff.reset()
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("hub: lost Redis (%s); reconnecting", exc)
                self._connected.clear()
                for channel in self._channels.values():
                    channel.ready.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(backoff.next())

    async def _read(self, pubsub: Any) -> None:
        prefix = self._prefix
        plen = len(prefix)
        while True:
            msg = await pubsub.get_message(timeout=None)
            if msg is None:
                continue
            kind = msg["type"]
            channel_name: bytes = msg["channel"]
            if kind == "message":
                if channel_name.startswith(prefix):
                    self._on_event(channel_name[plen:].decode(), msg["data"])
                elif channel_name == self._control:
                    fut = self._pings.get(msg["data"])
                    if fut is not None and not fut.done():
                        fut.set_result(time.perf_counter())
                elif channel_name == self._broadcast:
                    for handler in self.control_handlers:
                        handler(msg["data"])
            elif kind == "subscribe" and channel_name.startswith(prefix):
                channel = self._channels.get(channel_name[plen:].decode())
                if channel is not None:
                    channel.ready.set()

    def _on_event(self, stream: str, data: bytes) -> None:
        channel = self._channels.get(stream)
        if channel is None:
            return
        epoch_b, entry_b, eid_b, tail_b = data.split(b" ", 3)
        ms, _, seq = entry_b.partition(b"-")
        self._dispatch(channel, stream, epoch_b.decode(), (int(ms), int(seq)), int(eid_b), tail_b.decode())

    def _dispatch(
        self, channel: _Channel, stream: str, epoch: str, entry: EntryId, eid: int, tail: str
    ) -> None:
        if channel.catching_up:
            channel.held.append((epoch, entry, eid, tail))
            return
        if epoch == channel.epoch and channel.last is not None and entry <= channel.last:
            return
        if eid in channel.recent_set:
            # Same outbox event, new entry: re-published after Redis lost it. Skip, but advance.
            channel.epoch, channel.last = epoch, entry
            return
        if len(channel.recent) == RECENT_EVENT_IDS:
            channel.recent_set.discard(channel.recent[0])
        channel.recent.append(eid)
        channel.recent_set.add(eid)
        channel.epoch, channel.last = epoch, entry
        metrics.EVENTS_RECEIVED.inc()
        # One Frame for every subscriber: its websocket bytes are built once, by the first writer.
        frame = Frame(protocol.event_frame(stream, cursor_text(epoch, entry), tail))
        for sub in channel.subscribers:
            sub.offer(epoch, entry, frame)
        # The entry id's first half is Redis's clock at XADD: publish-to-hand-off, per event.
        metrics.DELIVERY_LATENCY.observe(max(0.0, time.time() - entry[0] / 1000))

    async def _catch_up_all(self) -> None:
        for stream in list(self._channels):
            channel = self._channels.get(stream)
            if channel is not None:
                await self._catch_up(stream, channel)

    async def _catch_up(self, stream: str, channel: _Channel) -> None:
        """Replay what this stream got while the hub was away, holding live events meanwhile."""
        channel.catching_up = True
        epoch: str | None = None
        entries: list[Entry] = []
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.ready.wait(), SUBSCRIBE_TIMEOUT)
            epoch = await self.history.epoch(stream)
            if epoch is not None:
                # A new epoch means Redis lost the old history: everything in it is new to us.
                after = channel.last if epoch == channel.epoch else None
                entries = await self.history.read_range(stream, after)
        except (RedisError, OSError) as exc:
            log.warning("hub: catch-up of %s failed (%s)", stream, exc)
        finally:
            channel.catching_up = False
            held, channel.held = channel.held, []
        if epoch is not None:
            for entry in entries:
                self._dispatch(channel, stream, epoch, entry.entry, entry.event_id, entry.tail)
        for item in held:
            self._dispatch(channel, stream, *item)
