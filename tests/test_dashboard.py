"""Dashboard API: aggregates, breakdowns, trend, scope, validation, and the streaming CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import FOLLOWUP_SOURCE, FeedbackRequest, Interaction, RequestStatus, Response, Role
from tests.conftest import Tenant
from tests.dashboard_support import Site, ingest_key, logged_in, make_site, post_feedback
from tests.reaching_support import followup_link
from tests.support import TIMEOUT


def seed_known(tenant: Tenant, db: Database, site: Site) -> None:
    """Six responses in account A, one in B, with every optional answer in play."""
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        a, agents = site.account_id, site.agent_ids
        post_feedback(api, a, agents[0], rating=5, csat=5, nps=10, fcr=True, reward="coffee")
        post_feedback(api, a, agents[0], rating=4, csat=4, nps=9, fcr=True, reward="coffee", channel="phone")
        post_feedback(api, a, agents[1], rating=3, csat=3, nps=7, fcr=False)
        post_feedback(api, a, agents[1], rating=1, csat=1, nps=0, fcr=False, improvement_areas=["speed"])
        post_feedback(api, a, agents[2], rating=5, reward="lunch", channel="email")
        post_feedback(api, a, agents[2], rating=2, nps=6)
        post_feedback(api, site.other_account_id, site.other_agent_id, rating=1, comment="other account")


def test_summary_numbers(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    seed_known(tenant, db, site)
    r = tenant.api.get("/api/v1/dashboard/summary", params={"account_id": site.account_id})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["responses"] == 6
    assert s["requests_sent"] == 6 and s["response_rate"] == 100.0
    assert s["average_rating"] == round(20 / 6, 2)
    assert s["csat"] == {"answers": 4, "satisfied": 2, "percent": 50.0}
    # nps answers: 10, 9, 7, 0, 6 -> 2 promoters, 2 detractors, 1 passive
    assert s["nps"] == {"answers": 5, "promoters": 2, "passives": 1, "detractors": 2, "score": 0.0}
    assert s["fcr"] == {"answers": 4, "resolved": 2, "percent": 50.0}
    assert [b["count"] for b in s["distribution"]] == [1, 1, 1, 1, 2]
    assert [(x["code"], x["count"]) for x in s["rewards"]] == [("coffee", 2), ("lunch", 1)]
    assert s["rewards"][0]["label"] == "Coffee" and s["rewards_total"] == 3

    whole = tenant.api.get("/api/v1/dashboard/summary").json()
    assert whole["responses"] == 7
    chat = tenant.api.get("/api/v1/dashboard/summary", params={"channel": "phone"}).json()
    assert chat["responses"] == 1 and chat["average_rating"] == 4.0


def test_response_rate_counts_requests_sent(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        post_feedback(api, site.account_id, site.agent_ids[0], rating=4)
        for n in range(3):
            r = api.post(
                "/api/v1/interactions",
                json={
                    "account_id": site.account_id,
                    "agent_id": site.agent_ids[0],
                    "channel": "email",
                    "external_id": f"pending-{n}",
                    "customer": {"email": f"c{n}@example.com"},
                },
            )
            assert r.status_code == 201, r.text
    with db.session() as s:
        # A suppressed request was never sent: it must not count.
        req = s.exec(select(FeedbackRequest).where(FeedbackRequest.account_id == site.account_id)).all()[-1]
        req.status = RequestStatus.suppressed
        s.add(req)
    summary = tenant.api.get("/api/v1/dashboard/summary", params={"account_id": site.account_id}).json()
    assert summary["requests_sent"] == 3
    assert summary["response_rate"] == round(100 / 3, 1)


def test_breakdowns_and_trend(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    seed_known(tenant, db, site)
    params: dict[str, Any] = {"account_id": site.account_id}
    teams = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "team"}).json()
    rows = {row["id"]: row for row in teams["items"]}
    assert set(rows) == set(site.team_ids)
    assert rows[site.team_ids[0]]["responses"] == 4 and rows[site.team_ids[0]]["name"] == "Mobile Care"
    assert rows[site.team_ids[1]]["average_rating"] == 3.5 and rows[site.team_ids[1]]["rewards_total"] == 1
    agents = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "agent"}).json()
    maya = next(row for row in agents["items"] if row["id"] == site.agent_ids[0])
    assert maya["name"] == "Maya Chen" and maya["csat"]["percent"] == 100.0 and maya["nps"]["score"] == 100.0
    channels = tenant.api.get("/api/v1/dashboard/breakdown", params={**params, "by": "channel"}).json()
    assert {row["key"]: row["responses"] for row in channels["items"]} == {"chat": 4, "phone": 1, "email": 1}

    trend = tenant.api.get("/api/v1/dashboard/trend", params=params).json()
    assert len(trend["points"]) in (30, 31)
    today = datetime.now(UTC).date().isoformat()
    last = trend["points"][-1]
    assert last["date"] == today and last["responses"] == 6 and last["average_rating"] == round(20 / 6, 2)
    assert sum(p["responses"] for p in trend["points"]) == 6


def test_bad_filters_are_422_naming_the_field(tenant: Tenant) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/dashboard/breakdown", {"by": "planet"}, "by"),
        ("/api/v1/dashboard/breakdown", {}, "by"),
        ("/api/v1/dashboard/summary", {"account_id": 0}, "account_id"),
        ("/api/v1/dashboard/summary", {"agent_id": 2**31}, "agent_id"),
        ("/api/v1/dashboard/summary", {"channel": "pigeon"}, "channel"),
        ("/api/v1/dashboard/trend", {"since": "yesterday"}, "since"),
        ("/api/v1/dashboard/trend", {"since": "0001-01-01T00:00:00"}, "since"),
        ("/api/v1/feedback.csv", {"min_rating": 5, "max_rating": 1}, "body"),
    ]
    for path, params, field in cases:
        r = tenant.api.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert field in r.json()["error"]["fields"], (path, params, r.text)
    r = tenant.api.get("/api/v1/dashboard/trend", params={"since": "2026-01-10", "until": "2026-01-01"})
    assert r.status_code == 422 and "until" in r.json()["error"]["fields"]
    r = tenant.api.get("/api/v1/dashboard/trend", params={"since": "2024-01-01", "until": "2026-01-01"})
    assert r.status_code == 422 and "400 days" in r.json()["error"]["fields"]["until"]
    r = tenant.api.get("/api/v1/dashboard/trend", params={"since": "2020-01-01"})
    assert r.status_code == 422 and "400 days" in r.json()["error"]["fields"]["since"]


def test_client_viewer_sees_only_their_account(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    seed_known(tenant, db, site)
    base = tenant.server.url
    with logged_in(base, db, tenant.org_id, Role.client_viewer, account_ids=[site.account_id]) as tab:
        summary = tab.api("GET", "/api/v1/dashboard/summary").json()
        assert summary["responses"] == 6
        for path in ("/api/v1/dashboard/summary", "/api/v1/dashboard/trend", "/api/v1/feedback.csv"):
            r = tab.api("GET", path, params={"account_id": site.other_account_id})
            assert r.status_code == 404, (path, r.text)
        r = tab.api(
            "GET", "/api/v1/dashboard/breakdown", params={"by": "team", "account_id": site.other_account_id}
        )
        assert r.status_code == 404
        # Filters naming the other account's team or agent find nothing rather than leaking.
        for params in ({"team_id": site.other_team_id}, {"agent_id": site.other_agent_id}):
            assert tab.api("GET", "/api/v1/dashboard/summary", params=params).json()["responses"] == 0
            rows = tab.api("GET", "/api/v1/dashboard/breakdown", params={**params, "by": "agent"}).json()[
                "items"
            ]
            assert rows == []
        teams = tab.api("GET", "/api/v1/dashboard/breakdown", params={"by": "team"}).json()["items"]
        assert site.other_team_id not in {row["id"] for row in teams}
        text = tab.api("GET", "/api/v1/feedback.csv").text
        assert "other account" not in text
        assert len(list(csv.DictReader(io.StringIO(text)))) == 6


def test_team_leader_is_scoped_and_agents_are_refused(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    seed_known(tenant, db, site)
    base = tenant.server.url
    with logged_in(base, db, tenant.org_id, Role.team_leader, team_ids=[site.team_ids[1]]) as tab:
        assert tab.api("GET", "/api/v1/dashboard/summary").json()["responses"] == 2
    with logged_in(base, db, tenant.org_id, Role.agent, agent_id=site.agent_ids[0]) as tab:
        r = tab.api("GET", "/api/v1/dashboard/summary")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert httpx.get(f"{base}/api/v1/dashboard/summary").status_code == 401


def test_recovery_staff_are_refused_the_feedback_dashboards_and_export(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    seed_known(tenant, db, site)
    base = tenant.server.url
    paths = [
        ("/api/v1/feedback", {}),
        ("/api/v1/feedback.csv", {}),
        ("/api/v1/dashboard/summary", {}),
        ("/api/v1/dashboard/trend", {}),
        ("/api/v1/dashboard/breakdown", {"by": "agent"}),
    ]
    with logged_in(base, db, tenant.org_id, Role.recovery, account_ids=[site.account_id]) as tab:
        for path, params in paths:
            r = tab.api("GET", path, params={**params, "account_id": site.account_id})
            assert r.status_code == 403, (path, r.text)
            assert r.json()["error"]["code"] == "forbidden" and "comment" not in r.text
        # Their own work stays open to them.
        assert tab.api("GET", "/api/v1/recovery/cases").status_code == 200
    with logged_in(base, db, tenant.org_id, Role.client_viewer, account_ids=[site.account_id]) as tab:
        for path, params in paths:
            assert tab.api("GET", path, params=params).status_code == 200, path


def test_csv_is_injection_safe_with_header_and_filename(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        for comment in (
            '=HYPERLINK("http://evil")',
            "+1+2",
            "-2",
            "@SUM(A1)",
            '\uff1dHYPERLINK("http://evil")',
            "\uff0b1+2",
            "\uff0d2",
            "\uff20SUM(A1)",
            'fine, "quoted"\nnext line',
            "é ü 😀",
        ):
            post_feedback(api, site.account_id, site.agent_ids[0], rating=3, comment=comment)
    r = tenant.api.get("/api/v1/feedback.csv", params={"account_id": site.account_id})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="feedback-' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert rows[0][:3] == ["id", "created_at", "updated_at"]
    comments = [row[rows[0].index("comment")] for row in rows[1:]]
    assert comments == [
        '\'=HYPERLINK("http://evil")',
        "'+1+2",
        "'-2",
        "'@SUM(A1)",
        '\'\uff1dHYPERLINK("http://evil")',
        "'\uff0b1+2",
        "'\uff0d2",
        "'\uff20SUM(A1)",
        'fine, "quoted"\nnext line',
        "é ü 😀",
    ]


def bulk_responses(db: Database, site: Site, count: int) -> None:
    """``count`` responses in two multi-row INSERTs: fast enough to test a big export."""
    now = datetime.now(UTC)
    base = now - timedelta(days=1)
    with db.session() as s:
        s.execute(
            insert(Interaction),
            [
                {
                    "org_id": site.org_id,
                    "account_id": site.account_id,
                    "agent_id": site.agent_ids[0],
                    "team_id": site.team_ids[0],
                    "channel": "chat",
                    "external_id": f"bulk-{n}",
                    "source": "api",
                    "occurred_at": base,
                    "created_at": base,
                }
                for n in range(count)
            ],
        )
        ids = s.exec(
            select(Interaction.id).where(Interaction.account_id == site.account_id).order_by(Interaction.id)
        ).all()
        s.execute(
            insert(Response),
            [
                {
                    "org_id": site.org_id,
                    "account_id": site.account_id,
                    "team_id": site.team_ids[0],
                    "agent_id": site.agent_ids[0],
                    "interaction_id": iid,
                    "channel": "chat",
                    "rating": 1 + n % 5,
                    "comment": f"comment number {n}",
                    "improvement_areas": [],
                    "source": "api",
                    "edit_count": 0,
                    "comment_hidden": False,
                    "created_at": base + timedelta(microseconds=n),
                    "updated_at": base,
                }
                for n, iid in enumerate(ids)
            ],
        )


def test_csv_export_streams_in_chunks(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    total = 20_000
    bulk_responses(db, site, total)
    chunks = 0
    lines = 0
    tail = b""
    with tenant.api.stream("GET", "/api/v1/feedback.csv", params={"account_id": site.account_id}) as r:
        assert r.status_code == 200
        # No Content-Length: the body is produced while it is sent.
        assert "content-length" not in r.headers
        for chunk in r.iter_raw():
            chunks += 1
            lines += chunk.count(b"\r\n")
            tail = chunk
    assert lines == total + 1
    assert chunks > 10, chunks
    assert f"comment number {total - 1},false,,,,,,api,0,".encode() in tail
    # The codes come after the zone: people read "Chat" in the channel column. Last, the agent's
    # blended score (ratings 1 to 5 in turn: average 3, which is 50 of 100).
    assert tail.endswith(b"+00:00,UTC,chat,,,50.0\r\n")


def test_dashboard_endpoints_are_in_openapi(tenant: Tenant) -> None:
    spec = tenant.api.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/dashboard/summary",
        "/api/v1/dashboard/breakdown",
        "/api/v1/dashboard/trend",
        "/api/v1/feedback.csv",
    ):
        assert "get" in spec["paths"][path]


def test_tiles_list_and_csv_agree_about_recovery_followups(tenant: Tenant, db: Database) -> None:
    """A normal response and the answer to its recovery follow-up: the follow-up rates the
    recovery, so the tile, the list and the CSV all count the one normal response."""
    setup, path, _ = followup_link(tenant, db)
    token = path.rsplit("/", 1)[1]
    answer = httpx.post(f"{tenant.server.url}/api/v1/responses/{token}", json={"rating": 5}, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    with db.session() as s:
        sources = sorted(s.exec(select(Response.source).where(Response.account_id == setup.account_id)).all())
    assert len(sources) == 2 and FOLLOWUP_SOURCE in sources
    params = {"account_id": setup.account_id}
    tile = tenant.api.get("/api/v1/dashboard/summary", params=params)
    assert tile.status_code == 200, tile.text
    listed = tenant.api.get("/api/v1/feedback", params=params)
    assert listed.status_code == 200, listed.text
    exported = tenant.api.get("/api/v1/feedback.csv", params=params)
    assert exported.status_code == 200, exported.text
    csv_rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert tile.json()["responses"] == 1
    assert [item["rating"] for item in listed.json()["items"]] == [1]
    assert [row["rating"] for row in csv_rows] == ["1"]
    assert all(row["source"] != FOLLOWUP_SOURCE for row in csv_rows)
