"""Erased contact details leave the recovery cases too.

The staff's notes and resolution may quote the customer's details ("left a voicemail on
555-0100"), so their text goes; the contact outcome (a code), the ratings and the timings stay.
Case events still in the outbox lose the details, and a ``case.updated`` saying
``customer.erased`` goes to the recovery stream: live screens drop the details, and replays of
the stream drop them from every earlier entry (``streamsrv.redaction``).
"""

from __future__ import annotations

import copy

from sqlalchemy import update
from sqlmodel import Session, col, select

from streamsrv.hooks import ContactsErased
from streamsrv.models import CaseNote, OutboxEvent, RecoveryCase
from streamsrv.outbox import emit
from streamsrv.recovery.views import (
    CASE_CLAIMED,
    CASE_OPENED,
    CASE_RESOLVED,
    CASE_UPDATED,
    case_json,
    load_context,
    recovery_stream,
)
from streamsrv.redaction import ERASED_TEXT, contact_responses, redact_contacts

CASE_EVENTS = (CASE_OPENED, CASE_CLAIMED, CASE_UPDATED, CASE_RESOLVED)


def on_contacts_erased(session: Session, erased: ContactsErased) -> None:
    if not erased.response_ids:
        return
    cases = list(
        session.exec(select(RecoveryCase).where(col(RecoveryCase.response_id).in_(erased.response_ids))).all()
    )
    if not cases:
        return
    case_ids = [c.id for c in cases]
    notes = session.execute(
        update(CaseNote)
        .where(col(CaseNote.case_id).in_(case_ids), col(CaseNote.text) != ERASED_TEXT)
        .values(text=ERASED_TEXT)
    )
    session.execute(
        update(RecoveryCase)
        .where(col(RecoveryCase.id).in_(case_ids), col(RecoveryCase.resolution).is_not(None))
        .values(resolution=ERASED_TEXT)
    )
    erased.count("cases", len(cases))
    erased.count("notes", int(notes.rowcount))  # type: ignore[attr-defined]
    erased.count("events", scrub_outbox(session, erased.org_id, set(erased.response_ids)))
    ctx = load_context(session, cases)
    for case in cases:
        emit(session, case.org_id, CASE_UPDATED, [recovery_stream(case.account_id)], case_json(case, ctx))


def scrub_outbox(session: Session, org_id: int, response_ids: set[int]) -> int:
    """Remove the details from the case events still in the outbox (unsent, or sent and kept for
    a few days); how many were changed."""
    rows = session.exec(
        select(OutboxEvent).where(
            col(OutboxEvent.org_id) == org_id,
            col(OutboxEvent.type).in_(CASE_EVENTS),
            col(OutboxEvent.payload)["response"]["id"].as_integer().in_(sorted(response_ids)),
        )
    ).all()
    changed = 0
    for row in rows:
        if not set(contact_responses(row.payload)) & response_ids:
            continue
        # A new object: the JSON column only notices a replaced value.
        payload = copy.deepcopy(row.payload)
        redact_contacts(payload, response_ids)
        row.payload = payload
        session.add(row)
        changed += 1
    session.flush()
    return changed
