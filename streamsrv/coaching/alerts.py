"""Alerts for team leaders, raised inside the transaction that stores a response.

``on_response`` evaluates the account's rules (``streamsrv.coaching.rules``) for the stored
response, writes one ``Alert`` row per rule that fires and emits ``alert.raised`` to the team's
``coach:{team_id}`` stream. The work per response is small on purpose: a positive response
without a reward costs no query at all; a low one costs one indexed query per enabled rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from streamsrv import labels, stream_names
from streamsrv.coaching import rules
from streamsrv.coaching.rules import RuleSettings
from streamsrv.hooks import ResponseChange
from streamsrv.models import FOLLOWUP_SOURCE, Account, Alert, Response, alert_rules_of
from streamsrv.outbox import emit
from streamsrv.periods import last_days_start, zone
from streamsrv.timefmt import iso_or_none

RAISED = "alert.raised"
ACKNOWLEDGED = "alert.acknowledged"
# An alert left a team's panel: its response was reassigned to an agent of another team.
MOVED = "alert.moved"


@dataclass(frozen=True)
class Candidate:
    """An alert a rule wants to raise, before it is checked against those already raised."""

    rule: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        # Several recurring-area alerts may come from one response: one per area.
        return (self.rule, str(self.details.get("area", "")))


def response_summary(response: Response, vocab: labels.Vocabulary | None = None) -> dict[str, Any]:
    """What the panel shows of the response behind an alert; hidden comments stay hidden.
    Each code travels with its label."""
    words = vocab or labels.Vocabulary()
    return {
        "id": response.id,
        "rating": response.rating,
        "comment": None if response.comment_hidden else (response.comment or None),
        "comment_hidden": response.comment_hidden,
        "channel": response.channel,
        "channel_label": words.channel(response.channel),
        "reward": response.reward,
        "reward_label": words.reward(response.reward) if response.reward else None,
        "improvement_areas": list(response.improvement_areas),
        "improvement_area_labels": words.area_list(response.improvement_areas),
        "created_at": iso_or_none(response.created_at),
    }


def alert_json(
    alert: Alert,
    agent_name: str,
    response: dict[str, Any] | None,
    acknowledged_by: dict[str, Any] | None,
) -> dict[str, Any]:
    """The public shape of an alert (snapshot, ``alert.raised`` and ``alert.acknowledged``)."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "severity": rules.SEVERITY.get(alert.rule, "medium"),
        "message": alert.message,
        "account_id": alert.account_id,
        "team_id": alert.team_id,
        "agent": {"id": alert.agent_id, "name": agent_name},
        "response": response,
        "details": dict(alert.details),
        "created_at": iso_or_none(alert.created_at),
        "acknowledged_by": acknowledged_by,
        "acknowledged_at": iso_or_none(alert.acknowledged_at),
    }


# --- Rule evaluation against the database --------------------------------------------------------


def _recent_ratings(session: Session, response: Response, limit: int) -> list[int]:
    """The agent's ratings up to and including ``response``, newest first (agent index)."""
    at = response.created_at
    stmt = (
        select(Response.rating)
        .where(
            Response.agent_id == response.agent_id,
            col(Response.source) != FOLLOWUP_SOURCE,
            or_(
                col(Response.created_at) < at,
                and_(col(Response.created_at) == at, col(Response.id) <= response.id),
            ),
        )
        .order_by(col(Response.created_at).desc(), col(Response.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def _window_areas(session: Session, response: Response, days: int, tz: ZoneInfo) -> list[list[str]]:
    # "Within 7 days" is today and the six days before it, from the account's midnight.
    since = last_days_start(response.created_at, days, tz)
    stmt = select(Response.improvement_areas).where(
        Response.agent_id == response.agent_id,
        col(Response.source) != FOLLOWUP_SOURCE,
        Response.created_at >= since,
        Response.created_at <= response.created_at,
        Response.rating <= rules.LOW_RATING,
    )
    return [list(areas or []) for areas in session.exec(stmt).all()]


def _alerted_areas(session: Session, response: Response, days: int, now: datetime, tz: ZoneInfo) -> set[str]:
    stmt = select(Alert.details).where(
        Alert.agent_id == response.agent_id,
        Alert.rule == rules.RECURRING_AREA,
        Alert.created_at >= last_days_start(now, days, tz),
    )
    return {str(d.get("area")) for d in session.exec(stmt).all() if isinstance(d, dict)}


def evaluate(session: Session, change: ResponseChange, settings: RuleSettings) -> list[Candidate]:
    account: Account = change.account
    response = change.response
    agent_name = str(change.payload.get("agent", {}).get("name") or f"Agent {response.agent_id}")
    found: list[Candidate] = []
    if settings.negative_rating and rules.is_negative(response.rating, account.negative_threshold):
        found.append(
            Candidate(
                rules.NEGATIVE_RATING,
                f"Customer rated {agent_name}\u2019s {response.channel} contact {rules.stars(response.rating)}",
                {"rating": response.rating},
            )
        )
    if settings.low_streak and response.rating <= rules.LOW_RATING:
        recent = _recent_ratings(session, response, settings.streak_count + 1)
        if rules.streak_reached(recent, settings.streak_count):
            found.append(
                Candidate(
                    rules.LOW_STREAK,
                    f"{agent_name} has {settings.streak_count} low ratings in a row",
                    {"count": settings.streak_count, "ratings": recent[: settings.streak_count]},
                )
            )
    if settings.recurring_area and response.improvement_areas:
        tz = zone(account.time_zone)
        window = _window_areas(session, response, settings.area_days, tz)
        done = _alerted_areas(session, response, settings.area_days, change.now, tz)
        for area in rules.recurring_areas(response.improvement_areas, window, settings.area_count, done):
            label = labels.catalogue_label(area, account.improvement_areas)
            found.append(
                Candidate(
                    rules.RECURRING_AREA,
                    f"\u201c{label}\u201d flagged {settings.area_count} times in "
                    f"{settings.area_days} days for {agent_name}",
                    {
                        "area": area,
                        "area_label": label,
                        "count": settings.area_count,
                        "days": settings.area_days,
                    },
                )
            )
    if settings.great_moment and rules.is_great_moment(response.rating, response.reward):
        reward = response.reward or ""
        label = labels.catalogue_label(reward, account.reward_catalogue)
        found.append(
            Candidate(
                rules.GREAT_MOMENT,
                f"5\u2605 and a \u201c{label}\u201d suggested for {agent_name}: recognise it",
                {"reward": reward, "reward_label": label},
            )
        )
    return found


def _already_raised(session: Session, response: Response) -> set[tuple[str, str]]:
    # Through the agent index: alerts are not indexed by response.
    stmt = select(Alert.rule, Alert.details).where(
        Alert.agent_id == response.agent_id, Alert.response_id == response.id
    )
    return {(rule, str((details or {}).get("area", ""))) for rule, details in session.exec(stmt).all()}


def on_response(session: Session, change: ResponseChange) -> None:
    """Raise this response's alerts and emit ``alert.raised`` for each, in this transaction."""
    if change.is_followup:
        return  # the follow-up belongs to its recovery case, not to the agent's coaching
    settings = RuleSettings.of(alert_rules_of(change.account))
    candidates = evaluate(session, change, settings)
    if not candidates:
        return
    response = change.response
    if not change.created:
        raised = _already_raised(session, response)
        candidates = [c for c in candidates if c.key not in raised]
    agent_name = str(change.payload.get("agent", {}).get("name") or f"Agent {response.agent_id}")
    summary = response_summary(response, labels.vocabulary(change.account))
    for candidate in candidates:
        alert = Alert(
            org_id=response.org_id,
            account_id=response.account_id,
            team_id=response.team_id,
            agent_id=response.agent_id,
            response_id=response.id,
            rule=candidate.rule,
            message=candidate.message[:500],
            details=candidate.details,
            created_at=change.now,
        )
        session.add(alert)
        session.flush()
        emit(
            session,
            response.org_id,
            RAISED,
            [stream_names.coach(response.team_id)],
            alert_json(alert, agent_name, summary, None),
        )
