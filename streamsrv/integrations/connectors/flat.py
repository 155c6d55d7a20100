"""Kustomer and Salesforce Service Cloud: a workflow (Kustomer) or a Flow HTTP callout
(Salesforce) posting a body the admin writes from docs/integrations.md, with the integration's
secret in a custom header. Both post the same flat body, so one parser serves them."""

from __future__ import annotations

from typing import Any, ClassVar

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


class FlatBody(SecretHeaderConnector):
    solved: ClassVar[tuple[str, ...]]

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        body = obj(payload, "body")
        ticket_id = text(body, "ticket_id", required=True)
        assert ticket_id is not None
        status = (text(body, "status") or "").lower()
        if status not in self.solved:
            return Ignored(f"ticket {ticket_id} is {status or 'without a status'}, not solved")
        agent = child(body, "agent", "agent", required=False)
        customer = child(body, "customer", "customer", required=False)
        return Ticket(
            ticket_id=ticket_id,
            agent=AgentRef(
                text(agent, "id", "agent.id"),
                text(agent, "email", "agent.email"),
                text(agent, "name", "agent.name"),
            ),
            customer_email=text(customer, "email", "customer.email"),
            customer_name=text(customer, "name", "customer.name"),
            channel=channel_of(text(body, "channel")),
            ticket_url=https_link(text(body, "ticket_url")),
            locale=locale_of(text(body, "locale")),
            event_id=text(body, "event_id") or ticket_id,
        )


class Kustomer(FlatBody):
    name = "kustomer"
    label = "Kustomer"
    solved = ("done", "closed")


class Salesforce(FlatBody):
    name = "salesforce"
    label = "Salesforce Service Cloud"
    solved = ("closed", "solved", "resolved")
