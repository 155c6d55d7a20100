"""An agent's personal stream (``/me``): their own stats, recent feedback, shout-outs and the
coaching notes shared with them.

Agents only, and only their own rows: the agent id comes from the caller's identity, never from
the request, so no parameter can point this at a colleague's feedback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.auth import Identity
from streamsrv.boards.stats import agent_period_sums, bounds_json, sums_json
from streamsrv.errors import ApiError, not_found
from streamsrv.events import public_payload, reward_item
from streamsrv.labels import vocabulary
from streamsrv.models import (
    Account,
    Agent,
    CoachingNote,
    Interaction,
    Role,
    Shoutout,
    User,
    utcnow,
)
from streamsrv.models import (
    Response as ResponseRow,
)
from streamsrv.periods import zone
from streamsrv.survey.cards import agent_card, response_json
from streamsrv.timefmt import iso

RECENT_FEEDBACK = 30
RECENT_EXTRAS = 20


def require_agent(identity: Identity) -> int:
    if identity.role != Role.agent or identity.agent_id is None:
        raise ApiError(403, "this page is for agents: it shows an agent's own feedback", code="forbidden")
    return identity.agent_id


def recent_feedback(session: Session, agent: Agent, account: Account) -> list[dict[str, Any]]:
    card = agent_card(session, agent)
    words = vocabulary(account)
    rows = session.exec(
        select(ResponseRow, Interaction.external_id, Interaction.ticket_url)
        .join(Interaction, col(Interaction.id) == col(ResponseRow.interaction_id))
        .where(ResponseRow.agent_id == agent.id, ResponseRow.org_id == agent.org_id)
        .order_by(col(ResponseRow.created_at).desc(), col(ResponseRow.id).desc())
        .limit(RECENT_FEEDBACK)
    ).all()
    out = []
    for row, external_id, ticket_url in rows:
        item = public_payload(response_json(row, external_id, card, ticket_url, words))
        # The catalogue label and emoji, so a card reads "Coffee" rather than "coffee".
        item["reward_item"] = reward_item(account.reward_catalogue, row.reward)
        out.append(item)
    return out


def shoutouts(session: Session, agent: Agent) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Shoutout, User.name)
        .join(User, col(User.id) == col(Shoutout.author_id))
        .where(Shoutout.agent_id == agent.id, Shoutout.org_id == agent.org_id)
        .order_by(col(Shoutout.created_at).desc())
        .limit(RECENT_EXTRAS)
    ).all()
    return [
        {
            "id": s.id,
            "message": s.message,
            "author": author,
            "response_id": s.response_id,
            "created_at": iso(s.created_at),
        }
        for s, author in rows
    ]


def shared_notes(session: Session, agent: Agent) -> list[dict[str, Any]]:
    rows = session.exec(
        select(CoachingNote, User.name)
        .join(User, col(User.id) == col(CoachingNote.author_id))
        .where(
            CoachingNote.agent_id == agent.id,
            CoachingNote.org_id == agent.org_id,
            col(CoachingNote.shared).is_(True),
        )
        .order_by(col(CoachingNote.created_at).desc())
        .limit(RECENT_EXTRAS)
    ).all()
    return [
        {
            "id": n.id,
            "text": n.text,
            "author": author,
            "response_id": n.response_id,
            "created_at": iso(n.created_at),
        }
        for n, author in rows
    ]


def me_snapshot(session: Session, identity: Identity, now: datetime | None = None) -> dict[str, Any]:
    agent = session.get(Agent, require_agent(identity))
    if agent is None or agent.org_id != identity.org_id:
        raise not_found("agent")
    account = session.get(Account, agent.account_id)
    assert account is not None and agent.id is not None
    card = agent_card(session, agent)
    now = now or utcnow()
    tz = zone(account.time_zone)
    return {
        "agent": {
            "id": agent.id,
            "name": agent.name,
            "photo": card.photo,
            "team_id": agent.team_id,
            "account_id": agent.account_id,
        },
        "stream": stream_names.agent(agent.id),
        "stats": sums_json(agent_period_sums(session, agent.id, now, tz)),
        "period_bounds": bounds_json(now, tz),
        "time_zone": tz.key,
        "feedback": recent_feedback(session, agent, account),
        "shoutouts": shoutouts(session, agent),
        "notes": shared_notes(session, agent),
        "rewards": [reward_item(account.reward_catalogue, r["code"]) for r in account.reward_catalogue],
    }
