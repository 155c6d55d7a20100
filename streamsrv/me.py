"""An agent's personal stream (``/me``): their own stats, recent feedback, shout-outs and the
coaching notes shared with them.

Agents only, and only their own rows: the agent id comes from the caller's identity, never from
the request, so no parameter can point this at a colleague's feedback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.auth import Identity
from streamsrv.boards.board import authorize_board
from streamsrv.boards.scoring import rank
from streamsrv.boards.stats import agent_period_sums, board_totals, bounds_json, sums_json
from streamsrv.errors import ApiError, not_found
from streamsrv.events import public_payload, reward_item
from streamsrv.labels import vocabulary
from streamsrv.models import (
    FOLLOWUP_SOURCE,
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
from streamsrv.periods import PERIODS, period_bounds, zone
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
        .where(
            ResponseRow.agent_id == agent.id,
            ResponseRow.org_id == agent.org_id,
            # Recovery follow-up answers rate the recovery, not the agent: left out of the feed
            # as they are left out of the stats, the boards and the dashboard.
            col(ResponseRow.source) != FOLLOWUP_SOURCE,
        )
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


def team_rank(
    session: Session, identity: Identity, agent: Agent, account: Account, now: datetime
) -> dict[str, Any] | None:
    """The agent's rank on their team's board per period (``{rank, of}``; rank null while not
    ranked yet), or None when the team's board is not open to this agent: the rank is shown
    exactly where the board itself may be watched (``streamsrv.boards.board.authorize_board``)."""
    try:
        authorize_board(session, identity, "team", agent.team_id)
    except ApiError:
        return None
    tz = zone(account.time_zone)
    out: dict[str, Any] = {}
    for period in PERIODS:
        start, _ = period_bounds(period, now, tz)
        totals = board_totals(session, agent.org_id, "team", agent.team_id, start)
        standings = rank(totals, account.leaderboard_min_responses)
        mine = next((s for s in standings if s.agent_id == agent.id), None)
        out[period] = {
            "rank": mine.rank if mine is not None else None,
            "of": sum(1 for s in standings if s.rank is not None),
        }
    return out


def month_rewards(session: Session, agent: Agent, account: Account, now: datetime) -> dict[str, Any]:
    """Rewards suggested for the agent this month (from the account's midnight on the 1st),
    per reward with its catalogue label and ``value``; ``currency`` is the reward's own when
    the catalogue names one, else null (accounts have no currency of their own)."""
    start, end = period_bounds("month", now, zone(account.time_zone))
    rows = session.exec(
        select(ResponseRow.reward, func.count())
        .where(
            ResponseRow.agent_id == agent.id,
            ResponseRow.org_id == agent.org_id,
            col(ResponseRow.created_at) >= start,
            col(ResponseRow.created_at) < end,
            col(ResponseRow.reward).is_not(None),
            col(ResponseRow.source) != FOLLOWUP_SOURCE,
        )
        .group_by(col(ResponseRow.reward))
    ).all()
    catalogue = {str(r.get("code")): r for r in account.reward_catalogue}
    items = []
    for code, count in sorted(rows, key=lambda r: (-int(r[1]), str(r[0]))):
        entry = catalogue.get(str(code), {})
        raw_value = entry.get("value")
        value = raw_value if isinstance(raw_value, int | float) and not isinstance(raw_value, bool) else None
        currency = entry.get("currency") if isinstance(entry.get("currency"), str) else None
        items.append(
            {
                **(reward_item(account.reward_catalogue, code) or {}),
                "count": int(count),
                "value": value,
                "total": value * int(count) if value is not None else None,
                "currency": currency or None,
            }
        )
    return {"since": iso(start), "items": items, "count": sum(i["count"] for i in items)}


def survey_scores(session: Session, agent: Agent, account: Account, now: datetime) -> dict[str, Any]:
    """This month's CSAT and NPS of the agent, each only when the account asks that question."""
    start, end = period_bounds("month", now, zone(account.time_zone))
    csat_n, csat_ok, nps_n, nps_pro, nps_det = session.exec(
        select(  # type: ignore[call-overload]
            func.count(col(ResponseRow.csat)),
            func.coalesce(func.sum(case((col(ResponseRow.csat) >= 4, 1), else_=0)), 0),
            func.count(col(ResponseRow.nps)),
            func.coalesce(func.sum(case((col(ResponseRow.nps) >= 9, 1), else_=0)), 0),
            func.coalesce(func.sum(case((col(ResponseRow.nps) <= 6, 1), else_=0)), 0),
        ).where(
            ResponseRow.agent_id == agent.id,
            ResponseRow.org_id == agent.org_id,
            col(ResponseRow.created_at) >= start,
            col(ResponseRow.created_at) < end,
            col(ResponseRow.source) != FOLLOWUP_SOURCE,
        )
    ).one()
    out: dict[str, Any] = {}
    if account.ask_csat:
        n, ok = int(csat_n), int(csat_ok)
        out["csat"] = {"answers": n, "satisfied": ok, "percent": round(100.0 * ok / n, 1) if n else None}
    if account.ask_nps:
        n, pro, det = int(nps_n), int(nps_pro), int(nps_det)
        out["nps"] = {
            "answers": n,
            "promoters": pro,
            "detractors": det,
            "score": round(100.0 * (pro - det) / n, 1) if n else None,
        }
    return out


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
        "rank": team_rank(session, identity, agent, account, now),
        "rewards_this_month": month_rewards(session, agent, account, now),
        "scores": survey_scores(session, agent, account, now),
    }
