"""Measure end-to-end delivery latency: POST /api/v1/feedback -> frame on a subscribed websocket.

    .venv/bin/python scripts/latency.py --count 500 [--database-url postgresql://...]

Also reported: the HTTP round trip of the POST alone, and how long after its answer the frame
arrived (the delivery itself: relay, Redis, hub, websocket). Starts its own server (uvicorn, in this process), its own redis-server and (by default) a
temporary SQLite database; one client subscribes to the agent's stream over a real websocket;
responses are posted one at a time over real HTTP and each is timed from just before the request
is sent until its frame arrives. Bounded by --count and --max-seconds; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamsrv import migrate  # noqa: E402
from streamsrv.app import create_app  # noqa: E402
from streamsrv.client import StreamClient  # noqa: E402
from streamsrv.config import Settings  # noqa: E402
from streamsrv.db import Database  # noqa: E402
from streamsrv.embedded_redis import EmbeddedRedis  # noqa: E402
from streamsrv.models import Account, Agent, Team  # noqa: E402
from streamsrv.tenancy import create_org  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(count: int, max_seconds: float, database_url: str | None) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="streamsrv-latency-"))
    url = database_url or f"sqlite:///{tmp / 'latency.sqlite3'}"
    with EmbeddedRedis() as redis:
        db = Database(url)
        migrate.upgrade(db.engine)
        with db.session() as s:
            org = create_org(
                s, "Latency", f"bench-{secrets.token_hex(4)}@example.com", "correct horse battery"
            )
            acc = Account(org_id=org.org_id, name=f"Bench {secrets.token_hex(3)}")
            s.add(acc)
            s.flush()
            assert acc.id is not None
            team = Team(org_id=org.org_id, account_id=acc.id, name="Bench team")
            s.add(team)
            s.flush()
            assert team.id is not None
            agent = Agent(org_id=org.org_id, account_id=acc.id, team_id=team.id, name="Bench agent")
            s.add(agent)
            s.flush()
            agent_id, account_id = agent.id, acc.id
        settings = Settings(
            database_url=url, redis_url=redis.url, secret_key=secrets.token_urlsafe(32), data_dir=tmp
        )
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=0, log_level="warning", ws_per_message_deflate=False
        )
        server = uvicorn.Server(config)
        serve = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        latencies: list[float] = []
        posts: list[float] = []
        after_answer: list[float] = []
        try:
            async with (
                StreamClient(
                    f"ws://127.0.0.1:{port}/ws", api_key=org.api_key, streams=[f"agent:{agent_id}"]
                ) as client,
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {org.api_key}"}
                ) as http,
            ):
                await client.wait_subscribed(10)
                deadline = time.monotonic() + max_seconds
                for n in range(count):
                    if time.monotonic() > deadline:
                        break
                    body = {
                        "account_id": account_id,
                        "agent_id": agent_id,
                        "channel": "chat",
                        "external_id": f"lat-{n}",
                        "rating": 5,
                        "comment": "Great",
                    }
                    started = time.perf_counter()
                    r = await http.post("/api/v1/feedback", json=body)
                    answered = time.perf_counter()
                    r.raise_for_status()
                    while True:
                        event = await client.next_event(10)
                        if event.type == "feedback.received":
                            break
                    arrived = time.perf_counter()
                    latencies.append((arrived - started) * 1000)
                    posts.append((answered - started) * 1000)
                    # The frame may arrive before the HTTP answer is read: then this is 0.
                    after_answer.append(max(0.0, arrived - answered) * 1000)
        finally:
            server.should_exit = True
            await serve
            db.dispose()
    return {
        "count": len(latencies),
        "post_p50_ms": round(statistics.median(posts), 2),
        "frame_after_answer_p50_ms": round(statistics.median(after_answer), 2),
        "frame_after_answer_p99_ms": round(percentile(after_answer, 99), 2),
        "p50_ms": round(statistics.median(latencies), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.count, args.max_seconds, args.database_url)), indent=2))


if __name__ == "__main__":
    main()
