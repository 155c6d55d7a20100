"""Aggregate queries behind the boards and ``/me``: indexed sums, never a scan of all responses.

``agent_period_sums`` is what runs per stored response (one query on
``ix_responses_agent_created``); ``board_totals`` serves a board snapshot (one grouped query on
the team or account index, plus the roster so that agents without answers are listed too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func
from sqlmodel import Session, col, select

from streamsrv.boards.scoring import Totals, average
from streamsrv.models import FOLLOWUP_SOURCE, Agent, AgentPhoto, Response, UTCDateTime
from streamsrv.periods import PERIODS, Period, all_period_bounds
from streamsrv.survey.cards import photo_url
from streamsrv.timefmt import iso

BoardScope = Literal["team", "account"]


@dataclass(frozen=True)
class PeriodSums:
    count: int
    rating_sum: int
    rewards: int

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "average": average(self.rating_sum, self.count)}


def _period_sums_query() -> Any:
    """Built once: constructing this expression costs more than running it on SQLite."""
    columns = []
    for p in PERIODS:
        inside = col(Response.created_at) >= bindparam(f"start_{p}", type_=UTCDateTime())
        columns.append(func.coalesce(func.sum(case((inside, 1), else_=0)), 0))
        columns.append(func.coalesce(func.sum(case((inside, Response.rating), else_=0)), 0))
        rewarded = inside & col(Response.reward).is_not(None)
        columns.append(func.coalesce(func.sum(case((rewarded, 1), else_=0)), 0))
    return select(*columns).where(
        col(Response.agent_id) == bindparam("agent_id"),
        col(Response.created_at) >= bindparam("earliest", type_=UTCDateTime()),
        col(Response.source) != FOLLOWUP_SOURCE,
    )


_PERIOD_SUMS = _period_sums_query()


def agent_period_sums(
    session: Session, agent_id: int, now: datetime, tz: ZoneInfo
) -> dict[Period, PeriodSums]:
    """The agent's count, rating sum and rewards for today, this week and this month, whose
    starts are the midnights of ``tz`` (the agent's account's zone)."""
    starts = {p: start for p, (start, _) in all_period_bounds(now, tz).items()}
    params: dict[str, Any] = {f"start_{p}": start for p, start in starts.items()}
    params.update(agent_id=agent_id, earliest=min(starts.values()))
    row = session.execute(_PERIOD_SUMS, params).one()
    values = [int(v or 0) for v in row]
    return {p: PeriodSums(*values[i * 3 : i * 3 + 3]) for i, p in enumerate(PERIODS)}


def sums_json(sums: dict[Period, PeriodSums]) -> dict[str, dict[str, Any]]:
    return {p: s.as_json() for p, s in sums.items()}


def bounds_json(now: datetime, tz: ZoneInfo) -> dict[str, dict[str, str]]:
    """Where each period the sums cover begins and ends: a client that sees ``start`` move on
    knows the day (week, month) has turned and reloads instead of mixing two periods."""
    return {
        p: {"start": iso(start), "end": iso(end)} for p, (start, end) in all_period_bounds(now, tz).items()
    }


def board_totals(
    session: Session, org_id: int, scope: BoardScope, target_id: int, since: datetime
) -> list[Totals]:
    """Every active agent of the team or account with their sums since ``since``."""
    agent_col = col(Agent.team_id) if scope == "team" else col(Agent.account_id)
    response_col = col(Response.team_id) if scope == "team" else col(Response.account_id)
    sums: dict[int, tuple[int, int, int]] = {}
    rows = session.exec(
        select(
            Response.agent_id,
            func.count(),
            func.coalesce(func.sum(Response.rating), 0),
            func.coalesce(func.sum(case((col(Response.reward).is_not(None), 1), else_=0)), 0),
        )
        .where(
            response_col == target_id,
            Response.org_id == org_id,
            col(Response.created_at) >= since,
            col(Response.source) != FOLLOWUP_SOURCE,
        )
        .group_by(col(Response.agent_id))
    ).all()
    for agent_id, count, rating_sum, rewards in rows:
        sums[int(agent_id)] = (int(count), int(rating_sum), int(rewards))
    agents = session.exec(select(Agent).where(agent_col == target_id, Agent.org_id == org_id)).all()
    uploaded = (
        set(
            session.exec(
                select(AgentPhoto.agent_id).where(col(AgentPhoto.agent_id).in_([a.id for a in agents]))
            ).all()
        )
        if agents
        else set()
    )
    out: list[Totals] = []
    for agent in agents:
        assert agent.id is not None
        count, rating_sum, rewards = sums.get(agent.id, (0, 0, 0))
        # An agent who left still counts for the period they worked in; otherwise only active ones.
        if not agent.active and count == 0:
            continue
        out.append(
            Totals(
                agent_id=agent.id,
                name=agent.name,
                count=count,
                rating_sum=rating_sum,
                rewards=rewards,
                photo=photo_url(agent.id, agent.photo_url, agent.id in uploaded),
            )
        )
    return out
