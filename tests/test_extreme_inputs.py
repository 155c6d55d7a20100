"""Extreme timestamps and cursors on every API input that takes one: 422 naming the field, never a 500.

Hypothesis draws the values (biased to the ends of Python's datetime range, offsets up to +-14 h,
numbers far beyond 64 bits), and every one goes over real HTTP to the real server, on both
databases.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamsrv.db import Database
from streamsrv.inputs import MAX_YEAR, MIN_YEAR
from streamsrv.models import Role, utcnow
from tests.conftest import Tenant
from tests.dashboard_support import logged_in
from tests.survey_support import Setup, interaction_body, make_setup

EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

offsets = st.one_of(
    st.none(),
    st.sampled_from([-12 * 60, -1, 1, 14 * 60]),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
).map(lambda minutes: None if minutes is None else timezone(timedelta(minutes=minutes)))
naive = st.one_of(
    st.sampled_from([datetime.min, datetime.max, datetime(1, 1, 1, 12), datetime(9999, 12, 31, 12)]),
    st.datetimes(),
)
instants = st.builds(lambda when, zone: when.replace(tzinfo=zone).isoformat(), naive, offsets)

huge = st.one_of(st.sampled_from([2**31, 2**63, 2**64, 10**30, -1, -(2**63) - 1]), st.integers())


def keyset(micros: Any, row: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([micros, row])).decode().rstrip("=")


cursors = st.one_of(
    huge.map(str),
    st.text(max_size=30),
    st.builds(
        lambda m, r: keyset(m, r),
        huge.filter(lambda n: -(2**63) <= n < 2**64),
        huge.filter(lambda n: -(2**63) <= n < 2**64),
    ),
    st.builds(lambda n: keyset(str(n), 1), huge),
)


def utc_year(text: str) -> int | None:
    value = datetime.fromisoformat(text)
    try:
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).year
    except OverflowError:
        return None


def refused_naming(r: httpx.Response, field: str) -> bool:
    return r.status_code == 422 and field in r.json()["error"]["fields"]


def check(r: httpx.Response, field: str, text: str) -> None:
    assert r.status_code != 500, (r.request.url, r.text)
    year = utc_year(text)
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        assert refused_naming(r, field), (r.request.url, text, r.text)
    else:
        assert r.status_code in (200, 201, 422), (r.request.url, r.text)
        assert r.status_code != 422 or r.json()["error"]["fields"], r.text


QUERY_PATHS = [
    ("/api/v1/feedback", {}),
    ("/api/v1/feedback.csv", {}),
    ("/api/v1/dashboard/summary", {}),
    ("/api/v1/dashboard/trend", {}),
    ("/api/v1/dashboard/breakdown", {"by": "team"}),
    ("/api/v1/recovery/metrics", {}),
]


def test_extreme_datetimes_in_queries_are_422(tenant: Tenant) -> None:
    @EXAMPLES
    @given(instants, st.sampled_from(["since", "until"]))
    def run(text: str, field: str) -> None:
        for path, params in QUERY_PATHS:
            check(tenant.api.get(path, params={**params, field: text}), field, text)

    run()


def test_extreme_datetimes_in_bodies_are_422(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, created_at=datetime(MIN_YEAR, 1, 1, tzinfo=UTC))

    @EXAMPLES
    @given(instants)
    def run(text: str) -> None:
        r = tenant.api.post("/api/v1/interactions", json=interaction_body(setup, occurred_at=text))
        check(r, "occurred_at", text)
        r = tenant.api.post("/api/v1/feedback", json=ingest(setup, responded_at=text))
        assert r.status_code != 500, r.text
        year = utc_year(text)
        if year is None or not MIN_YEAR <= year <= MAX_YEAR:
            assert refused_naming(r, "responded_at"), (text, r.text)

    run()


def ingest(setup: Setup, **fields: Any) -> dict[str, Any]:
    body = interaction_body(setup, rating=4, **fields)
    body.pop("customer")
    return body


def test_responded_at_before_the_account_existed_is_422(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id, created_at=utcnow() - timedelta(days=1))
    for when in (utcnow() - timedelta(days=2), datetime(MIN_YEAR, 1, 1, tzinfo=UTC), datetime(1, 1, 1)):
        r = tenant.api.post("/api/v1/feedback", json=ingest(setup, responded_at=when.isoformat()))
        assert refused_naming(r, "responded_at"), r.text
    r = tenant.api.post(
        "/api/v1/feedback", json=ingest(setup, responded_at=(utcnow() - timedelta(hours=1)).isoformat())
    )
    assert r.status_code == 201, r.text


def test_garbage_and_extreme_cursors_are_422_on_every_list(tenant: Tenant, db: Database) -> None:
    setup = make_setup(db, tenant.org_id)
    paths = [
        "/api/v1/feedback",
        "/api/v1/recovery/cases",
        "/api/v1/accounts",
        "/api/v1/teams",
        "/api/v1/agents",
        "/api/v1/users",
        "/api/v1/api-keys",
        "/api/v1/audit-log",
        f"/api/v1/accounts/{setup.account_id}/suppressions",
    ]
    with logged_in(tenant.server.url, db, tenant.org_id, Role.admin) as admin:

        @EXAMPLES
        @given(cursors)
        def run(cursor: str) -> None:
            for path in paths:
                r = tenant.api.get(path, params={"cursor": cursor})
                assert r.status_code in (200, 422), (path, cursor, r.text)
                assert r.status_code == 200 or "cursor" in r.json()["error"]["fields"], r.text
            # Coaching notes are read by people, not keys.
            r = admin.api(
                "GET", "/api/v1/coaching-notes", params={"agent_id": setup.agent_id, "cursor": cursor}
            )
            assert r.status_code in (200, 422), (cursor, r.text)
            assert r.status_code == 200 or "cursor" in r.json()["error"]["fields"], r.text

        run()
