"""Helpers for the feedback collection tests: an account with a team and agents, written directly
to the database (so these tests do not depend on the structure API), and small lookups."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import Account, Agent, FeedbackRequest, OutboxEvent, Response, Team
from tests.conftest import Tenant


@dataclass(frozen=True)
class Setup:
    org_id: int
    account_id: int
    team_id: int
    agent_id: int
    other_agent_id: int


def make_setup(db: Database, org_id: int, **account: Any) -> Setup:
    with db.session() as s:
        acc = Account(org_id=org_id, name=f"Acme {secrets.token_hex(3)}", **account)
        s.add(acc)
        s.flush()
        assert acc.id is not None
        team = Team(org_id=org_id, account_id=acc.id, name="Tier 1")
        s.add(team)
        s.flush()
        assert team.id is not None
        agents = [
            Agent(
                org_id=org_id,
                account_id=acc.id,
                team_id=team.id,
                name=name,
                bio="Loves solving tricky billing questions.",
                hobbies=["climbing", "jazz"],
                external_ids={"zendesk": ext},
            )
            for name, ext in (("Maria Lopez", "zd-1"), ("Sam Otieno", "zd-2"))
        ]
        s.add_all(agents)
        s.flush()
        assert agents[0].id is not None and agents[1].id is not None
        return Setup(org_id, acc.id, team.id, agents[0].id, agents[1].id)


def interaction_body(setup: Setup, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": setup.account_id,
        "agent_id": setup.agent_id,
        "channel": "chat",
        "external_id": f"T-{secrets.token_hex(6)}",
        "customer": {"email": f"c{secrets.token_hex(4)}@example.com", "name": "Cara", "phone": None},
    }
    body.update(overrides)
    return body


def new_request(tenant: Tenant, setup: Setup, **overrides: Any) -> dict[str, Any]:
    r = tenant.api.post("/api/v1/interactions", json=interaction_body(setup, **overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


def responses_for(db: Database, interaction_id: int) -> list[Response]:
    with db.session() as s:
        return list(s.exec(select(Response).where(Response.interaction_id == interaction_id)).all())


def request_row(db: Database, request_id: int) -> FeedbackRequest:
    with db.session() as s:
        row = s.get(FeedbackRequest, request_id)
        assert row is not None
        return row


def outbox(db: Database, org_id: int, type: str | None = None) -> list[OutboxEvent]:
    with db.session() as s:
        stmt = select(OutboxEvent).where(OutboxEvent.org_id == org_id).order_by(col(OutboxEvent.id))
        if type is not None:
            stmt = stmt.where(OutboxEvent.type == type)
        return list(s.exec(stmt).all())


def feedback_event_types(db: Database, org_id: int) -> list[str]:
    """Types of the events the survey flow itself emits (surfaces add their own beside them)."""
    return [e.type for e in outbox(db, org_id) if e.type.startswith(("feedback.", "reward."))]


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, "survey page has no csrf_token field"
    return match.group(1)
