"""Intercom: a webhook subscribed to the ``conversation.admin.closed`` topic.

Intercom signs each notification: ``X-Hub-Signature`` is ``sha1=`` and the hex HMAC-SHA1 of the
raw body under the app's client secret (pasted into streamsrv as the integration's secret, or
the integration's secret used as the app's). The agent is the admin who closed the conversation.
"""

from __future__ import annotations

from typing import Any

from streamsrv.integrations.base import (
    AgentRef,
    Connector,
    Ignored,
    Inbound,
    Malformed,
    Ticket,
    channel_of,
    check_signature,
    child,
    hmac_digest,
    locale_of,
    obj,
    text,
)
from streamsrv.models import Channel

SIGNATURE = "X-Hub-Signature"
CLOSED = "conversation.admin.closed"
CUSTOMER_TYPES = ("user", "lead", "contact")


def sign(secret: str, body: bytes) -> str:
    return "sha1=" + hmac_digest(secret, body, "sha1").hex()


def _closer(item: dict[str, Any]) -> dict[str, Any]:
    """The author of the conversation's last "close" part: the admin who closed it."""
    parts_list = child(item, "conversation_parts", "data.item.conversation_parts", required=False)
    parts = parts_list.get("conversation_parts") or []
    if not isinstance(parts, list):
        raise Malformed("data.item.conversation_parts", "must hold a list of parts")
    for part in reversed(parts):
        if (
            isinstance(part, dict)
            and part.get("part_type") == "close"
            and isinstance(part.get("author"), dict)
        ):
            return dict(part["author"])
    return {}


def _channel(source_type: str | None) -> Channel:
    # Conversations started in the Messenger have the source type "conversation": a chat.
    found = channel_of(source_type)
    return Channel.chat if found is Channel.other else found


class Intercom(Connector):
    name = "intercom"
    label = "Intercom"

    def verify(self, secret: str, inbound: Inbound) -> None:
        check_signature(inbound.headers.get(SIGNATURE), sign(secret, inbound.body), SIGNATURE)

    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        body = obj(payload, "body")
        topic = text(body, "topic", required=True)
        event_id = text(body, "id")
        if topic != CLOSED:
            return Ignored(f"topic {topic} is not {CLOSED}", event_id)
        item = child(child(body, "data", "data"), "item", "data.item")
        conversation_id = text(item, "id", "data.item.id", required=True)
        assert conversation_id is not None
        closer = _closer(item)
        admin_id = text(closer, "id", "data.item.conversation_parts.author.id") or text(
            item, "admin_assignee_id", "data.item.admin_assignee_id"
        )
        source = child(item, "source", "data.item.source", required=False)
        author = child(source, "author", "data.item.source.author", required=False)
        is_customer = author.get("type") in CUSTOMER_TYPES
        app_id = text(body, "app_id")
        url = (
            f"https://app.intercom.com/a/apps/{app_id}/inbox/inbox/all/conversations/{conversation_id}"
            if app_id
            else None
        )
        return Ticket(
            ticket_id=conversation_id,
            agent=AgentRef(admin_id, text(closer, "email"), text(closer, "name")),
            customer_email=text(author, "email", "data.item.source.author.email") if is_customer else None,
            customer_name=text(author, "name", "data.item.source.author.name") if is_customer else None,
            channel=_channel(text(source, "type")),
            ticket_url=url,
            locale=locale_of(text(author, "locale")) if is_customer else None,
            event_id=event_id or conversation_id,
        )
