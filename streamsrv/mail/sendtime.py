"""When a survey email goes out: after the account's delay, inside its sending window.

Pure functions of their arguments (no clock, no database), so the rules are tested directly,
across daylight-saving changes. The window is wall-clock time in the account's zone: "08:00"
means eight in the morning there in winter and in summer alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_START = "08:00"
DEFAULT_END = "20:00"
ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":", 1)
    return time(int(hours), int(minutes))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at wall-clock ``at`` in ``zone``, as UTC.

    A time that does not exist (skipped when the clocks go forward) moves on by the length of
    the gap (02:30 becomes 03:30); one that exists twice (when they go back) is the first.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_in_window(moment: datetime, window: dict[str, Any] | None, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``moment`` inside ``window`` (``moment`` itself if inside)."""
    if not window:
        return moment
    start = _hhmm(str(window.get("start") or DEFAULT_START))
    end = _hhmm(str(window.get("end") or DEFAULT_END))
    days = {int(d) for d in window.get("days") or ALL_DAYS}
    day = moment.astimezone(zone).date()
    # A week ahead always holds an allowed day; one more covers starting late on that day.
    for offset in range(8):
        current = day + timedelta(days=offset)
        if current.isoweekday() not in days:
            continue
        opens, closes = _local(current, start, zone), _local(current, end, zone)
        if moment < opens:
            return opens
        if moment < closes:
            return moment
    raise ValueError(f"send window {window!r} has no allowed time")


def send_time(
    occurred_at: datetime,
    delay_minutes: int,
    window: dict[str, Any] | None,
    time_zone: str,
    now: datetime,
) -> datetime:
    """``occurred_at`` plus the delay, moved into the next window slot; never before ``now``."""
    earliest = max(occurred_at + timedelta(minutes=delay_minutes), now)
    return next_in_window(earliest.astimezone(UTC), window, ZoneInfo(time_zone))
