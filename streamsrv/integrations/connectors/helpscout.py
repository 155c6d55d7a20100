"""Help Scout: a webhook (Manage > Apps > Webhooks) for the conversation status event.

Help Scout signs each call: ``X-HelpScout-Signature`` is the base64 HMAC-SHA1 of the raw body
under the webhook's secret key; ``X-HelpScout-Event`` names the event (``convo.status``). The
body is the conversation; a survey is due when its status is ``closed``.
"""

from __future__ import annotations

from typing import Any

from streamsrv.integrations.base import (
    AgentRef,
    Connector,
    Ignored,
    Inbound,
    Ticket,
    b64,
    channel_of,
    check_signature,
    child,
    hmac_digest,
    joined_name,
    obj,
    text,
)

SIGNATURE = "X-HelpScout-Signature"
EVENT = "X-HelpScout-Event"
# Events that carry a conversation whose status may be "closed".
CONVERSATION_EVENTS = ("convo.status", "convo.updated", "convo.agent.reply.created", "convo.assigned")


def sign(secret: str, body: bytes) -> str:
    return b64(hmac_digest(secret, body, "sha1"))


class HelpScout(Connector):
    name = "helpscout"
    label = "Help Scout"

    def verify(self, secret: str, inbound: Inbound) -> None:
        check_signature(inbound.headers.get(SIGNATURE), sign(secret, inbound.body), SIGNATURE)

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        body = obj(payload, "body")
        event = inbound.headers.get(EVENT, "")
        conversation_id = text(body, "id", required=True)
        assert conversation_id is not None
        if event and event not in CONVERSATION_EVENTS:
            return Ignored(f"event {event} is not a conversation status change")
        status = (text(body, "status") or "").lower()
        if status != "closed":
            return Ignored(f"conversation {conversation_id} is {status or 'without a status'}, not closed")
        owner = child(body, "owner", "owner", required=False) or child(
            body, "assignee", "assignee", required=False
        )
        customer = child(body, "primaryCustomer", "primaryCustomer", required=False) or child(
            body, "customer", "customer", required=False
        )
        number = text(body, "number")
        url = f"https://secure.helpscout.net/conversation/{conversation_id}" + (
            f"/{number}" if number else ""
        )
        return Ticket(
            ticket_id=conversation_id,
            agent=AgentRef(
                text(owner, "id", "owner.id"),
                text(owner, "email", "owner.email"),
                joined_name(text(owner, "firstName"), text(owner, "lastName")),
            ),
            customer_email=text(customer, "email", "customer.email"),
            customer_name=joined_name(text(customer, "firstName"), text(customer, "lastName")),
            channel=channel_of(text(body, "type")),
            ticket_url=url,
            event_id=conversation_id,
        )
