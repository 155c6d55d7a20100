"""The coaching panel's data: the snapshot ``/coach`` loads, and acknowledging alerts.

The snapshot is what the page renders before it goes live: the caller's teams, the selected
team's agents with today's numbers and a 14-day daily average (the sparkline), recent team
feedback and the open and recently acknowledged alerts. Days are the team's account's local
days (``streamsrv.periods``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, update
from sqlmodel import Session, col, select

from streamsrv import labels, stream_names
from streamsrv.auth import Identity
from streamsrv.coaching.access import coachable_teams, coaches, load_team, require_person
from streamsrv.coaching.alerts import ACKNOWLEDGED, alert_json, response_summary
from streamsrv.errors import not_found
from streamsrv.models import FOLLOWUP_SOURCE, Account, Agent, Alert, Response, Team, User
from streamsrv.outbox import emit
from streamsrv.periods import as_date, day_bounds, day_start, last_days, local_day, zone
from streamsrv.survey.listing import FeedbackQuery, list_feedback
from streamsrv.timefmt import iso

SERIES_DAYS = 14
RECENT_FEEDBACK = 30
OPEN_ALERTS = 50
RECENT_ACKNOWLEDGED = 20


@dataclass
class DayTotals:
    count: int = 0
    total: int = 0
    negative: int = 0

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


def agent_stats(days: Sequence[date], totals: dict[date, DayTotals]) -> dict[str, Any]:
    """Today's numbers, the period's and the daily series (null average on a day without data)."""
    today = totals.get(days[-1], DayTotals())
    period = DayTotals()
    for day in days:
        t = totals.get(day)
        if t is not None:
            period.count += t.count
            period.total += t.total
            period.negative += t.negative
    return {
        "today": {"count": today.count, "average": today.average, "negative": today.negative},
        "period": {"count": period.count, "average": period.average, "negative": period.negative},
        "series": [
            {
                "date": d.isoformat(),
                "count": totals.get(d, DayTotals()).count,
                "average": totals.get(d, DayTotals()).average,
            }
            for d in days
        ],
    }


def team_totals(
    session: Session, team: Team, threshold: int, days: Sequence[date], tz: ZoneInfo
) -> dict[int, dict[date, DayTotals]]:
    """Per agent and local day of ``days``: responses, sum of ratings, negatives (one grouped query)."""
    since, until = day_start(days[0], tz), day_bounds(days[-1], tz)[1]
    day = local_day(Response.created_at, since, until, tz)
    stmt = (
        select(  # type: ignore[call-overload]
            Response.agent_id,
            day,
            func.count(),
            func.sum(Response.rating),
            func.sum(case((col(Response.rating) <= threshold, 1), else_=0).cast(Integer)),
        )
        .where(
            Response.team_id == team.id,
            Response.created_at >= since,
            Response.created_at < until,
            col(Response.source) != FOLLOWUP_SOURCE,
        )
        .group_by(Response.agent_id, day)
    )
    out: dict[int, dict[date, DayTotals]] = {}
    for agent_id, d, count, total, negative in session.exec(stmt).all():
        out.setdefault(agent_id, {})[as_date(d)] = DayTotals(int(count), int(total or 0), int(negative or 0))
    return out


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.name, User.email).where(col(User.id).in_(sorted(ids)))).all()
    return {uid: (name or email) for uid, name, email in rows if uid is not None}


def alerts_json(session: Session, alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """Alerts with agent names, response summaries and acknowledgers, in three batched queries."""
    agent_ids = {a.agent_id for a in alerts}
    response_ids = {a.response_id for a in alerts if a.response_id is not None}
    names: dict[int, str] = {}
    if agent_ids:
        rows = session.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(sorted(agent_ids)))).all()
        names = {aid: name for aid, name in rows if aid is not None}
    responses: dict[int, Response] = {}
    if response_ids:
        found = session.exec(select(Response).where(col(Response.id).in_(sorted(response_ids)))).all()
        responses = {r.id: r for r in found if r.id is not None}
    words = labels.vocabularies(session, {r.account_id for r in responses.values()})
    ackers = user_names(session, {a.acknowledged_by for a in alerts if a.acknowledged_by is not None})
    out = []
    for alert in alerts:
        response = responses.get(alert.response_id) if alert.response_id is not None else None
        acker = (
            {"id": alert.acknowledged_by, "name": ackers.get(alert.acknowledged_by, "")}
            if alert.acknowledged_by is not None
            else None
        )
        out.append(
            alert_json(
                alert,
                names.get(alert.agent_id, f"Agent {alert.agent_id}"),
                response_summary(response, words.get(response.account_id)) if response is not None else None,
                acker,
            )
        )
    return out


def team_alerts(session: Session, team_id: int) -> tuple[list[Alert], list[Alert]]:
    base = select(Alert).where(Alert.team_id == team_id)
    open_ = session.exec(
        base.where(col(Alert.acknowledged_at).is_(None))
        .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
        .limit(OPEN_ALERTS)
    ).all()
    done = session.exec(
        base.where(col(Alert.acknowledged_at).is_not(None))
        .order_by(col(Alert.acknowledged_at).desc(), col(Alert.id).desc())
        .limit(RECENT_ACKNOWLEDGED)
    ).all()
    return list(open_), list(done)


def team_json(team: Team, accounts: dict[int, str]) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "account_id": team.account_id,
        "account_name": accounts.get(team.account_id, ""),
    }


def snapshot(session: Session, identity: Identity, team_id: int | None, now: datetime) -> dict[str, Any]:
    teams = coachable_teams(session, identity)
    account_ids = sorted({t.account_id for t in teams})
    accounts: dict[int, str] = {}
    if account_ids:
        rows = session.exec(select(Account.id, Account.name).where(col(Account.id).in_(account_ids))).all()
        accounts = {aid: name for aid, name in rows if aid is not None}
    body: dict[str, Any] = {
        "teams": [team_json(t, accounts) for t in teams],
        "team": None,
        "negative_threshold": None,
        "agents": [],
        "feedback": [],
        "alerts": {"open": [], "recent": []},
        "generated_at": iso(now),
        "time_zone": None,
        "today": None,
    }
    if team_id is not None:
        team = load_team(session, identity, team_id)
    elif teams:
        team = teams[0]
    else:
        return body
    assert team.id is not None
    account = session.get(Account, team.account_id)
    threshold = account.negative_threshold if account is not None else 2
    tz = zone(account.time_zone if account is not None else None)
    days = last_days(now, SERIES_DAYS, tz)
    totals = team_totals(session, team, threshold, days, tz)
    agents = session.exec(
        select(Agent).where(Agent.team_id == team.id, col(Agent.active).is_(True)).order_by(col(Agent.name))
    ).all()
    body["team"] = team_json(team, accounts)
    body["negative_threshold"] = threshold
    body["time_zone"] = tz.key
    body["today"] = days[-1].isoformat()
    body["agents"] = [
        {"id": a.id, "name": a.name, **agent_stats(days, totals.get(a.id or 0, {}))} for a in agents
    ]
    page = list_feedback(session, identity, FeedbackQuery(team_id=team.id, limit=RECENT_FEEDBACK))
    body["feedback"] = page.items
    open_, done = team_alerts(session, team.id)
    body["alerts"] = {"open": alerts_json(session, open_), "recent": alerts_json(session, done)}
    return body


def acknowledge(session: Session, identity: Identity, alert_id: int, now: datetime) -> dict[str, Any]:
    """Acknowledge once: the first caller is recorded; later (or racing) callers get the same answer.

    The conditional UPDATE is the arbiter: only the transaction that finds the alert still
    unacknowledged changes it and emits ``alert.acknowledged``.
    """
    alert = session.get(Alert, alert_id)
    if alert is None or not coaches(identity, alert.org_id, alert.account_id, alert.team_id):
        raise not_found("alert")
    user_id = require_person(identity)
    result = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.acknowledged_by).is_(None))
        .values(acknowledged_by=user_id, acknowledged_at=now)
    )
    won = getattr(result, "rowcount", 0) == 1
    session.refresh(alert)
    payload = alerts_json(session, [alert])[0]
    if won:
        emit(session, alert.org_id, ACKNOWLEDGED, [stream_names.coach(alert.team_id)], payload)
    return payload
