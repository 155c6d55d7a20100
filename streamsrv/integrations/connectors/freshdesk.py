"""Freshdesk: an automation rule ("Ticket is updated", status changed to Resolved) that triggers
a webhook. Freshdesk does not sign webhooks; the rule adds the integration's secret as a custom
header. The body is Freshdesk's "simple" JSON content, ``{"freshdesk_webhook": {...}}``.
"""

from __future__ import annotations

from typing import Any

from streamsrv.integrations.base import (
    AgentRef,
    Ignored,
    Inbound,
    SecretHeaderConnector,
    Ticket,
    channel_of,
    child,
    https_link,
    locale_of,
    obj,
    text,
)

SOLVED = ("resolved", "closed")


class Freshdesk(SecretHeaderConnector):
    name = "freshdesk"
    label = "Freshdesk"

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        body = child(obj(payload, "body"), "freshdesk_webhook", "freshdesk_webhook")
        field = "freshdesk_webhook."
        ticket_id = text(body, "ticket_id", field + "ticket_id", required=True)
        assert ticket_id is not None
        status = (text(body, "ticket_status", field + "ticket_status") or "").lower()
        if status not in SOLVED:
            return Ignored(f"ticket {ticket_id} is {status or 'without a status'}, not resolved")
        email = text(body, "ticket_contact_email", field + "ticket_contact_email") or text(
            body, "ticket_requester_email", field + "ticket_requester_email"
        )
        name = text(body, "ticket_contact_name", field + "ticket_contact_name") or text(
            body, "ticket_requester_name", field + "ticket_requester_name"
        )
        return Ticket(
            ticket_id=ticket_id,
            agent=AgentRef(
                text(body, "ticket_agent_id", field + "ticket_agent_id"),
                text(body, "ticket_agent_email", field + "ticket_agent_email"),
                text(body, "ticket_agent_name", field + "ticket_agent_name"),
            ),
            customer_email=email,
            customer_name=name,
            channel=channel_of(text(body, "ticket_source", field + "ticket_source")),
            ticket_url=https_link(text(body, "ticket_url", field + "ticket_url")),
            locale=locale_of(text(body, "ticket_contact_language", field + "ticket_contact_language")),
            event_id=ticket_id,
        )
