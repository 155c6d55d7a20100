"""A flood of logins against a real ``streamsrv serve``: what it costs the server, and everyone else.

    .venv/bin/python scripts/login_flood.py [--compare REV] [--concurrency 40] [--addresses 40]
        [--seconds 20] [--max-logins 4000] [--database-url postgresql://...]
        [--server-env NAME=VALUE] [--out flood.json]

Starts one ``streamsrv serve`` on 127.0.0.1 (a fresh SQLite file in a temporary data directory
unless ``--database-url`` is given, and the server's own embedded Redis), creates an organization
with ``streamsrv admin create-org`` and then, for ``--seconds`` or ``--max-logins`` attempts,
whichever comes first:

- ``--concurrency`` clients POST /login with random unknown emails, each sending its next attempt
  as soon as the last is answered, from ``--addresses`` different loopback addresses (127.0.0.x:
  1 is one attacker, 40 a botnet of 40, which no per-address limit slows down);
- one more client calls an unrelated API endpoint (``GET /api/v1/accounts`` with the org's key)
  one request at a time, before the flood (idle) and throughout it;
- the server process's resident memory is sampled every 10 ms.

It reports the peak RSS, the unrelated call's p50/p99/max idle and under the flood, the login
answers by status and, where the server has them, its password-hash metrics. ``--server-env``
passes a setting to the server (``STREAMSRV_LOGIN_MAX_PER_ADDRESS=5`` makes a one-address flood
all 429s: what refusing costs, without hashing). ``--compare REV`` first runs the same flood against the package as it was at git revision REV (exported to a
temporary directory and put first on PYTHONPATH), then against this checkout: before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamsrv.embedded_redis import free_port  # noqa: E402

PY = sys.executable
CLIENT_TIMEOUT = 60.0
START_TIMEOUT = 120.0
HASH_METRICS = (
    "streamsrv_password_hash_workers",
    "streamsrv_password_hashes_running_max",
    "streamsrv_password_hashes_total",
    "streamsrv_password_hashes_refused_total",
    "streamsrv_logins_throttled_total",
)


def log(msg: str) -> None:
    print(f"[login_flood] {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    api_key: str

    def stop(self) -> None:
        # SIGTERM: the server stops its embedded Redis on the way out.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(self.proc.pid).children(recursive=True):
                    child.kill()
            self.proc.kill()
            self.proc.wait(timeout=10)


def server_env(
    data_dir: Path, database_url: str | None, source: Path | None, extra: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSRV_")}
    env.update(
        STREAMSRV_DATA_DIR=str(data_dir),
        STREAMSRV_LOG_LEVEL="warning",
        STREAMSRV_REDIS_PREFIX=f"flood{secrets.token_hex(3)}",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["STREAMSRV_DATABASE_URL"] = database_url
    env.update(extra)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def start_server(
    data_dir: Path, database_url: str | None, source: Path | None, extra: dict[str, str]
) -> Server:
    env = server_env(data_dir, database_url, source, extra)
    created = subprocess.run(
        [
            PY,
            "-m",
            "streamsrv",
            "admin",
            "create-org",
            "Flood",
            "--admin-email",
            f"flood-{secrets.token_hex(4)}@example.com",
        ],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=True,
    )
    api_key = json.loads(created.stdout)["api_key"]
    port = free_port()
    with (data_dir / "server.log").open("wb") as out:
        proc = subprocess.Popen(
            [PY, "-m", "streamsrv", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
            env=env,
            cwd=data_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", api_key)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {(data_dir / 'server.log').read_text()[-2000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not become healthy")


class Sampler(threading.Thread):
    """Peak RSS of the server process, every 10 ms, until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.start_rss = self.peak = self.process.memory_info().rss
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)


def probe(url: str, api_key: str, limit: int, stop: Any, out: Any) -> None:
    """The unrelated API call, one at a time, until ``limit`` calls or ``stop`` is set; sends the
    latencies (ms) and the error count to ``out``. Runs in a process of its own, so that the
    flood's client does not hold its interpreter lock while it times."""
    samples: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=CLIENT_TIMEOUT) as client:
        # Paced at about 50 calls a second, like a busy dashboard, not as fast as possible.
        while len(samples) + errors < limit and not stop.wait(0.02):
            started = time.perf_counter()
            answer = client.get("/api/v1/accounts")
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code == 200:
                samples.append(elapsed)
            else:
                errors += 1
    out.send((samples, errors))


class Prober:
    def __init__(self, server: Server, limit: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=probe, args=(server.url, server.api_key, limit, self.stop, sender), daemon=True
        )
        self.process.start()

    def finish(self) -> tuple[list[float], int]:
        self.stop.set()
        samples, errors = self._results.recv()
        self.process.join(CLIENT_TIMEOUT)
        return samples, errors


async def flood(url: str, concurrency: int, addresses: int, seconds: float, max_logins: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    sent = 0

    async def client(n: int) -> None:
        nonlocal sent
        address = f"127.0.0.{10 + n % addresses}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT, transport=transport) as http:
            page = await http.get("/login")
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            while sent < max_logins and time.monotonic() < deadline:
                sent += 1
                email = f"nobody-{secrets.token_hex(6)}@example.com"
                try:
                    answer = await http.post(
                        "/login",
                        data={"email": email, "password": "guess number one", "csrf_token": token},
                        headers={"Origin": url},
                    )
                    statuses[answer.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return statuses


def hash_metrics(url: str) -> dict[str, Any]:
    try:
        text = httpx.get(url + "/metrics", timeout=CLIENT_TIMEOUT).text
    except httpx.HTTPError:
        return {}
    found: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in HASH_METRICS:
                label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[sample.name + (f"{{{label}}}" if label else "")] = sample.value
    return found


def run_once(args: argparse.Namespace, label: str, source: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="login-flood-") as tmp:
        extra = dict(item.split("=", 1) for item in args.server_env)
        server = start_server(Path(tmp), args.database_url, source, extra)
        try:
            idle = Prober(server, args.idle_probes)
            idle.process.join(START_TIMEOUT)
            idle_samples, _ = idle.finish()
            sampler = Sampler(server.proc.pid)
            prober = Prober(server, limit=10**9)
            sampler.start()
            started = time.monotonic()
            cpu_before = sum(sampler.process.cpu_times()[:2])
            statuses = asyncio.run(
                flood(server.url, args.concurrency, args.addresses, args.seconds, args.max_logins)
            )
            took = time.monotonic() - started
            cpu = sum(sampler.process.cpu_times()[:2]) - cpu_before
            samples, errors = prober.finish()
            sampler.done.set()
            sampler.join()
            result = {
                "label": label,
                "load_average_1m": round(os.getloadavg()[0], 1),
                "flood": {
                    "concurrency": args.concurrency,
                    "addresses": args.addresses,
                    "seconds": round(took, 1),
                    "logins": sum(statuses.values()),
                    "statuses": {str(k): v for k, v in sorted(statuses.items())},
                    "server_cpu_seconds": round(cpu, 1),
                },
                "rss_mb": {
                    "before_flood": round(sampler.start_rss / 2**20),
                    "peak": round(sampler.peak / 2**20),
                },
                "unrelated_call": {
                    "idle": spread(idle_samples),
                    "under_flood": {**spread(samples), "errors": errors},
                },
                "metrics": hash_metrics(server.url),
            }
        finally:
            server.stop()
    log(json.dumps(result))
    return result


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev, "streamsrv"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| run | load | logins (statuses) | peak RSS | API idle p50 / p99 | API under flood p50 / p99 / max |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        idle, busy = r["unrelated_call"]["idle"], r["unrelated_call"]["under_flood"]
        statuses = ", ".join(f"{v}x{k}" for k, v in r["flood"]["statuses"].items())
        lines.append(
            f"| {r['label']} | {r['load_average_1m']} | {r['flood']['logins']} in {r['flood']['seconds']} s ({statuses}) "
            f"| {r['rss_mb']['peak']} MB (from {r['rss_mb']['before_flood']}) "
            f"| {idle.get('p50_ms')} / {idle.get('p99_ms')} ms "
            f"| {busy.get('p50_ms')} / {busy.get('p99_ms')} / {busy.get('max_ms')} ms |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--compare", metavar="REV", help="also run against the package at this git revision, first"
    )
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument(
        "--addresses", type=int, default=40, help="loopback addresses the clients spread over"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-logins", type=int, default=4000)
    parser.add_argument("--idle-probes", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server, e.g. STREAMSRV_LOGIN_MAX_PER_ADDRESS=5 (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not 1 <= args.addresses <= 240:
        parser.error("--addresses must be between 1 and 240")
    if any("=" not in item for item in args.server_env):
        parser.error("--server-env takes NAME=VALUE")

    results = []
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="login-flood-src-") as src:
            results.append(run_once(args, f"before ({args.compare})", export(args.compare, Path(src))))
    results.append(run_once(args, "after (this checkout)", None))
    print(table(results))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
