"""The recovery queue's API against the real server, on SQLite and PostgreSQL: cases opened by
real ingest, the checked workflow, follow-ups answered by the customer, metrics, authorisation
and the claim race."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import httpx
import pytest
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import CaseStatus, RecoveryCase, Role
from streamsrv.recovery.metrics import CaseFacts, percentile, summarise
from streamsrv.recovery.workflow import Action, Actor, CaseState, WorkflowError, next_status
from streamsrv.security.csrf import COOKIE as CSRF_COOKIE
from tests.conftest import Tenant
from tests.login_support import Browser
from tests.streaming import Floor, make_floor, make_key, make_user
from tests.support import TIMEOUT
from tests.survey_support import outbox

PASSWORD = "correct horse battery"


class Staff:
    """A logged-in person calling the JSON API as the page does (cookie + CSRF header)."""

    def __init__(self, tenant: Tenant, email: str) -> None:
        self.browser = Browser(tenant.server.url)
        response = self.browser.login(email, PASSWORD)
        assert response.status_code == 303, response.text

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.browser.cookies[CSRF_COOKIE]}
        if body is None:
            return self.browser.post(path, headers=headers)
        return self.browser.post(path, headers=headers, json=body)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.browser.get(path, params=params)

    def close(self) -> None:
        self.browser.close()


def staff(tenant: Tenant, db: Database, role: Role, **scope: object) -> Staff:
    user = make_user(db, tenant.org_id, role, PASSWORD, **scope)
    return Staff(tenant, user.email)


def ingest(
    tenant: Tenant, db: Database, account_id: int, agent_id: int, rating: int, **extra: Any
) -> dict[str, Any]:
    key = make_key(db, tenant.org_id, ["ingest"])
    body = {
        "account_id": account_id,
        "agent_id": agent_id,
        "channel": "phone",
        "external_id": f"T-{secrets.token_hex(5)}",
        "rating": rating,
        "customer": {"email": "dana@example.com", "name": "Dana Reyes", "phone": "+1 555 0100"},
        **extra,
    }
    with tenant.client(key) as api:
        r = api.post("/api/v1/feedback", json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json()["response"])


def open_case(tenant: Tenant, db: Database, floor: Floor, **extra: Any) -> dict[str, Any]:
    response = ingest(tenant, db, floor.account_id, floor.agent_ids[0], 1, **extra)
    r = tenant.api.get("/api/v1/recovery/cases", params={"account_id": floor.account_id})
    assert r.status_code == 200, r.text
    found = [c for c in r.json()["items"] if c["response"]["id"] == response["id"]]
    assert len(found) == 1
    return dict(found[0])


# --- The pure parts ----------------------------------------------------------------------------


def test_workflow_rules() -> None:
    staffer, other, boss = Actor(1, False), Actor(2, False), Actor(3, True)
    open_, claimed = CaseState(CaseStatus.open, None), CaseState(CaseStatus.claimed, 1)
    resolved = CaseState(CaseStatus.resolved, 1)
    assert next_status(Action.claim, open_, staffer) == CaseStatus.claimed
    assert next_status(Action.release, claimed, staffer) == CaseStatus.open
    assert next_status(Action.release, claimed, boss) == CaseStatus.open
    assert next_status(Action.resolve, claimed, staffer) == CaseStatus.resolved
    assert next_status(Action.resolve, open_, boss) == CaseStatus.resolved
    assert next_status(Action.note, resolved, other) == CaseStatus.resolved
    assert next_status(Action.followup, resolved, other) == CaseStatus.resolved
    refusals = [
        (Action.claim, claimed, other, "already_claimed"),
        (Action.claim, claimed, staffer, "already_yours"),
        (Action.claim, resolved, other, "case_resolved"),
        (Action.release, claimed, other, "claimed_by_other"),
        (Action.release, open_, staffer, "not_claimed"),
        (Action.resolve, open_, staffer, "claim_required"),
        (Action.resolve, claimed, other, "claimed_by_other"),
        (Action.resolve, resolved, boss, "case_resolved"),
        (Action.contact, open_, staffer, "claim_required"),
        (Action.followup, open_, staffer, "claim_required"),
    ]
    for action, state, actor, code in refusals:
        with pytest.raises(WorkflowError) as err:
            next_status(action, state, actor)
        assert err.value.code == code, (action, state, actor)


def test_metrics_definitions() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    due = t0 + timedelta(hours=4)
    facts = [
        CaseFacts("resolved", t0, t0 + timedelta(minutes=10), t0 + timedelta(hours=1), due, 1, 5, True),
        CaseFacts("resolved", t0, t0 + timedelta(minutes=30), t0 + timedelta(hours=5), due, 2, 3, True),
        CaseFacts("open", t0, None, None, due, 1, None, False),
    ]
    m = summarise(facts, now=t0 + timedelta(hours=6))
    assert m["opened"] == 3 and m["resolved"] == 2
    assert m["time_to_claim"] == {"count": 2, "median_seconds": 1200.0, "p90_seconds": 1800.0}
    assert (
        m["within_sla"] == 1
        and m["sla_breached"] == 2
        and m["within_sla_share"] == pytest.approx(1 / 3, abs=1e-3)
    )
    assert m["rating_uplift"] == 2.5 and m["followups_answered"] == 2
    assert percentile([], 0.9) is None


# --- Through the server ------------------------------------------------------------------------


def test_negative_ingest_opens_a_case_and_positive_does_not(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    hostile = "<script>alert(1)</script> never again"
    negative = ingest(
        tenant, db, floor.account_id, floor.agent_ids[0], 1, comment=hostile, improvement_areas=["speed"]
    )
    ingest(tenant, db, floor.account_id, floor.agent_ids[1], 5)
    ingest(tenant, db, floor.account_id, floor.agent_ids[1], 3)
    r = tenant.api.get("/api/v1/recovery/cases")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [c["response"]["id"] for c in items] == [negative["id"]]
    case = items[0]
    assert case["status"] == "open" and case["before_rating"] == 1 and case["after_rating"] is None
    assert case["customer"] == {
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "phone": "+1 555 0100",
        "erased": False,
    }
    assert case["response"]["comment"] == hostile and case["response"]["improvement_areas"] == ["speed"]
    assert case["agent"] == {"id": floor.agent_ids[0], "name": "Agent 0"}
    assert case["claimed_by"] is None and case["sla_minutes"] == 240
    events = outbox(db, tenant.org_id, "case.opened")
    assert len(events) == 1 and events[0].streams == [f"recovery:{floor.account_id}"]
    assert events[0].payload["customer"]["email"] == "dana@example.com"
    # Contact details never travel on the feedback streams.
    for event in outbox(db, tenant.org_id, "feedback.received"):
        assert "dana@example.com" not in str(event.payload)


def test_edit_to_negative_opens_one_case(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    key = make_key(db, tenant.org_id, ["ingest"])
    body = {
        "account_id": floor.account_id,
        "agent_id": floor.agent_ids[0],
        "channel": "chat",
        "external_id": "edit-1",
        "rating": 4,
    }
    with tenant.client(key) as api:
        assert api.post("/api/v1/feedback", json=body).status_code == 201
        assert tenant.api.get("/api/v1/recovery/cases").json()["items"] == []
        for rating in (2, 1):
            assert api.post("/api/v1/feedback", json=body | {"rating": rating}).status_code == 200
    items = tenant.api.get("/api/v1/recovery/cases").json()["items"]
    assert len(items) == 1 and items[0]["before_rating"] == 2 and items[0]["response"]["rating"] == 1


def test_work_a_case_and_follow_up_to_an_uplift(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    rita = staff(tenant, db, Role.recovery, account_ids=[floor.account_id])
    case = open_case(tenant, db, floor)
    path = f"/api/v1/recovery/cases/{case['id']}"
    try:
        r = rita.post(path + "/resolve", {"resolution": "Refunded"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "claim_required"
        r = rita.post(path + "/claim")
        assert r.status_code == 200, r.text
        assert r.json()["case"]["claimed_by"]["name"] == "recovery"
        r = rita.post(path + "/contact", {"outcome": "reached", "note": "Apologised, offered a refund"})
        assert r.status_code == 200 and r.json()["case"]["contact_outcome"] == "reached"
        r = rita.post(path + "/notes", {"text": "Refund approved by billing"})
        assert r.status_code == 201, r.text
        assert [n["text"] for n in r.json()["case"]["notes"]] == [
            "Contact attempt: Reached the customer \u2014 Apologised, offered a refund",
            "Refund approved by billing",
        ]
        r = rita.post(path + "/resolve", {"resolution": "Refunded the last bill"})
        assert r.status_code == 200 and r.json()["case"]["status"] == "resolved"
        assert rita.post(path + "/claim").json()["error"]["code"] == "case_resolved"
        r = rita.post(path + "/followup")
        assert r.status_code == 201, r.text
        token, url = r.json()["token"], r.json()["url"]
        assert url.endswith(f"/f/{token}") and r.json()["case"]["followup"]["url"] == url
        again = rita.post(path + "/followup")
        assert again.status_code == 200 and again.json()["token"] == token
        # The customer answers the follow-up.
        answer = httpx.post(
            f"{tenant.server.url}/api/v1/responses/{token}", json={"rating": 5}, timeout=TIMEOUT
        )
        assert answer.status_code == 201, answer.text
        detail = rita.get(path).json()["case"]
        assert detail["after_rating"] == 5 and detail["before_rating"] == 1
        assert detail["followup"]["answered"] is True
        metrics = rita.get("/api/v1/recovery/metrics", account_id=floor.account_id).json()
        assert metrics["rating_uplift"] == 4.0 and metrics["followups_answered"] == 1
        assert metrics["resolved"] == 1 and metrics["within_sla"] == 1 and metrics["within_sla_share"] == 1.0
        assert metrics["time_to_claim"]["count"] == 1
        # Answering a follow-up with a low rating does not open another case.
        assert (
            len(tenant.api.get("/api/v1/recovery/cases", params={"status": "resolved"}).json()["items"]) == 1
        )
        types = [e.type for e in outbox(db, tenant.org_id) if e.type.startswith("case.")]
        assert types[0] == "case.opened" and "case.claimed" in types and "case.resolved" in types
        assert types[-1] == "case.updated"
        last = outbox(db, tenant.org_id, "case.updated")[-1]
        assert last.payload["after_rating"] == 5 and last.payload["followup"]["url"] is None
    finally:
        rita.close()


def test_bad_input_is_refused_and_changes_nothing(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    rita = staff(tenant, db, Role.recovery, account_ids=[floor.account_id])
    case = open_case(tenant, db, floor)
    path = f"/api/v1/recovery/cases/{case['id']}"
    try:
        assert rita.post(path + "/claim").status_code == 200
        r = rita.post(path + "/notes", {"text": "   "})
        assert r.status_code == 422 and "text" in r.json()["error"]["fields"]
        r = rita.post(path + "/contact", {"outcome": "teleported"})
        assert r.status_code == 422 and "outcome" in r.json()["error"]["fields"]
        r = rita.post(path + "/resolve", {"resolution": "a\x00b"})
        assert r.status_code == 422
        headers = {"X-CSRF-Token": rita.browser.cookies[CSRF_COOKIE], "Content-Type": "application/json"}
        r = rita.browser.post(path + "/notes", headers=headers, content=b"{nope")
        assert r.status_code == 400
        # Without the CSRF header a cookie alone may not change anything.
        assert rita.browser.post(path + "/release").status_code == 403
        assert rita.post("/api/v1/recovery/cases/999999999/claim").status_code == 404
        assert rita.get("/api/v1/recovery/cases", status="nope").status_code == 422
        assert rita.get("/api/v1/recovery/cases", cursor="zzz").status_code == 422
        detail = rita.get(path).json()["case"]
        assert detail["notes"] == [] and detail["status"] == "claimed" and detail["resolution"] is None
    finally:
        rita.close()


def test_authorisation(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    case = open_case(tenant, db, floor)
    path = f"/api/v1/recovery/cases/{case['id']}"
    outsider = staff(tenant, db, Role.recovery, account_ids=[floor.other_account_id])
    leader = staff(tenant, db, Role.team_leader, team_ids=[floor.team_id])
    manager = staff(tenant, db, Role.manager, account_ids=[floor.account_id])
    try:
        assert outsider.get(path).status_code == 404
        assert outsider.post(path + "/claim").status_code == 404
        assert outsider.get("/api/v1/recovery/cases").json()["items"] == []
        assert outsider.get("/api/v1/recovery/cases", account_id=floor.account_id).status_code == 404
        assert leader.get(path).status_code == 403
        assert leader.post(path + "/claim").status_code == 403
        assert leader.get("/api/v1/recovery/metrics").status_code == 403
        # An API key reads the queue but cannot act in someone's name.
        r = tenant.api.post(path + "/claim")
        assert r.status_code == 403 and r.json()["error"]["code"] == "user_required"
        read_key = make_key(db, tenant.org_id, ["read"], [floor.account_id])
        with tenant.client(read_key) as service:
            assert service.get("/api/v1/recovery/cases").status_code == 403
        # Managers may resolve without claiming.
        r = manager.post(path + "/resolve", {"resolution": "Goodwill credit"})
        assert r.status_code == 200 and r.json()["case"]["resolved_by"]["name"] == "manager"
    finally:
        for person in (outsider, leader, manager):
            person.close()
    with db.session() as s:
        stored = s.exec(select(RecoveryCase).where(RecoveryCase.id == case["id"])).one()
        assert stored.status == CaseStatus.resolved and stored.claimed_by is None


def test_claim_race_has_exactly_one_winner(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    people = [staff(tenant, db, Role.recovery, account_ids=[floor.account_id]) for _ in range(2)]
    try:
        for _round in range(3):
            case = open_case(tenant, db, floor)
            barrier = threading.Barrier(len(people))
            results: list[httpx.Response] = []

            def claim(
                person: Staff,
                case_id: int = case["id"],
                gate: threading.Barrier = barrier,
                out: list[httpx.Response] = results,
            ) -> None:
                gate.wait(timeout=TIMEOUT)
                # list.append is atomic: no lock needed between the two threads.
                out.append(person.post(f"/api/v1/recovery/cases/{case_id}/claim"))

            threads = [threading.Thread(target=claim, args=(p,)) for p in people]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=TIMEOUT * 2)
            statuses = sorted(r.status_code for r in results)
            assert statuses == [200, 409], [r.text for r in results]
            winner = next(r for r in results if r.status_code == 200).json()["case"]["claimed_by"]
            loser = next(r for r in results if r.status_code == 409).json()["error"]
            assert loser["code"] == "already_claimed" and loser["fields"]["claimed_by"] == winner["name"]
            assert (
                len([e for e in outbox(db, tenant.org_id, "case.claimed") if e.payload["id"] == case["id"]])
                == 1
            )
    finally:
        for person in people:
            person.close()


def test_followup_answer_does_not_count_twice_for_the_agent(tenant: Tenant, db: Database) -> None:
    """The customer's second opinion belongs to the case: standings and alerts ignore it."""
    from streamsrv.boards.stats import agent_period_sums
    from streamsrv.models import FOLLOWUP_SOURCE, Alert, Response, utcnow
    from streamsrv.periods import zone

    floor = make_floor(db, tenant.org_id)
    agent_id = floor.agent_ids[0]
    rita = staff(tenant, db, Role.recovery, account_ids=[floor.account_id])
    try:
        case = open_case(tenant, db, floor)
        with db.session() as s:
            alerts_before = len(s.exec(select(Alert).where(Alert.agent_id == agent_id)).all())
        path = f"/api/v1/recovery/cases/{case['id']}"
        assert rita.post(path + "/claim").status_code == 200
        token = rita.post(path + "/followup").json()["token"]
        answer = httpx.post(
            f"{tenant.server.url}/api/v1/responses/{token}", json={"rating": 1}, timeout=TIMEOUT
        )
        assert answer.status_code == 201, answer.text
    finally:
        rita.close()
    with db.session() as s:
        rows = s.exec(select(Response).where(Response.agent_id == agent_id)).all()
        assert sorted(r.source for r in rows) == sorted(["api", FOLLOWUP_SOURCE])
        sums = agent_period_sums(s, agent_id, utcnow(), zone("UTC"))
        assert len(s.exec(select(Alert).where(Alert.agent_id == agent_id)).all()) == alerts_before
    assert all(period.count == 1 for period in sums.values())
    types = [e.type for e in outbox(db, tenant.org_id) if e.type in ("stats.updated", "leaderboard.updated")]
    assert types.count("stats.updated") == 1
