"""Leaderboard periods, in UTC: today (from midnight), this week (from Monday), this month (from the 1st).

UTC keeps every node, database and board in agreement on where a period starts; a floor in
another time zone sees the day roll over at its local UTC midnight (documented in
docs/api-surfaces.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Period = Literal["today", "week", "month"]
PERIODS: tuple[Period, ...] = ("today", "week", "month")


def period_start(period: Period, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def earliest_start(now: datetime) -> datetime:
    """The start of the longest period that covers ``now`` (a week can begin last month)."""
    return min(period_start(p, now) for p in PERIODS)
