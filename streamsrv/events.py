"""The outbox events a response causes, built as plain data (no I/O).

Keeping this pure lets the rules ("an edit is ``feedback.updated``", "a reward is announced only
when it is new or changed") be read and tested in one place; the caller writes the result with
``streamsrv.outbox.emit`` inside the transaction that stores the response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamsrv import labels, stream_names

FEEDBACK_RECEIVED = "feedback.received"
FEEDBACK_UPDATED = "feedback.updated"
REWARD_SUGGESTED = "reward.suggested"


@dataclass(frozen=True)
class Event:
    type: str
    streams: list[str]
    payload: dict[str, Any] = field(default_factory=dict)


def public_payload(response: dict[str, Any]) -> dict[str, Any]:
    """The response as streams carry it: a moderated (hidden) comment never leaves the database."""
    if response.get("comment_hidden"):
        return {**response, "comment": None}
    return response


def reward_item(catalogue: list[dict[str, Any]], code: str | None) -> dict[str, Any] | None:
    if code is None:
        return None
    emoji = next((str(i.get("emoji") or "") for i in catalogue if i.get("code") == code), "")
    return {"code": code, "label": labels.catalogue_label(code, catalogue), "emoji": emoji}


def response_events(
    response: dict[str, Any],
    *,
    created: bool,
    previous_reward: str | None,
    catalogue: list[dict[str, Any]],
) -> list[Event]:
    """Events for a stored response (``response`` is its public JSON shape).

    ``previous_reward`` is the reward before an edit (None for a new response), so that editing a
    comment does not announce the same coffee twice.
    """
    streams = stream_names.feedback(response["account_id"], response["team_id"], response["agent_id"])
    events = [Event(FEEDBACK_RECEIVED if created else FEEDBACK_UPDATED, streams, public_payload(response))]
    reward = response.get("reward")
    if reward is not None and (created or reward != previous_reward):
        events.append(
            Event(
                REWARD_SUGGESTED,
                list(streams),
                {
                    "response_id": response["id"],
                    "agent_id": response["agent_id"],
                    "reward": reward_item(catalogue, reward),
                },
            )
        )
    return events
