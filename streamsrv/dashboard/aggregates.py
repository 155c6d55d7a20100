"""Dashboard aggregates computed in SQL (the same statements on SQLite and PostgreSQL).

The database only counts and sums integers; every ratio (average, CSAT %, NPS, FCR %, response
rate) is derived here in Python from those exact counts, so both backends give identical numbers
and a recount from the rows can be compared for equality, not approximately.

Definitions (docs/api-surfaces.md, "Dashboard"):
- responses: responses created in the period that match the filters and the caller's scope;
- requests sent: initial feedback requests created in the period that were not suppressed;
- response rate: responses / requests sent, in percent;
- CSAT %: share of CSAT answers that are 4 or 5; NPS: % promoters (9-10) - % detractors (0-6);
- FCR %: share of first-contact-resolution answers that are "yes".
Hidden (moderated) comments change nothing here: the rating always counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, func
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.dashboard.filters import DashboardQuery, Period
from streamsrv.events import reward_item
from streamsrv.models import (
    Account,
    Agent,
    FeedbackRequest,
    Interaction,
    RequestKind,
    RequestStatus,
    Response,
    Team,
)
from streamsrv.periods import as_date, local_day
from streamsrv.survey.listing import counted_responses
from streamsrv.timefmt import iso

BreakdownBy = Literal["team", "agent", "channel"]
# A breakdown is a table on a page; past this many rows it is an export, not a table.
MAX_BREAKDOWN_ROWS = 1000


def response_conditions(
    identity: Identity, query: DashboardQuery, period: Period
) -> list[ColumnElement[bool]]:
    """WHERE terms for the responses a filter covers, always inside the caller's org and scope."""
    # The same rows as the feedback list and the CSV export (follow-up answers left out).
    terms: list[ColumnElement[bool]] = [
        *counted_responses(identity),
        col(Response.created_at) >= period.since,
        col(Response.created_at) < period.until,
    ]
    if query.account_id is not None:
        terms.append(col(Response.account_id) == query.account_id)
    if query.team_id is not None:
        terms.append(col(Response.team_id) == query.team_id)
    if query.agent_id is not None:
        terms.append(col(Response.agent_id) == query.agent_id)
    if query.channel is not None:
        terms.append(col(Response.channel) == query.channel.value)
    return terms


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def metric_columns() -> list[Any]:
    """The integer aggregates every view is built from, in ``Counts`` field order."""
    return [
        func.count(col(Response.id)),
        func.coalesce(func.sum(col(Response.rating)), 0),
        func.count(col(Response.csat)),
        _count_if(col(Response.csat) >= 4),
        func.count(col(Response.nps)),
        _count_if(col(Response.nps) >= 9),
        _count_if(col(Response.nps) <= 6),
        func.count(col(Response.fcr)),
        _count_if(col(Response.fcr).is_(True)),
        func.count(col(Response.reward)),
    ]


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Counts:
    responses: int = 0
    rating_sum: int = 0
    csat_answers: int = 0
    csat_satisfied: int = 0
    nps_answers: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    fcr_answers: int = 0
    fcr_resolved: int = 0
    rewards: int = 0

    @classmethod
    def of(cls, values: Any) -> Counts:
        return cls(*(int(v or 0) for v in values))

    def metrics(self) -> dict[str, Any]:
        nps_score = None
        if self.nps_answers:
            nps_score = round(100.0 * (self.nps_promoters - self.nps_detractors) / self.nps_answers, 1)
        return {
            "responses": self.responses,
            "rating_sum": self.rating_sum,
            "average_rating": round(self.rating_sum / self.responses, 2) if self.responses else None,
            "csat": {
                "answers": self.csat_answers,
                "satisfied": self.csat_satisfied,
                "percent": _percent(self.csat_satisfied, self.csat_answers),
            },
            "nps": {
                "answers": self.nps_answers,
                "promoters": self.nps_promoters,
                "passives": self.nps_answers - self.nps_promoters - self.nps_detractors,
                "detractors": self.nps_detractors,
                "score": nps_score,
            },
            "fcr": {
                "answers": self.fcr_answers,
                "resolved": self.fcr_resolved,
                "percent": _percent(self.fcr_resolved, self.fcr_answers),
            },
            "rewards_total": self.rewards,
        }


def requests_sent(session: Session, identity: Identity, query: DashboardQuery, period: Period) -> int:
    """Initial, not suppressed requests in the period; team and channel come from the interaction."""
    stmt = (
        select(func.count(col(FeedbackRequest.id)))
        .join(Interaction, col(Interaction.id) == col(FeedbackRequest.interaction_id))
        .where(
            col(FeedbackRequest.org_id) == identity.org_id,
            col(FeedbackRequest.kind) == RequestKind.initial.value,
            col(FeedbackRequest.status) != RequestStatus.suppressed.value,
            col(FeedbackRequest.created_at) >= period.since,
            col(FeedbackRequest.created_at) < period.until,
        )
    )
    scope = rows_clause(identity, FeedbackRequest.account_id, Interaction.team_id, FeedbackRequest.agent_id)
    if scope is not None:
        stmt = stmt.where(scope)
    if query.account_id is not None:
        stmt = stmt.where(col(FeedbackRequest.account_id) == query.account_id)
    if query.team_id is not None:
        stmt = stmt.where(col(Interaction.team_id) == query.team_id)
    if query.agent_id is not None:
        stmt = stmt.where(col(FeedbackRequest.agent_id) == query.agent_id)
    if query.channel is not None:
        stmt = stmt.where(col(Interaction.channel) == query.channel.value)
    return int(session.exec(stmt).one() or 0)


def reward_catalogue(session: Session, identity: Identity) -> list[dict[str, Any]]:
    """Reward labels of the accounts in scope (first definition of a code wins)."""
    stmt = select(Account.reward_catalogue).where(col(Account.org_id) == identity.org_id)
    if not identity.org_wide and identity.account_ids:
        stmt = stmt.where(col(Account.id).in_(sorted(identity.account_ids)))
    merged: dict[str, dict[str, Any]] = {}
    for catalogue in session.exec(stmt.order_by(col(Account.id))).all():
        for item in catalogue or []:
            if isinstance(item, dict) and "code" in item:
                merged.setdefault(str(item["code"]), item)
    return list(merged.values())


def summary(session: Session, identity: Identity, query: DashboardQuery, period: Period) -> dict[str, Any]:
    terms = response_conditions(identity, query, period)
    counts = Counts.of(session.exec(select(*metric_columns()).where(*terms)).one())
    by_rating = dict(
        session.exec(
            select(col(Response.rating), func.count(col(Response.id)))
            .where(*terms)
            .group_by(col(Response.rating))
        ).all()
    )
    reward_rows = session.exec(
        select(col(Response.reward), func.count(col(Response.id)))
        .where(*terms, col(Response.reward).is_not(None))
        .group_by(col(Response.reward))
    ).all()
    catalogue = reward_catalogue(session, identity)
    rewards = sorted(
        ({**(reward_item(catalogue, code) or {}), "count": int(n)} for code, n in reward_rows),
        key=lambda r: (-r["count"], r["code"]),
    )
    sent = requests_sent(session, identity, query, period)
    return {
        "period": period_json(period),
        **counts.metrics(),
        "requests_sent": sent,
        "response_rate": _percent(counts.responses, sent),
        "distribution": [{"rating": r, "count": int(by_rating.get(r, 0))} for r in range(1, 6)],
        "rewards": rewards,
    }


def period_json(period: Period) -> dict[str, str]:
    return {"since": iso(period.since), "until": iso(period.until), "time_zone": period.tz.key}


def trend(session: Session, identity: Identity, query: DashboardQuery, period: Period) -> dict[str, Any]:
    """Responses and average rating per local day of the period's zone; days without responses
    are present with 0."""
    day = local_day(col(Response.created_at), period.since, period.until, period.tz)
    rows = session.exec(
        select(day, func.count(col(Response.id)), func.coalesce(func.sum(col(Response.rating)), 0))
        .where(*response_conditions(identity, query, period))
        .group_by(day)
    ).all()
    found = {as_date(d).isoformat(): (int(n), int(total)) for d, n, total in rows}
    points = []
    for name in period.days():
        n, total = found.get(name, (0, 0))
        points.append(
            {
                "date": name,
                "responses": n,
                "rating_sum": total,
                "average_rating": round(total / n, 2) if n else None,
            }
        )
    return {"period": period_json(period), "points": points}


def _names(session: Session, identity: Identity, by: BreakdownBy, keys: list[Any]) -> dict[Any, str]:
    if by == "channel" or not keys:
        return {k: str(k) for k in keys}
    model: type[Team] | type[Agent] = Team if by == "team" else Agent
    rows = session.exec(
        select(col(model.id), col(model.name)).where(
            col(model.org_id) == identity.org_id, col(model.id).in_(sorted(keys))
        )
    ).all()
    return {key: name for key, name in rows}


def breakdown(
    session: Session, identity: Identity, query: DashboardQuery, period: Period, by: BreakdownBy
) -> dict[str, Any]:
    """One row per team, agent or channel: responses, average, CSAT, NPS, FCR, rewards."""
    key = {"team": Response.team_id, "agent": Response.agent_id, "channel": Response.channel}[by]
    rows = session.exec(
        select(col(key), *metric_columns())
        .where(*response_conditions(identity, query, period))
        .group_by(col(key))
        .order_by(func.count(col(Response.id)).desc(), col(key))
        .limit(MAX_BREAKDOWN_ROWS)
    ).all()
    names = _names(session, identity, by, [r[0] for r in rows])
    items = [
        {
            "key": str(row[0]),
            "id": row[0] if by != "channel" else None,
            "name": names.get(row[0], str(row[0])),
            **Counts.of(row[1:]).metrics(),
        }
        for row in rows
    ]
    return {"period": period_json(period), "by": by, "items": items}
