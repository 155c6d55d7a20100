"""Opening recovery cases from responses, inside the transaction that stores the response.

Runs for every stored response, so the common case (a positive first answer) costs nothing: no
query at all. A negative first answer costs one insert; only edits and follow-up answers look
anything up, by primary or unique key.
"""

from __future__ import annotations

from sqlmodel import Session, select

from streamsrv.hooks import ResponseChange
from streamsrv.models import (
    CaseStatus,
    Interaction,
    RecoveryCase,
    RequestKind,
    Response,
)
from streamsrv.outbox import emit
from streamsrv.recovery.views import (
    CASE_OPENED,
    CASE_UPDATED,
    CaseContext,
    case_json,
    load_context,
    recovery_stream,
)


def on_response(session: Session, change: ResponseChange) -> None:
    """Open a case for a negative answer; record the after-rating of a follow-up answer."""
    if change.request.kind == RequestKind.recovery_followup:
        record_followup_answer(session, change)
        return
    if change.request.kind != RequestKind.initial:
        return
    negative = change.response.rating <= change.account.negative_threshold
    if change.created:
        if negative:
            open_case(session, change)
        return
    # An edit: open a case if it turned negative (once per response: response_id is unique),
    # or show the case's workers what the customer changed.
    existing = case_of_response(session, change.response)
    if existing is None:
        if negative:
            open_case(session, change)
        return
    announce(session, existing, CASE_UPDATED)


def case_of_response(session: Session, response: Response) -> RecoveryCase | None:
    return session.exec(select(RecoveryCase).where(RecoveryCase.response_id == response.id)).first()


def open_case(session: Session, change: ResponseChange) -> RecoveryCase:
    response = change.response
    assert response.id is not None
    case = RecoveryCase(
        org_id=response.org_id,
        account_id=response.account_id,
        team_id=response.team_id,
        agent_id=response.agent_id,
        response_id=response.id,
        status=CaseStatus.open,
        before_rating=response.rating,
        opened_at=change.now,
        updated_at=change.now,
    )
    session.add(case)
    session.flush()
    # Everything the event needs is already in memory: the interaction is in this session's
    # identity map, so ``get`` does not query.
    interaction = session.get(Interaction, response.interaction_id)
    ctx = CaseContext(
        responses={response.id: response},
        interactions={interaction.id: interaction} if interaction and interaction.id else {},
        agents={response.agent_id: str(change.payload.get("agent", {}).get("name") or "")},
        sla_minutes={response.account_id: change.account.recovery_sla_minutes},
    )
    emit(session, case.org_id, CASE_OPENED, [recovery_stream(case.account_id)], case_json(case, ctx))
    return case


def record_followup_answer(session: Session, change: ResponseChange) -> None:
    request = change.request
    case: RecoveryCase | None = None
    if request.recovery_case_id is not None:
        case = session.get(RecoveryCase, request.recovery_case_id)
    if case is None or case.org_id != request.org_id or case.followup_request_id != request.id:
        case = session.exec(
            select(RecoveryCase).where(
                RecoveryCase.org_id == request.org_id, RecoveryCase.followup_request_id == request.id
            )
        ).first()
    if case is None:
        return
    case.after_rating = change.response.rating
    case.updated_at = change.now
    case.version += 1
    session.add(case)
    session.flush()
    announce(session, case, CASE_UPDATED)


def announce(session: Session, case: RecoveryCase, event_type: str) -> None:
    """Emit ``event_type`` with the case's full current JSON to its account's recovery stream."""
    ctx = load_context(session, [case])
    emit(session, case.org_id, event_type, [recovery_stream(case.account_id)], case_json(case, ctx))
