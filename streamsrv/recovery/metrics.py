"""Recovery metrics over the cases opened in a period: speed, SLA, and whether it helped.

``summarise`` is pure (rows in, numbers out) so the definitions can be read and tested alone:
- time to claim / resolve: from opening, over the cases that got there (median and p90);
- within SLA: resolved by ``opened_at + sla``; breached: resolved later, or still unresolved
  past the deadline (those have missed it already); the share is within / (within + breached);
- rating uplift: average (after - before) over cases whose follow-up the customer answered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.models import Account, CaseStatus, RecoveryCase

DEFAULT_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class CaseFacts:
    status: str
    opened_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime
    before_rating: int
    after_rating: int | None
    followup_sent: bool


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every answer is a time that really happened)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def durations(values: Sequence[float]) -> dict[str, Any]:
    return {"count": len(values), "median_seconds": median(values), "p90_seconds": percentile(values, 0.9)}


def _avg(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def summarise(facts: Sequence[CaseFacts], now: datetime) -> dict[str, Any]:
    to_claim = [(f.claimed_at - f.opened_at).total_seconds() for f in facts if f.claimed_at is not None]
    resolved = [f for f in facts if f.resolved_at is not None]
    to_resolve = [(f.resolved_at - f.opened_at).total_seconds() for f in resolved if f.resolved_at]
    within = sum(1 for f in resolved if f.resolved_at is not None and f.resolved_at <= f.sla_due_at)
    late = len(resolved) - within
    overdue = sum(1 for f in facts if f.resolved_at is None and f.sla_due_at < now)
    judged = within + late + overdue
    answered = [f for f in facts if f.after_rating is not None]
    before = [f.before_rating for f in answered]
    after = [f.after_rating for f in answered if f.after_rating is not None]
    uplift = round((sum(after) - sum(before)) / len(answered), 2) if answered else None
    return {
        "opened": len(facts),
        "resolved": len(resolved),
        "time_to_claim": durations(to_claim),
        "time_to_resolve": durations(to_resolve),
        "within_sla": within,
        "sla_breached": late + overdue,
        "within_sla_share": round(within / judged, 4) if judged else None,
        "followups_sent": sum(1 for f in facts if f.followup_sent),
        "followups_answered": len(answered),
        "avg_before_rating": _avg(before),
        "avg_after_rating": _avg(after),
        "rating_uplift": uplift,
    }


def _scoped(identity: Identity, account_id: int | None) -> Any:
    clause = rows_clause(identity, RecoveryCase.account_id, RecoveryCase.team_id, RecoveryCase.agent_id)
    conditions: list[Any] = [RecoveryCase.org_id == identity.org_id]
    if clause is not None:
        conditions.append(clause)
    if account_id is not None:
        conditions.append(RecoveryCase.account_id == account_id)
    return conditions


def recovery_metrics(
    session: Session,
    identity: Identity,
    account_id: int | None,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    until = until or now
    since = since or until - DEFAULT_PERIOD
    conditions = _scoped(identity, account_id)
    rows = session.exec(
        select(RecoveryCase, Account.recovery_sla_minutes)
        .join(Account, col(Account.id) == col(RecoveryCase.account_id))
        .where(*conditions)
        .where(col(RecoveryCase.opened_at) >= since, col(RecoveryCase.opened_at) < until)
    ).all()
    facts = [
        CaseFacts(
            status=case.status,
            opened_at=case.opened_at,
            claimed_at=case.claimed_at,
            resolved_at=case.resolved_at,
            sla_due_at=case.opened_at + timedelta(minutes=sla),
            before_rating=case.before_rating,
            after_rating=case.after_rating,
            followup_sent=case.followup_request_id is not None,
        )
        for case, sla in rows
    ]
    # The queue as it stands now, whatever the period.
    counts = dict(
        session.exec(
            select(RecoveryCase.status, func.count())
            .where(*conditions)
            .where(col(RecoveryCase.status).in_([CaseStatus.open, CaseStatus.claimed]))
            .group_by(col(RecoveryCase.status))
        ).all()
    )
    return {
        "since": since,
        "until": until,
        "open_count": int(counts.get(CaseStatus.open, 0)),
        "claimed_count": int(counts.get(CaseStatus.claimed, 0)),
        **summarise(facts, now),
    }
