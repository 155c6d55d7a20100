"""The fan-out hub: one backend subscription per stream and process, many local subscribers.

This module is the ordering core and does no I/O of its own. It talks to a ``Backend`` (the
message bus with per-stream history: ``streamsrv.hub_redis.RedisBackend`` in production,
``streamsrv.hub_memory.MemoryBackend`` in unit tests), which calls back into the hub with live
events, confirmations and connection changes.

- Backend subscriptions are reference-counted by local interest: the first local subscriber of a
  stream subscribes it, the last one to leave unsubscribes it.
- Each event is turned into a frame once; the same ``Frame`` (JSON text and complete websocket
  bytes, both built once) goes to every subscriber's sink.
- Exactly once, in order: every subscription remembers the last entry it passed on and drops
  anything not newer. While a subscription replays history (``since``), or the hub catches a
  stream up after the backend reconnected, live events for it are held back and released
  afterwards. An outbox event published again under a new entry id is passed on only once.
- Losing the backend keeps subscribers attached: when it is back, each stream is replayed from
  the last entry the hub had seen, or from the start of a new epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from streamsrv import metrics, protocol
from streamsrv.protocol import Cursor, EntryId, Frame, cursor_text

log = logging.getLogger("streamsrv.hub")

RECENT_EVENT_IDS = 4096
SUBSCRIBE_TIMEOUT = 5.0
# How long a new subscription waits for the backend to confirm its stream before replaying
# history. Replaying before the confirmation could miss an event published in between, so this
# is long: only an overloaded node gets near it. (With the backend down, the reconnect catch-up
# covers it.)
READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Entry:
    """One event in a stream's history: its entry id, its outbox id, and its frame tail."""

    entry: EntryId
    event_id: int
    tail: str


class BackendError(Exception):
    """The backend could not answer now (unreachable, a read failed); it may later."""


class Backend(Protocol):
    """A message bus with per-stream history, as the hub needs it.

    Live events reach the hub through ``Hub.on_event``; ``subscribe`` is confirmed through
    ``Hub.on_ready``; a lost and regained connection through ``Hub.on_disconnect`` and
    ``Hub.on_connect``; control messages through ``Hub.on_control``. On every (re)connection the
    backend subscribes ``Hub.streams()``.
    """

    @property
    def connected(self) -> bool: ...

    async def start(self, hub: Hub) -> None:
        """Begin delivering to ``hub``; returns once connected, or after a short wait."""

    async def stop(self) -> None: ...

    async def subscribe(self, stream: str) -> None:
        """Receive ``stream``'s live events from now on; never raises (a reconnection resubscribes)."""

    async def unsubscribe(self, stream: str) -> None: ...

    async def epoch(self, stream: str) -> str | None:
        """The epoch of the stream's current history, None when it has none (raises BackendError)."""

    async def read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        """Every entry after ``since``, or None when history cannot prove it is complete (a
        different epoch, or trimmed past the cursor). Raises BackendError."""

    async def read_range(self, stream: str, after: EntryId | None) -> list[Entry]:
        """Entries of the current epoch strictly after ``after`` (all when None), oldest first.
        Raises BackendError."""

    async def publish_control(self, message: str) -> None:
        """Deliver ``message`` to every node's ``Hub.on_control``, this one included."""

    async def round_trip(self, timeout: float) -> float:
        """Milliseconds for a message to travel to this node's own reader and back."""


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

    def hold(self) -> None:
        """Keep live frames back until :meth:`release` (while its access is checked again)."""
        if self.held is None:
            self.held = []

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
        # Outbox ids seen lately: an event re-published after the backend lost it is dropped here.
        self.recent: deque[int] = deque(maxlen=RECENT_EVENT_IDS)
        self.recent_set: set[int] = set()


class Hub:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._channels: dict[str, _Channel] = {}
        # Called with every control message: "drop <credential>" closes that credential's sockets.
        self.control_handlers: list[Callable[[bytes], None]] = []
        self.reconnects = 0
        self._catch_up_task: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.backend.start(self)

    async def stop(self) -> None:
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._catch_up_task
        await self.backend.stop()

    @property
    def connected(self) -> bool:
        return self.backend.connected

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
            await self.backend.subscribe(stream)
        channel.subscribers.add(sub)
        metrics.SUBSCRIPTIONS.inc()
        recovered: bool | None = None
        replay: list[Held] = []
        try:
            try:
                await asyncio.wait_for(channel.ready.wait(), READY_TIMEOUT)
            except TimeoutError:
                log.warning("hub: the backend did not confirm %s within %.0fs", stream, READY_TIMEOUT)
            if since is not None:
                sub.epoch, sub.last = since.epoch, since.entry
                entries = await self.backend.read_after(stream, since)
                recovered = entries is not None
                for entry in entries or ():
                    cursor = cursor_text(since.epoch, entry.entry)
                    replay.append(
                        (since.epoch, entry.entry, Frame(protocol.event_frame(stream, cursor, entry.tail)))
                    )
            elif channel.epoch is not None:
                sub.epoch, sub.last = channel.epoch, channel.last
        except BackendError as exc:
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
        if stream is not None:
            await self.backend.unsubscribe(stream)

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
        await self.backend.publish_control(message)

    async def round_trip(self, timeout: float) -> float:
        """Readiness: proves the very backend connection that delivers events."""
        return await self.backend.round_trip(timeout)

    # called by the backend -------------------------------------------------------------------

    def streams(self) -> list[str]:
        """The streams this process has subscribers for."""
        return list(self._channels)

    def on_connect(self, reconnect: bool) -> None:
        if not reconnect:
            return
        self.reconnects += 1
        metrics.REDIS_RECONNECTS.inc()
        log.info("hub: backend reconnected; catching up %d streams", len(self._channels))
        # Hold live events from the first one on: the catch-up must start from the last entry
        # seen before the outage, not from whatever arrives first now.
        for channel in self._channels.values():
            channel.catching_up = True
        self._catch_up_task = asyncio.create_task(self._catch_up_all())

    def on_disconnect(self) -> None:
        for channel in self._channels.values():
            channel.ready.clear()

    def on_ready(self, stream: str) -> None:
        channel = self._channels.get(stream)
        if channel is not None:
            channel.ready.set()

    def on_control(self, data: bytes) -> None:
        for handler in self.control_handlers:
            handler(data)

    def on_event(self, stream: str, epoch: str, entry: EntryId, eid: int, tail: str) -> None:
        channel = self._channels.get(stream)
        if channel is not None:
            self._dispatch(channel, stream, epoch, entry, eid, tail)

    # ordering --------------------------------------------------------------------------------

    def _dispatch(
        self, channel: _Channel, stream: str, epoch: str, entry: EntryId, eid: int, tail: str
    ) -> None:
        if channel.catching_up:
            channel.held.append((epoch, entry, eid, tail))
            return
        if epoch == channel.epoch and channel.last is not None and entry <= channel.last:
            return
        if eid in channel.recent_set:
            # Same outbox event, new entry: re-published after the backend lost it. Skip, but advance.
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
        # The entry id's first half is the backend's clock when it stored the event:
        # publish-to-hand-off, per event.
        metrics.DELIVERY_LATENCY.observe(max(0.0, time.time() - entry[0] / 1000))

    async def _catch_up_all(self) -> None:
        for stream in list(self._channels):
            channel = self._channels.get(stream)
            if channel is not None:
                await self._catch_up(stream, channel)

    async def _catch_up(self, stream: str, channel: _Channel) -> None:
        """Replay what this stream got while the backend was away, holding live events meanwhile."""
        channel.catching_up = True
        epoch: str | None = None
        entries: list[Entry] = []
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.ready.wait(), SUBSCRIBE_TIMEOUT)
            epoch = await self.backend.epoch(stream)
            if epoch is not None:
                # A new epoch means the backend lost the old history: everything in it is new to us.
                after = channel.last if epoch == channel.epoch else None
                entries = await self.backend.read_range(stream, after)
        except BackendError as exc:
            log.warning("hub: catch-up of %s failed (%s)", stream, exc)
        finally:
            channel.catching_up = False
            held, channel.held = channel.held, []
        if epoch is not None:
            for entry in entries:
                self._dispatch(channel, stream, epoch, entry.entry, entry.event_id, entry.tail)
        for item in held:
            self._dispatch(channel, stream, *item)
