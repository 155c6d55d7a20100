"""Each account's list of addresses that get no survey email: unsubscribed, bounced, or added by
hand. Checked when an email is scheduled and again when it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from streamsrv.access import SERVICE_ROLE
from streamsrv.errors import ApiError
from streamsrv.models import Role, Suppression, SuppressionReason

if TYPE_CHECKING:
    from streamsrv.auth import Identity

# The list is customers' email addresses: those who run the account's email and the
# integrations that sync opt-outs read it; agents, team leaders, client viewers and recovery
# staff have no use for it.
READERS = frozenset({Role.admin, Role.manager, SERVICE_ROLE})


def require_reader(identity: Identity) -> None:
    identity.require("read")
    if identity.role not in READERS:
        raise ApiError(
            403, "the suppression list is for administrators, managers and integrations", code="forbidden"
        )


def normalise(email: str) -> str:
    return email.strip().lower()


def find(session: Session, account_id: int, email: str) -> Suppression | None:
    return session.exec(
        select(Suppression).where(Suppression.account_id == account_id, Suppression.email == normalise(email))
    ).first()


def add(
    session: Session,
    *,
    org_id: int,
    account_id: int,
    email: str,
    reason: SuppressionReason,
    now: datetime,
) -> tuple[Suppression, bool]:
    """Put ``email`` on the account's list; returns the row and whether it is new.

    An address already listed keeps its first reason: "unsubscribed" stays the customer's own
    word even if a later email to it bounced.
    """
    email = normalise(email)
    existing = find(session, account_id, email)
    if existing is not None:
        return existing, False
    created = True
    try:
        # A savepoint: a concurrent unsubscribe of the same address must not undo the caller.
        with session.begin_nested():
            session.execute(
                insert(Suppression).values(
                    org_id=org_id, account_id=account_id, email=email, reason=reason, created_at=now
                )
            )
    except IntegrityError:
        created = False
    row = find(session, account_id, email)
    assert row is not None
    return row, created


def remove(session: Session, account_id: int, email: str) -> bool:
    row = find(session, account_id, email)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def listing(account_id: int) -> SelectOfScalar[Suppression]:
    """The account's list, for cursor paging by id."""
    return select(Suppression).where(Suppression.account_id == account_id)
