"""The benchmark: streamsrv against a python-socketio peer, on this machine, in one run.

    .venv/bin/python scripts/bench.py [--quick] [--out bench-results.json] [--no-peer] [--no-pg]

Starts everything it measures and removes it afterwards, also on Ctrl-C or failure: a private
redis-server, one ``streamsrv serve`` process on SQLite (and one on a fresh PostgreSQL database on
127.0.0.1:5432 for the ingest workload), the peer (``scripts/peer_socketio.py``) and the load
clients (``scripts/bench_clients.py``, picows, separate processes). Workloads (see
docs/benchmarks.md): idle, broadcast, personal, ingest (each backend's run followed by the same
load on the lean ingest reference, ``scripts/lean_ingest.py``, the floor it is compared with),
reconnect storm, and outbound (ingest
without and with three webhook endpoints, ``scripts/webhook_sink.py`` receiving; only with
``--only outbound``). Prints a table and
writes every figure, with CPU used by the server and by the clients, to a JSON file.
Only 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamsrv import migrate  # noqa: E402
from streamsrv.db import Database  # noqa: E402
from streamsrv.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from streamsrv.models import Account, Agent, Team  # noqa: E402
from streamsrv.tenancy import create_org  # noqa: E402

PY = sys.executable
CLIENTS = str(ROOT / "scripts" / "bench_clients.py")
PEER = str(ROOT / "scripts" / "peer_socketio.py")
LEAN = str(ROOT / "scripts" / "lean_ingest.py")
PG_ADMIN_URL = os.environ.get("STREAMSRV_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
P99_LIMIT_MS = 100.0
BUCKET_MS = 0.1


@dataclass(frozen=True)
class Sizes:
    idle: int
    broadcast_subs: int
    broadcast_ladder: tuple[int, ...]  # frames per second offered, in increasing order
    step_seconds: float
    personal_agents: int
    personal_rate: float
    personal_seconds: float
    ingest_count: int
    storm_clients: int
    storm_streams: int
    storm_events: int  # published before the drop, while down, and during the storm (each)
    client_procs: int


FULL = Sizes(
    idle=10_000,
    broadcast_subs=5_000,
    broadcast_ladder=(2_500, 5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000),
    step_seconds=5.0,
    personal_agents=1_000,
    personal_rate=200.0,
    personal_seconds=10.0,
    ingest_count=5_000,
    storm_clients=5_000,
    storm_streams=50,
    storm_events=100,
    client_procs=2,
)
QUICK = Sizes(
    idle=300,
    broadcast_subs=200,
    broadcast_ladder=(1_000, 4_000),
    step_seconds=1.0,
    personal_agents=50,
    personal_rate=100.0,
    personal_seconds=1.0,
    ingest_count=150,
    storm_clients=200,
    storm_streams=10,
    storm_events=20,
    client_procs=2,
)

# Everything started by this run, so that cleanup can find it whatever went wrong.
_PIDS: list[int] = []
_CLEANUP: list[Any] = []
PROFILE_DIR: list[str] = []  # set by --profile


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# processes -----------------------------------------------------------------------------------------


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it


class Worker:
    """One load-client process (scripts/bench_clients.py), driven over its stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.cpu = 0.0  # CPU seconds the worker had used at its last reply

    @classmethod
    async def start(cls) -> Worker:
        proc = await asyncio.create_subprocess_exec(
            PY, CLIENTS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=64 * 1024 * 1024
        )
        _PIDS.append(proc.pid)
        return cls(proc)

    async def call(self, cmd: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(orjson.dumps(cmd) + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"load client exited during {cmd['cmd']}")
        reply: dict[str, Any] = orjson.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"load client failed {cmd['cmd']}: {reply.get('error')}")
        self.cpu = float(reply["cpu"])
        return reply

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.call({"cmd": "close"}, timeout=30)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()


class Clients:
    """The subscriber processes of one workload plus one publisher process."""

    def __init__(self, subs: list[Worker], pub: Worker) -> None:
        self.subs = subs
        self.pub = pub

    @classmethod
    async def start(cls, n: int) -> Clients:
        workers = await asyncio.gather(*(Worker.start() for _ in range(n + 1)))
        return cls(list(workers[:n]), workers[n])

    def cpu(self) -> float:
        return sum(w.cpu for w in self.subs) + self.pub.cpu

    async def all(self, cmd: dict[str, Any], timeout: float = 300) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.call(cmd, timeout) for w in self.subs)))

    async def connect(
        self, target: Target, streams: list[str | None], timeout: float = 120
    ) -> dict[str, Any]:
        n = len(self.subs)
        parts = [streams[i::n] for i in range(n)]
        replies = await asyncio.gather(
            *(
                w.call(
                    {
                        "cmd": "connect",
                        "proto": target.proto,
                        "url": target.ws_url,
                        "headers": target.ws_headers,
                        "streams": part,
                        "timeout": 60,
                    },
                    timeout,
                )
                for w, part in zip(self.subs, parts, strict=True)
            )
        )
        failed = sum(r["failed"] for r in replies)
        if failed:
            raise RuntimeError(f"{failed} of {len(streams)} connections to {target.name} failed")
        return {"seconds": max(r["seconds"] for r in replies)}

    async def close(self) -> None:
        await asyncio.gather(*(w.close() for w in [*self.subs, self.pub]))


@dataclass
class Target:
    """A server under test and what the clients need to talk to it."""

    name: str
    proto: str  # streamsrv | socketio
    port: int
    proc: subprocess.Popen[bytes]
    api_key: str = ""
    account_id: int = 0
    agent_ids: list[int] = field(default_factory=list)
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    seq: int = 0

    @property
    def ws_url(self) -> str:
        base = f"ws://127.0.0.1:{self.port}"
        return base + "/ws" if self.proto == "streamsrv" else base

    @property
    def ws_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def broadcast_stream(self) -> str:
        return f"account:{self.account_id}"

    def agent_stream(self, i: int) -> str:
        return f"agent:{self.agent_ids[i]}"

    def publish_targets(self, streams: list[str]) -> list[Any]:
        """What the publisher posts so that an event lands on each of ``streams``, in turn."""
        if self.proto == "socketio":
            return streams
        if len(streams) == 1 and not streams[0].startswith("agent:"):
            # One account-wide stream: the responses come from the whole floor, agent after
            # agent, as in a contact center (not all from one agent).
            return [[self.account_id, agent] for agent in self.agent_ids]
        out: list[Any] = []
        for s in streams:
            kind, _, ident = s.partition(":")
            agent = int(ident) if kind == "agent" else self.agent_ids[len(out) % len(self.agent_ids)]
            out.append([self.account_id, agent])
        return out

    def cpu_seconds(self) -> float:
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    async def publish(
        self, pub: Worker, streams: list[str], count: int, rate: float, concurrency: int, timeout: float
    ) -> tuple[list[int], dict[str, Any]]:
        """Publish ``count`` events round-robin over ``streams``; returns their sequence numbers."""
        seq0 = self.seq
        self.seq += count
        path = "/api/v1/feedback" if self.proto == "streamsrv" else "/emit"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        reply = await pub.call(
            {
                "cmd": "publish",
                "host": "127.0.0.1",
                "port": self.port,
                "path": path,
                "headers": headers,
                "kind": self.proto,
                "targets": self.publish_targets(streams),
                "count": count,
                "rate": rate,
                "concurrency": concurrency,
                "seq0": seq0,
                "run": self.run,
                "timeout": timeout,
            },
            timeout + 60,
        )
        failed = set(reply["failed"])
        return [s for s in range(seq0, seq0 + count) if s not in failed], reply


def expect_map(streams: list[str], seqs: list[int], seq0: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s in seqs:
        out.setdefault(streams[(s - seq0) % len(streams)], []).append(s)
    return out


def merge(replies: list[dict[str, Any]]) -> dict[str, Any]:
    hist: Counter[int] = Counter()
    for r in replies:
        hist.update({int(k): v for k, v in r["hist"].items()})
    total = sum(hist.values())

    def pct(p: float) -> float:
        if not total:
            return 0.0
        rank = p / 100 * total
        acc = 0
        for bucket in sorted(hist):
            acc += hist[bucket]
            if acc >= rank:
                return round((bucket + 1) * BUCKET_MS, 1)
        return 0.0

    firsts = [r["first_ns"] for r in replies if r["first_ns"]]
    return {
        "events": sum(r["events"] for r in replies),
        "frames": sum(r["frames"] for r in replies),
        "missing": sum(r["missing"] for r in replies),
        "duplicates": sum(r["duplicates"] for r in replies),
        "resyncs": sum(r["resyncs"] for r in replies),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(max((r["max_us"] for r in replies), default=0) / 1000, 1),
        "first_ns": min(firsts, default=0),
        "last_ns": max((r["last_ns"] for r in replies), default=0),
    }


# servers -------------------------------------------------------------------------------------------


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} while starting ({url})")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url, timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become healthy within {timeout}s")


def seed(database_url: str, agents: int) -> tuple[str, int, list[int]]:
    """A tenant with one account, a team per 100 agents and ``agents`` agents; returns its key."""
    db = Database(database_url)
    try:
        migrate.upgrade(db.engine)
        with db.session() as s:
            org = create_org(
                s,
                f"Bench {secrets.token_hex(3)}",
                f"bench-{secrets.token_hex(4)}@example.com",
                "correct horse battery",
            )
            acc = Account(org_id=org.org_id, name="Bench account")
            s.add(acc)
            s.flush()
            assert acc.id is not None
            teams: list[Team] = []
            for t in range((agents + 99) // 100):
                team = Team(org_id=org.org_id, account_id=acc.id, name=f"Bench team {t}")
                s.add(team)
                teams.append(team)
            s.flush()
            rows = []
            for i in range(agents):
                team_id = teams[i // 100].id
                assert team_id is not None
                rows.append(Agent(org_id=org.org_id, account_id=acc.id, team_id=team_id, name=f"Agent {i}"))
            s.add_all(rows)
            s.flush()
            return org.api_key, acc.id, [a.id for a in rows if a.id is not None]
    finally:
        db.dispose()


async def start_streamsrv(
    name: str, database_url: str, redis_url: str, tmp: Path, agents: int, **env_extra: str
) -> Target:
    api_key, account_id, agent_ids = seed(database_url, agents)
    port = free_port()
    env = {
        **os.environ,
        "STREAMSRV_DATABASE_URL": database_url,
        "STREAMSRV_REDIS_URL": redis_url,
        "STREAMSRV_SECRET_KEY": secrets.token_urlsafe(32),
        "STREAMSRV_DATA_DIR": str(tmp),
        "STREAMSRV_REDIS_PREFIX": f"bench{secrets.token_hex(3)}",
        "STREAMSRV_LOG_LEVEL": "warning",
        **env_extra,
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, started once, not awaited
        [PY, "-m", "streamsrv", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
        env=env,
        cwd=ROOT,
    )
    _PIDS.append(proc.pid)
    target = Target(name, "streamsrv", port, proc, api_key, account_id, agent_ids)
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    return target


async def start_peer(redis_url: str, agents: int) -> Target:
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, started once, not awaited
        [
            PY,
            PEER,
            "--port",
            str(port),
            "--redis-url",
            redis_url,
            "--channel",
            f"bench-{secrets.token_hex(3)}",
        ],
        cwd=ROOT,
    )
    _PIDS.append(proc.pid)
    target = Target("python-socketio", "socketio", port, proc, agent_ids=list(range(1, agents + 1)))
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    return target


def stop(target: Target) -> None:
    target.proc.terminate()
    try:
        target.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        target.proc.kill()
        target.proc.wait(timeout=10)


def create_pg_database() -> str:
    name = f"streamsrv_bench_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    _CLEANUP.append(drop)
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


# workloads -----------------------------------------------------------------------------------------


class Meter:
    """CPU seconds used by the server and by the load clients between ``start`` and ``stop``."""

    def __init__(self, target: Target, clients: Clients) -> None:
        self.target, self.clients = target, clients
        self.server0 = target.cpu_seconds()
        self.clients0 = clients.cpu()
        self.t0 = time.monotonic()

    def result(self) -> dict[str, float]:
        wall = max(1e-6, time.monotonic() - self.t0)
        return {
            "server_cpu_pct": round(100 * (self.target.cpu_seconds() - self.server0) / wall, 1),
            "clients_cpu_pct": round(100 * (self.clients.cpu() - self.clients0) / wall, 1),
        }


async def idle(target: Target, size: Sizes) -> dict[str, Any]:
    clients = await Clients.start(size.client_procs)
    try:
        await asyncio.sleep(1.0)
        before = target.rss()
        took = await clients.connect(target, [None] * size.idle)
        await clients.all({"cmd": "reset"})
        await asyncio.sleep(2.0)  # let allocations settle before reading RSS
        after = target.rss()
        still = sum(r["connected"] for r in await clients.all({"cmd": "collect", "expect": {}, "timeout": 0}))
        return {
            "connections": size.idle,
            "held": still,
            "connect_seconds": round(took["seconds"], 2),
            "rss_before_mb": round(before / 2**20, 1),
            "rss_after_mb": round(after / 2**20, 1),
            "kb_per_connection": round((after - before) / size.idle / 1024, 1),
        }
    finally:
        await clients.close()


async def broadcast(target: Target, size: Sizes) -> dict[str, Any]:
    subs = size.broadcast_subs
    stream = target.broadcast_stream()
    clients = await Clients.start(size.client_procs)
    steps: list[dict[str, Any]] = []
    try:
        await clients.connect(target, [stream] * subs)
        # Warm up (first Redis script load, first publish on the stream, caches): not measured.
        await clients.all({"cmd": "reset"})
        warm, _ = await target.publish(clients.pub, [stream], 3, 2, 1, 30)
        await clients.all({"cmd": "collect", "expect": {stream: warm}, "timeout": 30})
        async with profiled(target, "broadcast"):
            await ladder(target, size, clients, stream, steps)
    finally:
        await clients.close()
    return summarize_ladder(subs, steps)


async def ladder(
    target: Target, size: Sizes, clients: Clients, stream: str, steps: list[dict[str, Any]]
) -> None:
    """Offer ever more frames per second until p99 passes the limit or an event is lost."""
    for offered in size.broadcast_ladder:
        step = await ladder_step(target, size, clients, stream, offered)
        if not step["ok"]:
            # Low steps carry only a few events, so one slow event decides their p99: a step
            # fails the ladder only if it fails twice in a row.
            log(f"  {target.name} broadcast step {offered}/s failed once; measuring it again")
            step = await ladder_step(target, size, clients, stream, offered)
        steps.append(step)
        if not step["ok"]:
            break


async def ladder_step(
    target: Target, size: Sizes, clients: Clients, stream: str, offered: int
) -> dict[str, Any]:
    subs = size.broadcast_subs
    rate = offered / subs
    count = max(2, round(rate * size.step_seconds))
    await clients.all({"cmd": "reset"})
    meter = Meter(target, clients)
    start_ns = time.time_ns()
    seqs, _ = await target.publish(clients.pub, [stream], count, rate, 8, size.step_seconds * 3 + 10)
    expect = {stream: seqs}
    got = merge(await clients.all({"cmd": "collect", "expect": expect, "timeout": 30 + size.step_seconds}))
    span = max(1e-6, (got["last_ns"] - start_ns) / 1e9)
    step = {
        "offered_frames_per_s": offered,
        "events_per_s": round(rate, 2),
        "events": count,
        "publish_failed": count - len(seqs),
        "frames_per_s": round(got["events"] / span),
        "lost": got["missing"],
        "duplicates": got["duplicates"],
        **{k: got[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")},
        **meter.result(),
    }
    step["ok"] = step["lost"] == 0 and step["publish_failed"] == 0 and step["p99_ms"] <= P99_LIMIT_MS
    log(f"  {target.name} broadcast step {offered}/s: {step}")
    return step


def summarize_ladder(subs: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    passing = [s for s in steps if s["ok"]]
    best = passing[-1] if passing else steps[0]
    return {
        "subscribers": subs,
        "sustained": bool(passing),
        "frames_per_s": best["frames_per_s"],
        "p99_ms": best["p99_ms"],
        "best": best,
        "steps": steps,
        "lost": sum(s["lost"] for s in steps),
        "duplicates": sum(s["duplicates"] for s in steps),
    }


async def personal(target: Target, size: Sizes) -> dict[str, Any]:
    streams = [target.agent_stream(i) for i in range(size.personal_agents)]
    clients = await Clients.start(size.client_procs)
    try:
        await clients.connect(target, list(streams))
        await clients.all({"cmd": "reset"})
        meter = Meter(target, clients)
        count = round(size.personal_rate * size.personal_seconds)
        seq0 = target.seq
        async with profiled(target, "personal"):
            seqs, _ = await target.publish(
                clients.pub, streams, count, size.personal_rate, 32, size.personal_seconds * 3 + 10
            )
        got = merge(
            await clients.all({"cmd": "collect", "expect": expect_map(streams, seqs, seq0), "timeout": 30})
        )
        return {
            "streams": len(streams),
            "rate": size.personal_rate,
            "events": count,
            "publish_failed": count - len(seqs),
            "lost": got["missing"],
            "duplicates": got["duplicates"],
            **{k: got[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")},
            **meter.result(),
        }
    finally:
        await clients.close()


async def ingest(target: Target, size: Sizes) -> dict[str, Any]:
    stream = target.broadcast_stream()
    clients = await Clients.start(1)
    try:
        await clients.connect(target, [stream])
        await clients.all({"cmd": "reset"})
        meter = Meter(target, clients)
        start_ns = time.time_ns()
        async with profiled(target, "ingest"):
            seqs, pub = await target.publish(clients.pub, [stream], size.ingest_count, 0, 32, 300)
        got = merge(await clients.all({"cmd": "collect", "expect": {stream: seqs}, "timeout": 60}))
        span = max(1e-6, (got["last_ns"] - start_ns) / 1e9)
        # 503 answers are the admission gate refusing at once (STREAMSRV_MAX_INGEST_IN_FLIGHT),
        # nothing stored: counted apart from errors, and not expected on the stream.
        refused = int(pub["statuses"].get("503", 0))
        return {
            "responses": size.ingest_count,
            "publish_failed": size.ingest_count - len(seqs) - refused,
            "refused": refused,
            "http_per_s": round(len(seqs) / pub["elapsed"]),
            "published_per_s": round(got["events"] / span),
            "lost": got["missing"],
            "duplicates": got["duplicates"],
            **meter.result(),
        }
    finally:
        await clients.close()


async def start_lean(name: str, database_url: str, agents: int) -> Target:
    """The lean ingest reference (``scripts/lean_ingest.py``) on a fresh database, migrated and
    seeded as streamsrv's is, served by uvicorn as ``streamsrv serve`` is."""
    api_key, account_id, agent_ids = seed(database_url, agents)
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, started once, not awaited
        [
            PY,
            LEAN,
            "--database-url",
            database_url,
            "--api-key",
            api_key,
            "--account-id",
            str(account_id),
            "--port",
            str(port),
        ],
        cwd=ROOT,
    )
    _PIDS.append(proc.pid)
    target = Target(name, "streamsrv", port, proc, api_key, account_id, agent_ids)
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    return target


async def lean_ingest(target: Target, size: Sizes) -> dict[str, Any]:
    """The ingest workload's publisher, concurrency and bodies against the lean reference (no
    streams to watch there: it only stores; the figure is responses answered 201 per second)."""
    clients = await Clients.start(0)
    try:
        meter = Meter(target, clients)
        async with profiled(target, "ingest"):
            seqs, pub = await target.publish(
                clients.pub, [target.broadcast_stream()], size.ingest_count, 0, 32, 300
            )
        return {
            "responses": size.ingest_count,
            "publish_failed": size.ingest_count - len(seqs),
            "statuses": pub["statuses"],
            "http_per_s": round(len(seqs) / pub["elapsed"]),
            **meter.result(),
        }
    finally:
        await clients.close()


async def lean_pair(database_url: str, agents: int, size: Sizes, ours: dict[str, Any]) -> dict[str, Any]:
    """Run the lean reference right after streamsrv's ingest on the same backend (``ours``: that
    run's figures) and compare the rates both answered 201 at: ``streamsrv/lean``."""
    lean = await start_lean(f"lean-{secrets.token_hex(2)}", database_url, agents)
    try:
        got = await lean_ingest(lean, size)
    finally:
        stop(lean)
    lean_rps, streamsrv_rps = got["http_per_s"], ours["http_per_s"]
    return {
        "lean_rps": lean_rps,
        "streamsrv_rps": streamsrv_rps,
        "ratio": round(streamsrv_rps / lean_rps, 3) if lean_rps else 0.0,
        "lean": got,
    }


async def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    """The cheap webhook receiver of the outbound workload, in a process of its own."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, started once, not awaited
        [PY, str(ROOT / "scripts" / "webhook_sink.py"), "--port", str(port)], cwd=ROOT
    )
    _PIDS.append(proc.pid)
    async with httpx.AsyncClient() as http:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{port}/count", timeout=1)).status_code == 200:
                    return proc, port
            await asyncio.sleep(0.1)
    raise RuntimeError("the webhook sink did not start")


async def sink_count(port: int) -> int:
    async with httpx.AsyncClient() as http:
        return int((await http.get(f"http://127.0.0.1:{port}/count", timeout=5)).text)


async def outbound_phase(
    phase: str,
    tmp: Path,
    redis_url: str,
    agents: int,
    size: Sizes,
    sink_port: int,
    endpoints: int,
    backend: str = "sqlite",
) -> dict[str, Any]:
    """One ingest run on a fresh server (its own SQLite file or PostgreSQL database), with
    ``endpoints`` webhook endpoints subscribed or none; with them, also waits until the receiver
    got every message."""
    if backend == "postgresql":
        db_url = create_pg_database()
    else:
        db_url = f"sqlite:///{tmp / f'outbound-{phase}-{secrets.token_hex(3)}.sqlite3'}"
    env = {"STREAMSRV_OUTBOUND_ALLOW_PRIVATE": "true"}
    server = await start_streamsrv(f"streamsrv-outbound-{phase}", db_url, redis_url, tmp, agents, **env)
    try:
        if phase == "with":
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}",
                headers={"Authorization": f"Bearer {server.api_key}"},
            ) as api:
                for i in range(endpoints):
                    r = await api.post(
                        "/api/v1/webhook-endpoints",
                        json={
                            "url": f"http://127.0.0.1:{sink_port}/hook?n={i}",
                            "events": ["feedback.received", "reward.suggested"],
                        },
                    )
                    r.raise_for_status()
        before = await sink_count(sink_port)
        log(f"streamsrv: ingest {phase} webhooks ({backend})")
        result = await ingest(server, size)
        ingest_done = time.monotonic()
        if phase == "with":
            # Every response is one feedback.received per endpoint (the load sends no rewards).
            expected = size.ingest_count * endpoints
            result["webhooks_expected"] = expected
            result["webhook_backlog_at_ingest_end"] = expected - (await sink_count(sink_port) - before)
            deadline = ingest_done + 600
            while await sink_count(sink_port) - before < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - the count lives in another process
                await asyncio.sleep(0.2)
            result["webhooks_delivered"] = await sink_count(sink_port) - before
            result["webhooks_drained_s"] = round(time.monotonic() - ingest_done, 1)
        log(f"  -> {result}")
        return result
    finally:
        stop(server)


async def outbound(
    tmp: Path, redis_url: str, agents: int, size: Sizes, endpoints: int = 3, backend: str = "sqlite"
) -> dict[str, Any]:
    """The ingest workload without and with ``endpoints`` webhook endpoints subscribed to the
    ingest's events (a cheap local receiver in its own process answering 204): both rates and
    their ratio, and how long the queue took to deliver everything once ingest stopped.

    Each kind runs twice, in the order without, with, with, without, each on a fresh server,
    and the means are compared: a shared machine's load drifts during a run, and this order
    gives both kinds the same share of the drift.
    """
    sink, sink_port = await start_sink()
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    try:
        for phase in ("without", "with", "with", "without"):
            runs[phase].append(
                await outbound_phase(phase, tmp, redis_url, agents, size, sink_port, endpoints, backend)
            )
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    def mean(phase: str, key: str) -> float:
        values = [r[key] for r in runs[phase] if key in r]
        return round(sum(values) / len(values), 1) if values else 0.0

    out: dict[str, Any] = {"endpoints": endpoints, "runs": runs}
    for phase in runs:
        out[phase] = {
            "published_per_s": mean(phase, "published_per_s"),
            "http_per_s": mean(phase, "http_per_s"),
            "server_cpu_pct": mean(phase, "server_cpu_pct"),
            "clients_cpu_pct": mean(phase, "clients_cpu_pct"),
            "lost": sum(r["lost"] for r in runs[phase]),
            "duplicates": sum(r["duplicates"] for r in runs[phase]),
        }
    with_runs = runs["with"]
    out["with"]["webhooks_expected"] = sum(r["webhooks_expected"] for r in with_runs)
    out["with"]["webhooks_delivered"] = sum(r["webhooks_delivered"] for r in with_runs)
    out["with"]["webhooks_drained_s"] = max(r["webhooks_drained_s"] for r in with_runs)
    without, with_ = out["without"]["published_per_s"], out["with"]["published_per_s"]
    out["ratio"] = round(with_ / without, 3) if without else 0.0
    return out


async def storm(target: Target, size: Sizes) -> dict[str, Any]:
    streams = [target.agent_stream(i) for i in range(size.storm_streams)]
    conns = [streams[i % len(streams)] for i in range(size.storm_clients)]
    clients = await Clients.start(size.client_procs)
    n = size.storm_events
    try:
        await clients.connect(target, list(conns))
        await clients.all({"cmd": "reset"})
        seq0 = target.seq
        before, _ = await target.publish(clients.pub, streams, n, 200, 16, 60)
        await clients.all({"cmd": "collect", "expect": expect_map(streams, before, seq0), "timeout": 30})
        await clients.all({"cmd": "drop"})
        down, _ = await target.publish(clients.pub, streams, n, 0, 16, 60)
        meter = Meter(target, clients)
        start_ns = time.time_ns()
        async with profiled(target, "storm"):
            resumed, (during, _) = await asyncio.gather(
                clients.all({"cmd": "resume", "timeout": 60}),
                target.publish(clients.pub, streams, n, 200, 16, 60),
            )
        reconnect_s = max(r["seconds"] for r in resumed)
        failed = sum(r["failed"] for r in resumed)
        expect = expect_map(streams, [*before, *down, *during], seq0)
        got = merge(await clients.all({"cmd": "collect", "expect": expect, "timeout": 60}))
        return {
            "clients": size.storm_clients,
            "streams": len(streams),
            "events": len(before) + len(down) + len(during),
            "reconnect_failed": failed,
            "reconnect_s": round(reconnect_s, 2),
            "caught_up_s": round(max(0, got["last_ns"] - start_ns) / 1e9, 2),
            "missed": got["missing"],
            "duplicates": got["duplicates"],
            "resyncs": got["resyncs"],
            **meter.result(),
        }
    finally:
        await clients.close()


# report --------------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "n/a"


def judge(res: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each performance target (docs/benchmarks.md): what was measured, and whether it holds."""
    ours = res.get("streamsrv", {})
    peer = res.get("python-socketio", {})
    out: list[tuple[str, str, bool]] = []
    if "idle" in ours:
        i = ours["idle"]
        out.append(
            (
                "idle: 10,000 connections, <= 16 KB each",
                f"{i['held']} held, {i['kb_per_connection']} KB",
                i["held"] >= 10_000 and i["kb_per_connection"] <= 16,
            )
        )
    if "broadcast" in ours:
        b = ours["broadcast"]
        out.append(
            (
                "broadcast: >= 60,000 frames/s to 5,000 subscribers, p99 <= 200 ms, none lost",
                f"{b['frames_per_s']} frames/s, p99 {b['p99_ms']} ms, lost {b['lost']}",
                b["frames_per_s"] >= 60_000
                and b["p99_ms"] <= 200
                and b["lost"] == 0
                and b["subscribers"] >= 5000,
            )
        )
    if "personal" in ours:
        p = ours["personal"]
        out.append(
            (
                "personal: p50 <= 3 ms, p99 <= 15 ms at 200/s",
                f"{p['streams']} streams: p50 {p['p50_ms']} / p99 {p['p99_ms']} ms, lost {p['lost']}",
                p["p50_ms"] <= 3 and p["p99_ms"] <= 15 and p["lost"] == 0,
            )
        )
    if "ingest_sqlite" in ours:
        g = ours["ingest_sqlite"]
        out.append(
            (
                "ingest (SQLite): >= 1,000 responses/s persisted and published",
                f"{g['published_per_s']}/s",
                g["published_per_s"] >= 1000 and g["lost"] == 0,
            )
        )
    if "ingest_postgresql" in ours and "ingest_sqlite" in ours:
        g, s = ours["ingest_postgresql"], ours["ingest_sqlite"]
        out.append(
            (
                "ingest (PostgreSQL): more than SQLite",
                f"{g['published_per_s']}/s",
                g["published_per_s"] > s["published_per_s"] and g["lost"] == 0,
            )
        )
    if "outbound" in ours:
        o = ours["outbound"]
        out.append(
            (
                "outbound: ingest with 3 webhook endpoints within 10 % of ingest without",
                f"{o['with']['published_per_s']}/s vs {o['without']['published_per_s']}/s ({o['ratio']:.2f}); "
                f"{o['with'].get('webhooks_delivered', 0)}/{o['with'].get('webhooks_expected', 0)} delivered",
                o["ratio"] >= 0.9
                and o["with"]["lost"] == 0
                and o["with"].get("webhooks_delivered") == o["with"].get("webhooks_expected"),
            )
        )
    if "storm" in ours:
        s = ours["storm"]
        out.append(
            (
                "reconnect storm: 5,000 resume, none missed or twice, within 10 s",
                f"caught up in {s['caught_up_s']} s, missed {s['missed']}, duplicates {s['duplicates']}",
                s["clients"] >= 5000 and s["caught_up_s"] <= 10 and s["missed"] == 0 and s["duplicates"] == 0,
            )
        )
    out += judge_lean(res)
    if "broadcast" in ours and "broadcast" in peer:
        b, q = ours["broadcast"], peer["broadcast"]
        out.append(
            (
                "vs python-socketio: >= 10x broadcast frames/s at a lower p99",
                f"{ratio(b['frames_per_s'], q['frames_per_s'])}, p99 {b['p99_ms']} vs {q['p99_ms']} ms",
                b["frames_per_s"] >= 10 * q["frames_per_s"] and b["p99_ms"] < q["p99_ms"],
            )
        )
    return out


LEAN_LABELS = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))


def judge_lean(res: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """streamsrv's ingest against the lean reference on the same backend, in the same run."""
    out: list[tuple[str, str, bool]] = []
    for key, label in LEAN_LABELS:
        if key in res.get("lean_reference", {}):
            p = res["lean_reference"][key]
            out.append(
                (
                    f"ingest ({label}): >= 1.0x the lean reference (streamsrv/lean, 201s per second)",
                    f"{p['streamsrv_rps']}/s vs {p['lean_rps']}/s ({p['ratio']:.2f}x)",
                    p["ratio"] >= 1.0 and p["lean"]["publish_failed"] == 0,
                )
            )
    return out


def lean_table(res: dict[str, Any]) -> list[str]:
    pairs = res.get("lean_reference", {})
    if not pairs:
        return []
    rows = [
        "",
        "| ingest floor | lean_rps | streamsrv_rps | streamsrv/lean | CPU lean server / clients (%) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label in LEAN_LABELS:
        if key in pairs:
            p = pairs[key]
            rows.append(
                f"| lean reference, {label} | {p['lean_rps']}/s | {p['streamsrv_rps']}/s | {p['ratio']:.2f}x | "
                f"{p['lean']['server_cpu_pct']} / {p['lean']['clients_cpu_pct']} |"
            )
    return rows


def table(res: dict[str, Any]) -> str:
    ours, peer = res.get("streamsrv", {}), res.get("python-socketio", {})
    rows = ["| workload | streamsrv | python-socketio | ratio |", "| --- | --- | --- | --- |"]

    def cell(d: dict[str, Any], key: str, fmt: str) -> str:
        return fmt.format(**d[key]) if key in d else "-"

    if "idle" in ours or "idle" in peer:
        f = "{held} held, {kb_per_connection} KB/conn ({rss_after_mb} MB)"
        r = (
            ratio(peer["idle"]["kb_per_connection"], ours["idle"]["kb_per_connection"])
            if "idle" in ours and "idle" in peer
            else ""
        )
        rows.append(f"| idle | {cell(ours, 'idle', f)} | {cell(peer, 'idle', f)} | {r} less memory |")
    if "broadcast" in ours or "broadcast" in peer:
        f = "{frames_per_s} frames/s, p99 {p99_ms} ms, lost {lost}, dup {duplicates}"
        r = (
            ratio(ours["broadcast"]["frames_per_s"], peer["broadcast"]["frames_per_s"])
            if "broadcast" in ours and "broadcast" in peer
            else ""
        )
        rows.append(
            f"| broadcast ({(ours or peer)['broadcast']['subscribers']} subs) | {cell(ours, 'broadcast', f)} | {cell(peer, 'broadcast', f)} | {r} |"
        )
    if "personal" in ours or "personal" in peer:
        f = "p50 {p50_ms} / p90 {p90_ms} / p99 {p99_ms} / max {max_ms} ms, lost {lost}"
        r = (
            ratio(peer["personal"]["p99_ms"], ours["personal"]["p99_ms"])
            if "personal" in ours and "personal" in peer
            else ""
        )
        rows.append(
            f"| personal | {cell(ours, 'personal', f)} | {cell(peer, 'personal', f)} | {r} lower p99 |"
        )
    for key, label in (("ingest_sqlite", "ingest SQLite"), ("ingest_postgresql", "ingest PostgreSQL")):
        if key in ours:
            rows.append(
                f"| {label} | {cell(ours, key, '{published_per_s}/s published ({http_per_s}/s HTTP), lost {lost}, refused {refused}')} | - | |"
            )
    if "outbound" in ours:
        o = ours["outbound"]
        rows.append(
            f"| ingest SQLite without / with {o['endpoints']} webhook endpoints | "
            f"{o['without']['published_per_s']}/s / {o['with']['published_per_s']}/s (ratio {o['ratio']:.2f}), "
            f"webhooks {o['with'].get('webhooks_delivered')}/{o['with'].get('webhooks_expected')} "
            f"delivered {o['with'].get('webhooks_drained_s')} s after ingest | - | |"
        )
    if "storm" in ours:
        f = "{clients} clients: reconnected {reconnect_s} s, caught up {caught_up_s} s, missed {missed}, dup {duplicates}"
        rows.append(f"| reconnect storm | {cell(ours, 'storm', f)} | - | |")
    cpu = ["", "| workload | server | CPU server / clients (%) |", "| --- | --- | --- |"]
    for name, d in (("streamsrv", ours), ("python-socketio", peer)):
        for key, v in d.items():
            src = v.get("best", v)
            if "server_cpu_pct" in src:
                cpu.append(f"| {key} | {name} | {src['server_cpu_pct']} / {src['clients_cpu_pct']} |")
    targets = ["", "| target | measured | met |", "| --- | --- | --- |"]
    targets += [f"| {t} | {m} | {'met' if ok else 'NOT met'} |" for t, m, ok in judge(res)]
    return "\n".join(rows + lean_table(res) + cpu + targets)


# the run -------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    size = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else {"idle", "broadcast", "personal", "ingest", "storm"}
    tmp = Path(tempfile.mkdtemp(prefix="streamsrv-bench-"))
    _CLEANUP.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    redis = EmbeddedRedis().start()
    _CLEANUP.append(redis.close)
    agents = max(size.personal_agents, size.storm_streams)
    ours: dict[str, Any] = results.setdefault("streamsrv", {})
    lean: dict[str, Any] = results.setdefault("lean_reference", {})
    server = await start_streamsrv("streamsrv", f"sqlite:///{tmp / 'bench.sqlite3'}", redis.url, tmp, agents)
    try:
        for name, fn in (("idle", idle), ("broadcast", broadcast), ("personal", personal), ("storm", storm)):
            if name in only:
                log(f"streamsrv: {name}")
                ours[name] = await fn(server, size)
                log(f"  -> {ours[name]}")
        if "ingest" in only:
            log("streamsrv: ingest (SQLite)")
            ours["ingest_sqlite"] = await ingest(server, size)
            log(f"  -> {ours['ingest_sqlite']}")
    finally:
        stop(server)
    if "ingest" in only:
        log("lean reference: ingest (SQLite)")
        lean_db = f"sqlite:///{tmp / 'lean.sqlite3'}"
        lean["sqlite"] = await lean_pair(lean_db, agents, size, ours["ingest_sqlite"])
        log(f"  -> {lean['sqlite']}")
    if "outbound" in only:
        ours["outbound"] = await outbound(tmp, redis.url, agents, size)
        log(f"  -> outbound ratio {ours['outbound']['ratio']}")
        if not args.no_pg:
            ours["outbound_postgresql"] = await outbound(tmp, redis.url, agents, size, backend="postgresql")
            log(f"  -> outbound ratio on PostgreSQL {ours['outbound_postgresql']['ratio']}")
    if "ingest" in only and not args.no_pg:
        pg = await start_streamsrv("streamsrv-pg", create_pg_database(), redis.url, tmp, agents)
        try:
            log("streamsrv: ingest (PostgreSQL)")
            ours["ingest_postgresql"] = await ingest(pg, size)
            log(f"  -> {ours['ingest_postgresql']}")
        finally:
            stop(pg)
        log("lean reference: ingest (PostgreSQL)")
        lean["postgresql"] = await lean_pair(create_pg_database(), agents, size, ours["ingest_postgresql"])
        log(f"  -> {lean['postgresql']}")
    if not args.no_peer:
        peer = await start_peer(redis.url, agents)
        theirs: dict[str, Any] = results.setdefault("python-socketio", {})
        try:
            for name, fn in (("idle", idle), ("broadcast", broadcast), ("personal", personal)):
                if name in only:
                    log(f"python-socketio: {name}")
                    theirs[name] = await fn(peer, size)
                    log(f"  -> {theirs[name]}")
        finally:
            stop(peer)


@contextlib.asynccontextmanager
async def profiled(target: Target, workload: str) -> Any:
    """Record the server with py-spy (collapsed stacks) during the measured part, if asked."""
    out_dir = PROFILE_DIR[0] if PROFILE_DIR else None
    if not out_dir:
        yield
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the load
    out = Path(out_dir) / f"{target.name}-{workload}.txt"
    spy = subprocess.Popen(  # noqa: ASYNC220 - a sampler beside the workload, stopped below
        [
            str(Path(PY).parent / "py-spy"),
            "record",
            "--pid",
            str(target.proc.pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _PIDS.append(spy.pid)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(spy.wait, 30)
        log(f"  profile: {out}")


def cleanup() -> None:
    for pid in reversed(_PIDS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for fn in reversed(_CLEANUP):
        with contextlib.suppress(Exception):
            fn()
    _PIDS.clear()
    _CLEANUP.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="streamsrv benchmark (see docs/benchmarks.md)")
    parser.add_argument("--quick", action="store_true", help="every workload at a small size (< 1 minute)")
    parser.add_argument("--out", default="bench-results.json", help="where to write the JSON results")
    parser.add_argument("--no-peer", action="store_true", help="skip the python-socketio peer")
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL ingest run")
    parser.add_argument("--profile", default=None, help="directory for py-spy profiles of the servers")
    parser.add_argument(
        "--only", default="", help="comma-separated workloads: idle,broadcast,personal,ingest,storm,outbound"
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.profile:
        PROFILE_DIR.append(args.profile)
    # SIGTERM takes the same way out as Ctrl-C, through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results: dict[str, Any] = {
        "command": " ".join(
            [Path(PY).name, "scripts/bench.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    code = 0
    try:
        import uvloop

        uvloop.run(run(args, results))
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        code = 130
    except Exception as exc:  # noqa: BLE001 - reported, and the cleanup below still runs
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        results["error"] = f"{type(exc).__name__}: {exc}"
        code = 1
    finally:
        cleanup()
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = [{"target": t, "measured": m, "met": ok} for t, m, ok in judge(results)]
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(table(results))
    print(
        f"\nload average before/after: {results['load_before']} / {results['load_after']}; results in {args.out}"
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
