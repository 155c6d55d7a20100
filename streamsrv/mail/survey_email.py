"""Scheduling a request's survey email with its cause, and reading back what became of it.

The email is a delivery row (kind ``email``, ref and dedupe key ``request:{id}``) written in the
transaction that records the interaction, so an interaction is never stored without its email
or emailed without being stored, and a replay never schedules a second one. An address that
must not be emailed still gets a row, with status ``suppressed`` and the reason, so the API can
say why nothing went out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, update
from sqlmodel import Session, col

from streamsrv import metrics
from streamsrv.deliveries import queue
from streamsrv.hooks import ContactsErased, RequestIssued, ResponseChange
from streamsrv.mail import suppressions
from streamsrv.mail.sendtime import send_time
from streamsrv.mail.smtp import queue_for
from streamsrv.models import (
    Account,
    Delivery,
    DeliveryStatus,
    FeedbackRequest,
    Interaction,
    RequestStatus,
    SendChannel,
    SmtpSettings,
)
from streamsrv.timefmt import iso

KIND = "email"
ANSWERED = "the customer answered before the email went out"
ERASED = "the customer's contact details were erased"
_SUPPRESSED = "streamsrv_mail_suppressed"


def ref_of(request_id: int) -> str:
    return f"request:{request_id}"


def suppression_reason(session: Session, account: Account, request: FeedbackRequest) -> str | None:
    """Why this request's address must not be emailed, or None."""
    if request.status == RequestStatus.suppressed:
        return (
            f"this customer was already asked within the account's {account.suppression_days} days "
            "(suppression_days)"
        )
    assert account.id is not None and request.customer_email is not None
    listed = suppressions.find(session, account.id, request.customer_email)
    if listed is not None:
        return f"the address is on the account's suppression list ({listed.reason})"
    return None


def schedule(
    session: Session,
    account: Account,
    interaction: Interaction,
    request: FeedbackRequest,
    send: str | None,
    now: datetime,
) -> int | None:
    """Write the request's email delivery, or nothing when no email is wanted or possible."""
    channel = send or account.send_channel
    if channel != SendChannel.email or not request.customer_email or request.id is None:
        return None
    reason = suppression_reason(session, account, request)
    own_server = session.get(SmtpSettings, account.org_id) is not None
    due = (
        now
        if reason
        else send_time(
            interaction.occurred_at, account.send_delay_minutes, account.send_window, account.time_zone, now
        )
    )
    ref = ref_of(request.id)
    delivery_id = queue.enqueue(
        session,
        org_id=account.org_id,
        kind=KIND,
        queue=queue_for(account.org_id, own_server),
        # Only the id: the link is derived again at send time and never stored in clear.
        payload={"request_id": request.id},
        due_at=due,
        now=now,
        ref=ref,
        dedupe_key=ref,
        status=DeliveryStatus.suppressed if reason else DeliveryStatus.scheduled,
    )
    if delivery_id is not None and reason:
        session.execute(update(Delivery).where(col(Delivery.id) == delivery_id).values(last_error=reason))
        session.info[_SUPPRESSED] = session.info.get(_SUPPRESSED, 0) + 1
    return delivery_id


def on_request_issued(session: Session, issued: RequestIssued) -> None:
    schedule(session, issued.account, issued.interaction, issued.request, issued.send, issued.now)


def on_response(session: Session, change: ResponseChange) -> None:
    """A survey emailed to someone who already answered (on the page shown by the helpdesk, or
    through ingest) is noise: the answer cancels the email still waiting."""
    request = change.request
    # Without an address no email was ever scheduled: most ingested answers skip the UPDATE.
    if change.created and request.id is not None and request.customer_email:
        queue.cancel(session, ref_of(request.id), change.now, ANSWERED)


def on_contacts_erased(session: Session, erased: ContactsErased) -> None:
    """Emails not sent yet have no address to go to any more; the errors of those that failed
    may quote it."""
    if not erased.request_ids:
        return
    refs = [ref_of(request_id) for request_id in erased.request_ids]
    cancelled = queue.cancel(session, refs, erased.now, ERASED)
    rewritten = queue.replace_errors(session, refs, ERASED, erased.now)
    erased.count("deliveries", cancelled + rewritten)


@event.listens_for(Session, "after_commit")
def _count_suppressed(session: Session) -> None:
    # Counted on commit only, so a rolled-back (and retried) transaction is not counted twice.
    count = session.info.pop(_SUPPRESSED, 0)
    if count:
        metrics.DELIVERIES.labels(KIND, DeliveryStatus.suppressed).inc(count)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_SUPPRESSED, None)


def delivery_state(session: Session, request: FeedbackRequest, interaction: Interaction) -> dict[str, Any]:
    """The ``delivery`` object of a request in API answers."""
    assert request.id is not None
    row = queue.of_ref(session, [ref_of(request.id)]).get(ref_of(request.id))
    if row is None or row.kind != KIND:
        return {
            "channel": "none",
            "status": "not_sent",
            "reason": "no_customer_email" if not interaction.customer_email else "not_requested",
        }
    return {
        "channel": "email",
        "status": row.status,
        "send_at": iso(row.due_at),
        "sent_at": iso(row.sent_at) if row.sent_at else None,
        "attempts": row.attempts,
        "last_error": row.last_error,
    }
