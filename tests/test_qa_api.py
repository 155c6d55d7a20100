"""QA scorecards through the real server and databases: templates, evaluations, replies, calibration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import col, func, select

from streamsrv.db import Database
from streamsrv.models import AuditLog, QaEvaluation, QaTemplate, Role
from tests.coaching_support import events_of, user_client
from tests.conftest import Tenant
from tests.streaming import Floor, make_floor, make_user, store_response

CARD: dict[str, Any] = {
    "name": "Chat quality",
    "sections": [
        {
            "name": "Opening",
            "weight": 1,
            "criteria": [
                {"name": "Greeting", "weight": 1, "kind": "yes_no"},
                {"name": "Verified identity", "weight": 1, "kind": "yes_no", "auto_fail": True},
            ],
        },
        {"name": "Resolution", "weight": 3, "criteria": [{"name": "Solved it", "kind": "scale_1_5"}]},
    ],
}


def interaction_of(db: Database, floor: Floor, agent: int = 0, other: bool = False) -> int:
    from streamsrv.models import Response

    at = datetime.now(UTC)
    if other:
        rid = store_response(
            db,
            at,
            org_id=floor.org_id,
            account_id=floor.other_account_id,
            team_id=floor.other_team_id,
            agent_id=floor.other_agent_id,
        )
    else:
        rid = store_response(
            db,
            at,
            org_id=floor.org_id,
            account_id=floor.account_id,
            team_id=floor.team_id,
            agent_id=floor.agent_ids[agent],
        )
    with db.session() as s:
        response = s.get(Response, rid)
        assert response is not None
        return response.interaction_id


def make_card(tenant: Tenant, floor: Floor) -> dict[str, Any]:
    r = tenant.api.post(f"/api/v1/accounts/{floor.account_id}/qa-templates", json=CARD)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def count(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_template_create_list_version(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    assert card["version"] == 1 and card["latest"] is True
    ids = [c["id"] for s in card["sections"] for c in s["criteria"]]
    assert ids == ["c1", "c2", "c3"]
    assert card["sections"][0]["criteria"][1]["auto_fail"] is True
    changed = {**CARD, "name": "Chat quality v2"}
    r = tenant.api.put(f"/api/v1/qa-templates/{card['id']}", json=changed)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["family_id"] == card["id"] and v2["id"] != card["id"]
    listed = tenant.api.get(f"/api/v1/accounts/{floor.account_id}/qa-templates").json()["items"]
    assert [(t["id"], t["latest"]) for t in listed] == [(v2["id"], True)]
    every = tenant.api.get(
        f"/api/v1/accounts/{floor.account_id}/qa-templates", params={"all_versions": "true"}
    ).json()["items"]
    assert [t["version"] for t in every] == [2, 1]
    old = tenant.api.get(f"/api/v1/qa-templates/{card['id']}").json()
    assert old["name"] == "Chat quality" and old["latest"] is False
    with db.session() as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.org_id == tenant.org_id)).all()
    assert {"qa.template_created", "qa.template_versioned"} <= set(actions)


def test_template_validation_is_a_clear_422_and_stores_nothing(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    url = f"/api/v1/accounts/{floor.account_id}/qa-templates"
    crit = {"name": "A", "kind": "yes_no"}
    bad = [
        {"name": "x", "sections": []},
        {"name": "x", "sections": [{"name": "S", "criteria": []}]},
        {"name": "x", "sections": [{"name": "S", "criteria": [{**crit, "weight": 0}]}]},
        {"name": "x", "sections": [{"name": "S", "weight": -1, "criteria": [crit]}]},
        {"name": "x", "sections": [{"name": "S", "criteria": [crit, {**crit, "name": "a"}]}]},
        {"name": "x", "sections": [{"name": "S", "criteria": [crit]}, {"name": "S", "criteria": [crit]}]},
        {"name": "x", "sections": [{"name": "S", "criteria": [{**crit, "kind": "stars"}]}]},
        {"name": " ", "sections": [{"name": "S", "criteria": [crit]}]},
    ]
    before = count(db, QaTemplate)
    for body in bad:
        r = tenant.api.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["message"]
    assert count(db, QaTemplate) == before


def test_leader_evaluates_in_scope_with_event_and_audit(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    ix = interaction_of(db, floor)
    with user_client(tenant, leader) as c:
        # Team leaders read their account's scorecards but do not write them.
        assert c.get(f"/api/v1/accounts/{floor.account_id}/qa-templates").status_code == 200
        assert c.post(f"/api/v1/accounts/{floor.account_id}/qa-templates", json=CARD).status_code == 403
        r = c.post(
            "/api/v1/qa-evaluations",
            json={
                "interaction_id": ix,
                "template_id": card["id"],
                "answers": {"c1": "no", "c2": "yes", "c3": 5},
                "comment": "<b>good</b>",
            },
        )
    assert r.status_code == 201, r.text
    ev = r.json()
    # Opening 1/2 weight 1, resolution 1 weight 3 -> (0.5 + 3) / 4
    assert ev["score"] == 87.5 and ev["auto_failed"] is False
    assert ev["agent_id"] == floor.agent_ids[0] and ev["agent_status"] == "pending"
    [event] = events_of(db, tenant.org_id, "qa.evaluated")
    assert event.streams == [f"agent:{floor.agent_ids[0]}", f"team:{floor.team_id}"]
    assert event.payload["score"] == 87.5 and event.payload["comment"] == "<b>good</b>"
    with user_client(tenant, leader) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={
                "interaction_id": ix,
                "template_id": card["id"],
                "answers": {"c1": "yes", "c2": "no", "c3": 5},
            },
        )
    assert r.json()["score"] == 0.0 and r.json()["auto_failed"] is True


def test_out_of_scope_or_bad_answers_store_nothing(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    manager_b = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.other_account_id])
    mine = interaction_of(db, floor)
    theirs = interaction_of(db, floor, other=True)
    answers = {"c1": "yes", "c2": "yes", "c3": 3}
    before = count(db, QaEvaluation)
    with user_client(tenant, leader) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": theirs, "template_id": card["id"], "answers": answers},
        )
        assert r.status_code == 404
        assert c.get(f"/api/v1/interactions/{theirs}/qa-calibration").status_code == 404
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": mine, "template_id": card["id"], "answers": {"c1": "yes"}},
        )
        assert r.status_code == 422 and "answers.c2" in r.json()["error"]["fields"]
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": mine, "template_id": card["id"], "answers": {**answers, "c3": 9}},
        )
        assert r.status_code == 422 and "answers.c3" in r.json()["error"]["fields"]
    with user_client(tenant, manager_b) as c:
        # The scorecard of account A is not manager B's: its id is refused as a field.
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": theirs, "template_id": card["id"], "answers": answers},
        )
        assert r.status_code == 422 and "template_id" in r.json()["error"]["fields"]
        assert c.get(f"/api/v1/qa-templates/{card['id']}").status_code == 404
    agent = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    with user_client(tenant, agent) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={"interaction_id": mine, "template_id": card["id"], "answers": answers},
        )
        assert r.status_code == 403
    assert count(db, QaEvaluation) == before
    assert events_of(db, tenant.org_id, "qa.evaluated") == []


def evaluate(c: httpx.Client, ix: int, template_id: int, answers: dict[str, Any]) -> dict[str, Any]:
    r = c.post(
        "/api/v1/qa-evaluations", json={"interaction_id": ix, "template_id": template_id, "answers": answers}
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_agent_sees_and_acknowledges_or_disputes_once(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as c:
        first = evaluate(c, interaction_of(db, floor), card["id"], {"c1": "yes", "c2": "yes", "c3": 4})
        second = evaluate(c, interaction_of(db, floor), card["id"], {"c1": "yes", "c2": "yes", "c3": 2})
        other = evaluate(
            c, interaction_of(db, floor, agent=1), card["id"], {"c1": "yes", "c2": "yes", "c3": 2}
        )
    agent = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    with user_client(tenant, agent) as c:
        mine = c.get("/api/v1/qa-evaluations").json()["items"]
        assert [e["id"] for e in mine] == [second["id"], first["id"]]
        assert mine[0]["reviewer"] == "team_leader"
        # Another agent's evaluation is not found, whatever the action.
        r = c.post(f"/api/v1/qa-evaluations/{other['id']}/reply", json={"action": "acknowledge"})
        assert r.status_code == 404
        r = c.post(f"/api/v1/qa-evaluations/{first['id']}/reply", json={"action": "dispute"})
        assert r.status_code == 422  # a dispute says why
        r = c.post(
            f"/api/v1/qa-evaluations/{first['id']}/reply", json={"action": "acknowledge", "comment": "Fair"}
        )
        assert r.status_code == 200 and r.json()["agent_status"] == "acknowledged"
        assert r.json()["agent_comment"] == "Fair" and r.json()["agent_responded_at"]
        r = c.post(f"/api/v1/qa-evaluations/{first['id']}/reply", json={"action": "dispute", "comment": "No"})
        assert r.status_code == 409
        r = c.post(
            f"/api/v1/qa-evaluations/{second['id']}/reply",
            json={"action": "dispute", "comment": "Customer hung up"},
        )
        assert r.json()["agent_status"] == "disputed"
    with user_client(tenant, leader) as c:
        # Leaders cannot answer for the agent; they see the answer.
        r = c.post(f"/api/v1/qa-evaluations/{other['id']}/reply", json={"action": "acknowledge"})
        assert r.status_code == 404
        seen = c.get("/api/v1/qa-evaluations", params={"agent_id": floor.agent_ids[0]}).json()["items"]
        assert [e["agent_status"] for e in seen] == ["disputed", "acknowledged"]
    outsider = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.other_team_id])
    with user_client(tenant, outsider) as c:
        assert c.get("/api/v1/qa-evaluations").json()["items"] == []
        r = c.get("/api/v1/qa-evaluations", params={"agent_id": floor.agent_ids[0]})
        assert r.json()["items"] == []
    with db.session() as s:
        actions = list(
            s.exec(
                select(AuditLog.action).where(AuditLog.org_id == tenant.org_id).order_by(col(AuditLog.id))
            ).all()
        )
    assert actions.count("qa.acknowledged") == 1 and actions.count("qa.disputed") == 1


def test_calibration_shows_each_score_and_spread(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    ix = interaction_of(db, floor)
    reviewers = [
        make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id]),
        make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id]),
        make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id]),
    ]
    given = [
        {"c1": "yes", "c2": "yes", "c3": 5},
        {"c1": "yes", "c2": "yes", "c3": 3},
        {"c1": "no", "c2": "yes", "c3": 1},
    ]
    for user, answers in zip(reviewers, given, strict=True):
        with user_client(tenant, user) as c:
            evaluate(c, ix, card["id"], answers)
    r = tenant.api.get(f"/api/v1/interactions/{ix}/qa-calibration")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["score"] for s in body["scores"]] == [100.0, 62.5, 12.5]
    assert body["count"] == 3 and body["spread"] == 87.5 and body["mean"] == 58.33
    assert body["std_dev"] == 35.84
