"""The coaching panel's data: the snapshot ``/coach`` loads, and acknowledging alerts.

The snapshot is what the page renders before it goes live: the caller's teams, the selected
team's agents with today's numbers and a 14-day daily average (the sparkline), recent team
feedback and the open and recently acknowledged alerts. Days are the team's account's local
days (``streamsrv.periods``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, update
from sqlmodel import Session, col, select

from streamsrv import labels, stream_names
from streamsrv.auth import Identity
from streamsrv.coaching import rules
from streamsrv.coaching.access import coachable_teams, coaches, load_team, require_person, user_names
from streamsrv.coaching.alerts import ACKNOWLEDGED, alert_json, response_summary
from streamsrv.coaching.shoutouts import shoutout_json
from streamsrv.errors import ApiError, not_found
from streamsrv.models import FOLLOWUP_SOURCE, Account, Agent, Alert, Response, Shoutout, Team, User
from streamsrv.outbox import emit
from streamsrv.periods import as_date, day_bounds, day_start, last_days, local_day, zone
from streamsrv.survey.cards import photo_url
from streamsrv.survey.listing import FeedbackQuery, list_feedback, uploaded_photos
from streamsrv.timefmt import iso

SERIES_DAYS = 14
RECENT_FEEDBACK = 30
OPEN_ALERTS = 50
MAX_OPEN_ALERTS = 500
RECENT_ACKNOWLEDGED = 20
# Shout-outs listed under "Great moments": the latest of the past week.
RECENT_SHOUTOUTS = 10
SHOUTOUT_WINDOW = timedelta(days=7)
# At most this many alerts acknowledged in one request ("Acknowledge selected").
MAX_ACKNOWLEDGE = 500

# The panel's two lists: what needs a team leader's attention, and what deserves recognition.
ATTENTION_RULES = (rules.NEGATIVE_RATING, rules.LOW_STREAK, rules.RECURRING_AREA)
MOMENT_RULES = (rules.GREAT_MOMENT,)
ALERT_KINDS = (*ATTENTION_RULES, *MOMENT_RULES)


@dataclass(frozen=True)
class AlertFilter:
    """The panel's filter: one kind of alert (a rule) and/or one agent; None means all."""

    kind: str | None = None
    agent_id: int | None = None

    def clauses(self) -> list[Any]:
        terms: list[Any] = []
        if self.kind is not None:
            terms.append(col(Alert.rule) == self.kind)
        if self.agent_id is not None:
            terms.append(col(Alert.agent_id) == self.agent_id)
        return terms


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


@dataclass(frozen=True)
class TeamAlerts:
    open: list[Alert]
    recent: list[Alert]
    # Every open alert the filter covers, counted in SQL (``open`` holds at most the limit).
    open_count: int


def team_alerts(
    session: Session, team_id: int, where: AlertFilter = AlertFilter(), limit: int = OPEN_ALERTS
) -> TeamAlerts:
    terms = [col(Alert.team_id) == team_id, *where.clauses()]
    is_open = col(Alert.acknowledged_at).is_(None)
    open_ = session.exec(
        select(Alert)
        .where(*terms, is_open)
        .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
        .limit(limit)
    ).all()
    count = session.exec(select(func.count()).select_from(Alert).where(*terms, is_open)).one()
    done = session.exec(
        select(Alert)
        .where(*terms, col(Alert.acknowledged_at).is_not(None))
        .order_by(col(Alert.acknowledged_at).desc(), col(Alert.id).desc())
        .limit(RECENT_ACKNOWLEDGED)
    ).all()
    return TeamAlerts(list(open_), list(done), int(count))


def team_shoutouts(session: Session, team_id: int, where: AlertFilter, now: datetime) -> list[dict[str, Any]]:
    """The team's latest shout-outs of the past week (for "Great moments"), following the
    filter: an agent filter keeps theirs, a kind filter other than great moments keeps none."""
    if where.kind is not None and where.kind not in MOMENT_RULES:
        return []
    stmt = (
        select(Shoutout, Agent, User.name)
        .join(Agent, col(Agent.id) == col(Shoutout.agent_id))
        .join(User, col(User.id) == col(Shoutout.author_id))
        .where(Shoutout.team_id == team_id, col(Shoutout.created_at) >= now - SHOUTOUT_WINDOW)
    )
    if where.agent_id is not None:
        stmt = stmt.where(Shoutout.agent_id == where.agent_id)
    rows = session.exec(
        stmt.order_by(col(Shoutout.created_at).desc(), col(Shoutout.id).desc()).limit(RECENT_SHOUTOUTS)
    ).all()
    return [shoutout_json(s, agent, author or "") for s, agent, author in rows]


def team_json(team: Team, accounts: dict[int, str]) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "account_id": team.account_id,
        "account_name": accounts.get(team.account_id, ""),
    }


def snapshot(
    session: Session,
    identity: Identity,
    team_id: int | None,
    now: datetime,
    where: AlertFilter = AlertFilter(),
    open_limit: int = OPEN_ALERTS,
) -> dict[str, Any]:
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
        "alerts": {"open": [], "recent": [], "open_count": 0, "open_limit": open_limit},
        "shoutouts": [],
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
    uploaded = uploaded_photos(session, {a.id for a in agents if a.id is not None})
    body["agents"] = [
        {
            "id": a.id,
            "name": a.name,
            "photo_url": photo_url(a.id or 0, a.photo_url, a.id in uploaded),
            **agent_stats(days, totals.get(a.id or 0, {})),
        }
        for a in agents
    ]
    page = list_feedback(session, identity, FeedbackQuery(team_id=team.id, limit=RECENT_FEEDBACK))
    body["feedback"] = page.items
    found = team_alerts(session, team.id, where, open_limit)
    body["alerts"] = {
        "open": alerts_json(session, found.open),
        "recent": alerts_json(session, found.recent),
        "open_count": found.open_count,
        "open_limit": open_limit,
    }
    body["shoutouts"] = team_shoutouts(session, team.id, where, now)
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


def acknowledge_many(
    session: Session, identity: Identity, team_id: int, alert_ids: Sequence[int], now: datetime
) -> int:
    """Acknowledge several alerts of one team in one transaction ("Acknowledge selected").

    Each is recorded exactly as a single acknowledgement is (``acknowledged_by``/``_at`` and an
    ``alert.acknowledged`` event per alert); one already acknowledged keeps its first
    acknowledger. An id that is not an alert of this team, in the caller's scope, fails the
    whole request (404) before anything is written. Returns how many this call acknowledged.
    """
    user_id = require_person(identity)
    team = load_team(session, identity, team_id)
    wanted = sorted(set(alert_ids))
    if not wanted:
        return 0
    if len(wanted) > MAX_ACKNOWLEDGE:
        raise ApiError(
            422, f"acknowledge at most {MAX_ACKNOWLEDGE} alerts at once", fields={"alert_id": "too many"}
        )
    found = session.exec(select(Alert).where(col(Alert.id).in_(wanted))).all()
    if len(found) != len(wanted) or any(a.team_id != team.id or a.org_id != identity.org_id for a in found):
        raise not_found("alert")
    won: list[Alert] = []
    for alert in found:
        result = session.execute(
            update(Alert)
            .where(col(Alert.id) == alert.id, col(Alert.acknowledged_by).is_(None))
            .values(acknowledged_by=user_id, acknowledged_at=now)
        )
        if getattr(result, "rowcount", 0) == 1:
            won.append(alert)
    for alert in won:
        session.refresh(alert)
    for payload in alerts_json(session, won):
        emit(session, team.org_id, ACKNOWLEDGED, [stream_names.coach(team.id or 0)], payload)
    return len(won)
