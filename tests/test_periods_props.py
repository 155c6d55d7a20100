"""Properties of the one period rule (streamsrv/periods.py) in zones with and without DST.

The expectations are computed independently of the code under test: the local calendar comes
from ``astimezone``, and the instants around each zone's clock changes are found by probing its
UTC offset minute by minute, so that the examples crowd around the days that are not 24 hours.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, select

from streamsrv.db import Database
from streamsrv.models import UTCDateTime
from streamsrv.periods import (
    PERIODS,
    as_date,
    date_shifts,
    day_bounds,
    day_start,
    earliest_start,
    last_days,
    last_days_start,
    local_date,
    local_day,
    period_bounds,
    period_start,
    zone,
)

ZONES = [
    "UTC",
    "Asia/Manila",  # UTC+8, no DST
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # clocks jump over midnight in September
    "Asia/Kathmandu",  # UTC+5:45
    "Pacific/Chatham",  # UTC+12:45 / +13:45
    "America/St_Johns",  # UTC-3:30 with DST
]
MICROSECOND = timedelta(microseconds=1)
# Finding a zone's clock changes the slow, independent way takes a moment per zone and year.
unhurried = settings(deadline=None)


@lru_cache(maxsize=64)
def transitions(name: str, year: int) -> tuple[datetime, ...]:
    """The instants in ``year`` where the zone's UTC offset changes, to the minute."""
    tz = ZoneInfo(name)
    found: list[datetime] = []
    at = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    previous = at.astimezone(tz).utcoffset()
    while at < end:
        nxt = at + timedelta(hours=1)
        offset = nxt.astimezone(tz).utcoffset()
        if offset != previous:
            probe = at
            while probe.astimezone(tz).utcoffset() == previous:
                probe += timedelta(minutes=1)
            found.append(probe)
            previous = offset
        at = nxt
    return tuple(found)


@st.composite
def moments(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and an instant, half of the time within three days of one of its clock changes."""
    name = draw(st.sampled_from(ZONES))
    near = transitions(name, draw(st.integers(2005, 2035)))
    if draw(st.booleans()) and near:
        base = draw(st.sampled_from(near))
        offset = draw(st.integers(-3 * 24 * 3600 * 10**6, 3 * 24 * 3600 * 10**6))
        return ZoneInfo(name), base + timedelta(microseconds=offset)
    return ZoneInfo(name), draw(
        st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC))
    )


def midnight_exists(day: date, tz: ZoneInfo) -> bool:
    wall = datetime.combine(day, time(), tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None)


def expected_first_day(period: str, today: date) -> date:
    if period == "today":
        return today
    if period == "week":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


def expected_today(now: datetime, tz: ZoneInfo) -> date:
    """The wall clock's date, unless the clocks are about to go back across midnight: the day
    they read then has not begun for good, and the hours belong to the day before."""
    wall = now.astimezone(tz).date()
    going_back = [
        t
        for year in (now.year, now.year + 1)
        for t in transitions(tz.key, year)
        if now < t <= now + timedelta(days=1) and t.astimezone(tz).date() < wall
    ]
    return wall - timedelta(days=1) if going_back else wall


@unhurried
@given(moments())
def test_a_period_starts_at_local_midnight_and_contains_now(case: tuple[ZoneInfo, datetime]) -> None:
    tz, now = case
    today = expected_today(now, tz)
    assert local_date(now, tz) == today
    for period in PERIODS:
        start, end = period_bounds(period, now, tz)
        assert start == period_start(period, now, tz)
        assert start <= now < end
        first = expected_first_day(period, today)
        # The first instant that carries the first day's date; just before it is the day before.
        assert start.astimezone(tz).date() == first
        assert (start - MICROSECOND).astimezone(tz).date() < first
        if midnight_exists(first, tz):
            assert start.astimezone(tz).time() == time()
        assert end == period_start(period, end, tz)
        assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert earliest_start(now, tz) == min(period_start(p, now, tz) for p in PERIODS)
    assert period_start("week", now, tz).astimezone(tz).weekday() == 0


@unhurried
@given(moments())
def test_a_day_is_the_stretch_between_two_local_midnights(case: tuple[ZoneInfo, datetime]) -> None:
    tz, now = case
    day = expected_today(now, tz)
    start, end = day_bounds(day, tz)
    assert local_date(now, tz) == day and start <= now < end
    if midnight_exists(day, tz) and midnight_exists(day + timedelta(days=1), tz):
        # 24 hours on the wall clock, whatever the elapsed time (23, 23.5, 24, 24.5, 25 hours...).
        wall = end.astimezone(tz).replace(tzinfo=None) - start.astimezone(tz).replace(tzinfo=None)
        assert wall == timedelta(days=1)
        elapsed = end - start
        assert elapsed == wall - (end.astimezone(tz).utcoffset() - start.astimezone(tz).utcoffset())  # type: ignore[operator]


def test_new_york_days_around_dst_are_23_and_25_hours() -> None:
    ny = zone("America/New_York")
    assert day_bounds(date(2026, 3, 8), ny) == (
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 4, tzinfo=UTC),
    )
    start, end = day_bounds(date(2026, 11, 1), ny)
    assert end - start == timedelta(hours=25)
    santiago = zone("America/Santiago")
    # Chile moves from 00:00 to 01:00 on the first Sunday of September: that day starts at 01:00.
    assert day_start(date(2025, 9, 7), santiago).astimezone(santiago).time() == time(1)


@unhurried
@given(moments(), st.integers(1, 90))
def test_last_days_end_today(case: tuple[ZoneInfo, datetime], days: int) -> None:
    tz, now = case
    window = last_days(now, days, tz)
    assert len(window) == days and window[-1] == local_date(now, tz)
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(window))
    start = last_days_start(now, days, tz)
    assert start == day_start(window[0], tz) and start <= now


@unhurried
@given(moments(), st.integers(0, 400 * 24 * 3600), st.data())
def test_date_shifts_put_each_instant_on_its_local_day(
    case: tuple[ZoneInfo, datetime], seconds: int, data: st.DataObject
) -> None:
    tz, since = case
    until = since + timedelta(seconds=seconds + 1)
    stretches = date_shifts(since, until, tz)
    assert stretches[0][0] == since
    for (a, first), (b, second) in itertools.pairwise(stretches):
        assert a < b < until and first != second
    for start, shift in stretches:
        assert (start.replace(tzinfo=None) + timedelta(seconds=shift)).date() == local_date(start, tz)
    for _ in range(5):
        at = since + timedelta(microseconds=data.draw(st.integers(0, (until - since) // MICROSECOND - 1)))
        shift = [s for start, s in stretches if start <= at][-1]
        assert (at.replace(tzinfo=None) + timedelta(seconds=shift)).date() == local_date(at, tz)


def test_st_johns_2005_went_back_across_midnight() -> None:
    """At 00:01 on 30 October 2005 the clocks went back to 23:01 on the 29th: the minute after
    the first midnight belongs to the 29th, and the 30th begins at the second midnight."""
    tz = zone("America/St_Johns")
    first_midnight = datetime(2005, 10, 30, 2, 30, tzinfo=UTC)
    second_midnight = datetime(2005, 10, 30, 3, 30, tzinfo=UTC)
    assert day_start(date(2005, 10, 30), tz) == second_midnight
    assert local_date(first_midnight + timedelta(seconds=30), tz) == date(2005, 10, 29)
    assert local_date(second_midnight, tz) == date(2005, 10, 30)
    assert day_bounds(date(2005, 10, 29), tz)[1] - day_bounds(date(2005, 10, 29), tz)[0] == timedelta(
        hours=25
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moments(), st.integers(0, 40 * 24 * 3600 * 10**6), st.data())
def test_local_day_in_sql_matches_python(
    db: Database, case: tuple[ZoneInfo, datetime], span: int, data: st.DataObject
) -> None:
    """The database's bucket for a timestamp is its local date, on SQLite and PostgreSQL."""
    tz, since = case
    until = since + timedelta(microseconds=span + 1)
    at = since + timedelta(microseconds=data.draw(st.integers(0, span)))
    # The next local midnight and the microsecond before it, where any rounding would show.
    boundary = day_start(local_date(at, tz) + timedelta(days=1), tz)
    at = data.draw(st.sampled_from([t for t in (at, boundary - MICROSECOND, boundary) if since <= t < until]))
    stamp = bindparam("at", at, type_=UTCDateTime())
    with db.session() as s:
        got = s.execute(select(local_day(stamp, since, until, tz))).scalar_one()
    assert as_date(got) == local_date(at, tz)
