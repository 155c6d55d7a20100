"""Working recovery cases: who may, the checked transitions, and the events they announce.

Each change is a conditional UPDATE guarded by the version (and status) the workflow check was
made against: if someone else changed the case in between, zero rows match and the check runs
again on the fresh row. That is what makes "two people claim at once" end with exactly one
owner on SQLite and PostgreSQL alike, without table locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from streamsrv.access import accounts_clause, rows_clause
from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.errors import ApiError, not_found
from streamsrv.models import (
    Account,
    CaseNote,
    CaseStatus,
    FeedbackRequest,
    Interaction,
    RecoveryCase,
    RequestKind,
    RequestStatus,
    Response,
    Role,
)
from streamsrv.outbox import emit
from streamsrv.recovery.schemas import CaseQuery, ContactIn
from streamsrv.recovery.views import (
    CASE_CLAIMED,
    CASE_RESOLVED,
    CASE_UPDATED,
    CaseContext,
    case_json,
    load_context,
    recovery_stream,
)
from streamsrv.recovery.workflow import Action, Actor, CaseState, WorkflowError, next_status
from streamsrv.security.tokens import Signer
from streamsrv.survey.listing import Cursor
from streamsrv.survey.requests import link_token, new_request, survey_url

# The recovery queue is for recovery staff and the people who supervise it.
QUEUE_ROLES = frozenset({Role.admin, Role.manager, Role.recovery})
SUPERVISORS = frozenset({Role.admin, Role.manager})
# A transition re-checks on a fresh row this often before giving up on a hot case.
ATTEMPTS = 5

OUTCOME_LABELS = {
    "reached": "Reached the customer",
    "voicemail": "Left a voicemail",
    "no_answer": "No answer",
    "wrong_number": "Wrong number",
    "other": "Other",
}


def require_queue_access(identity: Identity) -> None:
    identity.require("read")
    if identity.role not in QUEUE_ROLES:
        raise ApiError(
            403, "the recovery queue is for recovery staff, managers and administrators", code="forbidden"
        )


def actor_of(identity: Identity) -> Actor:
    """Changes are made by a person: claims and notes are in someone's name."""
    require_queue_access(identity)
    if identity.user_id is None:
        raise ApiError(403, "working a case needs a logged-in user, not an API key", code="user_required")
    return Actor(user_id=identity.user_id, supervisor=identity.role in SUPERVISORS)


def visible_case(session: Session, identity: Identity, case_id: int) -> RecoveryCase:
    case = session.get(RecoveryCase, case_id)
    # Another organization's or account's case is "not found": its existence is not revealed.
    if case is None or case.org_id != identity.org_id or not identity.sees_account(case.account_id):
        raise not_found("case")
    return case


def workable_case(session: Session, identity: Identity, case_id: int) -> tuple[Actor, RecoveryCase]:
    """The caller as an actor and the case to change, with its customer held still.

    Locking the case's interaction orders the change with an erasure of the customer's contact
    details (``streamsrv.retention``), which locks it first: either the erasure commits before,
    and this change reads the details erased, or it waits, and erases what this change wrote
    (a follow-up's address, a note, the case events).
    """
    actor = actor_of(identity)
    case = visible_case(session, identity, case_id)
    interaction_id = select(Response.interaction_id).where(Response.id == case.response_id).scalar_subquery()
    session.exec(select(Interaction.id).where(Interaction.id == interaction_id).with_for_update())
    return actor, case


def check_account(session: Session, identity: Identity, account_id: int) -> None:
    account = session.get(Account, account_id)
    if account is None or account.org_id != identity.org_id or not identity.sees_account(account_id):
        raise ApiError(404, "account not found", fields={"account_id": "no such account in your scope"})


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueAccount:
    id: int
    name: str


def queue_accounts(session: Session, identity: Identity) -> list[QueueAccount]:
    """The accounts whose queues the caller works, by name."""
    stmt = select(Account.id, Account.name).where(Account.org_id == identity.org_id)
    clause = accounts_clause(identity)
    if clause is not None:
        stmt = stmt.where(clause)
    rows = session.exec(stmt.order_by(col(Account.name))).all()
    return [QueueAccount(a_id, name) for a_id, name in rows if a_id is not None]


@dataclass(frozen=True)
class CasePage:
    items: list[dict[str, Any]]
    next_cursor: str | None


STATUS_FILTERS: dict[str, list[str]] = {
    "open": [CaseStatus.open],
    "claimed": [CaseStatus.claimed],
    "resolved": [CaseStatus.resolved],
    "active": [CaseStatus.open, CaseStatus.claimed],
}


def list_cases(session: Session, identity: Identity, query: CaseQuery) -> CasePage:
    """Active cases oldest first (the queue's order); resolved ones newest first."""
    if query.account_id is not None:
        check_account(session, identity, query.account_id)
    stmt = select(RecoveryCase).where(
        RecoveryCase.org_id == identity.org_id, col(RecoveryCase.status).in_(STATUS_FILTERS[query.status])
    )
    scope = rows_clause(identity, RecoveryCase.account_id, RecoveryCase.team_id, RecoveryCase.agent_id)
    if scope is not None:
        stmt = stmt.where(scope)
    if query.account_id is not None:
        stmt = stmt.where(RecoveryCase.account_id == query.account_id)
    newest_first = query.status == "resolved"
    opened, case_id = col(RecoveryCase.opened_at), col(RecoveryCase.id)
    if query.cursor:
        after = Cursor.decode(query.cursor)
        if newest_first:
            stmt = stmt.where(
                or_(opened < after.created_at, and_(opened == after.created_at, case_id < after.id))
            )
        else:
            stmt = stmt.where(
                or_(opened > after.created_at, and_(opened == after.created_at, case_id > after.id))
            )
    order = (opened.desc(), case_id.desc()) if newest_first else (opened.asc(), case_id.asc())
    rows = list(session.exec(stmt.order_by(*order).limit(query.limit + 1)).all())
    cases = rows[: query.limit]
    ctx = load_context(session, cases)
    next_cursor = None
    if len(rows) > query.limit:
        last = cases[-1]
        assert last.id is not None
        next_cursor = Cursor(last.opened_at, last.id).encode()
    return CasePage([case_json(c, ctx) for c in cases], next_cursor)


def with_link(session: Session, case: RecoveryCase, signer: Signer, settings: Settings) -> CaseContext:
    """The case's context including its follow-up link (for API answers only)."""
    ctx = load_context(session, [case])
    request = ctx.followups.get(case.followup_request_id or 0)
    if request is not None and request.id is not None:
        token = link_token(signer, request)
        if token:
            ctx.followup_urls[request.id] = survey_url(settings, token)
    return ctx


# --- Changing -----------------------------------------------------------------------------------


def workflow_conflict(session: Session, case: RecoveryCase, err: WorkflowError) -> ApiError:
    fields: dict[str, str] = {}
    message = err.message
    if err.code in ("already_claimed", "claimed_by_other") and case.claimed_by is not None:
        ctx = load_context(session, [case])
        holder = ctx.users.get(case.claimed_by, f"user {case.claimed_by}")
        message = (
            f"{message}: {holder} has it"
            if err.code == "claimed_by_other"
            else f"already claimed by {holder}"
        )
        fields["claimed_by"] = holder
    return ApiError(409, message, code=err.code, fields=fields)


def check(session: Session, case: RecoveryCase, actor: Actor, action: Action) -> str:
    try:
        return next_status(action, CaseState(case.status, case.claimed_by), actor)
    except WorkflowError as err:
        raise workflow_conflict(session, case, err) from None


def transition(
    session: Session, case: RecoveryCase, actor: Actor, action: Action, values: dict[str, Any], now: datetime
) -> RecoveryCase:
    """Apply ``action`` (plus ``values``) if the workflow allows it on the case as stored now."""
    for _ in range(ATTEMPTS):
        status = check(session, case, actor, action)
        result = session.execute(
            update(RecoveryCase)
            .where(
                col(RecoveryCase.id) == case.id,
                col(RecoveryCase.status) == case.status,
                col(RecoveryCase.version) == case.version,
            )
            .values(status=status, version=case.version + 1, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        session.refresh(case)
        if getattr(result, "rowcount", 0) == 1:
            return case
    raise ApiError(409, "the case is changing too fast; reload it and try again", code="case_changed")


def announce(session: Session, case: RecoveryCase, event_type: str) -> dict[str, Any]:
    ctx = load_context(session, [case])
    emit(session, case.org_id, event_type, [recovery_stream(case.account_id)], case_json(case, ctx))
    return case_json(case, ctx)


def claim(session: Session, identity: Identity, case_id: int, now: datetime) -> RecoveryCase:
    actor, case = workable_case(session, identity, case_id)
    transition(session, case, actor, Action.claim, {"claimed_by": actor.user_id, "claimed_at": now}, now)
    announce(session, case, CASE_CLAIMED)
    return case


def release(session: Session, identity: Identity, case_id: int, now: datetime) -> RecoveryCase:
    actor, case = workable_case(session, identity, case_id)
    transition(session, case, actor, Action.release, {"claimed_by": None, "claimed_at": None}, now)
    announce(session, case, CASE_UPDATED)
    return case


def add_note(session: Session, identity: Identity, case_id: int, text: str, now: datetime) -> RecoveryCase:
    actor, case = workable_case(session, identity, case_id)
    check(session, case, actor, Action.note)
    session.add(
        CaseNote(org_id=case.org_id, case_id=case_id, author_id=actor.user_id, text=text, created_at=now)
    )
    session.flush()
    announce(session, case, CASE_UPDATED)
    return case


def record_contact(
    session: Session, identity: Identity, case_id: int, data: ContactIn, now: datetime
) -> RecoveryCase:
    actor, case = workable_case(session, identity, case_id)
    outcome = data.outcome.value
    transition(session, case, actor, Action.contact, {"contact_outcome": outcome}, now)
    # Every attempt is kept in the notes: the case shows only the latest outcome.
    text = f"Contact attempt: {OUTCOME_LABELS[outcome]}"
    note = (data.note or "").strip()
    if note:
        text = f"{text} \u2014 {note}"
    session.add(
        CaseNote(org_id=case.org_id, case_id=case_id, author_id=actor.user_id, text=text, created_at=now)
    )
    session.flush()
    announce(session, case, CASE_UPDATED)
    return case


def resolve(
    session: Session, identity: Identity, case_id: int, resolution: str, now: datetime
) -> RecoveryCase:
    actor, case = workable_case(session, identity, case_id)
    values = {"resolution": resolution, "resolved_by": actor.user_id, "resolved_at": now}
    transition(session, case, actor, Action.resolve, values, now)
    announce(session, case, CASE_RESOLVED)
    return case


@dataclass(frozen=True)
class Followup:
    case: RecoveryCase
    token: str
    url: str
    created: bool


def send_followup(
    session: Session, identity: Identity, case_id: int, signer: Signer, settings: Settings, now: datetime
) -> Followup:
    """A ``recovery_followup`` request for the case's interaction; asking again returns the same link."""
    actor, case = workable_case(session, identity, case_id)
    check(session, case, actor, Action.followup)
    if case.followup_request_id is not None:
        existing = session.get(FeedbackRequest, case.followup_request_id)
        token = link_token(signer, existing) if existing is not None else None
        if token:
            return Followup(case, token, survey_url(settings, token), False)
    response = session.get(Response, case.response_id)
    interaction = session.get(Interaction, response.interaction_id) if response else None
    account = session.get(Account, case.account_id)
    if interaction is None or account is None:
        raise not_found("case interaction")
    # Suppression does not apply: this customer is owed an answer to their complaint.
    request, token = new_request(signer, account, interaction, RequestStatus.pending, now)
    assert token is not None
    request.kind = RequestKind.recovery_followup
    request.recovery_case_id = case.id
    session.add(request)
    session.flush()
    transition(session, case, actor, Action.followup, {"followup_request_id": request.id}, now)
    announce(session, case, CASE_UPDATED)
    return Followup(case, token, survey_url(settings, token), True)
