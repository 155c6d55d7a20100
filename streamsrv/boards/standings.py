"""Stats and leaderboard events for every stored response, written in the response's transaction.

Per response this runs one indexed aggregate query for that one agent (never a recomputation of
the whole board): the agent hears ``stats.updated`` on ``agent:{id}``, and the agent's team and
account boards hear ``leaderboard.updated`` with the agent's new per-period sums, from which a
board re-ranks itself. Boards are public on the floor, so they only ever carry praise: a comment
reaches a board only as the ``highlight`` of a 5-star answer whose comment is not hidden.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv import stream_names
from streamsrv.boards.stats import agent_period_sums, bounds_json, sums_json
from streamsrv.hooks import ResponseChange
from streamsrv.models import Account, Agent
from streamsrv.outbox import emit
from streamsrv.periods import zone
from streamsrv.survey.cards import agent_card

STATS_UPDATED = "stats.updated"
LEADERBOARD_UPDATED = "leaderboard.updated"
HIGHLIGHT_RATING = 5


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else name


def highlight_of(change: ResponseChange) -> dict[str, Any] | None:
    """The ticker line for a fresh 5-star answer with a visible comment, else None."""
    response = change.response
    comment = (response.comment or "").strip()
    if response.rating != HIGHLIGHT_RATING or not comment or response.comment_hidden:
        return None
    # An edit that leaves a 5 a 5 was already celebrated once.
    if not change.created and change.previous_rating == HIGHLIGHT_RATING:
        return None
    agent = change.payload.get("agent") or {}
    return {
        "response_id": response.id,
        "agent_id": response.agent_id,
        "agent_name": first_name(str(agent.get("name", ""))),
        "comment": comment,
        "at": change.payload.get("created_at"),
    }


def _moves_sums(change: ResponseChange) -> bool:
    """Whether an edit changes the sums boards rank by (ratings, and how many answers carry a
    reward): a new comment or another reward moves nobody, and must not re-post anything."""
    rewarded_before = change.previous_reward is not None
    rewarded_now = change.response.reward is not None
    return change.previous_rating != change.response.rating or rewarded_before != rewarded_now


def on_response(session: Session, change: ResponseChange) -> None:
    if change.is_followup:
        return  # a recovery follow-up answer never counts toward the agent's standings
    response = change.response
    if not change.created and not _moves_sums(change):
        return
    tz = zone(change.account.time_zone)
    periods = sums_json(agent_period_sums(session, response.agent_id, change.now, tz))
    when = {"period_bounds": bounds_json(change.now, tz), "time_zone": tz.key}
    org_id = change.account.org_id
    emit(
        session,
        org_id,
        STATS_UPDATED,
        [stream_names.agent(response.agent_id)],
        {"agent_id": response.agent_id, "periods": periods, **when},
    )
    agent = change.payload.get("agent") or {}
    board: dict[str, Any] = {
        "agent": {"id": response.agent_id, "name": agent.get("name"), "photo": agent.get("photo")},
        "team_id": response.team_id,
        "account_id": response.account_id,
        "periods": periods,
        **when,
    }
    highlight = highlight_of(change)
    if highlight is not None:
        board["highlight"] = highlight
    emit(
        session,
        org_id,
        LEADERBOARD_UPDATED,
        stream_names.boards(response.team_id, response.account_id),
        board,
    )


def announce_agent(session: Session, account: Account, agent: Agent, now: datetime) -> None:
    """Recomputed sums of one agent after a change that is not a new answer (a response moved
    to or away from them): the agent's stats and their team and account boards re-rank."""
    assert agent.id is not None
    tz = zone(account.time_zone)
    periods = sums_json(agent_period_sums(session, agent.id, now, tz))
    when = {"period_bounds": bounds_json(now, tz), "time_zone": tz.key}
    emit(
        session,
        account.org_id,
        STATS_UPDATED,
        [stream_names.agent(agent.id)],
        {"agent_id": agent.id, "periods": periods, **when},
    )
    card = agent_card(session, agent)
    board: dict[str, Any] = {
        "agent": {"id": agent.id, "name": card.name, "photo": card.photo},
        "team_id": agent.team_id,
        "account_id": agent.account_id,
        "periods": periods,
        **when,
    }
    emit(
        session,
        account.org_id,
        LEADERBOARD_UPDATED,
        stream_names.boards(agent.team_id, agent.account_id),
        board,
    )
