"""Attribution correction: a manager moves a response to the agent who really handled it.

The wrong agent on the ticket is the most common complaint about agent-level feedback. Moving a
response moves everything derived from it, in one transaction: the interaction and response
rows, the reward ledger (a reversal for the old agent, a new award for the new one), the
response's alerts, coaching notes, shout-outs and recovery case, both agents' stats and boards,
an audit entry, and a ``feedback.reassigned`` event. The coaching panels hear of moved alerts
(``alert.raised`` on the new team's, ``alert.moved`` on the old team's) and the recovery queue
of a moved case (``case.updated``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit, ledger, stream_names
from streamsrv.auth import Identity
from streamsrv.boards import standings
from streamsrv.coaching import alerts as coaching_alerts
from streamsrv.coaching.panel import alerts_json
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.models import (
    Account,
    Agent,
    Alert,
    CoachingNote,
    Interaction,
    RecoveryCase,
    Response,
    Shoutout,
)
from streamsrv.outbox import emit
from streamsrv.recovery import cases as recovery_cases
from streamsrv.recovery.views import CASE_UPDATED

FEEDBACK_REASSIGNED = "feedback.reassigned"


def reassign(
    session: Session, identity: Identity, response_id: int, agent_id: int, reason: str, now: datetime
) -> dict[str, Any]:
    """``POST /api/v1/responses/{id}/reassign``."""
    if identity.role not in ledger.WRITERS:
        raise ApiError(403, "only managers and administrators move responses", code="forbidden")
    response = session.get(Response, response_id)
    if (
        response is None
        or response.org_id != identity.org_id
        or not identity.sees_account(response.account_id)
    ):
        raise not_found("response")
    reason = reason.strip()
    if not reason:
        raise field_error("reason", "a reason is required")
    target = session.get(Agent, agent_id)
    if target is None or target.org_id != identity.org_id or target.account_id != response.account_id:
        raise field_error("agent_id", f"no agent {agent_id} in this response's account")
    if target.id == response.agent_id:
        raise field_error("agent_id", "the response already belongs to this agent", 409)
    account = session.get(Account, response.account_id)
    interaction = session.get(Interaction, response.interaction_id)
    previous = session.get(Agent, response.agent_id)
    assert account is not None and interaction is not None and previous is not None
    from_agent, from_team = response.agent_id, response.team_id
    for row in (response, interaction):
        row.agent_id = agent_id
        row.team_id = target.team_id
        session.add(row)
    response.updated_at = now
    session.flush()
    _move_derived(session, account, response_id, from_team, target, now)
    ledger.sync_response(session, account, response, now, reason=reason, actor=identity.name or None)
    details = {"from_agent_id": from_agent, "to_agent_id": agent_id, "reason": reason}
    audit.record(session, identity, "response.reassign", f"response:{response_id}", details, now=now)
    payload = {"response_id": response_id, "account_id": response.account_id, **details}
    streams = dict.fromkeys(
        [
            *stream_names.feedback(response.account_id, from_team, from_agent),
            *stream_names.feedback(response.account_id, target.team_id, agent_id),
        ]
    )
    # The reason is for the managers and the audit log, not for every screen of the floor.
    emit(
        session,
        account.org_id,
        FEEDBACK_REASSIGNED,
        list(streams),
        {k: v for k, v in payload.items() if k != "reason"},
    )
    standings.announce_agent(session, account, previous, now)
    standings.announce_agent(session, account, target, now)
    return {
        "id": response_id,
        "agent_id": agent_id,
        "team_id": target.team_id,
        "previous_agent_id": from_agent,
    }


def _move_derived(
    session: Session, account: Account, response_id: int, from_team: int, target: Agent, now: datetime
) -> None:
    """The response's alerts, notes, shout-outs and recovery case follow it to ``target``."""
    assert target.id is not None
    moved_alerts = list(
        session.exec(select(Alert).where(Alert.response_id == response_id).order_by(col(Alert.id))).all()
    )
    for alert in moved_alerts:
        alert.agent_id, alert.team_id = target.id, target.team_id
        session.add(alert)
    for note in session.exec(select(CoachingNote).where(CoachingNote.response_id == response_id)).all():
        note.agent_id = target.id
        session.add(note)
    for shoutout in session.exec(select(Shoutout).where(Shoutout.response_id == response_id)).all():
        shoutout.agent_id, shoutout.team_id = target.id, target.team_id
        session.add(shoutout)
    case = session.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).first()
    if case is not None:
        case.agent_id, case.team_id = target.id, target.team_id
        case.version += 1
        case.updated_at = now
        session.add(case)
    session.flush()
    # The new team's panel gets each alert as if raised now (the same shape as ``alert.raised``);
    # the old team's panel takes it off.
    for data in alerts_json(session, moved_alerts):
        emit(session, account.org_id, coaching_alerts.RAISED, [stream_names.coach(target.team_id)], data)
        if from_team != target.team_id:
            emit(
                session,
                account.org_id,
                coaching_alerts.MOVED,
                [stream_names.coach(from_team)],
                {
                    "id": data["id"],
                    "from_team_id": from_team,
                    "team_id": target.team_id,
                    "response_id": response_id,
                },
            )
    if case is not None:
        recovery_cases.announce(session, case, CASE_UPDATED)
