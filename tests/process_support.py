"""Helpers for tests that run ``streamsrv`` as a real process and check what it leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from streamsrv.embedded_redis import free_port
from tests.support import TIMEOUT

# A fresh interpreter pays for imports, migrations and (demo) seeding before it answers.
START_TIMEOUT = TIMEOUT * 24


def streamsrv_command(bin_dir: Path | None = None) -> list[str]:
    """The installed ``streamsrv`` script of a virtualenv (this one by default)."""
    script = (bin_dir or Path(sys.executable).parent) / "streamsrv"
    return [str(script)] if script.exists() else [sys.executable, "-m", "streamsrv"]


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This environment without any STREAMSRV_* setting, with its own data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSRV_")}
    env["STREAMSRV_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_healthy(self, timeout: float = START_TIMEOUT, path: str = "/healthz") -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode} before answering:\n{self.output()}")
            try:
                answer = httpx.get(self.url + path, timeout=TIMEOUT)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise AssertionError(f"{path} did not answer 200 within {timeout}s ({last}):\n{self.output()}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self, sig: signal.Signals, timeout: float = TIMEOUT * 6) -> int:
        """SIGINT goes to the whole process group, as Ctrl-C in a terminal does; others to the
        process only, as from ``kill`` or a service manager."""
        if sig == signal.SIGINT:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout}s after {sig.name}:\n{self.output()}") from None


@contextmanager
def running(
    args: Sequence[str], cwd: Path, env: dict[str, str], port: int | None = None
) -> Iterator[Running]:
    """Starts ``args`` (``--port`` is appended); kills whatever is left of it on the way out."""
    port = port or free_port()
    log = cwd / f"streamsrv-{port}.log"
    with log.open("wb") as out:
        # A process group of its own, so a Ctrl-C-like SIGINT reaches it and its workers only.
        proc = subprocess.Popen(
            [*args, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Running(proc, port, log)
    seen: list[psutil.Process] = []
    try:
        yield run
    finally:
        if proc.poll() is None:
            try:
                seen = run.descendants()
            except psutil.NoSuchProcess:
                seen = []
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        for child in seen:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


def alive(processes: Sequence[psutil.Process], timeout: float = TIMEOUT * 2) -> list[psutil.Process]:
    """Those of ``processes`` still running after ``timeout`` (zombies count as gone)."""

    def running_now() -> list[psutil.Process]:
        left = []
        for proc in processes:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(proc)
            except psutil.NoSuchProcess:
                pass
        return left

    deadline = time.monotonic() + timeout
    while True:
        left = running_now()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def describe(processes: Sequence[psutil.Process]) -> str:
    names = []
    for proc in processes:
        try:
            names.append(f"{proc.pid} {' '.join(proc.cmdline())}")
        except psutil.Error:
            names.append(str(proc.pid))
    return "; ".join(names)
