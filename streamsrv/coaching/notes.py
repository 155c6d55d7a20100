"""Coaching notes: what a leader wrote about an agent's response, private or shared with the agent.

A note goes to the team's ``coach:{team_id}`` stream; a shared one also to ``agent:{agent_id}``,
where the agent's own page shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.auth import Identity
from streamsrv.coaching.access import load_agent, require_person, user_names
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.models import Agent, CoachingNote, Response, Role
from streamsrv.outbox import emit
from streamsrv.timefmt import iso

NOTE_EVENT = "coaching.note"


def response_of_agent(session: Session, response_id: int | None, agent: Agent) -> int | None:
    """``response_id`` if it is one of ``agent``'s responses; 422 on ``response_id`` otherwise."""
    if response_id is None:
        return None
    response = session.get(Response, response_id)
    if response is None or response.agent_id != agent.id or response.org_id != agent.org_id:
        raise field_error("response_id", "no response with this id for this agent")
    return response_id


def note_json(note: CoachingNote, agent: Agent, author_name: str) -> dict[str, Any]:
    return {
        "id": note.id,
        "agent": {"id": agent.id, "name": agent.name},
        "team_id": agent.team_id,
        "response_id": note.response_id,
        "text": note.text,
        "shared": note.shared,
        # The name as a plain string: /me and the boards show it as is.
        "author": author_name,
        "author_id": note.author_id,
        "created_at": iso(note.created_at),
    }


def add_note(
    session: Session,
    identity: Identity,
    agent_id: int,
    response_id: int | None,
    text: str,
    shared: bool,
    now: datetime,
) -> dict[str, Any]:
    author_id = require_person(identity)
    agent = load_agent(session, identity, agent_id, field="agent_id")
    assert agent.id is not None
    note = CoachingNote(
        org_id=agent.org_id,
        agent_id=agent.id,
        response_id=response_of_agent(session, response_id, agent),
        author_id=author_id,
        text=text,
        shared=shared,
        created_at=now,
    )
    session.add(note)
    session.flush()
    payload = note_json(note, agent, identity.name)
    streams = [stream_names.coach(agent.team_id)]
    if shared:
        streams.append(stream_names.agent(agent.id))
    emit(session, agent.org_id, NOTE_EVENT, streams, payload)
    return payload


def list_notes(
    session: Session, identity: Identity, agent_id: int, before_id: int | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first. Coaches see every note of their agents; an agent sees the shared notes about them."""
    own = identity.role == Role.agent and identity.agent_id == agent_id
    if own:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.org_id != identity.org_id:
            raise not_found("agent")
    elif identity.role == Role.agent:
        raise not_found("agent")
    else:
        try:
            agent = load_agent(session, identity, agent_id)
        except ApiError:
            raise not_found("agent") from None
    stmt = select(CoachingNote).where(
        CoachingNote.agent_id == agent_id, CoachingNote.org_id == identity.org_id
    )
    if own:
        stmt = stmt.where(col(CoachingNote.shared).is_(True))
    if before_id is not None:
        stmt = stmt.where(col(CoachingNote.id) < before_id)
    rows = list(session.exec(stmt.order_by(col(CoachingNote.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    names = user_names(session, {n.author_id for n in rows})
    items = [note_json(n, agent, names.get(n.author_id, "")) for n in rows]
    next_cursor = str(rows[-1].id) if more and rows else None
    return items, next_cursor
