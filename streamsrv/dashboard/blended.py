"""The counts behind the blended scorecard (``streamsrv.scorecard`` does the arithmetic).

Responses are counted exactly as the dashboard counts them (``aggregates.response_conditions``:
the caller's scope, recovery follow-up answers left out); QA scores are those of the agent's
evaluations created in the period, inside the caller's scope. Each agent is scored with the
weights and minimum of the agent's own account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from streamsrv import scorecard
from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.dashboard.aggregates import Counts, metric_columns
from streamsrv.labels import scorecard_reason_label
from streamsrv.models import Account, Agent, QaEvaluation, Response
from streamsrv.survey.listing import counted_responses


def inputs_of(counts: Counts, qa_scores: Iterable[float] = ()) -> scorecard.Inputs:
    return scorecard.Inputs(
        responses=counts.responses,
        rating_sum=counts.rating_sum,
        csat_answers=counts.csat_answers,
        csat_satisfied=counts.csat_satisfied,
        nps_answers=counts.nps_answers,
        nps_promoters=counts.nps_promoters,
        nps_detractors=counts.nps_detractors,
        fcr_answers=counts.fcr_answers,
        fcr_resolved=counts.fcr_resolved,
        qa_scores=tuple(qa_scores),
    )


def counts_of_metrics(row: Mapping[str, Any]) -> Counts:
    """The counts back from a breakdown row (``Counts.metrics``)."""
    return Counts(
        responses=row["responses"],
        rating_sum=row["rating_sum"],
        csat_answers=row["csat"]["answers"],
        csat_satisfied=row["csat"]["satisfied"],
        nps_answers=row["nps"]["answers"],
        nps_promoters=row["nps"]["promoters"],
        nps_detractors=row["nps"]["detractors"],
        fcr_answers=row["fcr"]["answers"],
        fcr_resolved=row["fcr"]["resolved"],
        rewards=row["rewards_total"],
    )


def settings_of(
    session: Session, org_id: int, agent_ids: Iterable[int]
) -> dict[int, tuple[dict[str, int], int]]:
    """Each agent's account weights and minimum responses."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Agent.id, Account.scorecard_weights, Account.scorecard_min_responses)
        .join(Account, col(Account.id) == col(Agent.account_id))
        .where(col(Agent.org_id) == org_id, col(Agent.id).in_(ids))
    ).all()
    return {
        int(agent_id): (scorecard.weights_of(weights), int(minimum or scorecard.DEFAULT_MIN_RESPONSES))
        for agent_id, weights, minimum in rows
        if agent_id is not None
    }


def qa_scores(
    session: Session,
    identity: Identity,
    agent_ids: Iterable[int],
    since: datetime | None,
    until: datetime | None,
) -> dict[int, list[float]]:
    """The scores of the agents' QA evaluations created in ``[since, until)``."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    stmt = select(QaEvaluation.agent_id, QaEvaluation.score).where(
        col(QaEvaluation.org_id) == identity.org_id, col(QaEvaluation.agent_id).in_(ids)
    )
    scope = rows_clause(identity, QaEvaluation.account_id, QaEvaluation.team_id, QaEvaluation.agent_id)
    if scope is not None:
        stmt = stmt.where(scope)
    if since is not None:
        stmt = stmt.where(col(QaEvaluation.created_at) >= since)
    if until is not None:
        stmt = stmt.where(col(QaEvaluation.created_at) < until)
    out: dict[int, list[float]] = {}
    for agent_id, score in session.exec(stmt.order_by(col(QaEvaluation.id))).all():
        out.setdefault(int(agent_id), []).append(float(score))
    return out


# Team and channel rows carry the fields too, always null: a blended score is an agent's.
NOT_SCORED: dict[str, Any] = {"blended_score": None, "blended_reason": None, "blended_reason_label": None}


def blended_json(result: scorecard.Blended) -> dict[str, Any]:
    """The three fields a breakdown row gains: the score, and why there is none (code, label)."""
    return {
        "blended_score": result.score,
        "blended_reason": result.reason,
        "blended_reason_label": scorecard_reason_label(result.reason) if result.reason else None,
    }


def score_agents(
    session: Session,
    identity: Identity,
    counts: Mapping[int, Counts],
    since: datetime | None,
    until: datetime | None,
) -> dict[int, scorecard.Blended]:
    """The blended score of each agent in ``counts`` (their responses' counts in the period)."""
    settings = settings_of(session, identity.org_id, counts)
    scores = qa_scores(session, identity, counts, since, until)
    out: dict[int, scorecard.Blended] = {}
    for agent_id, agent_counts in counts.items():
        weights, minimum = settings.get(
            agent_id, (dict(scorecard.DEFAULT_WEIGHTS), scorecard.DEFAULT_MIN_RESPONSES)
        )
        out[agent_id] = scorecard.blend(inputs_of(agent_counts, scores.get(agent_id, ())), weights, minimum)
    return out


def add_to_breakdown(
    session: Session, identity: Identity, breakdown: dict[str, Any], since: datetime, until: datetime
) -> dict[str, Any]:
    """The agent breakdown with ``blended_score`` (and its reason) on every row."""
    counts = {int(row["id"]): counts_of_metrics(row) for row in breakdown["items"] if row["id"] is not None}
    results = score_agents(session, identity, counts, since, until)
    for row in breakdown["items"]:
        result = results.get(int(row["id"])) if row["id"] is not None else None
        row.update(NOT_SCORED if result is None else blended_json(result))
    return breakdown


def agent_counts(
    session: Session, identity: Identity, agent_id: int, terms: Iterable[ColumnElement[bool]]
) -> Counts:
    """One agent's counts over ``terms`` (period and filters), inside the caller's scope."""
    stmt = select(*metric_columns()).where(
        *counted_responses(identity), col(Response.agent_id) == agent_id, *terms
    )
    return Counts.of(session.exec(stmt).one())


def score_agent(
    session: Session,
    identity: Identity,
    agent_id: int,
    since: datetime | None,
    until: datetime | None,
    terms: Iterable[ColumnElement[bool]] = (),
) -> scorecard.Blended:
    """One agent's blended score for responses created in ``[since, until)`` matching ``terms``."""
    bounds: list[ColumnElement[bool]] = list(terms)
    if since is not None:
        bounds.append(col(Response.created_at) >= since)
    if until is not None:
        bounds.append(col(Response.created_at) < until)
    counts = agent_counts(session, identity, agent_id, bounds)
    return score_agents(session, identity, {agent_id: counts}, since, until)[agent_id]
