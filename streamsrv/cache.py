"""A small expiring dict: entries live ``ttl`` seconds; a full cache starts over empty.

Used where a few seconds of staleness saves a database round trip per request or per reconnect
(API-key identities, stream owners, reaches). Starting over instead of evicting one entry keeps
``put`` O(1) with no bookkeeping per entry: a cache that fills up within one TTL is already
serving a storm, and the next seconds refill it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class TTLCache(Generic[K, V]):
    __slots__ = ("_entries", "size", "ttl")

    def __init__(self, ttl: float = 5.0, size: int = 50_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[K, tuple[float, V]] = {}

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        hit = self._entries.get(key)
        if hit is None:
            return default
        if hit[0] < time.monotonic():
            self._entries.pop(key, None)
            return default
        return hit[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def discard_where(self, predicate: Callable[[V], bool]) -> None:
        """Drop every entry whose value matches (a revocation clearing what it took away)."""
        for key, (_, value) in list(self._entries.items()):
            if predicate(value):
                self._entries.pop(key, None)

    def discard_keys(self, predicate: Callable[[K], bool]) -> None:
        """Drop every entry whose key matches (one organization's entries, after it changed)."""
        for key in [key for key in self._entries if predicate(key)]:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
