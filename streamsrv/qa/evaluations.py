"""Evaluations: a reviewer scores an interaction in their scope; the agent acknowledges or disputes.

An interaction outside the reviewer's scope answers 404 (as one that does not exist) and nothing
is stored. Each evaluation emits ``qa.evaluated`` to the agent's and the team's streams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit, stream_names
from streamsrv.access import Owner, in_scope, rows_clause, visible
from streamsrv.auth import Identity
from streamsrv.coaching.access import require_person, user_names
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.models import Interaction, QaEvaluation, Role
from streamsrv.outbox import emit
from streamsrv.qa import scoring
from streamsrv.qa.schemas import EvaluationIn, ReplyIn
from streamsrv.qa.templates import REVIEWERS, load_template
from streamsrv.timefmt import iso

EVENT = "qa.evaluated"


def reviews(identity: Identity, interaction: Interaction) -> bool:
    if identity.role not in REVIEWERS or interaction.org_id != identity.org_id:
        return False
    return in_scope(identity, Owner(interaction.account_id, interaction.team_id, interaction.agent_id))


def load_interaction(session: Session, identity: Identity, interaction_id: int) -> Interaction:
    interaction = session.get(Interaction, interaction_id)
    if interaction is None or not reviews(identity, interaction):
        raise not_found("interaction")
    return interaction


def evaluation_json(row: QaEvaluation, reviewer: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "template_id": row.template_id,
        "agent_id": row.agent_id,
        "team_id": row.team_id,
        "account_id": row.account_id,
        "reviewer_id": row.reviewer_id,
        "reviewer": reviewer,
        "answers": row.answers,
        "comment": row.comment,
        "score": row.score,
        "auto_failed": row.auto_failed,
        "agent_status": row.agent_status,
        "agent_comment": row.agent_comment,
        "agent_responded_at": iso(row.agent_responded_at) if row.agent_responded_at else None,
        "created_at": iso(row.created_at),
    }


def evaluate(session: Session, identity: Identity, body: EvaluationIn, now: datetime) -> dict[str, Any]:
    reviewer_id = require_person(identity)
    interaction = load_interaction(session, identity, body.interaction_id)
    try:
        template = load_template(session, identity, body.template_id)
    except ApiError:
        raise field_error("template_id", "no scorecard with this id for you") from None
    if template.account_id != interaction.account_id:
        raise field_error("template_id", "this scorecard belongs to another account")
    try:
        scored = scoring.score(template.sections, body.answers)
    except scoring.AnswerError as exc:
        field = f"answers.{exc.criterion}"
        raise ApiError(422, f"{field}: {exc.message}", fields={field: exc.message}) from None
    assert template.id is not None and interaction.id is not None
    row = QaEvaluation(
        org_id=interaction.org_id,
        account_id=interaction.account_id,
        team_id=interaction.team_id,
        agent_id=interaction.agent_id,
        interaction_id=interaction.id,
        template_id=template.id,
        reviewer_id=reviewer_id,
        answers=dict(body.answers),
        comment=body.comment,
        score=scored.score,
        auto_failed=scored.auto_failed,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, identity, "qa.evaluated", f"qa_evaluation:{row.id}", {"score": row.score})
    payload = evaluation_json(row, identity.name)
    emit(
        session,
        row.org_id,
        EVENT,
        [stream_names.agent(row.agent_id), stream_names.team(row.team_id)],
        payload,
    )
    return payload


def _visible(identity: Identity, row: QaEvaluation) -> bool:
    if row.org_id != identity.org_id:
        return False
    if identity.role == Role.agent:
        return identity.agent_id is not None and identity.agent_id == row.agent_id
    if identity.role not in REVIEWERS:
        return False
    return in_scope(identity, Owner(row.account_id, row.team_id, row.agent_id))


def list_evaluations(
    session: Session, identity: Identity, agent_id: int | None, interaction_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first: reviewers see their scope's, an agent sees their own."""
    if identity.role != Role.agent and identity.role not in REVIEWERS:
        raise ApiError(403, "QA evaluations are for reviewers and the agent evaluated", code="forbidden")
    # The scope as SQL (an agent's scope is their own agent id), as the feedback listing does.
    clause = rows_clause(identity, QaEvaluation.account_id, QaEvaluation.team_id, QaEvaluation.agent_id)
    stmt = visible(select(QaEvaluation).where(QaEvaluation.org_id == identity.org_id), clause)
    if agent_id is not None:
        stmt = stmt.where(QaEvaluation.agent_id == agent_id)
    if interaction_id is not None:
        stmt = stmt.where(QaEvaluation.interaction_id == interaction_id)
    rows = list(session.exec(stmt.order_by(col(QaEvaluation.id).desc()).limit(limit)).all())
    names = user_names(session, {r.reviewer_id for r in rows})
    return [evaluation_json(r, names.get(r.reviewer_id, "")) for r in rows]


def reply(
    session: Session, identity: Identity, evaluation_id: int, body: ReplyIn, now: datetime
) -> dict[str, Any]:
    """The evaluated agent acknowledges or disputes, once."""
    require_person(identity)
    row = session.get(QaEvaluation, evaluation_id)
    if row is None or identity.role != Role.agent or not _visible(identity, row):
        raise not_found("evaluation")
    if row.agent_status != "pending":
        raise ApiError(409, f"this evaluation was already {row.agent_status}", code="conflict")
    row.agent_status = "acknowledged" if body.action == "acknowledge" else "disputed"
    row.agent_comment = body.comment
    row.agent_responded_at = now
    session.add(row)
    session.flush()
    audit.record(
        session,
        identity,
        f"qa.{row.agent_status}",
        f"qa_evaluation:{row.id}",
        {"comment": body.comment},
    )
    names = user_names(session, {row.reviewer_id})
    return evaluation_json(row, names.get(row.reviewer_id, ""))


def calibration(session: Session, identity: Identity, interaction_id: int) -> dict[str, Any]:
    """Every reviewer's score of one interaction and their spread."""
    load_interaction(session, identity, interaction_id)
    rows = list(
        session.exec(
            select(QaEvaluation)
            .where(QaEvaluation.org_id == identity.org_id, QaEvaluation.interaction_id == interaction_id)
            .order_by(col(QaEvaluation.id))
        ).all()
    )
    names = user_names(session, {r.reviewer_id for r in rows})
    stats = scoring.spread([r.score for r in rows])
    return {
        "interaction_id": interaction_id,
        "scores": [
            {
                "evaluation_id": r.id,
                "reviewer_id": r.reviewer_id,
                "reviewer": names.get(r.reviewer_id, ""),
                "template_id": r.template_id,
                "score": r.score,
                "auto_failed": r.auto_failed,
            }
            for r in rows
        ],
        "count": stats.count,
        "mean": stats.mean,
        "spread": stats.spread,
        "std_dev": stats.std_dev,
    }
