"""Several ``streamsrv serve`` processes sharing one PostgreSQL and one Redis behave as one."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from streamsrv.client import Event, StreamClient
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.tenancy import NewOrg, create_org
from tests.conftest import fresh_database
from tests.streaming import Floor, make_floor, make_key
from tests.support import TIMEOUT, wait_until


@dataclass
class Node:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Cluster:
    nodes: list[Node]
    db: Database
    org: NewOrg
    floor: Floor
    ingest_key: str


def start_node(env: dict[str, str], log: Path) -> Node:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamsrv",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-migrate",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    node = Node(port, proc)
    wait_until(lambda: node.ready() or proc.poll() is not None, timeout=TIMEOUT * 4)
    assert proc.poll() is None, log.read_text()[-2000:]
    return node


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    # PostgreSQL only: that is the multi-node deployment (SQLite is one host's file).
    with fresh_database("postgresql", tmp_path) as database, EmbeddedRedis() as redis:
        env = {
            **os.environ,
            "STREAMSRV_DATABASE_URL": database.url,
            "STREAMSRV_REDIS_URL": redis.url,
            "STREAMSRV_SECRET_KEY": secrets.token_urlsafe(32),
            "STREAMSRV_REDIS_PREFIX": f"n{secrets.token_hex(4)}",
            "STREAMSRV_DATA_DIR": str(tmp_path),
            "STREAMSRV_LOG_LEVEL": "warning",
        }
        with database.session() as session:
            org = create_org(
                session, "Cluster", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
            )
        floor = make_floor(database, org.org_id)
        key = make_key(database, org.org_id, ["ingest"])
        nodes = [start_node(env, tmp_path / f"node{i}.log") for i in range(2)]
        try:
            yield Cluster(nodes, database, org, floor, key)
        finally:
            stop_nodes(nodes)


def stop_nodes(nodes: list[Node]) -> None:
    for node in nodes:
        if node.proc.poll() is None:
            node.proc.terminate()
    for node in nodes:
        try:
            node.proc.wait(TIMEOUT * 2)
        except subprocess.TimeoutExpired:
            node.proc.kill()


def feedback(cluster: Cluster, n: int) -> dict[str, object]:
    return {
        "account_id": cluster.floor.account_id,
        "agent_id": cluster.floor.agent_ids[0],
        "channel": "chat",
        "external_id": f"ticket-{n}",
        "rating": 5,
        "comment": f"response {n}",
    }


async def ingest(cluster: Cluster, node: Node, start: int, count: int) -> None:
    async with httpx.AsyncClient(
        base_url=node.url, headers={"Authorization": f"Bearer {cluster.ingest_key}"}, timeout=TIMEOUT
    ) as http:
        for n in range(start, start + count):
            r = await http.post("/api/v1/feedback", json=feedback(cluster, n))
            assert r.status_code == 201, r.text


def comments(events: list[Event]) -> list[str]:
    return [str(e.data["comment"]) for e in events if e.type == "feedback.received"]


async def test_event_ingested_on_one_node_reaches_client_on_another(cluster: Cluster) -> None:
    a, b = cluster.nodes
    stream = f"team:{cluster.floor.team_id}"
    async with StreamClient(a.ws, api_key=cluster.org.api_key, streams=[stream]) as client:
        await client.wait_subscribed(TIMEOUT)
        await ingest(cluster, b, 0, 5)
        got = [await client.next_event(TIMEOUT) for _ in range(5)]
        assert comments(got) == [f"response {n}" for n in range(5)]


async def test_node_shutdown_closes_with_restart_code_and_clients_resume_elsewhere(cluster: Cluster) -> None:
    a, b = cluster.nodes
    stream = f"team:{cluster.floor.team_id}"
    async with StreamClient([a.ws, b.ws], api_key=cluster.org.api_key, streams=[stream]) as client:
        await client.wait_subscribed(TIMEOUT)
        await ingest(cluster, b, 0, 10)
        got = [await client.next_event(TIMEOUT) for _ in range(10)]
        a.proc.send_signal(signal.SIGTERM)
        # Responses keep arriving on B while A shuts down and the client moves over.
        await ingest(cluster, b, 10, 20)
        got += [await client.next_event(TIMEOUT * 2) for _ in range(20)]
        assert comments(got) == [f"response {n}" for n in range(30)]
        # None twice across the move: a stream is delivered in order, so a sentinel ingested now
        # is the very next event.
        await ingest(cluster, b, 30, 1)
        assert comments([await client.next_event(TIMEOUT)]) == ["response 30"]
        assert client.close_codes[0] in (1001, 1012)
        assert client.connects == 2
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM so supervisors see it.
    assert a.proc.wait(TIMEOUT * 2) in (0, -signal.SIGTERM)
