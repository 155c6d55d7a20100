"""When a scheduled report is due: at the account's ``report_hour`` in its time zone, or within
:data:`CATCH_UP` after it (should every node have been down at that hour); pure functions.

A report is "due" for the *send date* ``d`` (a local date) from ``d`` at the report hour until
:data:`CATCH_UP` later. The daily reports cover the day before the send date; the weekly one,
sent on the account's ``weekly_report_day``, covers the Monday-to-Sunday week before the send
date's own week. A window that runs past midnight still belongs to the send date it began on,
so a late catch-up never sends the next day's report early.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from streamsrv.periods import ONE_DAY, local_date

# The window after the report hour in which a missed report is still sent (7 am until noon).
CATCH_UP = timedelta(hours=5)
ONE_WEEK = timedelta(days=7)


def scheduled_at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The instant ``day`` reads ``hour``:00 on the account's wall clock (for an hour the clocks
    skip or repeat, its reading with the offset in force before the change)."""
    return datetime.combine(day, time(hour), tzinfo=tz)


def send_date(now: datetime, tz: ZoneInfo, hour: int, window: timedelta = CATCH_UP) -> date | None:
    """The local date whose report is due at ``now``, or None outside every window."""
    today = local_date(now, tz)
    for day in (today, today - ONE_DAY):
        start = scheduled_at(day, hour, tz)
        if start <= now < start + window:
            return day
    return None


def report_day(sent_on: date) -> date:
    """The day a daily report sent on ``sent_on`` covers: the day before."""
    return sent_on - ONE_DAY


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.isoweekday() - 1)


def report_week(sent_on: date) -> date:
    """The Monday of the full week a weekly report sent on ``sent_on`` covers (the last one)."""
    return week_start(sent_on) - ONE_WEEK
