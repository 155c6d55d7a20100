"""What the ``/qa`` page shows: interactions to pick, one interaction's feedback, its scorecards
and calibration. Every read is limited to the reviewer's scope, as the API is."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.labels import vocabulary
from streamsrv.models import Account, Agent, Interaction, QaTemplate, Response
from streamsrv.qa import evaluations, templates


def recent_interactions(session: Session, identity: Identity, limit: int = 20) -> list[dict[str, Any]]:
    """The latest interactions with feedback in the reviewer's scope."""
    clause = rows_clause(identity, Interaction.account_id, Interaction.team_id, Interaction.agent_id)
    stmt = (
        select(Interaction, Agent.name)
        .join(Agent, col(Agent.id) == col(Interaction.agent_id))
        .where(Interaction.org_id == identity.org_id)
        .where(col(Interaction.id).in_(select(Response.interaction_id)))
    )
    if clause is not None:
        stmt = stmt.where(clause)
    rows = session.exec(stmt.order_by(col(Interaction.id).desc()).limit(limit)).all()
    return [{"id": i.id, "agent": name, "when": i.occurred_at} for i, name in rows]


def review_view(session: Session, identity: Identity, interaction_id: int | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "recent": recent_interactions(session, identity),
        "interaction": None,
        "feedback": [],
        "cards": [],
        "calibration": None,
    }
    if interaction_id is None:
        return view
    interaction = evaluations.load_interaction(session, identity, interaction_id)
    account = session.get(Account, interaction.account_id)
    agent = session.get(Agent, interaction.agent_id)
    words = vocabulary(account)
    responses = session.exec(
        select(Response).where(Response.interaction_id == interaction_id).order_by(col(Response.id))
    ).all()
    view["interaction"] = {
        "id": interaction.id,
        "agent": agent.name if agent else "",
        "channel": words.channel(interaction.channel),
        "when": interaction.occurred_at,
    }
    view["feedback"] = [
        {
            "rating": r.rating,
            "comment": "" if r.comment_hidden else r.comment,
            "reward": words.reward(r.reward) if r.reward else "",
            "areas": words.area_list(r.improvement_areas),
        }
        for r in responses
    ]
    view["cards"] = templates.list_templates(session, identity, interaction.account_id, all_versions=False)
    view["calibration"] = evaluations.calibration(session, identity, interaction_id)
    return view


def mine_view(session: Session, identity: Identity) -> list[dict[str, Any]]:
    """The agent's own evaluations, newest first, each with its scorecard's questions and answers."""
    items = evaluations.list_evaluations(session, identity, None, None, 100)
    cards = {
        t.id: t
        for t in session.exec(
            select(QaTemplate).where(col(QaTemplate.id).in_(sorted({e["template_id"] for e in items})))
        ).all()
    }
    for item in items:
        card = cards.get(item["template_id"])
        item["card"] = card.name if card else ""
        item["lines"] = [
            {"section": s["name"], "criterion": c["name"], "answer": item["answers"].get(c["id"])}
            for s in (card.sections if card else [])
            for c in s["criteria"]
        ]
    return items
