"""Erasing one customer's contact details on request, by email address.

Within one account or the whole organization: every interaction that names the address loses
its email, name and phone, with every copy (``streamsrv.retention.erase``). The suppression list
keeps the address: it is the customer's opt-out, and dropping it would have them emailed again.
The audit row names the address only by a keyed hash (``Signer.fingerprint``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from streamsrv.auth import Identity
from streamsrv.models import Interaction
from streamsrv.org.schemas import Input
from streamsrv.retention.erase import audit, erase_contacts
from streamsrv.security.tokens import Signer
from streamsrv.survey.validation import CustomerEmail

ACTION = "customer.erased"
FINGERPRINT = "erased-customer"


class ErasureIn(Input):
    email: CustomerEmail


class ErasedCounts(BaseModel):
    interactions: int
    requests: int
    deliveries: int
    cases: int
    notes: int
    events: int


class ErasureOut(BaseModel):
    erased: ErasedCounts
    # The audit log row recording it (GET /api/v1/audit-log).
    audit_id: int


def erase_customer(
    session: Session, identity: Identity, signer: Signer, account_id: int | None, email: str, now: datetime
) -> ErasureOut:
    """Erase the contact details of the customer with ``email`` in one account (or, with None,
    the caller's whole organization); the caller's right to do so is checked by the route."""
    stmt = select(Interaction.id).where(
        col(Interaction.org_id) == identity.org_id, col(Interaction.customer_email) == email
    )
    if account_id is not None:
        stmt = stmt.where(col(Interaction.account_id) == account_id)
    ids = [i for i in session.exec(stmt).all() if i is not None]
    counts = erase_contacts(session, identity.org_id, ids, now)
    details: dict[str, Any] = {
        "actor": identity.name,
        "email_hmac": signer.fingerprint(FINGERPRINT, email),
        **counts,
    }
    audit_id = audit(
        session,
        org_id=identity.org_id,
        action=ACTION,
        target=f"account:{account_id}" if account_id is not None else f"organization:{identity.org_id}",
        details=details,
        now=now,
        actor_user_id=identity.user_id,
        actor_api_key_id=identity.api_key_id,
    )
    return ErasureOut(erased=ErasedCounts(**counts), audit_id=audit_id)
