"""The hub's Redis backend: one pub/sub reader per process, history in Redis Streams.

The reader subscribes one channel per stream with local subscribers, plus this node's control
channel (readiness round trips) and the broadcast channel every node hears (revocations). When
Redis goes away it reconnects with backoff and resubscribes; the hub then catches each stream up
from history. Stream history reads go through ``streamsrv.history.History``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from streamsrv.backoff import Backoff
from streamsrv.history import History, Keys
from streamsrv.hub import SUBSCRIBE_TIMEOUT, BackendError, Entry
from streamsrv.protocol import Cursor, EntryId

if TYPE_CHECKING:
    from streamsrv.hub import Hub

log = logging.getLogger("streamsrv.hub")


class RedisBackend:
    def __init__(self, redis: Redis, history: History, keys: Keys) -> None:
        self.redis = redis
        self.history = history
        self.keys = keys
        self.node = secrets.token_hex(6)
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False
        self._prefix = keys.channel_prefix
        self._control = keys.control(self.node).encode()
        self._broadcast = keys.control("all").encode()
        self._pings: dict[bytes, asyncio.Future[float]] = {}

    # lifecycle -------------------------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        self._task = asyncio.create_task(self._run(hub), name="hub-reader")
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

    # channels --------------------------------------------------------------------------------

    async def subscribe(self, stream: str) -> None:
        if self._pubsub is not None and self.connected:
            with contextlib.suppress(RedisError, OSError):
                # On failure the reader resubscribes every stream when it reconnects.
                await self._pubsub.subscribe(self.keys.channel(stream))

    async def unsubscribe(self, stream: str) -> None:
        if self._pubsub is not None and self.connected:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self.keys.channel(stream))

    async def publish_control(self, message: str) -> None:
        await self.redis.publish(self._broadcast, message.encode())

    # history ---------------------------------------------------------------------------------

    async def epoch(self, stream: str) -> str | None:
        try:
            return await self.history.epoch(stream)
        except (RedisError, OSError) as exc:
            raise BackendError(str(exc)) from exc

    async def read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        try:
            return await self.history.read_after(stream, since)
        except (RedisError, OSError) as exc:
            raise BackendError(str(exc)) from exc

    async def read_range(self, stream: str, after: EntryId | None) -> list[Entry]:
        try:
            return await self.history.read_range(stream, after)
        except (RedisError, OSError) as exc:
            raise BackendError(str(exc)) from exc

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

    async def _run(self, hub: Hub) -> None:
        backoff = Backoff(first=0.05, cap=2.0, jitter=0.2)
        first = True
        while not self._stopping:
            pubsub = self.redis.pubsub()
            self._pubsub = pubsub
            try:
                channels = [self.keys.channel(s) for s in hub.streams()]
                await pubsub.subscribe(self._control, self._broadcast, *channels)
                self._connected.set()
                hub.on_connect(reconnect=not first)
                first = False
                backoff.reset()
                await self._read(pubsub, hub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("hub: lost Redis (%s); reconnecting", exc)
                self._connected.clear()
                hub.on_disconnect()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(backoff.next())

    async def _read(self, pubsub: Any, hub: Hub) -> None:
        prefix = self._prefix
        plen = len(prefix)
        on_event = hub.on_event
        while True:
            msg = await pubsub.get_message(timeout=None)
            if msg is None:
                continue
            kind = msg["type"]
            channel_name: bytes = msg["channel"]
            if kind == "message":
                if channel_name.startswith(prefix):
                    # "<epoch> <ms>-<seq> <outbox id> <tail>", as PUBLISH_SCRIPT sends it.
                    epoch_b, entry_b, eid_b, tail_b = msg["data"].split(b" ", 3)
                    ms, _, seq = entry_b.partition(b"-")
                    on_event(
                        channel_name[plen:].decode(),
                        epoch_b.decode(),
                        (int(ms), int(seq)),
                        int(eid_b),
                        tail_b.decode(),
                    )
                elif channel_name == self._control:
                    fut = self._pings.get(msg["data"])
                    if fut is not None and not fut.done():
                        fut.set_result(time.perf_counter())
                elif channel_name == self._broadcast:
                    hub.on_control(msg["data"])
            elif kind == "subscribe" and channel_name.startswith(prefix):
                hub.on_ready(channel_name[plen:].decode())
