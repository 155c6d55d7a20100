"""Two ``streamsrv serve`` processes on one PostgreSQL send every survey email exactly once."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Delivery
from streamsrv.tenancy import create_org
from tests.conftest import fresh_database
from tests.email_support import STAR_LINK, SmtpServer, parts
from tests.streaming import make_key
from tests.support import TIMEOUT, wait_until
from tests.survey_support import interaction_body, make_setup
from tests.test_nodes import Node, start_node, stop_nodes

EMAILS = 500
CONCURRENCY = 16


async def post_all(nodes: list[Node], key: str, bodies: list[dict[str, object]]) -> None:
    clients = [
        httpx.AsyncClient(base_url=n.url, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT * 2)
        for n in nodes
    ]
    limit = asyncio.Semaphore(CONCURRENCY)

    async def post(i: int, body: dict[str, object]) -> None:
        async with limit:
            r = await clients[i % len(clients)].post("/api/v1/interactions", json=body)
            assert r.status_code == 201, r.text

    try:
        await asyncio.gather(*(post(i, b) for i, b in enumerate(bodies)))
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.slow
async def test_two_nodes_send_each_email_exactly_once(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    smtp = SmtpServer().start()
    nodes: list[Node] = []
    try:
        with fresh_database("postgresql", tmp_path) as database:
            with database.session() as session:
                org = create_org(
                    session, "Two nodes", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
                )
            setup = make_setup(database, org.org_id, suppression_days=0)
            key = make_key(database, org.org_id, ["ingest"])
            env = {
                **os.environ,
                "STREAMSRV_DATABASE_URL": database.url,
                "STREAMSRV_REDIS_URL": redis_server.url,
                "STREAMSRV_REDIS_PREFIX": f"m{secrets.token_hex(4)}",
                "STREAMSRV_SECRET_KEY": secrets.token_urlsafe(32),
                "STREAMSRV_DATA_DIR": str(tmp_path),
                "STREAMSRV_LOG_LEVEL": "warning",
                "STREAMSRV_SMTP_URL": smtp.url,
                "STREAMSRV_PUBLIC_URL": "https://feedback.example.com",
            }
            nodes = [start_node(env, tmp_path / f"node{i}.log") for i in range(2)]
            bodies = [
                interaction_body(setup, customer={"email": f"n{i}-{secrets.token_hex(3)}@example.com"})
                for i in range(EMAILS)
            ]
            started = time.monotonic()
            await post_all(nodes, key, bodies)
            posted = time.monotonic() - started
            wait_until(lambda: len(smtp.inbox.messages) >= EMAILS, timeout=TIMEOUT * 12, interval=0.05)
            elapsed = time.monotonic() - started

            def statuses() -> Counter[str]:
                with database.session() as session:
                    return Counter(session.exec(select(Delivery.status)).all())

            # The SMTP server has the last email a moment before its node records it as sent.
            wait_until(lambda: statuses() == {"sent": EMAILS}, timeout=TIMEOUT, interval=0.05)
            messages = list(smtp.inbox.messages)
            by_id = Counter(str(m["Message-ID"]) for m in messages)
            by_token = Counter(STAR_LINK.search(parts(m)[0]).group(2) for m in messages)  # type: ignore[union-attr]
            duplicates = sum(c - 1 for c in by_id.values())
            print(
                f"\ntwo nodes: {EMAILS} interactions posted in {posted:.1f}s, {len(messages)} emails received "
                f"in {elapsed:.1f}s ({len(messages) / elapsed:.0f} emails/s), duplicates {duplicates}"
            )
            assert len(by_id) == EMAILS and duplicates == 0
            assert len(by_token) == EMAILS and max(by_token.values()) == 1
            assert {str(m["To"]).split("<")[-1].rstrip(">") for m in messages} == {
                str(b["customer"]["email"])
                for b in bodies  # type: ignore[index]
            }
    finally:
        stop_nodes(nodes)
        smtp.stop()
