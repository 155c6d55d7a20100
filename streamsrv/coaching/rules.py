"""Alert rules as pure functions: what a stored response means for the agent's team leader.

The database work (which recent ratings, which areas, which alerts already exist) happens in
``streamsrv.coaching.alerts``; everything here is a function of plain values so that it can be
tested exhaustively, and so that the per-response cost stays a handful of indexed queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NEGATIVE_RATING = "negative_rating"
LOW_STREAK = "low_streak"
RECURRING_AREA = "recurring_area"
GREAT_MOMENT = "great_moment"

# A "low" rating for streaks: anything short of good (the improvement areas are offered up to 3).
LOW_RATING = 3
# Negative alerts go to the top of the panel; a great moment is good news, not an incident.
SEVERITY: dict[str, str] = {
    NEGATIVE_RATING: "high",
    LOW_STREAK: "high",
    RECURRING_AREA: "medium",
    GREAT_MOMENT: "positive",
}


@dataclass(frozen=True)
class RuleSettings:
    """One account's effective rules (``alert_rules_of(account)``), typed and bounded."""

    negative_rating: bool = True
    low_streak: bool = True
    streak_count: int = 3
    recurring_area: bool = True
    area_count: int = 3
    area_days: int = 7
    great_moment: bool = True

    @classmethod
    def of(cls, rules: Mapping[str, Mapping[str, Any]]) -> RuleSettings:
        def on(name: str) -> bool:
            return bool(rules.get(name, {}).get("enabled", True))

        def number(name: str, key: str, default: int) -> int:
            value = rules.get(name, {}).get(key, default)
            # Stored JSON is trusted only so far: a broken value falls back to the default.
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                return default
            return value

        return cls(
            negative_rating=on(NEGATIVE_RATING),
            low_streak=on(LOW_STREAK),
            streak_count=number(LOW_STREAK, "count", 3),
            recurring_area=on(RECURRING_AREA),
            area_count=number(RECURRING_AREA, "count", 3),
            area_days=number(RECURRING_AREA, "days", 7),
            great_moment=on(GREAT_MOMENT),
        )


def is_negative(rating: int, threshold: int) -> bool:
    return rating <= threshold


def is_great_moment(rating: int, reward: str | None) -> bool:
    """Five stars and the customer suggested a reward: worth recognising today."""
    return rating == 5 and bool(reward)


def streak_reached(recent_ratings: Sequence[int], count: int) -> bool:
    """True when the newest rating completes a run of exactly ``count`` low ratings.

    ``recent_ratings`` is newest first and holds at most ``count + 1`` ratings of the agent,
    up to and including the one just stored. A run that is already longer than ``count`` has
    been reported when it reached ``count``; it is reported again only after it breaks.
    """
    if count < 1 or len(recent_ratings) < count:
        return False
    if any(r > LOW_RATING for r in recent_ratings[:count]):
        return False
    return len(recent_ratings) == count or recent_ratings[count] > LOW_RATING


def recurring_areas(
    current: Sequence[str],
    window: Iterable[Sequence[str]],
    count: int,
    already_alerted: Iterable[str] = (),
) -> list[str]:
    """Areas of ``current`` flagged at least ``count`` times in ``window`` (which includes it).

    ``already_alerted`` are areas reported for this agent within the window: one alert per area
    per window, not one per further mention.
    """
    if count < 1 or not current:
        return []
    seen = set(already_alerted)
    totals: dict[str, int] = {}
    for areas in window:
        for area in set(areas):
            totals[area] = totals.get(area, 0) + 1
    found: list[str] = []
    for area in dict.fromkeys(current):
        if area not in seen and totals.get(area, 0) >= count:
            found.append(area)
    return found


def stars(rating: int) -> str:
    return f"{rating}\u2605"
