"""Where a day, a week and a month begin: at midnight in the account's time zone.

The one rule behind every "today", "this week", "this month" and daily series: the wallboards,
``/me``, ``/coach``, the dashboard, the CSV export and the alert windows all ask this module,
so two surfaces can never disagree about which day a response belongs to. Weeks start on
Monday. Bounds are computed with ``zoneinfo`` and returned as aware UTC datetimes (what the
database stores), so a day that is 23 or 25 hours long around a DST change is simply the
stretch between two local midnights.

Where the clocks jump over midnight (some zones change at 00:00), a day starts at the jump;
where they went back across midnight (rare, and only in the past), at the second midnight, so
that days never overlap. Daily series are bucketed in SQL by ``local_day``, which shifts each
timestamp by what Python's zone data gives for its stretch of time: the same zone data as the
bounds, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

Period = Literal["today", "week", "month"]
PERIODS: tuple[Period, ...] = ("today", "week", "month")
UTC_ZONE = ZoneInfo("UTC")
ONE_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo:
    """The zone of an account's ``time_zone``; UTC for a name the zone data does not know.

    Names are validated when they are stored, so an unknown one means zone data older than the
    name: falling back keeps every board and page answering instead of failing on each request.
    """
    if not name or ".." in name or name.startswith("/"):
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC_ZONE


def _wall_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The local day ``at`` belongs to: the date on the wall clock, except in the rare stretch
    before clocks go back across midnight, whose day has not begun for good (see ``day_start``)."""
    wall = _wall_date(at, tz)
    return wall if day_start(wall, tz) <= at else wall - ONE_DAY


# Pure in its arguments (zone data does not change under a running process) and asked for the
# same few days on every stored response: remembering them keeps the hot path to a lookup.
@lru_cache(maxsize=4096)
def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Where ``day`` begins (UTC): from this instant on the wall clock reads ``day`` or later.

    That is local midnight; where clocks jump over midnight, the jump; where they go back across
    midnight, the second midnight, so that days follow each other without overlapping.
    """
    wall = datetime.combine(day, time(), tzinfo=tz)
    early = wall.astimezone(UTC)
    late = wall.replace(fold=1).astimezone(UTC)
    if late == early:
        return early
    if late > early:
        # Midnight happens twice. If the wall read the day before in between, the clocks went
        # back across midnight and the day begins at the second one; otherwise at the first.
        return late if _wall_date(late - _MICROSECOND, tz) < day else early
    # Midnight fell into a gap: the day begins at the jump, somewhere in (late, early].
    return _first_second(late, early, lambda at: _wall_date(at, tz) >= day)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local day in UTC; 23, 24 or 25 hours (or another length) apart."""
    return day_start(day, tz), day_start(day + ONE_DAY, tz)


def period_first_day(period: Period, today: date) -> date:
    if period == "today":
        return today
    if period == "week":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


def _next_first_day(period: Period, first: date) -> date:
    if period == "today":
        return first + ONE_DAY
    if period == "week":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def all_period_bounds(now: datetime, tz: ZoneInfo) -> dict[Period, tuple[datetime, datetime]]:
    """``[start, next start)`` in UTC of today, this week and this month at ``now``."""
    today = local_date(now, tz)
    out: dict[Period, tuple[datetime, datetime]] = {}
    for p in PERIODS:
        first = period_first_day(p, today)
        out[p] = (day_start(first, tz), day_start(_next_first_day(p, first), tz))
    return out


def period_bounds(period: Period, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, next start)`` of the period that contains ``now``."""
    return all_period_bounds(now, tz)[period]


def period_start(period: Period, now: datetime, tz: ZoneInfo) -> datetime:
    """Where today, this week (Monday) or this month began at ``now``, in UTC."""
    return period_bounds(period, now, tz)[0]


def earliest_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of the longest period that covers ``now`` (a week can begin last month)."""
    return min(start for start, _ in all_period_bounds(now, tz).values())


def last_days(now: datetime, days: int, tz: ZoneInfo) -> list[date]:
    """Today and the ``days - 1`` local days before it, oldest first."""
    today = local_date(now, tz)
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def last_days_start(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """Where a window of ``days`` local days ending today begins (a rule's "within 7 days")."""
    return day_start(local_date(now, tz) - timedelta(days=max(days, 1) - 1), tz)


def days_between(since: datetime, until: datetime, tz: ZoneInfo) -> list[date]:
    """Every local date that ``[since, until)`` touches, oldest first (at least one)."""
    first = local_date(since, tz)
    last = local_date(max(since, until - _MICROSECOND), tz)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _first_second(lo: datetime, hi: datetime, reached: Callable[[datetime], bool]) -> datetime:
    """The first whole second in ``(lo, hi]`` where ``reached`` turns true (false at ``lo``).

    Transitions in the zone data fall on whole seconds, so bisecting on them finds one exactly.
    """
    a, b = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while b - a > 1:
        mid = (a + b) // 2
        if reached(datetime.fromtimestamp(mid, UTC)):
            b = mid
        else:
            a = mid
    return datetime.fromtimestamp(b, UTC)


def _offset_seconds(at: datetime, tz: ZoneInfo) -> int:
    offset = at.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _offset_is_not(offset: int, tz: ZoneInfo) -> Callable[[datetime], bool]:
    return lambda at: _offset_seconds(at, tz) != offset


def _transitions(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[datetime, int, int]]:
    """``(instant, offset before, offset after)`` of each change of UTC offset in ``(since, until)``.

    Probed a day at a time, so two changes less than a day apart would be seen as one; no zone
    in use changes its clocks that often.
    """
    found: list[tuple[datetime, int, int]] = []
    previous = _offset_seconds(since, tz)
    last = until - _MICROSECOND
    probe = since
    while probe < last:
        step = min(probe + ONE_DAY, last)
        offset = _offset_seconds(step, tz)
        if offset != previous:
            found.append((_first_second(probe, step, _offset_is_not(previous, tz)), previous, offset))
            previous = offset
        probe = step
    return found


def _date_shift(at: datetime, tz: ZoneInfo) -> int:
    """Seconds that move the UTC wall time of ``at`` onto its local day (``local_date``)."""
    return _offset_seconds(at, tz) + (local_date(at, tz) - _wall_date(at, tz)).days * 86400


def date_shifts(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """``(from, seconds)`` for each stretch of ``[since, until)`` in which a UTC timestamp moved
    by ``seconds`` falls on its local day: the UTC offset, changing where the clocks change,
    and one day less where the clocks read a day that has not begun for good."""
    breaks = {since}
    # A day later too: a first midnight inside the range can belong to a change just after it.
    for changed, before, after in _transitions(since, until + ONE_DAY, tz):
        if changed < until:
            breaks.add(changed)
        if after < before:
            first_midnight = datetime.combine(_wall_date(changed - _MICROSECOND, tz), time(), tzinfo=tz)
            if since < first_midnight.astimezone(UTC) < until:
                breaks.add(first_midnight.astimezone(UTC))
    stretches: list[tuple[datetime, int]] = []
    for start in sorted(breaks):
        shift = _date_shift(start, tz)
        if not stretches or stretches[-1][1] != shift:
            stretches.append((start, shift))
    return stretches


class _ShiftedDate(FunctionElement[Any]):
    """``date(column + seconds)``: the calendar date of a UTC timestamp moved by a fixed offset."""

    name = "shifted_date"
    inherit_cache = True


@compiles(_ShiftedDate, "sqlite")
def _sqlite_shifted_date(element: _ShiftedDate, compiler: SQLCompiler, **kw: Any) -> str:
    column, seconds = list(element.clauses)
    # SQLite's date arithmetic rounds to milliseconds, which would carry 23:59:59.9999 into the
    # next day; the stored text cut to whole seconds shifts exactly (offsets are whole seconds).
    stamp = f"substr({compiler.process(column, **kw)}, 1, 19)"
    return f"date({stamp}, {compiler.process(seconds, **kw)} || ' seconds')"


@compiles(_ShiftedDate)
def _shifted_date(element: _ShiftedDate, compiler: SQLCompiler, **kw: Any) -> str:
    column, seconds = list(element.clauses)
    return (
        f"CAST({compiler.process(column, **kw)} + "
        f"CAST({compiler.process(seconds, **kw)} AS INTEGER) * INTERVAL '1 second' AS DATE)"
    )


def local_day(column: Any, since: datetime, until: datetime, tz: ZoneInfo) -> ColumnElement[Any]:
    """SQL for the local date (``local_date``) of a UTC timestamp column, for rows in
    ``[since, until)``.

    One CASE branch per clock change in the range (a DST year has two): the database does a
    comparison and a date shift per row, and both backends use Python's zone data, never their
    own. SQLite answers ``'YYYY-MM-DD'`` text, PostgreSQL a date; ``as_date`` reads either.
    """
    stretches = date_shifts(since, until, tz)

    def shifted(seconds: int) -> ColumnElement[Any]:
        return _ShiftedDate(column, literal(seconds, Integer))

    if len(stretches) == 1:
        return shifted(stretches[0][1])
    whens = [(column < nxt, shifted(seconds)) for (_, seconds), (nxt, _) in pairwise(stretches)]
    return case(*whens, else_=shifted(stretches[-1][1]))


def as_date(value: Any) -> date:
    """A ``local_day`` value as a date (SQLite gives text, PostgreSQL a date)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
