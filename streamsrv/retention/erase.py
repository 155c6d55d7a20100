"""Erasing customers' contact details from interactions, their requests and every copy.

One function serves the scheduled job and an administrator's request alike, in the caller's
transaction: the interactions' email, name and phone and their requests' addresses are cleared,
``contact_erased_at`` records when, and each feature that copied them clears its copies through
:data:`streamsrv.hooks.CONTACTS_ERASED` (recovery: case notes, case events and the recovery
stream's replays; mail: the deliveries). Ratings, comments and everything measured stay: without
the contact details they name nobody.

Every erasure writes an audit row in the same transaction, with counts and never an address.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from streamsrv.hooks import CONTACTS_ERASED, ContactsErased
from streamsrv.models import AuditLog, FeedbackRequest, Interaction, Response

# What an erasure counts, in the order the audit log and the API show it.
COUNTED = ("interactions", "requests", "deliveries", "cases", "notes", "events")


def erase_contacts(
    session: Session, org_id: int, interaction_ids: Iterable[int], now: datetime
) -> dict[str, int]:
    """Erase the contact details held for these interactions of ``org_id``; rows changed by kind."""
    ids = sorted(set(interaction_ids))
    counts = dict.fromkeys(COUNTED, 0)
    if not ids:
        return counts
    interactions = session.execute(
        update(Interaction)
        .where(
            col(Interaction.org_id) == org_id,
            col(Interaction.id).in_(ids),
            col(Interaction.contact_erased_at).is_(None),
        )
        .values(customer_email=None, customer_name=None, customer_phone=None, contact_erased_at=now)
    )
    requests = session.execute(
        update(FeedbackRequest)
        .where(
            col(FeedbackRequest.org_id) == org_id,
            col(FeedbackRequest.interaction_id).in_(ids),
            col(FeedbackRequest.customer_email).is_not(None),
        )
        .values(customer_email=None)
    )
    counts["interactions"] = int(interactions.rowcount)  # type: ignore[attr-defined]
    counts["requests"] = int(requests.rowcount)  # type: ignore[attr-defined]
    request_ids = session.exec(
        select(FeedbackRequest.id).where(col(FeedbackRequest.interaction_id).in_(ids))
    ).all()
    response_ids = session.exec(select(Response.id).where(col(Response.interaction_id).in_(ids))).all()
    CONTACTS_ERASED.fire(
        session,
        ContactsErased(
            org_id=org_id,
            interaction_ids=ids,
            request_ids=sorted(i for i in request_ids if i is not None),
            response_ids=sorted(i for i in response_ids if i is not None),
            now=now,
            counts=counts,
        ),
    )
    return counts


def audit(
    session: Session,
    *,
    org_id: int,
    action: str,
    target: str,
    details: dict[str, Any],
    now: datetime,
    actor_user_id: int | None = None,
    actor_api_key_id: int | None = None,
) -> int:
    row = AuditLog(
        org_id=org_id,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        action=action,
        target=target,
        details=details,
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id
