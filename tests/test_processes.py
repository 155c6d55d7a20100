"""Everything the commands start, they stop: ``streamsrv serve`` and ``streamsrv demo`` as real
processes, stopped with SIGTERM or SIGINT, leave no child behind (the embedded redis-server, the
uvicorn workers); a killed parent takes its redis-server with it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import psutil
import pytest

from tests.process_support import (
    START_TIMEOUT,
    alive,
    clean_env,
    describe,
    running,
    streamsrv_command,
)
from tests.support import TIMEOUT, wait_until

pytestmark = pytest.mark.slow

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT]


def is_redis(proc: psutil.Process) -> bool:
    try:
        return "redis-server" in proc.name() or "redis-server" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def redis_children(children: list[psutil.Process]) -> list[psutil.Process]:
    return [c for c in children if is_redis(c)]


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_serve_stops_its_embedded_redis(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "data"
    with running([*streamsrv_command(), "serve"], tmp_path, clean_env(data)) as server:
        server.wait_healthy()
        children = server.descendants()
        assert redis_children(children), f"no embedded redis-server among {describe(children)}"
        code = server.stop(sig)
        output = server.output()
        assert code == 0, output
        assert "Traceback" not in output, output
        assert "Application shutdown complete" in output, output
        left = alive(children)
        assert not left, f"left running after {sig.name}: {describe(left)}\n{output}"
    # The embedded Redis worked in the data directory.
    assert (data / "redis").is_dir()


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_serve_with_workers_stops_every_child(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "data"
    with running([*streamsrv_command(), "serve", "--workers", "2"], tmp_path, clean_env(data)) as server:
        server.wait_healthy()
        # Both workers up (and the redis-server): python children besides redis.
        wait_until(
            lambda: len([c for c in server.descendants() if not is_redis(c)]) >= 2,
            timeout=START_TIMEOUT,
            interval=0.1,
        )
        children = server.descendants()
        assert redis_children(children)
        code = server.stop(sig)
        output = server.output()
        assert code == 0, output
        assert "Traceback" not in output, output
        left = alive(children)
        assert not left, f"left running after {sig.name}: {describe(left)}\n{output}"


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_demo_stops_its_embedded_redis(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "data"
    with running([*streamsrv_command(), "demo", "--rate", "5"], tmp_path, clean_env(data)) as demo:
        # /readyz answers once Redis and the database are up; the banner follows.
        demo.wait_healthy(path="/readyz")
        wait_until(lambda: "Press Ctrl-C to stop" in demo.output(), timeout=START_TIMEOUT, interval=0.1)
        login = httpx.get(demo.url + "/login", timeout=TIMEOUT)
        assert login.status_code == 200
        children = demo.descendants()
        assert redis_children(children), f"no embedded redis-server among {describe(children)}"
        code = demo.stop(sig)
        output = demo.output()
        assert code == 0, output
        assert "Stopped cleanly." in output, output
        assert "Traceback" not in output, output
        left = alive(children)
        assert not left, f"left running after {sig.name}: {describe(left)}\n{output}"
    assert (data / "streamsrv.sqlite3").is_file()


PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from streamsrv.embedded_redis import EmbeddedRedis

    redis = EmbeddedRedis(workdir=Path(sys.argv[1])).start()
    print(redis.proc.pid, flush=True)
    time.sleep(600)
    """
)


def test_embedded_redis_dies_with_a_killed_parent(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "redis")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), line
        redis = psutil.Process(int(line))
        assert redis.is_running()
        # No cleanup can run: only the kernel can stop the child now.
        parent.kill()
        parent.wait(timeout=TIMEOUT)
        assert not alive([redis]), "redis-server outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=TIMEOUT)
        if parent.stdout is not None:
            parent.stdout.close()
