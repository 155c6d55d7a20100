"""Shout-outs: public praise a leader posts for an agent, shown on the boards and the agent's page.

``shoutout.posted`` goes to the team and account boards (the floor's TVs), to the agent and to
the team's coaching panel. Only positive words are expected here; the author is a named person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv import stream_names
from streamsrv.auth import Identity
from streamsrv.coaching.access import load_agent, require_person
from streamsrv.coaching.notes import response_of_agent
from streamsrv.models import Agent, Shoutout
from streamsrv.outbox import emit
from streamsrv.timefmt import iso

SHOUTOUT_EVENT = "shoutout.posted"


def shoutout_streams(agent: Agent) -> list[str]:
    assert agent.id is not None
    return [
        *stream_names.boards(agent.team_id, agent.account_id),
        stream_names.agent(agent.id),
        stream_names.coach(agent.team_id),
    ]


def shoutout_json(shoutout: Shoutout, agent: Agent, author_name: str) -> dict[str, Any]:
    return {
        "id": shoutout.id,
        "agent": {"id": agent.id, "name": agent.name},
        # Flat copies for the boards' ticker, which reads names without nesting.
        "agent_id": agent.id,
        "agent_name": agent.name,
        "team_id": shoutout.team_id,
        "account_id": shoutout.account_id,
        "response_id": shoutout.response_id,
        "message": shoutout.message,
        "author": author_name,
        "author_name": author_name,
        "author_id": shoutout.author_id,
        "created_at": iso(shoutout.created_at),
    }


def post_shoutout(
    session: Session, identity: Identity, agent_id: int, response_id: int | None, message: str, now: datetime
) -> dict[str, Any]:
    author_id = require_person(identity)
    agent = load_agent(session, identity, agent_id, field="agent_id")
    assert agent.id is not None
    shoutout = Shoutout(
        org_id=agent.org_id,
        account_id=agent.account_id,
        team_id=agent.team_id,
        agent_id=agent.id,
        response_id=response_of_agent(session, response_id, agent),
        author_id=author_id,
        message=message,
        created_at=now,
    )
    session.add(shoutout)
    session.flush()
    payload = shoutout_json(shoutout, agent, identity.name)
    emit(session, agent.org_id, SHOUTOUT_EVENT, shoutout_streams(agent), payload)
    return payload
