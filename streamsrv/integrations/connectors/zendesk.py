"""Zendesk: a webhook called by a trigger on "ticket solved", with the body of docs/integrations.md.

Zendesk signs every webhook request: ``X-Zendesk-Webhook-Signature`` is the base64 HMAC-SHA256,
under the webhook's signing secret, of ``X-Zendesk-Webhook-Signature-Timestamp`` followed by the
raw body. The timestamp must be recent, so a captured request cannot be replayed later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streamsrv.integrations.base import (
    AgentRef,
    Connector,
    Ignored,
    Inbound,
    Rejected,
    Ticket,
    b64,
    channel_of,
    check_signature,
    child,
    hmac_digest,
    https_link,
    locale_of,
    obj,
    text,
)

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
# Zendesk sends at once; a few minutes cover its retries and clock skew, not a replay days later.
MAX_AGE = timedelta(minutes=5)
SOLVED = ("solved", "closed")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return b64(hmac_digest(secret, timestamp.encode() + body, "sha256"))


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f"the {TIMESTAMP} header is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Rejected(f"the {TIMESTAMP} header has no time zone")
    return moment


class Zendesk(Connector):
    name = "zendesk"
    label = "Zendesk"

    def verify(self, secret: str, inbound: Inbound) -> None:
        timestamp = inbound.headers.get(TIMESTAMP)
        if not timestamp:
            raise Rejected(f"the {TIMESTAMP} header is missing")
        check_signature(inbound.headers.get(SIGNATURE), sign(secret, timestamp, inbound.body), SIGNATURE)
        # Checked after the signature, so an unsigned caller learns nothing about the clock.
        age = inbound.now - _instant(timestamp)
        if age > MAX_AGE or age < -MAX_AGE:
            raise Rejected(f"the {TIMESTAMP} is more than 5 minutes away from now")

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        body = obj(payload, "body")
        ticket_id = text(body, "ticket_id", required=True)
        assert ticket_id is not None
        event_id = inbound.headers.get("x-zendesk-webhook-invocation-id") or inbound.headers.get(
            "x-zendesk-webhook-id"
        )
        status = (text(body, "status") or "").lower()
        if status not in SOLVED:
            return Ignored(f"ticket {ticket_id} is {status or 'without a status'}, not solved", event_id)
        assignee = child(body, "assignee", "assignee", required=False)
        requester = child(body, "requester", "requester", required=False)
        return Ticket(
            ticket_id=ticket_id,
            agent=AgentRef(
                text(assignee, "id", "assignee.id"),
                text(assignee, "email", "assignee.email"),
                text(assignee, "name", "assignee.name"),
            ),
            customer_email=text(requester, "email", "requester.email"),
            customer_name=text(requester, "name", "requester.name"),
            channel=channel_of(text(body, "via")),
            ticket_url=https_link(text(body, "ticket_url")),
            locale=locale_of(text(body, "locale")),
            event_id=event_id or ticket_id,
        )
