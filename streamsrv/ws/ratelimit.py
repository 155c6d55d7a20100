"""The token bucket for client frames, one per connection.

A burst of 40, then 20 per second: far beyond what a client needs (its ``sub`` frames and a
``ping`` every 25 s), far below what would let one socket keep a worker busy.
"""

from __future__ import annotations

import time

RATE_BURST = 40.0
RATE_PER_SECOND = 20.0
# Dropped frames after which the connection is closed with 1008.
MAX_DROPPED = 200


class RateLimiter:
    __slots__ = ("burst", "dropped", "rate", "stamp", "tokens")

    def __init__(self, burst: float = RATE_BURST, rate: float = RATE_PER_SECOND) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.stamp = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False
