"""Waiting events keep the customer's details no longer than an interaction would.

An event no agent was mapped to holds the customer's email and name until an admin maps it; past
the account's ``contact_retention_days`` they are erased from it, as the retention job erases
them from interactions. The event itself stays, so it can still be mapped (without an email, no
survey email goes out). Runs hourly, once across all nodes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from streamsrv.db import Database
from streamsrv.deliveries.schedule import Periodic
from streamsrv.models import Account, UnmappedEvent, UnmappedStatus

JOB = "integrations.unmapped_retention"
EVERY = timedelta(hours=1)
# Per run: the next run carries on with the rest.
BATCH = 500


def erase_stale(session: Session, now: datetime, limit: int = BATCH) -> int:
    """Erase the customer's details from waiting events past their account's period; how many."""
    accounts = session.exec(
        select(Account.id, Account.contact_retention_days)
        .where(
            col(Account.id).in_(
                select(UnmappedEvent.account_id).where(UnmappedEvent.status == UnmappedStatus.open)
            )
        )
        .order_by(col(Account.id))
    ).all()
    erased = 0
    for account_id, days in accounts:
        events = session.exec(
            select(UnmappedEvent)
            .where(
                UnmappedEvent.account_id == account_id,
                UnmappedEvent.status == UnmappedStatus.open,
                col(UnmappedEvent.received_at) < now - timedelta(days=days),
                col(UnmappedEvent.contact_erased_at).is_(None),
            )
            .order_by(col(UnmappedEvent.id))
            .limit(limit - erased)
        ).all()
        for event in events:
            event.interaction = {**event.interaction, "customer": {}}
            event.contact_erased_at = now
            session.add(event)
            erased += 1
        if erased >= limit:
            break
    return erased


def periodic(db: Database) -> Periodic:
    async def job(now: datetime) -> None:
        await db.run(lambda session: erase_stale(session, now))

    return Periodic(JOB, EVERY, job)
