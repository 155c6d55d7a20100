"""Day boundaries in the account's time zone, on every surface and on both backends.

Responses half an hour either side of the account's midnight must land in the right "today"
and "yesterday" on the board, ``/me``, the coach's sparkline, the dashboard and the CSV. Through
the HTTP API the server's clock is the real one, so the zone is picked where it is not close to
midnight now; across DST changes the same functions run in-process at a chosen instant.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from streamsrv.auth import Identity, make_session_cookie
from streamsrv.boards import board
from streamsrv.boards.stats import agent_period_sums
from streamsrv.coaching import panel
from streamsrv.dashboard import aggregates
from streamsrv.dashboard.export import ExportQuery, csv_chunks
from streamsrv.dashboard.filters import DashboardQuery, resolve_period
from streamsrv.db import Database
from streamsrv.me import me_snapshot
from streamsrv.models import Account, Alert, Role
from streamsrv.period_filters import pinned
from streamsrv.periods import Period, day_start
from streamsrv.timefmt import iso
from tests.conftest import Tenant
from tests.streaming import Floor, make_floor, make_user, store_response
from tests.support import TIMEOUT

_ids = itertools.count(1)


def set_zone(db: Database, account_id: int, name: str, **fields: Any) -> None:
    with db.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        account.time_zone = name
        for key, value in fields.items():
            setattr(account, key, value)
        s.add(account)


def store(db: Database, floor: Floor, at: datetime, rating: int = 4, areas: list[str] | None = None) -> int:
    return store_response(
        db,
        at,
        org_id=floor.org_id,
        account_id=floor.account_id,
        team_id=floor.team_id,
        agent_id=floor.agent_ids[0],
        rating=rating,
        areas=areas,
    )


def zone_away_from_midnight() -> ZoneInfo:
    """Manila, unless its clock is near midnight now; then New York, twelve or so hours off."""
    for name in ("Asia/Manila", "America/New_York"):
        tz = ZoneInfo(name)
        if time(1) <= datetime.now(tz).time() <= time(22, 30):
            return tz
    raise AssertionError("Manila and New York cannot both be near midnight")


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def expected_counts(days: list[date], today: date) -> dict[str, int]:
    """Today, this week (from Monday) and this month, counted from the rows' local dates."""
    monday = today - timedelta(days=today.weekday())
    return {
        "today": sum(d == today for d in days),
        "week": sum(monday <= d <= today for d in days),
        "month": sum(d.replace(day=1) == today.replace(day=1) and d <= today for d in days),
    }


def test_today_and_yesterday_at_the_accounts_midnight_on_every_surface(tenant: Tenant, db: Database) -> None:
    tz = zone_away_from_midnight()
    floor = make_floor(db, tenant.org_id, agents=1)
    set_zone(db, floor.account_id, tz.key)
    today = datetime.now(tz).date()
    yesterday = today - timedelta(days=1)
    midnight, yesterday_midnight = day_start(today, tz), day_start(yesterday, tz)
    half_hour = timedelta(minutes=30)
    store(db, floor, yesterday_midnight - half_hour)  # 23:30 the day before
    early_yesterday = store(db, floor, yesterday_midnight + half_hour)  # 00:30 yesterday
    late_yesterday = store(db, floor, midnight - half_hour)  # 23:30 yesterday
    early_today = store(db, floor, midnight + half_hour)  # 00:30 today
    local_days = [yesterday - timedelta(days=1), yesterday, yesterday, today]
    counts = expected_counts(local_days, today)
    agent_id = floor.agent_ids[0]
    api = tenant.api

    for period, expected in counts.items():
        snap = api.get(f"/api/v1/boards/team/{floor.team_id}", params={"period": period}).json()
        assert sum(a["count"] for a in snap["standings"] + snap["not_ranked"]) == expected, period
        assert snap["time_zone"] == tz.key
    snap = api.get(f"/api/v1/boards/account/{floor.account_id}", params={"period": "today"}).json()
    assert snap["period_start"] == iso(midnight)
    assert snap["period_end"] == iso(day_start(today + timedelta(days=1), tz))

    agent_user = make_user(db, tenant.org_id, Role.agent, agent_id=agent_id)
    cookie = make_session_cookie(tenant.server.app.state.ctx, agent_user)
    with httpx.Client(
        base_url=tenant.server.url, cookies={"streamsrv_session": cookie}, timeout=TIMEOUT
    ) as me:
        body = me.get("/api/v1/me").json()
    assert {p: body["stats"][p]["count"] for p in counts} == counts
    assert body["time_zone"] == tz.key and body["period_bounds"]["today"]["start"] == iso(midnight)

    coach = api.get("/api/v1/coach", params={"team_id": floor.team_id}).json()
    assert coach["today"] == today.isoformat() and coach["time_zone"] == tz.key
    series = coach["agents"][0]["series"]
    assert [(p["date"], p["count"]) for p in series[-3:]] == [
        ((today - timedelta(days=2)).isoformat(), 1),
        (yesterday.isoformat(), 2),
        (today.isoformat(), 1),
    ]
    assert coach["agents"][0]["today"]["count"] == 1

    summary = api.get("/api/v1/dashboard/summary", params={"account_id": floor.account_id, "period": "today"})
    assert summary.json()["responses"] == 1
    assert summary.json()["period"] == {
        "since": iso(midnight),
        "until": iso(day_start(today + timedelta(days=1), tz)),
        "time_zone": tz.key,
    }
    by_team = api.get(
        "/api/v1/dashboard/summary", params={"team_id": floor.team_id, "period": "today"}
    ).json()
    assert by_team["responses"] == 1 and by_team["period"]["time_zone"] == tz.key
    # The organization also has an account in UTC: across zones the days are UTC's, and said so.
    everywhere = api.get("/api/v1/dashboard/summary", params={"period": "today"}).json()
    assert everywhere["period"]["time_zone"] == "UTC"
    trend = api.get("/api/v1/dashboard/trend", params={"account_id": floor.account_id, "period": "7d"}).json()
    assert [p["date"] for p in trend["points"]][-1] == today.isoformat() and len(trend["points"]) == 7
    assert [p["responses"] for p in trend["points"][-3:]] == [1, 2, 1]

    listed = api.get("/api/v1/feedback", params={"account_id": floor.account_id, "period": "today"}).json()
    assert [item["id"] for item in listed["items"]] == [early_today]
    exported = csv_rows(
        api.get("/api/v1/feedback.csv", params={"account_id": floor.account_id, "period": "today"}).text
    )
    assert [int(row["id"]) for row in exported] == [early_today]
    assert exported[0]["created_at_local"].startswith(f"{today.isoformat()}T00:30")
    assert exported[0]["time_zone"] == tz.key
    day: dict[str, str | int] = {
        "account_id": floor.account_id,
        "from_date": yesterday.isoformat(),
        "to_date": yesterday.isoformat(),
    }
    assert [int(row["id"]) for row in csv_rows(api.get("/api/v1/feedback.csv", params=day).text)] == [
        early_yesterday,
        late_yesterday,
    ]


def test_calendar_filters_are_checked(tenant: Tenant) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/dashboard/summary", {"period": "yesterday"}, "period"),
        ("/api/v1/dashboard/summary", {"period": "today", "since": "2026-01-01T00:00:00Z"}, "period"),
        ("/api/v1/dashboard/trend", {"from_date": "2026-02-01", "to_date": "2026-01-01"}, "to_date"),
        ("/api/v1/dashboard/trend", {"from_date": "2024-01-01", "to_date": "2026-01-01"}, "to_date"),
        ("/api/v1/dashboard/trend", {"from_date": "1999-12-31"}, "from_date"),
        ("/api/v1/dashboard/trend", {"from_date": "2020-01-01"}, "from_date"),
        ("/api/v1/feedback", {"period": "today", "from_date": "2026-01-01"}, "from_date"),
        ("/api/v1/feedback.csv", {"to_date": "2026-13-01"}, "to_date"),
    ]
    for path, params, field in cases:
        r = tenant.api.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert field in r.json()["error"]["fields"], (path, params, r.text)


def test_recurring_area_window_starts_at_the_accounts_midnight(tenant: Tenant, db: Database) -> None:
    """ "Twice within 1 day" counts today's answers only: 23:30 yesterday is another day."""
    tz = zone_away_from_midnight()
    floor = make_floor(db, tenant.org_id, agents=1)
    rules = {"recurring_area": {"enabled": True, "count": 2, "days": 1}}
    set_zone(db, floor.account_id, tz.key, alert_rules=rules)
    midnight = day_start(datetime.now(tz).date(), tz)
    store(db, floor, midnight - timedelta(minutes=30), rating=2, areas=["speed"])

    def post_low() -> None:
        body = {
            "account_id": floor.account_id,
            "agent_id": floor.agent_ids[0],
            "channel": "chat",
            "external_id": f"tz-{next(_ids)}",
            "rating": 3,
            "improvement_areas": ["speed"],
        }
        r = tenant.api.post("/api/v1/feedback", json=body)
        assert r.status_code == 201, r.text

    def recurring() -> int:
        with db.session() as s:
            stmt = select(Alert).where(Alert.agent_id == floor.agent_ids[0], Alert.rule == "recurring_area")
            return len(s.exec(stmt).all())

    post_low()
    assert recurring() == 0
    store(db, floor, midnight + timedelta(minutes=1), rating=2, areas=["speed"])
    post_low()
    assert recurring() == 1


@dataclass(frozen=True)
class DstCase:
    """A moment in New York near a clock change, and answers at local wall times around it."""

    now: datetime
    # (local wall time, fold): fold 1 is the second 01:30 of the night the clocks go back.
    answers: tuple[tuple[datetime, int], ...]
    # Counts for the day before yesterday, yesterday and today, then this week and this month.
    days: tuple[int, int, int]
    week: int
    month: int


NEW_YORK = ZoneInfo("America/New_York")
DST_CASES = {
    # Sunday 8 March 2026 has 23 hours: 02:00 EST becomes 03:00 EDT. The week began on the 2nd.
    "spring-forward": DstCase(
        now=datetime(2026, 3, 8, 12, tzinfo=NEW_YORK),
        answers=(
            (datetime(2026, 3, 7, 23, 30), 0),
            (datetime(2026, 3, 8, 0, 30), 0),
            (datetime(2026, 3, 8, 3, 30), 0),
        ),
        days=(0, 1, 2),
        week=3,
        month=3,
    ),
    # Sunday 1 November 2026 has 25 hours (01:00-02:00 twice); Monday the 2nd starts a week.
    "fall-back": DstCase(
        now=datetime(2026, 11, 2, 0, 45, tzinfo=NEW_YORK),
        answers=(
            (datetime(2026, 10, 31, 23, 30), 0),
            (datetime(2026, 11, 1, 1, 30), 0),
            (datetime(2026, 11, 1, 1, 30), 1),
            (datetime(2026, 11, 1, 23, 30), 0),
            (datetime(2026, 11, 2, 0, 30), 0),
        ),
        days=(1, 3, 1),
        week=1,
        month=4,
    ),
}


@pytest.mark.parametrize("name", sorted(DST_CASES))
def test_days_across_a_dst_change(tenant: Tenant, db: Database, name: str) -> None:
    case = DST_CASES[name]
    floor = make_floor(db, tenant.org_id, agents=1)
    set_zone(db, floor.account_id, NEW_YORK.key)
    ids = [
        store(db, floor, wall.replace(tzinfo=NEW_YORK, fold=fold).astimezone(UTC))
        for wall, fold in case.answers
    ]
    now = case.now.astimezone(UTC)
    today = case.now.date()
    agent_id = floor.agent_ids[0]
    admin = Identity(org_id=floor.org_id, role=Role.admin, scopes=frozenset({"admin"}))
    agent = Identity(org_id=floor.org_id, role=Role.agent, scopes=frozenset({"read"}), agent_id=agent_id)
    expected: dict[Period, int] = {"today": case.days[2], "week": case.week, "month": case.month}
    with db.session() as s:
        sums = agent_period_sums(s, agent_id, now, NEW_YORK)
        assert {p: sums[p].count for p in expected} == expected
        for period, count in expected.items():
            snap = board.snapshot(s, floor.org_id, "team", floor.team_id, period, now)
            assert sum(a["count"] for a in snap["standings"] + snap["not_ranked"]) == count, period
        me = me_snapshot(s, agent, now)
        assert {p: me["stats"][p]["count"] for p in expected} == expected

        coach = panel.snapshot(s, admin, floor.team_id, now)
        assert coach["today"] == today.isoformat()
        assert tuple(p["count"] for p in coach["agents"][0]["series"][-3:]) == case.days

        query = DashboardQuery(account_id=floor.account_id, period="today")
        assert (
            aggregates.summary(s, admin, query, resolve_period(s, admin, query, now))["responses"]
            == case.days[2]
        )
        week = DashboardQuery(account_id=floor.account_id, period="7d")
        points = aggregates.trend(s, admin, week, resolve_period(s, admin, week, now))["points"]
        assert tuple(p["responses"] for p in points[-3:]) == case.days
        assert points[-1]["date"] == today.isoformat()

        export = pinned(s, admin, ExportQuery(account_id=floor.account_id, period="today"), now)
    rows = csv_rows(b"".join(csv_chunks(db.engine, admin, export)).decode())
    assert [int(r["id"]) for r in rows] == ids[-case.days[2] :]
    assert all(r["created_at_local"].startswith(today.isoformat()) for r in rows)


def test_staff_pages_know_each_accounts_zone(tenant: Tenant, db: Database) -> None:
    """/dashboard, /live and /recovery show each response's and case's times in its account's zone."""
    floor = make_floor(db, tenant.org_id, agents=1)
    set_zone(db, floor.account_id, "Asia/Manila")
    manager = make_user(
        db, tenant.org_id, Role.manager, account_ids=[floor.account_id, floor.other_account_id]
    )
    cookie = make_session_cookie(tenant.server.app.state.ctx, manager)
    with httpx.Client(
        base_url=tenant.server.url, cookies={"streamsrv_session": cookie}, timeout=TIMEOUT
    ) as web:
        for path in ("/dashboard", "/live", "/recovery"):
            page = web.get(path)
            assert page.status_code == 200, path
            found = re.search(r'data-zones="([^"]*)"', page.text)
            assert found is not None, path
            zones = json.loads(html.unescape(found.group(1)))
            assert zones == {str(floor.account_id): "Asia/Manila", str(floor.other_account_id): "UTC"}, path
