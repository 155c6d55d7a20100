"""An asyncio client for the stream protocol, for integrators and tests.

    async with StreamClient("ws://host:8000/ws", api_key="ssk_...", streams=["agent:42"]) as client:
        async for item in client:
            if isinstance(item, Event):
                print(item.type, item.data)
            elif isinstance(item, Resync):
                reload_snapshot(item.stream)

It reconnects with jittered exponential backoff and resumes every stream from the last cursor it
saw, so a dropped connection, a restarted node or a slow-consumer close loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from streamsrv.backoff import Backoff

# Close codes after which retrying with the same credentials cannot help.
FATAL_CLOSE_CODES = {4401, 4403}
# Refusals of one stream that hold until something changes on the server.
PERMANENT_SUB_ERRORS = {"forbidden", "too_many_subscriptions"}


@dataclass(frozen=True)
class Event:
    stream: str
    id: str
    type: str
    at: str
    data: dict[str, Any]
    event_id: int | None = None


@dataclass(frozen=True)
class Resync:
    """History could not cover the gap: reload this stream's snapshot over HTTP."""

    stream: str


@dataclass(frozen=True)
class Status:
    """Connection state changes: ``connected``, ``reconnecting`` (with the close code) or ``closed``."""

    state: str
    code: int | None = None


@dataclass(frozen=True)
class Failure:
    """An ``error`` frame: a refused subscription or a malformed request."""

    code: str
    message: str
    stream: str | None = None


Item = Event | Resync | Status | Failure


@dataclass
class StreamClient:
    """``url`` may be a list: each reconnect moves to the next one, as a load balancer would."""

    url: str | list[str]
    streams: Iterable[str] = ()
    api_key: str | None = None
    token: str | None = None
    cookie: str | None = None
    origin: str | None = None
    cursors: dict[str, str] = field(default_factory=dict)
    min_backoff: float = 0.05
    max_backoff: float = 5.0
    reconnect: bool = True
    _queue: asyncio.Queue[Item] = field(default_factory=asyncio.Queue, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _ws: ClientConnection | None = field(default=None, init=False)
    _wanted: list[str] = field(default_factory=list, init=False)
    subscribed: set[str] = field(default_factory=set, init=False)
    connects: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)
    close_codes: list[int | None] = field(default_factory=list, init=False)

    async def __aenter__(self) -> StreamClient:
        self._wanted = list(dict.fromkeys(self.streams))
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Item]:
        while True:
            yield await self._queue.get()

    async def next(self, timeout: float) -> Item:
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def next_event(self, timeout: float) -> Event:
        """The next event, skipping status items; raises on Failure or timeout."""
        async with asyncio.timeout(timeout):
            while True:
                item = await self._queue.get()
                if isinstance(item, Event):
                    return item
                if isinstance(item, Failure):
                    raise RuntimeError(f"stream error {item.code}: {item.message}")

    async def wait_subscribed(self, timeout: float) -> None:
        """Consume items until every requested stream is confirmed (refusals raise)."""
        async with asyncio.timeout(timeout):
            while not set(self._wanted) <= self.subscribed:
                item = await self._queue.get()
                if isinstance(item, Failure):
                    raise RuntimeError(f"stream error {item.code}: {item.message}")

    async def subscribe(self, stream: str) -> None:
        if stream not in self._wanted:
            self._wanted.append(stream)
            if self._ws is not None:
                await self._send_sub(self._ws, stream)

    async def drop(self) -> None:
        """Close the socket abruptly (tests use this to simulate a network failure)."""
        if self._ws is not None:
            self._ws.transport.abort()

    def _connect_url(self) -> str:
        urls = [self.url] if isinstance(self.url, str) else self.url
        url = urls[(self.connects + self.failures) % len(urls)]
        if self.token:
            sep = "&" if "?" in url else "?"
            return f"{url}{sep}{urlencode({'token': self.token})}"
        return url

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    async def _send_sub(self, ws: ClientConnection, stream: str) -> None:
        frame: dict[str, Any] = {"op": "sub", "stream": stream}
        if stream in self.cursors:
            frame["since"] = self.cursors[stream]
        await ws.send(orjson.dumps(frame).decode())

    async def _run(self) -> None:
        backoff = Backoff(first=self.min_backoff, cap=self.max_backoff, jitter=0.5)
        while True:
            code: int | None = None
            try:
                async with connect(
                    self._connect_url(),
                    additional_headers=self._headers(),
                    origin=self.origin,  # type: ignore[arg-type]
                    max_size=2**22,
                    compression=None,
                    open_timeout=10,
                ) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.subscribed.clear()
                    await self._queue.put(Status("connected"))
                    for stream in self._wanted:
                        await self._send_sub(ws, stream)
                    async for raw in ws:
                        self._on_frame(raw)
                        backoff.reset()
                code = ws.close_code
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
            except InvalidStatus as exc:
                code = exc.response.status_code
            except (OSError, InvalidHandshake, TimeoutError):
                code = None
                self.failures += 1
            finally:
                self._ws = None
            self.close_codes.append(code)
            if not self.reconnect or code in FATAL_CLOSE_CODES:
                await self._queue.put(Status("closed", code))
                return
            await self._queue.put(Status("reconnecting", code))
            await asyncio.sleep(backoff.next())

    def _on_frame(self, raw: str | bytes) -> None:
        msg = orjson.loads(raw)
        op = msg.get("op")
        if op == "event":
            self.cursors[msg["stream"]] = msg["id"]
            self._queue.put_nowait(
                Event(
                    stream=msg["stream"],
                    id=msg["id"],
                    type=msg["type"],
                    at=msg["at"],
                    data=msg["data"],
                    event_id=msg.get("eid"),
                )
            )
        elif op == "subscribed":
            self.subscribed.add(msg["stream"])
            self._queue.put_nowait(Status("subscribed:" + msg["stream"]))
        elif op == "resync":
            self.cursors.pop(msg["stream"], None)
            self._queue.put_nowait(Resync(msg["stream"]))
        elif op == "error":
            stream = msg.get("stream")
            if stream is not None and msg["code"] in PERMANENT_SUB_ERRORS:
                # Refused now, or access ended later: asking again on reconnect will not help.
                self.subscribed.discard(stream)
                if stream in self._wanted:
                    self._wanted.remove(stream)
            self._queue.put_nowait(
                Failure(code=msg["code"], message=msg.get("message", ""), stream=msg.get("stream"))
            )
