"""The JSON shape of a recovery case, and loading what it needs in a few batched queries.

One shape serves the API answers and every ``case.*`` event, so the page renders both with the
same code. It carries the customer's contact details: recovery staff need them to call back, and
``recovery:{account_id}`` is the only stream it ever goes to. After the account's retention
period, or on request, they are erased (``streamsrv.retention``): ``customer.erased`` says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.labels import Vocabulary, vocabulary
from streamsrv.models import (
    Account,
    Agent,
    CaseNote,
    FeedbackRequest,
    Interaction,
    RecoveryCase,
    RequestStatus,
    Response,
    User,
)
from streamsrv.timefmt import iso_or_none

CASE_OPENED = "case.opened"
CASE_CLAIMED = "case.claimed"
CASE_UPDATED = "case.updated"
CASE_RESOLVED = "case.resolved"


def recovery_stream(account_id: int) -> str:
    return stream_names.recovery(account_id)


def sla_due(case: RecoveryCase, sla_minutes: int) -> datetime:
    return case.opened_at + timedelta(minutes=sla_minutes)


@dataclass
class CaseContext:
    """Everything around a set of cases, loaded once per request (or known in memory)."""

    responses: dict[int, Response] = field(default_factory=dict)
    interactions: dict[int, Interaction] = field(default_factory=dict)
    agents: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    sla_minutes: dict[int, int] = field(default_factory=dict)
    notes: dict[int, list[CaseNote]] = field(default_factory=dict)
    followups: dict[int, FeedbackRequest] = field(default_factory=dict)
    # Follow-up links by request id: only API answers carry them, events never do.
    followup_urls: dict[int, str] = field(default_factory=dict)
    # Each account's labels for its codes.
    vocabs: dict[int, Vocabulary] = field(default_factory=dict)


def _person(users: dict[int, str], user_id: int | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"id": user_id, "name": users.get(user_id, f"User {user_id}")}


def _response_part(
    response: Response | None, interaction: Interaction | None, vocab: Vocabulary | None = None
) -> dict[str, Any]:
    if response is None:
        return {}
    words = vocab or Vocabulary()
    return {
        "id": response.id,
        "rating": response.rating,
        # A moderated comment stays hidden here too.
        "comment": None if response.comment_hidden else (response.comment or None),
        "comment_hidden": response.comment_hidden,
        "improvement_areas": list(response.improvement_areas),
        "improvement_area_labels": words.area_list(response.improvement_areas),
        "channel": response.channel,
        "channel_label": words.channel(response.channel),
        "external_id": interaction.external_id if interaction else None,
        "ticket_url": interaction.ticket_url if interaction else None,
        "created_at": iso_or_none(response.created_at),
    }


def _followup_part(ctx: CaseContext, case: RecoveryCase) -> dict[str, Any] | None:
    if case.followup_request_id is None:
        return None
    request = ctx.followups.get(case.followup_request_id)
    if request is None:
        return {
            "request_id": case.followup_request_id,
            "status": None,
            "answered": False,
            "url": None,
            "sent_at": None,
            "expires_at": None,
        }
    return {
        "request_id": request.id,
        "status": request.status,
        "answered": request.status == RequestStatus.responded,
        "url": ctx.followup_urls.get(case.followup_request_id),
        "sent_at": iso_or_none(request.created_at),
        "expires_at": iso_or_none(request.expires_at),
    }


def case_json(case: RecoveryCase, ctx: CaseContext) -> dict[str, Any]:
    assert case.id is not None
    response = ctx.responses.get(case.response_id)
    interaction = ctx.interactions.get(response.interaction_id) if response else None
    sla = ctx.sla_minutes.get(case.account_id, 240)
    followup = _followup_part(ctx, case)
    return {
        "id": case.id,
        "account_id": case.account_id,
        "team_id": case.team_id,
        "status": case.status,
        "version": case.version,
        "agent": {"id": case.agent_id, "name": ctx.agents.get(case.agent_id, f"Agent {case.agent_id}")},
        "response": _response_part(response, interaction, ctx.vocabs.get(case.account_id)),
        "customer": {
            "name": interaction.customer_name if interaction else None,
            "email": interaction.customer_email if interaction else None,
            "phone": interaction.customer_phone if interaction else None,
            # Once true, streams drop these details from replays (streamsrv.redaction).
            "erased": interaction is not None and interaction.contact_erased_at is not None,
        },
        "before_rating": case.before_rating,
        "after_rating": case.after_rating,
        "opened_at": iso_or_none(case.opened_at),
        "sla_minutes": sla,
        "sla_due_at": iso_or_none(sla_due(case, sla)),
        "claimed_by": _person(ctx.users, case.claimed_by),
        "claimed_at": iso_or_none(case.claimed_at),
        "resolved_by": _person(ctx.users, case.resolved_by),
        "resolved_at": iso_or_none(case.resolved_at),
        "contact_outcome": case.contact_outcome,
        "resolution": case.resolution,
        "followup": followup,
        "notes": [
            {
                "id": note.id,
                "author": _person(ctx.users, note.author_id),
                "text": note.text,
                "created_at": iso_or_none(note.created_at),
            }
            for note in ctx.notes.get(case.id, [])
        ],
        "updated_at": iso_or_none(case.updated_at),
    }


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


def load_context(session: Session, cases: Sequence[RecoveryCase]) -> CaseContext:
    """The rows around ``cases`` in one query per table (never one per case)."""
    ctx = CaseContext()
    if not cases:
        return ctx
    case_ids = _ids(c.id for c in cases)
    responses = session.exec(select(Response).where(col(Response.id).in_(_ids(c.response_id for c in cases))))
    ctx.responses = {r.id: r for r in responses.all() if r.id is not None}
    interactions = session.exec(
        select(Interaction).where(
            col(Interaction.id).in_(_ids(r.interaction_id for r in ctx.responses.values()))
        )
    )
    ctx.interactions = {i.id: i for i in interactions.all() if i.id is not None}
    agents = session.exec(
        select(Agent.id, Agent.name).where(col(Agent.id).in_(_ids(c.agent_id for c in cases)))
    )
    ctx.agents = {a_id: name for a_id, name in agents.all() if a_id is not None}
    accounts = session.exec(
        select(Account).where(col(Account.id).in_(_ids(c.account_id for c in cases)))
    ).all()
    ctx.sla_minutes = {a.id: a.recovery_sla_minutes for a in accounts if a.id is not None}
    ctx.vocabs = {a.id: vocabulary(a) for a in accounts if a.id is not None}
    notes = session.exec(
        select(CaseNote).where(col(CaseNote.case_id).in_(case_ids)).order_by(col(CaseNote.id))
    ).all()
    for note in notes:
        ctx.notes.setdefault(note.case_id, []).append(note)
    followup_ids = _ids(c.followup_request_id for c in cases)
    if followup_ids:
        requests = session.exec(select(FeedbackRequest).where(col(FeedbackRequest.id).in_(followup_ids)))
        ctx.followups = {r.id: r for r in requests.all() if r.id is not None}
    user_ids = _ids(
        [*(c.claimed_by for c in cases), *(c.resolved_by for c in cases), *(n.author_id for n in notes)]
    )
    if user_ids:
        users = session.exec(select(User.id, User.name, User.email).where(col(User.id).in_(user_ids)))
        ctx.users = {u_id: name or email for u_id, name, email in users.all() if u_id is not None}
    return ctx
