"""Bounded overload (streamsrv.admission): past STREAMSRV_MAX_INGEST_IN_FLIGHT the server answers
503 with Retry-After at once instead of queueing, /readyz says "saturated", and once the load
passes every answer is stored exactly once and its events are published.

The requests are held in flight by the database itself: the test holds a write lock (SQLite: an
open ``BEGIN IMMEDIATE`` transaction; PostgreSQL: ``LOCK TABLE responses``) so that the server's
own writes wait on it, on a real server with its own database and a real Redis.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from streamsrv.admission import Gate
from streamsrv.app import create_app
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import OutboxEvent, Response
from streamsrv.tenancy import create_org
from tests.conftest import Tenant, fresh_database, make_settings
from tests.support import TIMEOUT, LiveServer, wait_until
from tests.survey_support import csrf_of, interaction_body, make_setup, new_request

LIMIT = 2


@dataclass
class Busy:
    tenant: Tenant
    db: Database
    gate: Gate

    @property
    def url(self) -> str:
        return self.tenant.server.url


@pytest.fixture
def busy(backend: str, tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[Busy]:
    with fresh_database(backend, tmp_path) as database:
        settings = make_settings(
            database.url, redis_server.url, tmp_path, max_ingest_in_flight=LIMIT, relay_poll_interval=0.2
        )
        with database.session() as session:
            org = create_org(
                session, "Busy", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
            )
        live = LiveServer(create_app(settings)).start()
        try:
            with httpx.Client(
                base_url=live.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
            ) as api:
                gate = live.app.state.ctx.services["admission"]
                yield Busy(Tenant(org=org, server=live, api=api), database, gate)
        finally:
            live.stop()


@contextmanager
def writes_blocked(db: Database) -> Iterator[None]:
    """A transaction of the test's own that keeps the server's writes to responses waiting."""
    conn = db.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if db.is_sqlite else "LOCK TABLE responses IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()
    finally:
        conn.close()


def token_of(issued: dict[str, Any]) -> str:
    return str(issued["request"]["token"])


def form_path(issued: dict[str, Any]) -> str:
    return "/f/" + str(issued["request"]["url"]).rsplit("/f/", 1)[1]


def stored(db: Database, interaction_id: int) -> list[Response]:
    with db.session() as s:
        return list(s.exec(select(Response).where(Response.interaction_id == interaction_id)).all())


def unpublished(db: Database, org_id: int) -> list[OutboxEvent]:
    with db.session() as s:
        query = select(OutboxEvent).where(OutboxEvent.org_id == org_id, col(OutboxEvent.sent_at).is_(None))
        return list(s.exec(query).all())


def test_past_the_limit_ingest_is_refused_at_once_and_nothing_is_lost(busy: Busy) -> None:
    setup = make_setup(busy.db, busy.tenant.org_id)
    held = [new_request(busy.tenant, setup) for _ in range(LIMIT)]
    refused_api, refused_form = new_request(busy.tenant, setup), new_request(busy.tenant, setup)
    with ThreadPoolExecutor(LIMIT) as pool, httpx.Client(base_url=busy.url, timeout=TIMEOUT) as http:
        with writes_blocked(busy.db):
            answers: list[Future[httpx.Response]] = [
                pool.submit(http.post, f"/api/v1/responses/{token_of(i)}", json={"rating": 5}) for i in held
            ]
            wait_until(lambda: busy.gate.in_flight == LIMIT)

            started = time.monotonic()
            api = http.post(f"/api/v1/responses/{token_of(refused_api)}", json={"rating": 4})
            interaction = busy.tenant.api.post("/api/v1/interactions", json=interaction_body(setup))
            form = http.post(form_path(refused_form), data={"rating": "3"}, headers={"Accept-Language": "de"})
            ready = http.get("/readyz")
            live = http.get("/healthz")
            elapsed = time.monotonic() - started
            metrics = http.get("/metrics").text
            # Still held: nothing finished while the lock was held.
            assert not any(f.done() for f in answers)

        done = [f.result(timeout=TIMEOUT) for f in answers]

    # Refused at once, with the API's error body and Retry-After; far under any timeout.
    assert elapsed < TIMEOUT / 5, elapsed
    for refused in (api, interaction):
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
    # The customer's form gets a readable page in their language, not JSON.
    assert form.status_code == 503 and form.headers["retry-after"] == "1"
    assert form.headers["content-type"].startswith("text/html")
    assert "Gerade ist sehr viel los" in form.text and '<html lang="de"' in form.text
    # Readiness says why; liveness is unaffected.
    assert ready.status_code == 503
    assert ready.json() | {"checks": None} == {
        "status": "saturated",
        "in_flight": LIMIT,
        "limit": LIMIT,
        "checks": None,
    }
    assert live.status_code == 200
    assert f"streamsrv_ingest_in_flight_limit {float(LIMIT)}" in metrics
    assert "streamsrv_ingest_refused_total" in metrics
    assert busy.gate.refused == 3

    # Released: the held answers were stored, the gate is empty and /readyz is ready again.
    assert [r.status_code for r in done] == [201] * LIMIT, [r.text for r in done]
    assert busy.gate.in_flight == 0
    with httpx.Client(base_url=busy.url, timeout=TIMEOUT) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready" and ready.json()["limit"] == LIMIT
        # The refused calls stored nothing; sent again, they are stored once.
        assert stored(busy.db, refused_api["interaction_id"]) == []
        assert stored(busy.db, refused_form["interaction_id"]) == []
        again = http.post(f"/api/v1/responses/{token_of(refused_api)}", json={"rating": 4})
        assert again.status_code == 201, again.text
        path = form_path(refused_form)
        page = http.get(path)
        sent = http.post(path, data={"csrf_token": csrf_of(page), "rating": "3"})
        assert sent.status_code == 303, sent.text
    for issued, rating in [*((i, 5) for i in held), (refused_api, 4), (refused_form, 3)]:
        rows = stored(busy.db, issued["interaction_id"])
        assert [r.rating for r in rows] == [rating]
    # And the outbox still publishes every event, the held answers' included.
    wait_until(lambda: not unpublished(busy.db, busy.tenant.org_id))


def test_readyz_reports_the_capacity_while_there_is_room(busy: Busy) -> None:
    with httpx.Client(base_url=busy.url, timeout=TIMEOUT) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["in_flight"] == 0 and body["limit"] == LIMIT
    assert body["checks"]["capacity"] == {"ok": True, "in_flight": 0, "limit": LIMIT}
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
