"""The hourly retention job: contact details past their account's period are erased.

An interaction's details are due once ``contact_retention_days`` have passed since the latest of:
its creation, the answer to each of its requests, and each request never answered (a recovery
follow-up sent later keeps them as long as a fresh request would). The job runs once per hour
across all nodes (``streamsrv.deliveries.schedule``) and works in batches, each its own
transaction with its own audit row, so a crash loses nothing and the next run carries on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from streamsrv.db import Database
from streamsrv.deliveries.schedule import Periodic
from streamsrv.models import HOLDS_CONTACT, Account, FeedbackRequest, Interaction, Response
from streamsrv.retention.erase import audit, erase_contacts
from streamsrv.timefmt import iso

JOB = "retention"
EVERY = timedelta(hours=1)
BATCH = 500
ACTION = "retention.erased"


def due(session: Session, account: Account, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of the account's interactions whose contact details are past the retention period."""
    cutoff = now - timedelta(days=account.contact_retention_days)
    latest = func.coalesce(col(Response.created_at), col(FeedbackRequest.created_at))
    still_needed = (
        select(FeedbackRequest.id)
        .outerjoin(Response, col(Response.request_id) == col(FeedbackRequest.id))
        .where(col(FeedbackRequest.interaction_id) == col(Interaction.id), latest >= cutoff)
    )
    rows = session.exec(
        select(Interaction.id)
        .where(
            col(Interaction.account_id) == account.id,
            # The partial index's own condition, so both databases use it.
            HOLDS_CONTACT,
            col(Interaction.created_at) < cutoff,
            ~exists(still_needed),
        )
        .order_by(col(Interaction.id))
        .limit(limit)
    ).all()
    return [i for i in rows if i is not None]


def erase_due(session: Session, account_id: int, now: datetime, limit: int = BATCH) -> int:
    """Erase one batch of the account's due interactions; how many there were."""
    account = session.get(Account, account_id)
    if account is None:
        return 0
    ids = due(session, account, now, limit)
    if not ids:
        return 0
    counts = erase_contacts(session, account.org_id, ids, now)
    audit(
        session,
        org_id=account.org_id,
        action=ACTION,
        target=f"account:{account_id}",
        details={
            "actor": "retention job",
            "retention_days": account.contact_retention_days,
            "cutoff": iso(now - timedelta(days=account.contact_retention_days)),
            **counts,
        },
        now=now,
    )
    return len(ids)


async def run(db: Database, now: datetime) -> None:
    account_ids = await db.run(
        lambda s: [i for i in s.exec(select(Account.id).order_by(col(Account.id))).all()]
    )
    for account_id in account_ids:
        if account_id is None:
            continue
        while await db.run(lambda s, a=account_id: erase_due(s, a, now)) == BATCH:  # type: ignore[misc]
            pass


def periodic(db: Database) -> Periodic:
    async def job(now: datetime) -> None:
        await run(db, now)

    return Periodic(JOB, EVERY, job)
