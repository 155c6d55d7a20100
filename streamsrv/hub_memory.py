"""An in-process hub backend: streams, their history and control messages in this process's
memory, with no network and no other process involved.

It exists for unit tests of the hub's ordering core, which drive it by hand: ``publish`` appends
an event and delivers it live, ``disconnect``/``reconnect`` cut and restore the connection,
``lose_history`` and ``trim`` take history away. Every call takes effect at once; nothing here
waits or sleeps.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from streamsrv.hub import BackendError, Entry
from streamsrv.protocol import Cursor, EntryId, cursor_text

if TYPE_CHECKING:
    from streamsrv.hub import Hub


class MemoryBackend:
    def __init__(self) -> None:
        self._hub: Hub | None = None
        self._connected = False
        self.subscribed: set[str] = set()
        self.history: dict[str, list[Entry]] = {}
        self.epochs: dict[str, str] = {}
        self._epochs_made = 0
        self._last: EntryId = (0, 0)

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the backend is not started")
        return self._hub

    # Backend ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self._connect(reconnect=False)

    async def stop(self) -> None:
        self._connected = False
        self.subscribed.clear()

    async def subscribe(self, stream: str) -> None:
        if self._connected:
            self.subscribed.add(stream)
            self.hub.on_ready(stream)

    async def unsubscribe(self, stream: str) -> None:
        self.subscribed.discard(stream)

    async def epoch(self, stream: str) -> str | None:
        self._check()
        return self.epochs.get(stream)

    async def read_after(self, stream: str, since: Cursor) -> list[Entry] | None:
        self._check()
        if self.epochs.get(stream) != since.epoch:
            return None
        entries = self.history.get(stream, [])
        if entries and entries[0].entry > since.entry:
            return None  # trimmed past the cursor: what lay between may be gone
        return [e for e in entries if e.entry > since.entry]

    async def read_range(self, stream: str, after: EntryId | None) -> list[Entry]:
        self._check()
        entries = self.history.get(stream, [])
        return [e for e in entries if after is None or e.entry > after]

    async def publish_control(self, message: str) -> None:
        self._check()
        self.hub.on_control(message.encode())

    async def round_trip(self, timeout: float) -> float:
        self._check()
        return 0.0

    # driving it ------------------------------------------------------------------------------

    def publish(self, stream: str, event_id: int, tail: str) -> str:
        """Append an event to ``stream`` (a new epoch if it has no history) and deliver it live
        when connected and subscribed. Returns the event's cursor."""
        epoch = self.epochs.get(stream)
        if epoch is None or not self.history.get(stream):
            self._epochs_made += 1
            epoch = self.epochs[stream] = f"m{self._epochs_made:x}"
            self.history[stream] = []
        entry = self._next_entry()
        self.history[stream].append(Entry(entry, event_id, tail))
        if self._connected and stream in self.subscribed:
            self.hub.on_event(stream, epoch, entry, event_id, tail)
        return cursor_text(epoch, entry)

    def disconnect(self) -> None:
        """The connection drops: live events are no longer delivered, history keeps them."""
        self._connected = False
        self.subscribed.clear()
        self.hub.on_disconnect()

    def reconnect(self) -> None:
        self._connect(reconnect=True)

    def lose_history(self, stream: str) -> None:
        """History and epoch are gone (a restart without persistence): the next event starts a
        new epoch."""
        self.history.pop(stream, None)
        self.epochs.pop(stream, None)

    def trim(self, stream: str, keep: int) -> None:
        """Keep only the latest ``keep`` entries of ``stream``."""
        entries = self.history.get(stream, [])
        del entries[: max(0, len(entries) - keep)]

    # internals -------------------------------------------------------------------------------

    def _connect(self, reconnect: bool) -> None:
        hub = self.hub
        self._connected = True
        streams = hub.streams()
        self.subscribed.update(streams)
        hub.on_connect(reconnect=reconnect)
        for stream in streams:
            hub.on_ready(stream)

    def _check(self) -> None:
        if not self._connected:
            raise BackendError("the in-memory backend is disconnected")

    def _next_entry(self) -> EntryId:
        # Wall-clock milliseconds, so that the hub's delivery latency metric stays meaningful;
        # a sequence number keeps ids increasing within one millisecond.
        ms = int(time.time() * 1000)
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last


if TYPE_CHECKING:
    from streamsrv.hub import Backend

    def _is_a_backend(backend: MemoryBackend) -> Backend:
        return backend
