"""Gorgias: an HTTP integration triggered on "Ticket updated", posting the ticket as JSON.

Gorgias does not sign HTTP integration calls; the integration's headers carry the secret. The
body holds Gorgias's ticket fields (``{{ticket.id}}``, ``{{ticket.status}}``, the customer and
the assignee user), under ``ticket`` or at the top level.
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
    joined_name,
    locale_of,
    obj,
    text,
)


class Gorgias(SecretHeaderConnector):
    name = "gorgias"
    label = "Gorgias"

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        outer = body = obj(payload, "body")
        prefix = ""
        if isinstance(body.get("ticket"), dict):
            body, prefix = body["ticket"], "ticket."
        ticket_id = text(body, "id", prefix + "id", required=True)
        assert ticket_id is not None
        status = (text(body, "status", prefix + "status") or "").lower()
        if status != "closed":
            return Ignored(f"ticket {ticket_id} is {status or 'without a status'}, not closed")
        customer = child(body, "customer", prefix + "customer", required=False)
        assignee = child(body, "assignee_user", prefix + "assignee_user", required=False)
        customer_name = text(customer, "name", prefix + "customer.name") or joined_name(
            text(customer, "firstname"), text(customer, "lastname")
        )
        return Ticket(
            ticket_id=ticket_id,
            agent=AgentRef(
                text(assignee, "id", prefix + "assignee_user.id"),
                text(assignee, "email", prefix + "assignee_user.email"),
                text(assignee, "name", prefix + "assignee_user.name"),
            ),
            customer_email=text(customer, "email", prefix + "customer.email"),
            customer_name=customer_name,
            channel=channel_of(text(body, "channel", prefix + "channel")),
            ticket_url=https_link(
                text(body, "ticket_url", prefix + "ticket_url") or text(outer, "ticket_url")
            ),
            locale=locale_of(text(customer, "language") or text(body, "language")),
            event_id=ticket_id,
        )
