"""Stopping the commands in order on SIGINT and SIGTERM, so whatever they started is stopped too.

A signal's default action (SIGTERM) ends the process on the spot and skips every ``finally``;
uvicorn even re-raises the signal it caught once its own shutdown is done. The commands
therefore hold SIGINT and SIGTERM themselves:

- inside :func:`stop_on_signals` a signal raises :class:`StopRequested` in the main thread,
  wherever the command is (migrating, starting Redis, or at the end of uvicorn's run when it
  re-raises the signal), so the command's ``finally`` runs;
- inside :func:`signals_deferred`, the cleanup, a signal does nothing: a second Ctrl-C must not
  cut the cleanup short.

Use them nested, the deferral outermost::

    with signals_deferred():
        try:
            with stop_on_signals():
                ...start things, serve...
        except StopRequested:
            ...
        finally:
            ...stop things...
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, so ``except Exception`` blocks let it pass."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


@contextlib.contextmanager
def _handlers(handler: Handler) -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signum)


def stop_on_signals() -> contextlib.AbstractContextManager[None]:
    """SIGINT and SIGTERM raise :class:`StopRequested` while the block runs (main thread only)."""
    return _handlers(_raise_stop)


def _ignore(signum: int, frame: FrameType | None) -> None:
    # A Python-level no-op rather than SIG_IGN, which a child started meanwhile would inherit.
    return None


def signals_deferred() -> contextlib.AbstractContextManager[None]:
    """SIGINT and SIGTERM do nothing while the block runs (the stop is already under way)."""
    return _handlers(_ignore)
