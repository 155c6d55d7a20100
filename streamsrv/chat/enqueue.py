"""Queueing chat messages in the transaction of their cause.

:func:`on_event` receives every outbox event (``hooks.EVENT_EMITTED``) and keeps three:
``case.opened`` (a negative response: every negative answer opens exactly one case, whose
unique response id is the dedupe key, so an edit that stays negative never posts again),
``shoutout.posted`` and ``alert.raised`` of the great-moment rule. Everything else, and every
event of an organization without channels, returns after a set lookup and a cached one.

A message never carries the customer's contact details: it is built here from named fields
(agent, rating, comment, labels), never by copying an event's payload, which for cases holds
the customer's name, email and phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv import labels
from streamsrv.chat import channels
from streamsrv.chat.channels import ChannelRoute
from streamsrv.chat.messages import Message
from streamsrv.deliveries import queue
from streamsrv.hooks import EventEmitted
from streamsrv.models import Account, utcnow

CASE_OPENED = "case.opened"
SHOUTOUT_POSTED = "shoutout.posted"
ALERT_RAISED = "alert.raised"
GREAT_MOMENT_RULE = "great_moment"
HANDLED = frozenset({CASE_OPENED, SHOUTOUT_POSTED, ALERT_RAISED})


def stars(rating: int) -> str:
    return f"{rating}\u2605 of 5"


def label_list(codes: Sequence[str], catalogue: Sequence[dict[str, Any]]) -> str:
    return ", ".join(labels.catalogue_label(c, catalogue) for c in codes)


def case_path(case_id: int) -> str:
    return f"/recovery#case-{case_id}"


def enqueue_message(
    session: Session,
    org_id: int,
    targets: Sequence[ChannelRoute],
    event: str,
    cause: str,
    message: Message,
    now: datetime,
) -> list[int]:
    """One delivery per channel; ``cause`` names what the message is about, so the same cause
    reaching a channel twice (a retried job, another node) is enqueued once."""
    made: list[int] = []
    for target in targets:
        delivery_id = queue.enqueue(
            session,
            org_id=org_id,
            kind=target.kind,
            queue=channels.queue_name(target.id),
            ref=channels.queue_name(target.id),
            payload={"channel_id": target.id, "event": event, "message": message.to_payload()},
            due_at=now,
            now=now,
            dedupe_key=f"{event}:{cause}:{target.id}",
        )
        if delivery_id is not None:
            made.append(delivery_id)
    return made


def negative_message(case: dict[str, Any], account: Account) -> Message:
    response = case.get("response") or {}
    agent = str((case.get("agent") or {}).get("name") or "")
    rating = int(response.get("rating") or case.get("before_rating") or 0)
    facts = [("Agent", agent), ("Rating", stars(rating))]
    if response.get("channel"):
        facts.append(("Channel", labels.channel_label(str(response["channel"]))))
    areas = list(response.get("improvement_areas") or [])
    if areas:
        facts.append(("To improve", label_list(areas, account.improvement_areas)))
    return Message(
        title=f"Negative response for {agent}",
        facts=facts,
        quote=response.get("comment"),
        link_path=case_path(int(case["id"])),
        link_label="Open the recovery case",
        summary=f"Negative response ({stars(rating)}) for {agent}",
    )


def shoutout_message(shoutout: dict[str, Any]) -> Message:
    agent = str(shoutout.get("agent_name") or "")
    return Message(
        title=f"Shout-out for {agent}",
        facts=[("Agent", agent), ("From", str(shoutout.get("author_name") or ""))],
        quote=str(shoutout.get("message") or "") or None,
        summary=f"Shout-out for {agent}",
    )


def great_moment_message(alert: dict[str, Any], account: Account) -> Message:
    agent = str((alert.get("agent") or {}).get("name") or "")
    response = alert.get("response") or {}
    facts = [("Agent", agent), ("Rating", stars(int(response.get("rating") or 5)))]
    reward = (alert.get("details") or {}).get("reward") or response.get("reward")
    if reward:
        facts.append(("Reward suggested", label_list([str(reward)], account.reward_catalogue)))
    if response.get("channel"):
        facts.append(("Channel", labels.channel_label(str(response["channel"]))))
    return Message(
        title=f"Great moment for {agent}",
        facts=facts,
        quote=response.get("comment"),
        link_path="/coach",
        link_label="Open the coaching panel",
        summary=f"Great moment for {agent}: recognise it",
    )


def on_event(session: Session, event: EventEmitted) -> None:
    """Queue this event's chat messages (``hooks.EVENT_EMITTED``, in the event's transaction)."""
    if event.type not in HANDLED:
        return
    payload = event.payload
    if event.type == ALERT_RAISED and payload.get("rule") != GREAT_MOMENT_RULE:
        return
    name = {CASE_OPENED: channels.NEGATIVE_RESPONSE, SHOUTOUT_POSTED: channels.SHOUTOUT}.get(
        event.type, channels.GREAT_MOMENT
    )
    account_id = payload.get("account_id")
    if not isinstance(account_id, int):
        return
    team_id = payload.get("team_id")
    found = channels.targets(
        session, event.org_id, name, account_id, team_id if isinstance(team_id, int) else None
    )
    if not found:
        return
    if event.type == SHOUTOUT_POSTED:
        message, cause = shoutout_message(payload), f"shoutout:{payload['id']}"
    else:
        account = session.get(Account, account_id)
        if account is None:
            return
        if event.type == CASE_OPENED:
            response_id = (payload.get("response") or {}).get("id")
            message, cause = negative_message(payload, account), f"response:{response_id}"
        else:
            message, cause = great_moment_message(payload, account), f"alert:{payload['id']}"
    enqueue_message(session, event.org_id, found, name, cause, message, utcnow())
