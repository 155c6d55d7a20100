"""Admission to the ingest write path: a bounded number of requests in flight, per process.

Past its capacity the server answers at once (503 with ``Retry-After``) instead of queueing
requests for seconds behind the database; ``/readyz`` reports the saturation so a load balancer
steers new work to another node. The gate is plain bookkeeping with no I/O; the adapter that
answers refused requests is :class:`streamsrv.middleware.IngestGate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Gate", "Refused"]


class Refused(Exception):
    """The gate is full: the caller answers 503 and does not do the work."""


class Gate:
    """At most ``limit`` holders at once; ``limit`` 0 means no limit (the count is still kept).

    ``try_enter`` never waits: it admits or refuses. Every admitted holder must ``leave`` once;
    :meth:`admit` pairs them in a ``finally``, so an exception or a cancellation releases too.
    """

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must be 0 (no limit) or more")
        self.limit = limit
        self.in_flight = 0
        self.refused = 0

    @property
    def saturated(self) -> bool:
        """True while a new request would be refused."""
        return self.limit > 0 and self.in_flight >= self.limit

    def try_enter(self) -> bool:
        if self.saturated:
            self.refused += 1
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        if self.in_flight <= 0:
            raise RuntimeError("leave() without a matching try_enter()")
        self.in_flight -= 1

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a place for the duration of the block, or raise :class:`Refused` at once."""
        if not self.try_enter():
            raise Refused
        try:
            yield
        finally:
            self.leave()
