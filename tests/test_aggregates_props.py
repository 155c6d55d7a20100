"""Property: every dashboard number equals a straight recount of the response rows.

Random responses and feedback requests are written through the models (both backends); the
aggregates are computed by ``streamsrv.dashboard.aggregates`` and, for the summary, also through
the HTTP API, then compared with numbers recounted here in plain Python from the same rows.
Accounts live in zones with and without DST, around a clock change where they have one: the
trend's days and the calendar periods are recounted from each row's wall-clock date.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamsrv.auth import Identity
from streamsrv.dashboard import aggregates
from streamsrv.dashboard.filters import DashboardQuery, Period, resolve_period
from streamsrv.db import Database
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    Agent,
    FeedbackRequest,
    Interaction,
    RequestKind,
    RequestStatus,
    Response,
    Role,
    Team,
    utcnow,
)
from tests.conftest import Tenant

BASE = datetime(2026, 3, 1, tzinfo=UTC)
# "Now" for each zone: late morning locally, within twelve days after a DST change if it has one.
NOW_IN: dict[str, datetime] = {
    "UTC": BASE,
    "Asia/Manila": datetime(2026, 3, 1, 3, tzinfo=UTC),
    "America/New_York": datetime(2026, 3, 12, 15, tzinfo=UTC),
    "Europe/Paris": datetime(2026, 4, 2, 9, tzinfo=UTC),
    "Australia/Lord_Howe": datetime(2026, 4, 10, 0, 30, tzinfo=UTC),
}
CHANNELS = ["chat", "phone", "email"]
AGENT_TEAM = [0, 0, 1]  # agent index -> team index


@dataclass(frozen=True)
class Row:
    agent: int
    channel: str
    rating: int
    csat: int | None
    nps: int | None
    fcr: bool | None
    reward: str | None
    hidden: bool
    minutes_ago: int
    # An answer to a recovery follow-up: stored, but never counted for the agent.
    followup: bool = False

    @property
    def team(self) -> int:
        return AGENT_TEAM[self.agent]


@dataclass(frozen=True)
class Req:
    agent: int
    channel: str
    kind: str
    status: str
    minutes_ago: int


ROWS = st.builds(
    Row,
    agent=st.integers(0, 2),
    channel=st.sampled_from(CHANNELS),
    rating=st.integers(1, 5),
    csat=st.none() | st.integers(1, 5),
    nps=st.none() | st.integers(0, 10),
    fcr=st.none() | st.booleans(),
    reward=st.none() | st.sampled_from(["coffee", "lunch", "high_five"]),
    hidden=st.booleans(),
    minutes_ago=st.integers(0, 12 * 24 * 60),
    followup=st.booleans(),
)
REQS = st.builds(
    Req,
    agent=st.integers(0, 2),
    channel=st.sampled_from(CHANNELS),
    kind=st.sampled_from([RequestKind.initial.value, RequestKind.recovery_followup.value]),
    status=st.sampled_from([s.value for s in RequestStatus]),
    minutes_ago=st.integers(0, 12 * 24 * 60),
)
FILTERS = st.fixed_dictionaries(
    {
        "team": st.none() | st.integers(0, 1),
        "agent": st.none() | st.integers(0, 2),
        "channel": st.none() | st.sampled_from(CHANNELS),
        "since_days": st.integers(1, 12),
        "until_days": st.integers(0, 3),
        "zone": st.sampled_from(sorted(NOW_IN)),
        "calendar": st.none() | st.sampled_from(["today", "week", "month", "7d", "30d"]),
    }
)


@dataclass
class World:
    org_id: int
    account_id: int
    team_ids: list[int]
    agent_ids: list[int]


def build(
    db: Database, org_id: int, rows: list[Row], reqs: list[Req], zone: str = "UTC", now: datetime = BASE
) -> World:
    with db.session() as s:
        account = Account(org_id=org_id, name=f"Prop {secrets.token_hex(4)}", time_zone=zone)
        s.add(account)
        s.flush()
        assert account.id is not None
        teams = [Team(org_id=org_id, account_id=account.id, name=f"T{i}") for i in range(2)]
        s.add_all(teams)
        s.flush()
        team_ids = [t.id for t in teams if t.id is not None]
        agents = [
            Agent(org_id=org_id, account_id=account.id, team_id=team_ids[AGENT_TEAM[i]], name=f"A{i}")
            for i in range(3)
        ]
        s.add_all(agents)
        s.flush()
        agent_ids = [a.id for a in agents if a.id is not None]
        world = World(org_id, account.id, team_ids, agent_ids)

        def interaction(agent: int, channel: str, n: str) -> Interaction:
            return Interaction(
                org_id=org_id,
                account_id=world.account_id,
                agent_id=agent_ids[agent],
                team_id=team_ids[AGENT_TEAM[agent]],
                channel=channel,
                external_id=n,
            )

        # One flush for all interactions: examples stay quick on both backends.
        for_rows = [interaction(r.agent, r.channel, f"r{n}") for n, r in enumerate(rows)]
        for_reqs = [interaction(q.agent, q.channel, f"q{n}") for n, q in enumerate(reqs)]
        s.add_all(for_rows + for_reqs)
        s.flush()
        for row, it in zip(rows, for_rows, strict=True):
            assert it.id is not None
            when = now - timedelta(minutes=row.minutes_ago)
            s.add(
                Response(
                    org_id=org_id,
                    account_id=world.account_id,
                    team_id=team_ids[row.team],
                    agent_id=agent_ids[row.agent],
                    interaction_id=it.id,
                    channel=row.channel,
                    rating=row.rating,
                    comment="c",
                    reward=row.reward,
                    csat=row.csat,
                    nps=row.nps,
                    fcr=row.fcr,
                    comment_hidden=row.hidden,
                    source=FOLLOWUP_SOURCE if row.followup else "api",
                    created_at=when,
                    updated_at=when,
                )
            )
        for req, it in zip(reqs, for_reqs, strict=True):
            assert it.id is not None
            s.add(
                FeedbackRequest(
                    org_id=org_id,
                    account_id=world.account_id,
                    interaction_id=it.id,
                    agent_id=agent_ids[req.agent],
                    kind=req.kind,
                    status=req.status,
                    nonce=secrets.token_hex(8),
                    token_hash=secrets.token_hex(32),
                    expires_at=utcnow() + timedelta(days=1),
                    created_at=now - timedelta(minutes=req.minutes_ago),
                )
            )
    return world


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def recount(rows: list[Row]) -> dict[str, Any]:
    """The expected metrics, straight from the rows (hidden comments count like any other)."""
    csat = [r.csat for r in rows if r.csat is not None]
    nps = [r.nps for r in rows if r.nps is not None]
    fcr = [r.fcr for r in rows if r.fcr is not None]
    promoters = sum(1 for v in nps if v >= 9)
    detractors = sum(1 for v in nps if v <= 6)
    total = sum(r.rating for r in rows)
    return {
        "responses": len(rows),
        "rating_sum": total,
        "average_rating": round(total / len(rows), 2) if rows else None,
        "csat": {
            "answers": len(csat),
            "satisfied": sum(1 for v in csat if v >= 4),
            "percent": pct(sum(1 for v in csat if v >= 4), len(csat)),
        },
        "nps": {
            "answers": len(nps),
            "promoters": promoters,
            "passives": len(nps) - promoters - detractors,
            "detractors": detractors,
            "score": round(100.0 * (promoters - detractors) / len(nps), 1) if nps else None,
        },
        "fcr": {
            "answers": len(fcr),
            "resolved": sum(1 for v in fcr if v),
            "percent": pct(sum(1 for v in fcr if v), len(fcr)),
        },
        "rewards_total": sum(1 for r in rows if r.reward),
    }


def metrics_of(result: dict[str, Any]) -> dict[str, Any]:
    return {
        k: result[k]
        for k in ("responses", "rating_sum", "average_rating", "csat", "nps", "fcr", "rewards_total")
    }


def calendar_days(name: str, today: date) -> tuple[date, date]:
    """The first and last local day a calendar period covers, counted independently."""
    if name == "today":
        return today, today
    if name == "week":
        return today - timedelta(days=today.weekday()), today
    if name == "month":
        return today.replace(day=1), today
    return today - timedelta(days=int(name[:-1]) - 1), today


def check_world(tenant: Tenant, db: Database, rows: list[Row], reqs: list[Req], f: dict[str, Any]) -> None:
    tz = ZoneInfo(f["zone"])
    now = NOW_IN[f["zone"]]
    world = build(db, tenant.org_id, rows, reqs, f["zone"], now)
    rows = [r for r in rows if not r.followup]
    until_days = min(f["until_days"], f["since_days"] - 1)
    period = Period(now - timedelta(days=f["since_days"]), now - timedelta(days=until_days), tz)
    if f["calendar"] is not None:
        first, last = calendar_days(f["calendar"], now.astimezone(tz).date())

    def wall_date(minutes_ago: int) -> date:
        return (now - timedelta(minutes=minutes_ago)).astimezone(tz).date()

    def in_period(minutes_ago: int) -> bool:
        if f["calendar"] is not None:
            return first <= wall_date(minutes_ago) <= last
        when = now - timedelta(minutes=minutes_ago)
        return period.since <= when < period.until

    def keep(agent: int, channel: str, team_scope: int | None) -> bool:
        team = AGENT_TEAM[agent]
        return (
            (f["team"] is None or team == f["team"])
            and (f["agent"] is None or agent == f["agent"])
            and (f["channel"] is None or channel == f["channel"])
            and (team_scope is None or team == team_scope)
        )

    query = DashboardQuery(
        account_id=world.account_id,
        team_id=None if f["team"] is None else world.team_ids[f["team"]],
        agent_id=None if f["agent"] is None else world.agent_ids[f["agent"]],
        channel=f["channel"],
    )
    identities: list[tuple[Identity, int | None]] = [
        (Identity(org_id=world.org_id, role=Role.admin, scopes=frozenset({"admin"})), None),
        (
            Identity(
                org_id=world.org_id,
                role=Role.client_viewer,
                scopes=frozenset({"read"}),
                account_ids=frozenset({world.account_id}),
            ),
            None,
        ),
        (
            Identity(
                org_id=world.org_id,
                role=Role.team_leader,
                scopes=frozenset({"read"}),
                team_ids=frozenset({world.team_ids[0]}),
            ),
            0,
        ),
    ]
    for identity, team_scope in identities:
        chosen = [r for r in rows if in_period(r.minutes_ago) and keep(r.agent, r.channel, team_scope)]
        sent = sum(
            1
            for q in reqs
            if in_period(q.minutes_ago)
            and keep(q.agent, q.channel, team_scope)
            and q.kind == RequestKind.initial
            and q.status != RequestStatus.suppressed
        )
        with db.session() as s:
            if f["calendar"] is not None:
                calendar = query.model_copy(update={"period": f["calendar"]})
                period = resolve_period(s, identity, calendar, now)
                assert period.tz.key == f["zone"]
            summary = aggregates.summary(s, identity, query, period)
            trend = aggregates.trend(s, identity, query, period)
            by = {
                b: aggregates.breakdown(s, identity, query, period, b) for b in ("team", "agent", "channel")
            }
        assert metrics_of(summary) == recount(chosen)
        assert summary["requests_sent"] == sent
        assert summary["response_rate"] == pct(len(chosen), sent)
        ratings = Counter(r.rating for r in chosen)
        assert summary["distribution"] == [{"rating": n, "count": ratings[n]} for n in range(1, 6)]
        rewards = Counter(r.reward for r in chosen if r.reward)
        assert {x["code"]: x["count"] for x in summary["rewards"]} == dict(rewards)

        days: dict[str, list[Row]] = {}
        for r in chosen:
            days.setdefault(wall_date(r.minutes_ago).isoformat(), []).append(r)
        assert [p["date"] for p in trend["points"]] == period.days()
        for point in trend["points"]:
            day_rows = days.pop(point["date"], [])
            assert point["responses"] == len(day_rows)
            assert point["rating_sum"] == sum(r.rating for r in day_rows)
        assert days == {}

        keys = {
            "team": lambda r: str(world.team_ids[r.team]),
            "agent": lambda r: str(world.agent_ids[r.agent]),
            "channel": lambda r: r.channel,
        }
        for name, key in keys.items():
            groups: dict[str, list[Row]] = {}
            for r in chosen:
                groups.setdefault(key(r), []).append(r)
            got = {item["key"]: metrics_of(item) for item in by[name]["items"]}
            assert got == {k: recount(v) for k, v in groups.items()}

    # The HTTP API answers the same numbers as the functions it wraps.
    params: dict[str, Any] = {"account_id": world.account_id}
    if f["calendar"] is None:
        params.update(since=period.since.isoformat(), until=period.until.isoformat())
    else:
        # The server's clock is today's, not the example's: ask for the same days by date.
        params.update(from_date=first.isoformat(), to_date=last.isoformat())
    params.update({k: v for k, v in query.model_dump(include={"team_id", "agent_id"}).items() if v})
    if f["channel"]:
        params["channel"] = f["channel"]
    api = tenant.api.get("/api/v1/dashboard/summary", params=params)
    assert api.status_code == 200, api.text
    expected = recount([r for r in rows if in_period(r.minutes_ago) and keep(r.agent, r.channel, None)])
    assert metrics_of(api.json()) == expected


def test_aggregates_equal_a_recount(tenant: Tenant, db: Database) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=st.lists(ROWS, max_size=40), reqs=st.lists(REQS, max_size=15), f=FILTERS)
    def run(rows: list[Row], reqs: list[Req], f: dict[str, Any]) -> None:
        check_world(tenant, db, rows, reqs, f)

    run()


def test_empty_period_has_no_ratios(tenant: Tenant, db: Database) -> None:
    world = build(db, tenant.org_id, [], [])
    identity = Identity(org_id=world.org_id, role=Role.admin, scopes=frozenset({"admin"}))
    period = Period(BASE - timedelta(days=1), BASE)
    with db.session() as s:
        summary = aggregates.summary(s, identity, DashboardQuery(account_id=world.account_id), period)
    assert summary["responses"] == 0 and summary["average_rating"] is None
    assert summary["response_rate"] is None and summary["nps"]["score"] is None
