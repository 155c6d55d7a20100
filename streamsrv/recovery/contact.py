"""Whether a customer who answered poorly may be told that someone will be in touch.

The promise is made only when it can be kept:
- the answer is 1-3 stars;
- it is in a recovery case: a first answer that opened one (at or below the account's negative
  threshold) and whose case is not resolved yet, or an answer to a recovery follow-up;
- the account is staffed for recovery: at least one active user with the ``recovery`` role
  covers it. Every account has a recovery SLA, so the SLA alone says nothing about whether
  anyone works the queue.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from streamsrv.models import (
    Account,
    CaseStatus,
    FeedbackRequest,
    RecoveryCase,
    RequestKind,
    Response,
    Role,
    User,
)

PROMISE_MAX_RATING = 3


def recovery_staffed(session: Session, account: Account) -> bool:
    # Scopes are JSON lists, not portably queryable on SQLite and PostgreSQL alike: the org's
    # recovery users are few, so they are read and checked here.
    scopes = session.exec(
        select(User.account_ids).where(
            User.org_id == account.org_id, User.role == Role.recovery, col(User.active).is_(True)
        )
    ).all()
    return any(account.id in (ids or ()) for ids in scopes)


def in_open_case(session: Session, request: FeedbackRequest, response: Response) -> bool:
    if request.kind == RequestKind.recovery_followup:
        return True
    status = session.exec(select(RecoveryCase.status).where(RecoveryCase.response_id == response.id)).first()
    return status is not None and status != CaseStatus.resolved


def will_contact(session: Session, account: Account, request: FeedbackRequest, response: Response) -> bool:
    """May the thank-you page say that someone will be in touch about this answer?"""
    return (
        response.rating <= PROMISE_MAX_RATING
        and in_open_case(session, request, response)
        and recovery_staffed(session, account)
    )
