"""Helpers for the real-time tests: an org structure made through the models, responses at
chosen instants, and events committed through the outbox exactly as the ingest code does."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime

from streamsrv.db import Database
from streamsrv.models import Account, Agent, Interaction, Response, Role, Team, User
from streamsrv.outbox import emit
from streamsrv.security.passwords import hash_password
from streamsrv.tenancy import new_api_key


@dataclass
class Floor:
    org_id: int
    account_id: int
    team_id: int
    agent_ids: list[int]
    other_account_id: int
    other_team_id: int
    other_agent_id: int


def make_floor(db: Database, org_id: int, agents: int = 2) -> Floor:
    with db.session() as s:
        acc = Account(org_id=org_id, name=f"Acc {secrets.token_hex(3)}")
        other = Account(org_id=org_id, name=f"Other {secrets.token_hex(3)}")
        s.add(acc)
        s.add(other)
        s.flush()
        assert acc.id is not None and other.id is not None
        team = Team(org_id=org_id, account_id=acc.id, name="Team A")
        other_team = Team(org_id=org_id, account_id=other.id, name="Team B")
        s.add(team)
        s.add(other_team)
        s.flush()
        assert team.id is not None and other_team.id is not None
        ids = []
        for i in range(agents):
            a = Agent(org_id=org_id, account_id=acc.id, team_id=team.id, name=f"Agent {i}")
            s.add(a)
            s.flush()
            assert a.id is not None
            ids.append(a.id)
        oa = Agent(org_id=org_id, account_id=other.id, team_id=other_team.id, name="Other agent")
        s.add(oa)
        s.flush()
        assert oa.id is not None
        return Floor(org_id, acc.id, team.id, ids, other.id, other_team.id, oa.id)


_external_ids = itertools.count(1)


def store_response(
    db: Database,
    at: datetime,
    *,
    org_id: int,
    account_id: int,
    team_id: int,
    agent_id: int,
    rating: int = 4,
    areas: list[str] | None = None,
) -> int:
    """A response created at ``at``, stored as ingest stores it but without hooks or events."""
    with db.session() as s:
        interaction = Interaction(
            org_id=org_id,
            account_id=account_id,
            agent_id=agent_id,
            team_id=team_id,
            channel="chat",
            external_id=f"at-{next(_external_ids)}-{secrets.token_hex(3)}",
            occurred_at=at,
            created_at=at,
        )
        s.add(interaction)
        s.flush()
        assert interaction.id is not None
        response = Response(
            org_id=org_id,
            account_id=account_id,
            team_id=team_id,
            agent_id=agent_id,
            interaction_id=interaction.id,
            channel="chat",
            rating=rating,
            improvement_areas=areas or [],
            created_at=at,
            updated_at=at,
        )
        s.add(response)
        s.flush()
        assert response.id is not None
        return response.id


def make_key(db: Database, org_id: int, scopes: list[str], account_ids: list[int] | None = None) -> str:
    with db.session() as s:
        _, plaintext = new_api_key(s, org_id, "test key", scopes, account_ids)
        return plaintext


def make_user(
    db: Database, org_id: int, role: Role, password: str = "correct horse battery", **scope: object
) -> User:
    with db.session() as s:
        user = User(
            org_id=org_id,
            email=f"{role}-{secrets.token_hex(4)}@example.com",
            name=str(role),
            password_hash=hash_password(password),
            role=role,
            **scope,  # type: ignore[arg-type]
        )
        s.add(user)
        s.flush()
        return user


def emit_events(
    db: Database, org_id: int, streams: list[str], count: int, start: int = 0, pad: int = 0
) -> None:
    """Commit ``count`` numbered events to ``streams``, one transaction each."""
    for n in range(start, start + count):
        with db.session() as s:
            emit(s, org_id, "feedback.received", streams, {"n": n, "pad": "x" * pad})


async def emit_events_async(
    db: Database, org_id: int, streams: list[str], count: int, start: int = 0
) -> None:
    await asyncio.to_thread(emit_events, db, org_id, streams, count, start)
