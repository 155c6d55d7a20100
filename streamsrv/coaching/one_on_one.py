"""The 1:1 sheet: what a team leader and an agent look at together for one period.

One agent, one period (this week, this month, last month, the last 7 or 30 days, or a custom
range of local days in the agent's account's zone): the blended score with its components and
weights, the trend of the average rating, the best and the worst responses, the improvement
areas picked, the QA evaluations, the coaching notes and the shout-outs.

Who may open it (``authorize``): administrators and managers of the agent's account and the
agent's team leaders (``coaching.access.coaches``), and the agent, for their own sheet only. The
agent sees the coaching notes shared with them, as on ``/me``; a hidden (moderated) comment is
shown only to those who moderate (administrators and managers), as in the feedback list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from streamsrv import labels
from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.coaching.access import COACH_ROLES, coaches, user_names
from streamsrv.dashboard import blended
from streamsrv.errors import ApiError, not_found
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    Agent,
    CoachingNote,
    QaEvaluation,
    QaTemplate,
    Role,
    Shoutout,
    Team,
)
from streamsrv.models import Response as ResponseRow
from streamsrv.period_filters import MAX_DAYS, MAX_YEAR, MIN_YEAR, CalendarFilters, calendar_bounds
from streamsrv.periods import as_date, day_start, days_between, local_date, local_day, zone
from streamsrv.survey.cards import agent_card
from streamsrv.survey.listing import MODERATORS
from streamsrv.timefmt import iso

SheetPeriod = Literal["today", "week", "month", "last_month", "7d", "30d", "custom"]
PERIOD_LABELS: dict[str, str] = {
    "today": "Today",
    "week": "This week",
    "month": "This month",
    "last_month": "Last month",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom dates",
}
DEFAULT_PERIOD: SheetPeriod = "month"
# Best and worst responses shown; past this many days the trend is per week instead of per day.
EXTREMES = 3
DAILY_UP_TO = 31
LISTED = 50


class SheetQuery(BaseModel):
    """``?period=`` or ``?period=custom&from_date=&to_date=`` (local days, both inclusive)."""

    model_config = ConfigDict(extra="ignore")
    period: SheetPeriod = DEFAULT_PERIOD
    from_date: date | None = None
    to_date: date | None = None

    @field_validator("from_date", "to_date")
    @classmethod
    def _years(cls, value: date | None) -> date | None:
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
        return value


@dataclass(frozen=True)
class Window:
    period: str
    since: datetime
    until: datetime
    first: date
    last: date


def read_query(params: dict[str, str]) -> SheetQuery:
    """The sheet's period from a query string; empty values count as absent."""
    try:
        return SheetQuery.model_validate({k: v for k, v in params.items() if v != ""})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error.get("loc", ())) or "period"
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        raise ApiError(422, f"{name}: {message}", fields={name: message}) from None


def window(query: SheetQuery, now: datetime, time_zone: str) -> Window:
    """``[since, until)`` in UTC of the chosen period, at the account's midnights."""
    tz = zone(time_zone)
    if query.period == "last_month":
        this_month = local_date(now, tz).replace(day=1)
        first = (this_month - timedelta(days=1)).replace(day=1)
        since, until = day_start(first, tz), day_start(this_month, tz)
    elif query.period == "custom":
        try:
            filters = CalendarFilters(from_date=query.from_date, to_date=query.to_date)
        except ValidationError as exc:
            message = str(exc.errors()[0].get("msg", "is not valid")).removeprefix("Value error, ")
            raise ApiError(422, f"to_date: {message}", fields={"to_date": message}) from None
        if query.from_date is None and query.to_date is None:
            filters = CalendarFilters(period=DEFAULT_PERIOD)
        bounds = calendar_bounds(filters, now, tz)
        assert bounds is not None
        since, until = bounds
    else:
        bounds = calendar_bounds(CalendarFilters(period=query.period), now, tz)
        assert bounds is not None
        since, until = bounds
    days = days_between(since, until, tz)
    if len(days) > MAX_DAYS:
        raise ApiError(
            422,
            f"from_date: the period may span at most {MAX_DAYS} days",
            fields={"from_date": f"the period may span at most {MAX_DAYS} days"},
        )
    return Window(query.period, since, until, days[0], days[-1])


def authorize(session: Session, identity: Identity, agent_id: int) -> Agent:
    """The agent whose sheet ``identity`` may read; 403 for roles that never may, else 404 for an
    agent outside the caller's reach (as for one that does not exist)."""
    if identity.role == Role.agent:
        if identity.agent_id != agent_id:
            raise not_found("agent")
    elif identity.role not in COACH_ROLES:
        raise ApiError(403, "1:1 pages are for managers, team leaders and the agent", code="forbidden")
    agent = session.get(Agent, agent_id)
    if agent is None or agent.org_id != identity.org_id:
        raise not_found("agent")
    if identity.role != Role.agent and not coaches(identity, agent.org_id, agent.account_id, agent.team_id):
        raise not_found("agent")
    return agent


def _in_window(column: Any, win: Window) -> list[Any]:
    return [col(column) >= win.since, col(column) < win.until]


def _responses(identity: Identity, agent: Agent, win: Window) -> list[Any]:
    terms: list[Any] = [
        col(ResponseRow.org_id) == identity.org_id,
        col(ResponseRow.agent_id) == agent.id,
        col(ResponseRow.source) != FOLLOWUP_SOURCE,
        *_in_window(ResponseRow.created_at, win),
    ]
    scope = rows_clause(identity, ResponseRow.account_id, ResponseRow.team_id, ResponseRow.agent_id)
    if scope is not None:
        terms.append(scope)
    return terms


def trend(
    session: Session, identity: Identity, agent: Agent, win: Window, time_zone: str
) -> list[dict[str, Any]]:
    """Average rating per local day (per week from Monday for periods past a month)."""
    tz = zone(time_zone)
    day = local_day(col(ResponseRow.created_at), win.since, win.until, tz)
    rows = session.exec(
        select(day, func.count(col(ResponseRow.id)), func.coalesce(func.sum(col(ResponseRow.rating)), 0))
        .where(*_responses(identity, agent, win))
        .group_by(day)
    ).all()
    found: dict[date, tuple[int, int]] = {}
    for d, n, total in rows:
        found[as_date(d)] = (int(n), int(total))
    days = days_between(win.since, win.until, tz)
    weekly = len(days) > DAILY_UP_TO
    buckets: dict[date, list[int]] = {}
    for d in days:
        key = d - timedelta(days=d.weekday()) if weekly else d
        n, total = found.get(d, (0, 0))
        bucket = buckets.setdefault(key, [0, 0])
        bucket[0] += n
        bucket[1] += total
    return [
        {
            "start": key.isoformat(),
            "label": ("Week of " if weekly else "") + key.strftime("%d %b"),
            "responses": n,
            "average_rating": round(total / n, 2) if n else None,
        }
        for key, (n, total) in buckets.items()
    ]


def _response_item(row: ResponseRow, words: labels.Vocabulary, moderator: bool) -> dict[str, Any]:
    hidden = bool(row.comment_hidden and row.comment)
    return {
        "id": row.id,
        "rating": row.rating,
        "comment": (row.comment or None) if (moderator or not hidden) else None,
        "comment_hidden": hidden,
        "channel": words.channel(row.channel),
        "improvement_areas": words.area_list(row.improvement_areas or ()),
        "created_at": row.created_at,
    }


def extremes(
    session: Session, identity: Identity, agent: Agent, win: Window, words: labels.Vocabulary
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The best and the worst responses: by rating, those with a comment first, newest first."""
    moderator = identity.role in MODERATORS
    has_comment = case((func.coalesce(col(ResponseRow.comment), "") != "", 0), else_=1)
    base = select(ResponseRow).where(*_responses(identity, agent, win))
    best = list(
        session.exec(
            base.order_by(
                col(ResponseRow.rating).desc(),
                has_comment,
                col(ResponseRow.created_at).desc(),
                col(ResponseRow.id),
            ).limit(EXTREMES)
        ).all()
    )
    shown = {r.id for r in best}
    worst = [
        r
        for r in session.exec(
            base.order_by(
                col(ResponseRow.rating), has_comment, col(ResponseRow.created_at).desc(), col(ResponseRow.id)
            ).limit(EXTREMES * 2)
        ).all()
        if r.id not in shown
    ][:EXTREMES]
    return [_response_item(r, words, moderator) for r in best], [
        _response_item(r, words, moderator) for r in worst
    ]


def improvement_areas(
    session: Session, identity: Identity, agent: Agent, win: Window, words: labels.Vocabulary
) -> list[dict[str, Any]]:
    """How often each improvement area was picked, most picked first (labels, never codes)."""
    counts: Counter[str] = Counter()
    for areas in session.exec(
        select(ResponseRow.improvement_areas).where(*_responses(identity, agent, win))
    ).all():
        counts.update(str(a) for a in areas or ())
    return [
        {"label": words.area(code), "count": n}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def evaluations(session: Session, identity: Identity, agent: Agent, win: Window) -> list[dict[str, Any]]:
    stmt = (
        select(QaEvaluation, QaTemplate.name)
        .join(QaTemplate, col(QaTemplate.id) == col(QaEvaluation.template_id))
        .where(
            col(QaEvaluation.org_id) == identity.org_id,
            col(QaEvaluation.agent_id) == agent.id,
            *_in_window(QaEvaluation.created_at, win),
        )
    )
    scope = rows_clause(identity, QaEvaluation.account_id, QaEvaluation.team_id, QaEvaluation.agent_id)
    if scope is not None:
        stmt = stmt.where(scope)
    rows = session.exec(stmt.order_by(col(QaEvaluation.created_at).desc()).limit(LISTED)).all()
    names = user_names(session, {e.reviewer_id for e, _ in rows})
    return [
        {
            "id": e.id,
            "scorecard": template,
            "score": e.score,
            "auto_failed": e.auto_failed,
            "reviewer": names.get(e.reviewer_id, ""),
            "status": labels.qa_status_label(e.agent_status),
            "created_at": e.created_at,
        }
        for e, template in rows
    ]


def notes(session: Session, identity: Identity, agent: Agent, win: Window) -> list[dict[str, Any]]:
    stmt = select(CoachingNote).where(
        col(CoachingNote.org_id) == identity.org_id,
        col(CoachingNote.agent_id) == agent.id,
        *_in_window(CoachingNote.created_at, win),
    )
    if identity.role == Role.agent:
        stmt = stmt.where(col(CoachingNote.shared).is_(True))
    rows = session.exec(stmt.order_by(col(CoachingNote.created_at).desc()).limit(LISTED)).all()
    names = user_names(session, {n.author_id for n in rows})
    return [
        {
            "id": n.id,
            "text": n.text,
            "shared": n.shared,
            "author": names.get(n.author_id, ""),
            "created_at": n.created_at,
        }
        for n in rows
    ]


def shoutouts(session: Session, identity: Identity, agent: Agent, win: Window) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Shoutout)
        .where(
            col(Shoutout.org_id) == identity.org_id,
            col(Shoutout.agent_id) == agent.id,
            *_in_window(Shoutout.created_at, win),
        )
        .order_by(col(Shoutout.created_at).desc())
        .limit(LISTED)
    ).all()
    names = user_names(session, {s.author_id for s in rows})
    return [
        {"id": s.id, "message": s.message, "author": names.get(s.author_id, ""), "created_at": s.created_at}
        for s in rows
    ]


def sheet(
    session: Session, identity: Identity, agent_id: int, query: SheetQuery, now: datetime
) -> dict[str, Any]:
    """Everything the 1:1 page shows (raises 403/404 per ``authorize``, 422 for a bad period)."""
    agent = authorize(session, identity, agent_id)
    account = session.get(Account, agent.account_id)
    team = session.get(Team, agent.team_id)
    assert account is not None and agent.id is not None
    win = window(query, now, account.time_zone)
    words = labels.vocabulary(account)
    score = blended.score_agent(session, identity, agent.id, win.since, win.until)
    best, worst = extremes(session, identity, agent, win, words)
    return {
        "agent": agent_card(session, agent),
        "team": team.name if team is not None else "",
        "account": account.name,
        "time_zone": zone(account.time_zone).key,
        "window": win,
        "since": iso(win.since),
        "until": iso(win.until),
        "blended": score,
        "trend": trend(session, identity, agent, win, account.time_zone),
        "best": best,
        "worst": worst,
        "areas": improvement_areas(session, identity, agent, win, words),
        "evaluations": evaluations(session, identity, agent, win),
        "notes": notes(session, identity, agent, win),
        "shoutouts": shoutouts(session, identity, agent, win),
        "own": identity.role == Role.agent,
    }
