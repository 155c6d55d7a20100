"""What a stored response sets off, inside the transaction that stores it.

``store_response`` calls :func:`react` after writing the response and its own events; each live
surface derives its rows and events here (recovery cases, coaching alerts, board standings), so
they commit with the response or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv.models import FOLLOWUP_SOURCE, Account, FeedbackRequest, Response


@dataclass(frozen=True)
class ResponseChange:
    account: Account
    request: FeedbackRequest
    response: Response
    # The response's public JSON (as carried by feedback.received).
    payload: dict[str, Any]
    created: bool
    previous_rating: int | None
    now: datetime


def react(session: Session, change: ResponseChange) -> None:
    # Imported here: these modules import the survey flow's helpers themselves.
    from streamsrv.boards import standings
    from streamsrv.coaching import alerts
    from streamsrv.recovery import cases

    cases.on_response(session, change)
    if change.response.source == FOLLOWUP_SOURCE:
        # A customer's second opinion after recovery: it belongs to the case, not to the
        # agent's standings or coaching alerts.
        return
    alerts.on_response(session, change)
    standings.on_response(session, change)
