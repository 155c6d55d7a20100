"""Password hashing with Argon2id (argon2-cffi's recommended defaults), through one bounded hasher.

Each Argon2 hash or check takes 64 MiB and most of a core for a good fraction of a second, on
purpose. Run on the thread pool that database calls share, forty concurrent logins took 2.4 GB
and starved every other request. So every hash and check in the process goes through ``HASHER``:
at most ``workers`` run at once (one memory and CPU budget for the whole process, whoever asks),
on threads of their own at a lower CPU priority, and at most ``PENDING_PER_WORKER`` per worker
may wait in line for them; beyond that an async caller is refused at once (``HasherBusy``)
instead of queueing without end. Callers that ask for priority (a login from a known device) have
a few more places, at the front of the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from streamsrv import metrics

T = TypeVar("T")

log = logging.getLogger("streamsrv.passwords")

_argon2 = PasswordHasher()

# At most this many hashes per worker may wait for one; more answer "busy, retry shortly".
PENDING_PER_WORKER = 8
# And this many more for callers that ask for priority (logins from a known device): a flood
# that fills the line does not keep them out.
PRIORITY_PENDING_PER_WORKER = 4
# How long a refused caller is told to wait before trying again, in seconds.
BUSY_RETRY_AFTER = 5
# The hash threads' nice value. Argon2 runs four lanes on threads of its own, which inherit it:
# with it, a login storm takes the CPU only when requests leave it idle, instead of sharing it
# with them on equal terms and making every other page wait.
HASH_NICENESS = 10


class HasherBusy(Exception):
    """Too many password hashes are already waiting: refuse this one instead of queueing it."""

    retry_after = BUSY_RETRY_AFTER


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """Half the cores this process may run on (at least one, at most four): the other half keep
    serving everything else while a login storm is hashed."""
    return max(1, min(4, usable_cores() // 2))


class BoundedHasher:
    def __init__(self, workers: int = 0) -> None:
        self._cond = threading.Condition()
        self._workers = workers or default_workers()
        self._running = 0
        self._pending = 0
        self._peak = 0
        # Waiting hashes, priority ones first, then in order of arrival.
        self._line: queue.PriorityQueue[tuple[int, int, Callable[[], None]]] = queue.PriorityQueue()
        self._arrivals = itertools.count()
        self._threads: list[threading.Thread] = []
        metrics.PASSWORD_HASH_WORKERS.set(self._workers)

    @property
    def workers(self) -> int:
        return self._workers

    def full(self, priority: bool = False) -> bool:
        """Whether a hash asked for now would be refused: callers check this before doing the
        work that leads up to one (a database lookup), and still handle ``HasherBusy``."""
        per_worker = PENDING_PER_WORKER + (PRIORITY_PENDING_PER_WORKER if priority else 0)
        return self._pending >= per_worker * self._workers

    @property
    def pending(self) -> int:
        """Hashes admitted and not finished: running or waiting in line."""
        return self._pending

    @property
    def peak(self) -> int:
        """The most hashes that have run at once since the hasher was last configured."""
        return self._peak

    def configure(self, workers: int) -> None:
        """Set how many may hash at once (0: ``default_workers()``); takes effect for the next."""
        with self._cond:
            self._workers = workers or default_workers()
            self._peak = self._running
            self._cond.notify_all()
        metrics.PASSWORD_HASH_WORKERS.set(self._workers)
        metrics.PASSWORD_HASHES_RUNNING_MAX.set(self._peak)

    def _gated(self, op: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` once fewer than ``workers`` hashes are running in this process."""
        with self._cond:
            while self._running >= self._workers:
                self._cond.wait()
            self._running += 1
            metrics.PASSWORD_HASHES_RUNNING.set(self._running)
            if self._running > self._peak:
                self._peak = self._running
                metrics.PASSWORD_HASHES_RUNNING_MAX.set(self._peak)
        try:
            return fn()
        finally:
            with self._cond:
                self._running -= 1
                metrics.PASSWORD_HASHES_RUNNING.set(self._running)
                self._cond.notify()
            metrics.PASSWORD_HASHES.labels(op).inc()

    def _work(self) -> None:
        _yield_cpu()
        while True:
            _, _, job = self._line.get()
            try:
                job()
            except Exception:
                log.exception("password hash job failed")

    def _start_threads(self) -> None:
        with self._cond:
            # Never fewer threads than workers; after a lowered setting the gate holds the extra.
            while len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"password-hash-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    async def _submit(self, op: str, fn: Callable[[], T], priority: bool = False) -> T:
        with self._cond:
            if self.full(priority):
                metrics.PASSWORD_HASHES_REFUSED.inc()
                raise HasherBusy()
            self._pending += 1
            metrics.PASSWORD_HASHES_PENDING.set(self._pending)
        self._start_threads()
        future: Future[T] = Future()

        def job() -> None:
            # Out of the line before the caller hears back, so that what it sees next is current.
            # A caller that gave up (its request was cancelled) before its turn is skipped; a hash
            # that has started runs on when its client hangs up, so it keeps its place till done.
            if not future.set_running_or_notify_cancel():
                self._leave_line()
                return
            try:
                value = self._gated(op, fn)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
                self._leave_line()
                future.set_exception(exc)
            else:
                self._leave_line()
                future.set_result(value)

        self._line.put((0 if priority else 1, next(self._arrivals), job))
        return await asyncio.wrap_future(future)

    def _leave_line(self) -> None:
        with self._cond:
            self._pending -= 1
            metrics.PASSWORD_HASHES_PENDING.set(self._pending)

    # -- for request handlers: never on the event loop or the database threads ----------------

    async def hash(self, password: str) -> str:
        return await self._submit("hash", lambda: _argon2.hash(password))

    async def verify(self, password_hash: str | None, password: str, priority: bool = False) -> bool:
        return await self._submit("verify", lambda: _verify(password_hash, password), priority)

    # -- for commands and seeding, which run outside the event loop ----------------------------

    def hash_blocking(self, password: str) -> str:
        return self._gated("hash", lambda: _argon2.hash(password))


def _yield_cpu() -> None:
    """Lower this thread's CPU priority (Linux: the nice value is per thread)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _argon2.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


HASHER = BoundedHasher()

# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = HASHER.hash_blocking("streamsrv-timing-equaliser")


def hash_password(password: str) -> str:
    """A blocking hash for code outside the event loop (the CLI, seeding)."""
    return HASHER.hash_blocking(password)


def needs_rehash(password_hash: str) -> bool:
    return _argon2.check_needs_rehash(password_hash)
