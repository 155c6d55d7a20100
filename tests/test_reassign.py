"""A reassigned response takes its alerts, coaching notes, shout-outs and recovery case along."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Agent, Alert, CoachingNote, RecoveryCase, Role, Shoutout, Team, utcnow
from tests.coaching_support import user_client
from tests.conftest import Tenant
from tests.streaming import make_user
from tests.survey_support import interaction_body, make_setup, outbox

TZ = "America/New_York"


def open_alert_ids(tenant: Tenant, leader: Any, team_id: int) -> set[int]:
    with user_client(tenant, leader) as c:
        r = c.get("/api/v1/coach", params={"team_id": team_id})
        assert r.status_code == 200, r.text
        return {int(a["id"]) for a in r.json()["alerts"]["open"]}


def test_alerts_notes_shoutouts_and_the_case_follow_a_reassignment(tenant: Tenant, db: Database) -> None:
    now = utcnow()
    setup = make_setup(db, tenant.org_id, time_zone=TZ, created_at=now - timedelta(days=10))
    with db.session() as s:
        team = Team(org_id=tenant.org_id, account_id=setup.account_id, name="Tier 2")
        s.add(team)
        s.flush()
        assert team.id is not None
        agent = Agent(org_id=tenant.org_id, account_id=setup.account_id, team_id=team.id, name="Ana Ruiz")
        s.add(agent)
        s.flush()
        assert agent.id is not None
        new_team, new_agent = team.id, agent.id
    old_leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[setup.team_id])
    new_leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[new_team])

    body = interaction_body(setup, agent_id=setup.agent_id, channel="phone", external_id="T-angry")
    body.update({"rating": 1, "comment": "Nobody called back", "source": "zendesk"})
    r = tenant.api.post("/api/v1/feedback", json=body)
    assert r.status_code in (200, 201), r.text
    response_id = int(r.json()["response"]["id"])
    with db.session() as s:
        alert_ids = {a.id for a in s.exec(select(Alert).where(Alert.response_id == response_id)).all()}
    assert alert_ids and alert_ids <= open_alert_ids(tenant, old_leader, setup.team_id)
    with user_client(tenant, old_leader) as c:
        note = {"agent_id": setup.agent_id, "response_id": response_id, "text": "Call them back today"}
        assert c.post("/api/v1/coaching-notes", json=note).status_code == 201
        shout = {"agent_id": setup.agent_id, "response_id": response_id, "message": "Kept calm"}
        assert c.post("/api/v1/shoutouts", json=shout).status_code == 201

    before = len(outbox(db, tenant.org_id))
    r = tenant.api.post(
        f"/api/v1/responses/{response_id}/reassign", json={"agent_id": new_agent, "reason": "Transferred"}
    )
    assert r.status_code == 200, r.text

    # The new agent's team leader sees the alert; the old one does not any more.
    assert alert_ids <= open_alert_ids(tenant, new_leader, new_team)
    assert not alert_ids & open_alert_ids(tenant, old_leader, setup.team_id)
    with db.session() as s:
        for row in (
            *s.exec(select(Alert).where(Alert.response_id == response_id)).all(),
            *s.exec(select(Shoutout).where(Shoutout.response_id == response_id)).all(),
            *s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).all(),
        ):
            assert (row.agent_id, row.team_id) == (new_agent, new_team)
        notes = s.exec(select(CoachingNote).where(CoachingNote.response_id == response_id)).all()
        assert notes and all(n.agent_id == new_agent for n in notes)
        assert s.exec(select(RecoveryCase).where(RecoveryCase.response_id == response_id)).one()

    events = outbox(db, tenant.org_id)[before:]
    raised = [e for e in events if e.type == "alert.raised"]
    moved = [e for e in events if e.type == "alert.moved"]
    assert {e.payload["id"] for e in raised} == alert_ids
    assert all(e.streams == [f"coach:{new_team}"] for e in raised)
    assert all(e.payload["agent"]["id"] == new_agent for e in raised)
    assert {e.payload["id"] for e in moved} == alert_ids
    assert all(e.streams == [f"coach:{setup.team_id}"] for e in moved)
    (case_event,) = [e for e in events if e.type == "case.updated"]
    assert case_event.payload["agent"]["id"] == new_agent and case_event.payload["team_id"] == new_team
    # Nothing is announced twice and a refused reassignment moves nothing (covered in test_ledger).
    assert [e.type for e in events].count("feedback.reassigned") == 1
