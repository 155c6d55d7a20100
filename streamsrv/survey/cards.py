"""The public shape of a response and of the agent it names.

One function builds the JSON that API answers, listings and stream events carry, so the three
cannot drift apart; it imports nothing but the models and the labels, so any module may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from streamsrv.labels import Vocabulary
from streamsrv.models import Agent, AgentPhoto, Response
from streamsrv.timefmt import iso


@dataclass(frozen=True)
class AgentCard:
    id: int
    name: str
    photo: str | None


def photo_url(agent_id: int, url: str | None, has_upload: bool) -> str | None:
    """Uploaded photo first, then a configured URL (only web URLs: it lands in an ``src``)."""
    if has_upload:
        return f"/media/agents/{agent_id}/photo"
    if url and url.startswith(("https://", "http://", "/")) and not url.startswith("//"):
        return url
    return None


def has_uploaded_photo(session: Session, agent_id: int) -> bool:
    # Select the key only: the photo blob itself is never loaded here.
    return (
        session.exec(select(AgentPhoto.agent_id).where(AgentPhoto.agent_id == agent_id)).first() is not None
    )


def agent_card(session: Session, agent: Agent) -> AgentCard:
    assert agent.id is not None
    return AgentCard(
        agent.id, agent.name, photo_url(agent.id, agent.photo_url, has_uploaded_photo(session, agent.id))
    )


def response_json(
    response: Response,
    external_id: str,
    agent: AgentCard,
    ticket_url: str | None = None,
    vocab: Vocabulary | None = None,
) -> dict[str, Any]:
    """The public shape of a response (API answers, listings and event payloads).

    ``ticket_url``: the interaction's link to its helpdesk ticket, when it came from one.
    ``vocab``: the labels of the response's account; every code travels with its label
    (``channel_label``, ``reward_label``, ``improvement_area_labels``).
    """
    words = vocab or Vocabulary()
    return {
        "id": response.id,
        "account_id": response.account_id,
        "team_id": response.team_id,
        "agent_id": response.agent_id,
        "agent": {"id": agent.id, "name": agent.name, "photo": agent.photo},
        "interaction_id": response.interaction_id,
        "external_id": external_id,
        "ticket_url": ticket_url,
        "request_id": response.request_id,
        "channel": response.channel,
        "channel_label": words.channel(response.channel),
        "rating": response.rating,
        "comment": response.comment or None,
        "comment_hidden": response.comment_hidden,
        "reward": response.reward,
        "reward_label": words.reward(response.reward) if response.reward else None,
        "improvement_areas": list(response.improvement_areas),
        "improvement_area_labels": words.area_list(response.improvement_areas),
        "csat": response.csat,
        "nps": response.nps,
        "fcr": response.fcr,
        "source": response.source,
        "edit_count": response.edit_count,
        "created_at": iso(response.created_at),
        "updated_at": iso(response.updated_at),
    }
