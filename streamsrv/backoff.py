"""Jittered exponential backoff for reconnect loops.

Jitter matters more than the exponent: after a node restart or a Redis blip thousands of
reconnect loops fail at the same instant, and identical delays would bring them back in step.
"""

from __future__ import annotations

import random


class Backoff:
    """``next()`` is the delay to wait now; each call doubles the base up to ``cap``.

    The delay is the base scaled by a random factor in ``[1 - jitter, 1 + jitter)``; ``reset()``
    after a success starts over from ``first``.
    """

    __slots__ = ("_base", "cap", "first", "jitter")

    def __init__(self, first: float, cap: float, jitter: float) -> None:
        self.first = first
        self.cap = cap
        self.jitter = jitter
        self._base = first

    def next(self) -> float:
        delay = self._base * (1.0 - self.jitter + 2.0 * self.jitter * random.random())
        self._base = min(self._base * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._base = self.first
