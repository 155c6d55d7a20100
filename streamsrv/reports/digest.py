"""What the scheduled reports say, read from the database (no sending, no scheduling here).

- :func:`leader_digest`: a team leader's teams over one local day: responses, average rating,
  negative responses, the best and worst responses of the day, open recovery cases.
- :func:`weekly_summary`: one account over a Monday-to-Sunday week, against the week before:
  responses, average rating, CSAT / NPS / FCR where the account asks them, top agents, recovery.
- :func:`highlights`: the best and worst responses of a period, also used by the chat digest.

Figures come from the dashboard's own aggregates (``streamsrv.dashboard.aggregates``), so a
report and the dashboard over the same day agree. A comment hidden by moderation is never
carried: its response still counts and may still be listed, without its words. Follow-up answers
(which rate the recovery, not the agent) are left out as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from streamsrv import labels
from streamsrv.auth import Identity
from streamsrv.dashboard import aggregates
from streamsrv.dashboard.filters import DashboardQuery, Period
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    Agent,
    CaseStatus,
    RecoveryCase,
    Response,
    Role,
    Team,
)
from streamsrv.periods import ONE_DAY, day_bounds, zone
from streamsrv.reports.timing import ONE_WEEK

# Best and worst responses listed per team (email) and per digest (chat).
HIGHLIGHTS = 3
# Best responses are rated at least this; worst at most WORST_MAX (so a day of fives lists no
# "worst", and a day of ones no "best").
BEST_MIN = 4
WORST_MAX = 3
TOP_AGENTS = 3
# A comment is cut to this many characters in a report (the whole one is on the dashboard).
COMMENT_MAX = 280


@dataclass(frozen=True)
class Highlight:
    response_id: int
    agent: str
    rating: int
    # Empty when the customer wrote none or moderation hid it.
    comment: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class TeamDay:
    team_id: int
    team: str
    account: str
    responses: int
    average: float | None
    negatives: int
    open_cases: int
    best: list[Highlight] = field(default_factory=list)
    worst: list[Highlight] = field(default_factory=list)


@dataclass(frozen=True)
class LeaderDigest:
    day: date
    time_zone: str
    teams: list[TeamDay]

    @property
    def responses(self) -> int:
        return sum(t.responses for t in self.teams)


@dataclass(frozen=True)
class WeekFigures:
    responses: int
    average: float | None
    csat: float | None
    nps: float | None
    fcr: float | None


@dataclass(frozen=True)
class AgentLine:
    name: str
    average: float
    responses: int


@dataclass(frozen=True)
class RecoveryWeek:
    opened: int
    resolved: int
    open_now: int
    # Average (after - before) rating over the week's cases whose follow-up was answered.
    uplift: float | None


@dataclass(frozen=True)
class WeeklySummary:
    account: str
    first_day: date
    last_day: date
    this_week: WeekFigures
    week_before: WeekFigures
    asks: dict[str, bool]
    top_agents: list[AgentLine]
    recovery: RecoveryWeek


def service_identity(account: Account, name: str) -> Identity:
    """Reads one account's rows as the server (the recipient's own scope is applied by the
    caller's choice of account and teams)."""
    assert account.id is not None
    return Identity(
        org_id=account.org_id,
        role=Role.admin,
        scopes=frozenset({"read"}),
        name=name,
        account_ids=frozenset({account.id}),
    )


def cut(text: str, limit: int = COMMENT_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def highlights(
    session: Session,
    org_id: int,
    period: Period,
    *,
    account_id: int | None = None,
    team_ids: Iterable[int] | None = None,
    limit: int = HIGHLIGHTS,
) -> tuple[list[Highlight], list[Highlight]]:
    """The best (highest rated, at least :data:`BEST_MIN`) and worst (lowest, at most
    :data:`WORST_MAX`) responses of ``period``; among equal ratings, those with a visible
    comment first, then the latest."""
    terms: list[Any] = [
        col(Response.org_id) == org_id,
        col(Response.source) != FOLLOWUP_SOURCE,
        col(Response.created_at) >= period.since,
        col(Response.created_at) < period.until,
    ]
    if account_id is not None:
        terms.append(col(Response.account_id) == account_id)
    if team_ids is not None:
        terms.append(col(Response.team_id).in_(sorted(team_ids)))
    visible = case((and_(col(Response.comment) != "", col(Response.comment_hidden).is_(False)), 1), else_=0)
    base = select(Response, Agent.name).join(Agent, col(Agent.id) == col(Response.agent_id)).where(*terms)
    best = session.exec(
        base.where(col(Response.rating) >= BEST_MIN)
        .order_by(col(Response.rating).desc(), visible.desc(), col(Response.id).desc())
        .limit(limit)
    ).all()
    worst = session.exec(
        base.where(col(Response.rating) <= WORST_MAX)
        .order_by(col(Response.rating), visible.desc(), col(Response.id).desc())
        .limit(limit)
    ).all()
    return [_highlight(r, name) for r, name in best], [_highlight(r, name) for r, name in worst]


def _highlight(response: Response, agent: str) -> Highlight:
    assert response.id is not None
    return Highlight(
        response_id=response.id,
        agent=agent,
        rating=response.rating,
        comment="" if response.comment_hidden else cut(response.comment),
        channel=labels.channel_label(response.channel),
        at=response.created_at,
    )


def _unresolved(account_id: int, team_id: int | None) -> list[Any]:
    terms: list[Any] = [
        col(RecoveryCase.account_id) == account_id,
        col(RecoveryCase.status) != CaseStatus.resolved,
    ]
    if team_id is not None:
        terms.append(col(RecoveryCase.team_id) == team_id)
    return terms


def open_cases(session: Session, account: Account, team_id: int | None = None) -> int:
    assert account.id is not None
    terms = [col(RecoveryCase.org_id) == account.org_id, *_unresolved(account.id, team_id)]
    return int(session.exec(select(func.count(col(RecoveryCase.id))).where(*terms)).one())


def negatives(summary: dict[str, Any], account: Account) -> int:
    return sum(int(d["count"]) for d in summary["distribution"] if d["rating"] <= account.negative_threshold)


def team_day(session: Session, account: Account, team: Team, period: Period) -> TeamDay:
    assert account.id is not None and team.id is not None
    identity = service_identity(account, "daily report")
    query = DashboardQuery(account_id=account.id, team_id=team.id)
    summary = aggregates.summary(session, identity, query, period)
    best, worst = highlights(session, account.org_id, period, account_id=account.id, team_ids=[team.id])
    return TeamDay(
        team_id=team.id,
        team=team.name,
        account=account.name,
        responses=int(summary["responses"]),
        average=summary["average_rating"],
        negatives=negatives(summary, account),
        open_cases=open_cases(session, account, team.id),
        best=best,
        worst=worst,
    )


def leader_period(day: date, home: Account) -> Period:
    """A leader's day: ``day`` in the time zone of their home account (that of their first
    team), the same instants for every team, so the report covers a day that has ended."""
    tz = zone(home.time_zone)
    return Period(*day_bounds(day, tz), tz)


def leader_teams(session: Session, org_id: int, team_ids: Sequence[int]) -> list[tuple[Team, Account]]:
    """The leader's teams that still exist in their organization, with their accounts, by id."""
    if not team_ids:
        return []
    rows = session.exec(
        select(Team, Account)
        .join(Account, col(Account.id) == col(Team.account_id))
        .where(col(Team.org_id) == org_id, col(Team.id).in_(sorted(set(team_ids))))
        .order_by(col(Team.id))
    ).all()
    return [(team, account) for team, account in rows]


def leader_digest(session: Session, org_id: int, team_ids: Sequence[int], day: date) -> LeaderDigest | None:
    """The daily digest over a leader's teams, or None when they lead no team any more."""
    teams = leader_teams(session, org_id, team_ids)
    if not teams:
        return None
    home = teams[0][1]
    period = leader_period(day, home)
    return LeaderDigest(
        day=day,
        time_zone=home.time_zone,
        teams=[team_day(session, account, team, period) for team, account in teams],
    )


def responses_in(session: Session, org_id: int, team_ids: Sequence[int], period: Period) -> int:
    """How many responses the teams had (follow-ups left out): a cheap check before a report."""
    return int(
        session.exec(
            select(func.count(col(Response.id))).where(
                col(Response.org_id) == org_id,
                col(Response.source) != FOLLOWUP_SOURCE,
                col(Response.team_id).in_(sorted(set(team_ids))),
                col(Response.created_at) >= period.since,
                col(Response.created_at) < period.until,
            )
        ).one()
    )


# --- weekly ------------------------------------------------------------------------------------


def week_period(first_day: date, account: Account) -> Period:
    tz = zone(account.time_zone)
    since, _ = day_bounds(first_day, tz)
    _, until = day_bounds(first_day + ONE_WEEK - ONE_DAY, tz)
    return Period(since, until, tz)


def week_figures(session: Session, account: Account, period: Period) -> WeekFigures:
    assert account.id is not None
    identity = service_identity(account, "weekly report")
    summary = aggregates.summary(session, identity, DashboardQuery(account_id=account.id), period)
    return WeekFigures(
        responses=int(summary["responses"]),
        average=summary["average_rating"],
        csat=summary["csat"]["percent"],
        nps=summary["nps"]["score"],
        fcr=summary["fcr"]["percent"],
    )


def top_agents(
    session: Session, account: Account, period: Period, limit: int = TOP_AGENTS
) -> list[AgentLine]:
    """The best-rated agents of the period with at least the account's boards minimum of answers."""
    assert account.id is not None
    identity = service_identity(account, "weekly report")
    items = aggregates.breakdown(session, identity, DashboardQuery(account_id=account.id), period, "agent")
    floor = max(1, account.leaderboard_min_responses)
    rated = [i for i in items["items"] if i["responses"] >= floor and i["average_rating"] is not None]
    rated.sort(key=lambda i: (-i["average_rating"], -i["responses"], i["name"]))
    return [AgentLine(str(i["name"]), float(i["average_rating"]), int(i["responses"])) for i in rated[:limit]]


def recovery_week(session: Session, account: Account, period: Period) -> RecoveryWeek:
    assert account.id is not None
    terms = [col(RecoveryCase.org_id) == account.org_id, col(RecoveryCase.account_id) == account.id]
    opened = session.exec(
        select(RecoveryCase.before_rating, RecoveryCase.after_rating).where(
            *terms, col(RecoveryCase.opened_at) >= period.since, col(RecoveryCase.opened_at) < period.until
        )
    ).all()
    resolved = session.exec(
        select(func.count(col(RecoveryCase.id))).where(
            *terms,
            col(RecoveryCase.resolved_at) >= period.since,
            col(RecoveryCase.resolved_at) < period.until,
        )
    ).one()
    answered = [after - before for before, after in opened if after is not None]
    return RecoveryWeek(
        opened=len(opened),
        resolved=int(resolved),
        open_now=open_cases(session, account),
        uplift=round(sum(answered) / len(answered), 2) if answered else None,
    )


def weekly_summary(session: Session, account: Account, first_day: date) -> WeeklySummary:
    """The account's week from Monday ``first_day`` (its own time zone), with the week before."""
    this_week = week_period(first_day, account)
    before = week_period(first_day - ONE_WEEK, account)
    return WeeklySummary(
        account=account.name,
        first_day=first_day,
        last_day=first_day + ONE_WEEK - ONE_DAY,
        this_week=week_figures(session, account, this_week),
        week_before=week_figures(session, account, before),
        asks={"csat": account.ask_csat, "nps": account.ask_nps, "fcr": account.ask_fcr},
        top_agents=top_agents(session, account, this_week),
        recovery=recovery_week(session, account, this_week),
    )


def change(now: float | None, before: float | None) -> float | None:
    """``now - before`` when both exist (the trend against the week before)."""
    return None if now is None or before is None else round(now - before, 2)
