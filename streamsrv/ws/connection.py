"""``Connection``: the sink the hub writes a websocket's frames into, bounded in bytes.

A client that lets its buffer overflow is closed with ``CLOSE_SLOW_CONSUMER`` and resumes
elsewhere with its cursors, so it never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from starlette.websockets import WebSocket

from streamsrv import metrics, protocol
from streamsrv.protocol import Frame
from streamsrv.ws import fastpath
from streamsrv.ws.fastpath import RawSocket

# How long a slow consumer's close frame may wait behind its full buffer before the socket is cut.
OVERFLOW_CLOSE_GRACE = 30.0

# A module-level name of its own, not the imported one: CPython 3.11 does not compile
# ``imported_name.method()`` as a method call, so each call would allocate a bound method, and
# this runs once per frame per subscriber.
_delivered = fastpath.delivered


class Connection:
    """With a ``RawSocket`` (the fast path), frames go straight to the transport and its write
    buffer is the bound: no queue and no task per connection, which is what keeps idle sockets
    small and fan-out cheap. Without one, a deque drained by one writer task through ASGI sends
    does the same job, on any ASGI server.
    """

    __slots__ = (
        "_closer",
        "_wake",
        "_writer",
        "closed",
        "limit",
        "overflowed",
        "queue",
        "queued",
        "raw",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, limit: int, raw: RawSocket | None) -> None:
        self.websocket = websocket
        self.limit = limit
        self.closed = False
        self.overflowed = False
        self._closer: asyncio.Task[None] | None = None
        self.raw = raw
        # The ASGI path's queue, event and task exist only without a raw socket: an empty deque
        # alone is most of a kilobyte, on every idle connection.
        self.queue: deque[Frame] | None = None
        self.queued = 0
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        if raw is None:
            self.queue = deque()
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._drain())

    def send_frame(self, frame: Frame | str) -> None:
        if self.closed:
            return
        if isinstance(frame, str):
            frame = Frame(frame)
        raw = self.raw
        if raw is not None:
            if not raw.open():
                return  # the receive loop sees the disconnect and cleans up
            transport = raw.transport
            transport.write(frame.wire)
            _delivered.add()
            if transport.get_write_buffer_size() > self.limit:
                self._overflow()
            return
        assert self.queue is not None and self._wake is not None
        self.queue.append(frame)
        self.queued += len(frame)
        if self.queued > self.limit:
            self._overflow()
            return
        self._wake.set()

    def _overflow(self) -> None:
        self.closed = True
        self.overflowed = True
        if self.queue is not None:
            self.queue.clear()
        self.queued = 0
        metrics.SLOW_DISCONNECTS.inc()
        self._cancel_writer()
        self._closer = asyncio.create_task(
            self._close(protocol.CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and resume")
        )
        if self.raw is not None:
            # The close frame queues behind what the client has not read; one that never reads
            # again must not hold the socket forever.
            asyncio.get_running_loop().call_later(OVERFLOW_CLOSE_GRACE, self.raw.transport.abort)

    def _cancel_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    async def _drain(self) -> None:
        ws = self.websocket
        assert self._wake is not None and self.queue is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                frame = self.queue.popleft()
                self.queued -= len(frame)
                await ws.send_text(frame.text)
                metrics.FRAMES_DELIVERED.inc()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def close_soon(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_writer()
        self._closer = asyncio.create_task(self._close(code, reason))

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_writer()
        await self._close(code, reason)

    async def stop(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
