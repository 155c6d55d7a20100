"""Helpers for the coaching tests: feedback through the real ingest API, signed-in API clients."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlmodel import col, select

from streamsrv.auth import SESSION_COOKIE, make_session_cookie
from streamsrv.db import Database
from streamsrv.models import Alert, OutboxEvent, User
from streamsrv.security import csrf
from tests.conftest import Tenant
from tests.streaming import Floor, make_key
from tests.support import TIMEOUT


class Ingest:
    """Posts ratings for a floor's agents through ``POST /api/v1/feedback``."""

    def __init__(self, tenant: Tenant, db: Database, floor: Floor) -> None:
        self.floor = floor
        self.client = tenant.client(make_key(db, tenant.org_id, ["ingest"]))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self, rating: int, agent: int = 0, external_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "account_id": self.floor.account_id,
            "agent_id": self.floor.agent_ids[agent],
            "channel": "chat",
            "external_id": external_id or f"ext-{secrets.token_hex(5)}",
            "rating": rating,
            **extra,
        }
        r = self.client.post("/api/v1/feedback", json=body)
        assert r.status_code in (200, 201), r.text
        response: dict[str, Any] = r.json()["response"]
        return response


def user_client(tenant: Tenant, user: User) -> httpx.Client:
    """An API client carrying ``user``'s session cookie and a matching CSRF cookie and header."""
    ctx = tenant.server.app.state.ctx
    token = secrets.token_urlsafe(16)
    cookies = {SESSION_COOKIE: make_session_cookie(ctx, user), csrf.COOKIE: token}
    return httpx.Client(
        base_url=tenant.server.url,
        headers={"X-CSRF-Token": token, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        timeout=TIMEOUT,
    )


def alerts_of(db: Database, org_id: int, rule: str | None = None) -> list[Alert]:
    with db.session() as s:
        stmt = select(Alert).where(Alert.org_id == org_id).order_by(col(Alert.id))
        if rule is not None:
            stmt = stmt.where(Alert.rule == rule)
        return list(s.exec(stmt).all())


def events_of(db: Database, org_id: int, type: str) -> list[OutboxEvent]:
    with db.session() as s:
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.org_id == org_id, OutboxEvent.type == type)
            .order_by(col(OutboxEvent.id))
        )
        return list(s.exec(stmt).all())


def seed_alerts(db: Database, floor: Floor, rule: str, count: int, agent: int = 0) -> list[int]:
    """``count`` open alerts of ``rule`` about one of the floor's agents, written directly (as
    a busy day would have raised them), newest last. Returns their ids."""
    with db.session() as s:
        rows = [
            Alert(
                org_id=floor.org_id,
                account_id=floor.account_id,
                team_id=floor.team_id,
                agent_id=floor.agent_ids[agent],
                rule=rule,
                message=f"{rule} #{n}",
                details={},
            )
            for n in range(count)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows if r.id is not None]
