"""Comment moderation: who may hide a comment, what it changes (and what it must not), the audit."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import AuditLog, OutboxEvent, Response, Role
from tests.conftest import Tenant
from tests.dashboard_support import Site, ingest_key, logged_in, make_site, post_feedback
from tests.streaming import make_key

SECRET = "the agent was <b>rude</b> and here is my phone number 555-0100"


def setup(tenant: Tenant, db: Database) -> tuple[Site, dict[str, Any]]:
    site = make_site(db, tenant.org_id)
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        post_feedback(api, site.account_id, site.agent_ids[0], rating=5, comment="lovely")
        response = post_feedback(api, site.account_id, site.agent_ids[0], rating=1, comment=SECRET)
    return site, response


def moderation_url(response_id: int) -> str:
    return f"/api/v1/responses/{response_id}/moderation"


def csv_comments(text: str) -> dict[str, tuple[str, str]]:
    return {row["id"]: (row["comment"], row["comment_hidden"]) for row in csv.DictReader(io.StringIO(text))}


def test_manager_hides_and_shows_a_comment(tenant: Tenant, db: Database) -> None:
    site, response = setup(tenant, db)
    rid = response["id"]
    before = tenant.api.get("/api/v1/dashboard/summary", params={"account_id": site.account_id}).json()
    base = tenant.server.url
    with logged_in(base, db, tenant.org_id, Role.manager, account_ids=[site.account_id]) as tab:
        r = tab.api("POST", moderation_url(rid), json={"hidden": True, "reason": "personal data"})
        assert r.status_code == 200, r.text
        assert r.json()["response"]["comment_hidden"] is True
        manager_id = tab.user_id  # type: ignore[attr-defined]
        # Managers keep the text in the export, flagged, for audit.
        assert csv_comments(tab.api("GET", "/api/v1/feedback.csv").text)[str(rid)] == (SECRET, "true")

    with db.session() as s:
        row = s.get(Response, rid)
        assert row is not None and row.comment_hidden and row.comment == SECRET
        audit = s.exec(select(AuditLog).where(AuditLog.org_id == tenant.org_id)).all()
        assert [(a.action, a.target, a.actor_user_id, a.details["reason"]) for a in audit] == [
            ("comment.hidden", f"response:{rid}", manager_id, "personal data")
        ]
        events = s.exec(
            select(OutboxEvent)
            .where(OutboxEvent.org_id == tenant.org_id, OutboxEvent.type == "feedback.updated")
            .order_by(col(OutboxEvent.id))
        ).all()
    assert len(events) == 1
    assert events[0].payload["id"] == rid and events[0].payload["comment"] is None
    assert events[0].payload["comment_hidden"] is True
    assert set(events[0].streams) == {
        f"agent:{site.agent_ids[0]}",
        f"team:{site.team_ids[0]}",
        f"account:{site.account_id}",
    }
    # The rating still counts everywhere.
    after = tenant.api.get("/api/v1/dashboard/summary", params={"account_id": site.account_id}).json()
    assert after["responses"] == before["responses"] == 2
    assert after["average_rating"] == before["average_rating"] == 3.0

    with logged_in(base, db, tenant.org_id, Role.client_viewer, account_ids=[site.account_id]) as viewer:
        assert csv_comments(viewer.api("GET", "/api/v1/feedback.csv").text)[str(rid)] == ("", "true")

    # Hiding again changes nothing and is not audited twice; showing is audited.
    r = tenant.api.post(moderation_url(rid), json={"hidden": True, "reason": "again"})
    assert r.status_code == 200
    r = tenant.api.post(moderation_url(rid), json={"hidden": False, "reason": "reviewed, harmless"})
    assert r.status_code == 200 and r.json()["response"]["comment"] == SECRET
    log = tenant.api.get("/api/v1/audit-log").json()
    assert [e["action"] for e in log["items"]] == ["comment.shown", "comment.hidden"]
    assert log["items"][0]["actor_api_key_id"] is not None
    page = tenant.api.get("/api/v1/audit-log", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = tenant.api.get("/api/v1/audit-log", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [e["action"] for e in rest["items"]] == ["comment.hidden"] and rest["next_cursor"] is None
    only = tenant.api.get("/api/v1/audit-log", params={"action": "comment.shown"}).json()["items"]
    assert len(only) == 1


def test_who_may_moderate(tenant: Tenant, db: Database) -> None:
    site, response = setup(tenant, db)
    url = moderation_url(response["id"])
    body = {"hidden": True, "reason": "spam"}
    base = tenant.server.url
    expected = [
        (Role.client_viewer, {"account_ids": [site.account_id]}, 403),
        (Role.team_leader, {"team_ids": [site.team_ids[0]]}, 403),
        (Role.recovery, {"account_ids": [site.account_id]}, 403),
        (Role.manager, {"account_ids": [site.other_account_id]}, 404),
        (Role.team_leader, {"team_ids": [site.other_team_id]}, 404),
    ]
    for role, scope, status in expected:
        with logged_in(base, db, tenant.org_id, role, **scope) as tab:
            r = tab.api("POST", url, json=body)
            assert r.status_code == status, (role, scope, r.text)
            if role == Role.client_viewer:
                assert tab.api("GET", "/api/v1/audit-log").status_code == 403
    with tenant.client(ingest_key(db, tenant.org_id)) as service:
        assert service.post(url, json=body).status_code == 403
    with db.session() as s:
        row = s.get(Response, response["id"])
        assert row is not None and not row.comment_hidden
        assert s.exec(select(AuditLog).where(AuditLog.org_id == tenant.org_id)).all() == []


def test_bad_moderation_requests(tenant: Tenant, db: Database) -> None:
    _, response = setup(tenant, db)
    url = moderation_url(response["id"])
    assert tenant.api.post(url, content=b"{not json").status_code == 400
    for body, field in (
        ({"hidden": True}, "reason"),
        ({"hidden": True, "reason": ""}, "reason"),
        ({"hidden": True, "reason": "bad\x00byte"}, "reason"),
        ({"hidden": "maybe", "reason": "x"}, "hidden"),
    ):
        r = tenant.api.post(url, json=body)
        assert r.status_code == 422 and field in r.json()["error"]["fields"], r.text
    assert tenant.api.post(url, content=b"x" * 2_000_000).status_code == 413
    for rid in (999_999_999, 2**31, 10**30):
        assert tenant.api.post(moderation_url(rid), json={"hidden": True, "reason": "x"}).status_code == 404
    assert tenant.api.get("/api/v1/audit-log", params={"cursor": "abc"}).status_code == 422
    assert tenant.api.get("/api/v1/audit-log", params={"action": "a\x00b"}).status_code == 422
    # A cookie without the CSRF header is refused before anything is read.
    with logged_in(tenant.server.url, db, tenant.org_id, Role.admin) as tab:
        r = tab.api("POST", url, json={"hidden": True, "reason": "x"}, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    with db.session() as s:
        row = s.get(Response, response["id"])
        assert row is not None and not row.comment_hidden


def test_hidden_comment_is_null_in_the_list_for_non_moderators(tenant: Tenant, db: Database) -> None:
    from tests.streaming import make_floor, make_key

    floor = make_floor(db, tenant.org_id)
    with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
        created = api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[0],
                "channel": "chat",
                "external_id": "hide-list",
                "rating": 1,
                "comment": "abusive words",
            },
        )
    response_id = created.json()["response"]["id"]
    r = tenant.api.post(
        f"/api/v1/responses/{response_id}/moderation", json={"hidden": True, "reason": "abuse"}
    )
    assert r.status_code == 200, r.text
    admin_view = tenant.api.get("/api/v1/feedback", params={"account_id": floor.account_id}).json()["items"][
        0
    ]
    assert admin_view["comment"] == "abusive words" and admin_view["comment_hidden"] is True
    with tenant.client(make_key(db, tenant.org_id, ["read"])) as reader:
        item = reader.get("/api/v1/feedback", params={"account_id": floor.account_id}).json()["items"][0]
    assert item["comment"] is None and item["comment_hidden"] is True and item["rating"] == 1


def test_account_limited_admins_read_only_their_part_of_the_audit_log(tenant: Tenant, db: Database) -> None:
    site = make_site(db, tenant.org_id)
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        mine = post_feedback(api, site.account_id, site.agent_ids[0], rating=1, comment="mine")
        theirs = post_feedback(api, site.other_account_id, site.other_agent_id, rating=1, comment="theirs")
    # The organization's admin acts on both accounts.
    for response in (mine, theirs):
        r = tenant.api.post(moderation_url(response["id"]), json={"hidden": True, "reason": "abuse"})
        assert r.status_code == 200, r.text
    boards = {}
    for name, scope, target in (
        ("ours", "team", site.team_ids[0]),
        ("other", "account", site.other_account_id),
    ):
        r = tenant.api.post("/api/v1/displays", json={"name": name, "scope": scope, "target_id": target})
        assert r.status_code == 201, r.text
        boards[name] = f"display:{r.json()['id']}"
    everything = {e["target"] for e in tenant.api.get("/api/v1/audit-log").json()["items"]}
    assert everything == {f"response:{mine['id']}", f"response:{theirs['id']}", *boards.values()}

    def targets(entries: list[dict[str, Any]]) -> set[str]:
        return {e["target"] for e in entries}

    with logged_in(
        tenant.server.url, db, tenant.org_id, Role.admin, account_ids=[site.account_id]
    ) as limited:
        r = limited.api("POST", moderation_url(mine["id"]), json={"hidden": False, "reason": "fine"})
        assert r.status_code == 200, r.text
        seen = limited.api("GET", "/api/v1/audit-log").json()["items"]
    assert targets(seen) == {f"response:{mine['id']}", boards["ours"]}
    assert len(seen) == 3  # the org admin's hide, their own show, the board of their team
    with tenant.client(make_key(db, tenant.org_id, ["admin"], [site.account_id])) as key:
        keyed = key.get("/api/v1/audit-log").json()["items"]
    assert targets(keyed) == {f"response:{mine['id']}", boards["ours"]}
    # The organization's administrators still read everything.
    assert targets(tenant.api.get("/api/v1/audit-log").json()["items"]) == everything
