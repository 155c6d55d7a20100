"""Coaching alerts, acknowledgements, notes and shout-outs through the real server and databases."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor

from streamsrv.db import Database
from streamsrv.models import Role
from streamsrv.security.csrf import COOKIE as CSRF_COOKIE
from streamsrv.tenancy import create_org
from tests.coaching_support import Ingest, alerts_of, events_of, seed_alerts, user_client
from tests.conftest import Tenant
from tests.login_support import Browser
from tests.streaming import make_floor, make_key, make_user


def test_negative_rating_raises_alert_with_event(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ok = ingest.send(4)
        bad = ingest.send(1, comment="<b>rude</b> agent")
    assert all(a.response_id != ok["id"] for a in alerts_of(db, tenant.org_id))
    [alert] = alerts_of(db, tenant.org_id, "negative_rating")
    assert alert.response_id == bad["id"] and alert.team_id == floor.team_id
    [event] = [
        e for e in events_of(db, tenant.org_id, "alert.raised") if e.payload["rule"] == "negative_rating"
    ]
    assert event.streams == [f"coach:{floor.team_id}"]
    data = event.payload
    assert data["id"] == alert.id and data["severity"] == "high"
    assert data["agent"] == {"id": floor.agent_ids[0], "name": "Agent 0"}
    assert data["response"]["rating"] == 1 and data["response"]["comment"] == "<b>rude</b> agent"
    assert data["acknowledged_by"] is None and data["acknowledged_at"] is None


def test_edit_does_not_duplicate_alerts(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1, external_id="same")
        ingest.send(2, external_id="same", comment="edited")
    assert len(alerts_of(db, tenant.org_id, "negative_rating")) == 1


def test_low_streak_once_until_broken(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        for _ in range(3):
            ingest.send(3)
        assert len(alerts_of(db, tenant.org_id, "low_streak")) == 1
        ingest.send(3)
        ingest.send(2, agent=1)  # another agent's ratings do not extend this streak
        assert len(alerts_of(db, tenant.org_id, "low_streak")) == 1
        ingest.send(5)
        for _ in range(3):
            ingest.send(3)
    streaks = alerts_of(db, tenant.org_id, "low_streak")
    assert len(streaks) == 2
    assert {a.agent_id for a in streaks} == {floor.agent_ids[0]}


def test_recurring_area_once_per_window(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(3, improvement_areas=["speed"])
        ingest.send(3, improvement_areas=["speed", "courtesy"])
        assert alerts_of(db, tenant.org_id, "recurring_area") == []
        ingest.send(2, improvement_areas=["speed"])
        ingest.send(2, improvement_areas=["speed"])
    [alert] = alerts_of(db, tenant.org_id, "recurring_area")
    assert alert.details["area"] == "speed"
    assert "Speed of response" in alert.message


def test_great_moment(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(5)
        ingest.send(5, reward="coffee", comment="Lovely!")
    [alert] = alerts_of(db, tenant.org_id, "great_moment")
    assert alert.details["reward"] == "coffee"
    [event] = events_of(db, tenant.org_id, "alert.raised")
    assert event.payload["severity"] == "positive"


def test_alert_rules_are_per_account_and_admin_only(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    url = f"/api/v1/accounts/{floor.account_id}/alert-rules"
    r = tenant.api.get(url)
    assert r.status_code == 200
    assert r.json()["alert_rules"]["low_streak"] == {"enabled": True, "count": 3}
    bad = tenant.api.put(url, json={"low_streak": {"count": 0}})
    assert bad.status_code == 422 and "low_streak.count" in bad.json()["error"]["fields"]
    assert tenant.api.put(url, json={"bogus": {}}).status_code == 422
    assert tenant.api.put(url, content=b"{nope").status_code == 400
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as client:
        assert client.put(url, json={}).status_code == 403
        assert client.get(url).status_code == 200
    r = tenant.api.put(url, json={"negative_rating": {"enabled": False}, "low_streak": {"count": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["alert_rules"]["negative_rating"]["enabled"] is False
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1)
        ingest.send(1)
    assert alerts_of(db, tenant.org_id, "negative_rating") == []
    assert len(alerts_of(db, tenant.org_id, "low_streak")) == 1
    assert tenant.api.get(f"/api/v1/accounts/{2**31 - 1}/alert-rules").status_code == 404


def test_ack_is_idempotent_and_first_wins(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1)
        ingest.send(2, agent=1)
    first, second = alerts_of(db, tenant.org_id, "negative_rating")
    one = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    two = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id])
    with user_client(tenant, one) as a, user_client(tenant, two) as b:
        r = a.post(f"/api/v1/alerts/{first.id}/ack")
        assert r.status_code == 200, r.text
        assert r.json()["acknowledged_by"]["id"] == one.id
        again = b.post(f"/api/v1/alerts/{first.id}/ack")
        assert again.status_code == 200 and again.json()["acknowledged_by"]["id"] == one.id
        assert again.json()["acknowledged_at"] == r.json()["acknowledged_at"]
        # A race: both requests succeed, exactly one is recorded, one event goes out.
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c: c.post(f"/api/v1/alerts/{second.id}/ack"), [a, b]))
    assert [x.status_code for x in results] == [200, 200]
    winners = {x.json()["acknowledged_by"]["id"] for x in results}
    assert len(winners) == 1 and winners <= {one.id, two.id}
    acks = events_of(db, tenant.org_id, "alert.acknowledged")
    assert sorted(e.payload["id"] for e in acks) == sorted([first.id or 0, second.id or 0])
    assert all(e.streams == [f"coach:{floor.team_id}"] for e in acks)


def test_ack_authorisation(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1)
    [alert] = alerts_of(db, tenant.org_id, "negative_rating")
    url = f"/api/v1/alerts/{alert.id}/ack"
    other_leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.other_team_id])
    other_manager = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.other_account_id])
    agent = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    with user_client(tenant, other_leader) as c:
        assert c.post(url).status_code == 404
    with user_client(tenant, other_manager) as c:
        assert c.post(url).status_code == 404
    with user_client(tenant, agent) as c:
        assert c.post(url).status_code == 403
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as c:
        c.headers.pop("X-CSRF-Token")
        assert c.post(url).status_code == 403  # a cookie without the CSRF header
    assert tenant.api.post(url).status_code == 403  # an API key is not a person
    assert tenant.api.post(f"/api/v1/alerts/{2**31 - 1}/ack").status_code == 404
    assert alerts_of(db, tenant.org_id, "negative_rating")[0].acknowledged_by is None


def test_notes_and_shoutouts_events_and_scope(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        response = ingest.send(5, comment="great")
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    agent_id = floor.agent_ids[0]
    with user_client(tenant, leader) as c:
        r = c.post(
            "/api/v1/coaching-notes",
            json={
                "agent_id": agent_id,
                "response_id": response["id"],
                "text": " Well handled ",
                "shared": True,
            },
        )
        assert r.status_code == 201, r.text
        note = r.json()
        assert note["text"] == "Well handled" and note["shared"] is True and note["author_id"] == leader.id
        private = c.post("/api/v1/coaching-notes", json={"agent_id": agent_id, "text": "watch tone"})
        assert private.status_code == 201
        # Validation names the field and stores nothing.
        for body, field in [
            ({"agent_id": agent_id, "text": ""}, "text"),
            ({"agent_id": agent_id, "text": "x" * 2001}, "text"),
            ({"agent_id": agent_id, "text": "a\x00b"}, "text"),
            ({"agent_id": agent_id, "text": "ok", "shared": "yes"}, "shared"),
            ({"agent_id": floor.other_agent_id, "text": "ok"}, "agent_id"),
            ({"agent_id": agent_id, "response_id": 2**31 - 1, "text": "ok"}, "response_id"),
        ]:
            bad = c.post("/api/v1/coaching-notes", json=body)
            assert bad.status_code == 422, (body, bad.text)
            assert field in bad.json()["error"]["fields"]
        s = c.post(
            "/api/v1/shoutouts",
            json={"agent_id": agent_id, "response_id": response["id"], "message": "Legend!"},
        )
        assert s.status_code == 201, s.text
        assert (
            c.post("/api/v1/shoutouts", json={"agent_id": agent_id, "message": "x" * 501}).status_code == 422
        )
        assert (
            c.post("/api/v1/shoutouts", json={"agent_id": floor.other_agent_id, "message": "hi"}).status_code
            == 422
        )
        listed = c.get("/api/v1/coaching-notes", params={"agent_id": agent_id, "limit": 1})
        assert listed.status_code == 200
        assert [n["id"] for n in listed.json()["items"]] == [private.json()["id"]]
        more = c.get(
            "/api/v1/coaching-notes", params={"agent_id": agent_id, "cursor": listed.json()["next_cursor"]}
        )
        assert [n["id"] for n in more.json()["items"]] == [note["id"]]
        assert c.get("/api/v1/coaching-notes", params={"agent_id": floor.other_agent_id}).status_code == 404
    notes = events_of(db, tenant.org_id, "coaching.note")
    assert [e.streams for e in notes] == [
        [f"coach:{floor.team_id}", f"agent:{agent_id}"],
        [f"coach:{floor.team_id}"],
    ]
    [shout] = events_of(db, tenant.org_id, "shoutout.posted")
    assert shout.streams == [
        f"board:team:{floor.team_id}",
        f"board:account:{floor.account_id}",
        f"agent:{agent_id}",
        f"coach:{floor.team_id}",
    ]
    assert shout.payload["message"] == "Legend!" and shout.payload["agent"]["name"] == "Agent 0"
    assert shout.payload["author"] == shout.payload["author_name"] == leader.name
    assert shout.payload["agent_name"] == "Agent 0"
    # The agent sees only the shared note about them; a colleague sees nothing.
    agent = make_user(db, tenant.org_id, Role.agent, agent_id=agent_id)
    colleague = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[1])
    with user_client(tenant, agent) as c:
        mine = c.get("/api/v1/coaching-notes", params={"agent_id": agent_id})
        assert [n["id"] for n in mine.json()["items"]] == [note["id"]]
        assert c.post("/api/v1/shoutouts", json={"agent_id": agent_id, "message": "me!"}).status_code == 403
    with user_client(tenant, colleague) as c:
        assert c.get("/api/v1/coaching-notes", params={"agent_id": agent_id}).status_code == 404


def test_cross_org_is_invisible(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1)
    [alert] = alerts_of(db, tenant.org_id, "negative_rating")
    with db.session() as s:
        stranger = create_org(
            s,
            f"Stranger {secrets.token_hex(3)}",
            f"s-{secrets.token_hex(4)}@example.com",
            "correct horse battery",
        )
    outsider = make_user(db, stranger.org_id, Role.admin)
    with tenant.client(stranger.api_key) as api:
        assert api.get("/api/v1/coach", params={"team_id": floor.team_id}).status_code == 404
        assert api.get(f"/api/v1/accounts/{floor.account_id}/alert-rules").status_code == 404
        assert api.put(f"/api/v1/accounts/{floor.account_id}/alert-rules", json={}).status_code == 404
        assert api.get("/api/v1/coaching-notes", params={"agent_id": floor.agent_ids[0]}).status_code == 404
        body = api.get("/api/v1/coach").json()
        assert body["teams"] == [] and body["team"] is None
    with user_client(tenant, outsider) as c:
        assert c.post(f"/api/v1/alerts/{alert.id}/ack").status_code == 404
        note = {"agent_id": floor.agent_ids[0], "text": "hello"}
        assert c.post("/api/v1/coaching-notes", json=note).status_code == 422
        shout = {"agent_id": floor.agent_ids[0], "message": "hello"}
        assert c.post("/api/v1/shoutouts", json=shout).status_code == 422
    assert alerts_of(db, tenant.org_id, "negative_rating")[0].acknowledged_by is None


def test_snapshot_for_leader(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(5, reward="coffee")
        ingest.send(1, comment="slow")
        ingest.send(4, agent=1)
        # Another team's feedback stays out.
        ingest.client.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.other_account_id,
                "agent_id": floor.other_agent_id,
                "channel": "chat",
                "external_id": "o1",
                "rating": 1,
            },
        )
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as c:
        r = c.get("/api/v1/coach")
        assert r.status_code == 200, r.text
        snap = r.json()
        assert [t["id"] for t in snap["teams"]] == [floor.team_id]
        assert snap["team"]["id"] == floor.team_id
        a0 = next(a for a in snap["agents"] if a["id"] == floor.agent_ids[0])
        assert a0["today"] == {"count": 2, "average": 3.0, "negative": 1}
        assert len(a0["series"]) == 14 and a0["series"][-1]["average"] == 3.0
        assert a0["series"][0]["average"] is None
        assert {f["team_id"] for f in snap["feedback"]} == {floor.team_id}
        assert len(snap["feedback"]) == 3
        rules = sorted(a["rule"] for a in snap["alerts"]["open"])
        assert rules == ["great_moment", "negative_rating"]
        assert c.get("/api/v1/coach", params={"team_id": floor.other_team_id}).status_code == 404
        assert c.get("/api/v1/coach", params={"team_id": "abc"}).status_code == 422
    key = make_key(db, tenant.org_id, ["read"])
    with tenant.client(key) as api:
        assert api.get("/api/v1/coach").status_code == 403
    viewer = make_user(db, tenant.org_id, Role.client_viewer, account_ids=[floor.account_id])
    with user_client(tenant, viewer) as c:
        assert c.get("/api/v1/coach").status_code == 403


def test_snapshot_counts_every_open_alert_and_filters_by_kind_and_agent(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    seed_alerts(db, floor, "negative_rating", 60, agent=0)
    seed_alerts(db, floor, "great_moment", 3, agent=1)
    seed_alerts(db, floor, "low_streak", 2, agent=0)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as client:
        snap = client.get("/api/v1/coach", params={"team_id": floor.team_id})
        assert snap.status_code == 200, snap.text
        alerts = snap.json()["alerts"]
        assert alerts["open_count"] == 65 and len(alerts["open"]) == 50 and alerts["open_limit"] == 50
        more = client.get("/api/v1/coach", params={"team_id": floor.team_id, "open_limit": 100}).json()
        assert len(more["alerts"]["open"]) == 65
        moments = client.get(
            "/api/v1/coach", params={"team_id": floor.team_id, "kind": "great_moment"}
        ).json()
        assert moments["alerts"]["open_count"] == 3
        assert {a["rule"] for a in moments["alerts"]["open"]} == {"great_moment"}
        agent0 = client.get(
            "/api/v1/coach",
            params={"team_id": floor.team_id, "agent_id": floor.agent_ids[0], "kind": "low_streak"},
        ).json()
        assert agent0["alerts"]["open_count"] == 2
        assert {a["agent"]["id"] for a in agent0["alerts"]["open"]} == {floor.agent_ids[0]}
        bad = client.get("/api/v1/coach", params={"team_id": floor.team_id, "kind": "nonsense"})
        assert bad.status_code == 422 and "kind" in bad.text


def test_acknowledge_selected_without_scripts(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    first, second, third = seed_alerts(db, floor, "negative_rating", 3)
    [moment] = seed_alerts(db, floor, "great_moment", 1, agent=1)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with Browser(tenant.server.url) as tab:
        assert tab.login(leader.email, "correct horse battery").status_code == 303
        # The page itself lists the alerts, split and filtered, with the true count.
        page = tab.get(f"/coach?team_id={floor.team_id}&kind=negative_rating")
        assert page.status_code == 200
        assert 'id="kpi-open">3<' in page.text and "Showing 3 of 3 open alerts" in page.text
        assert f'value="{first}"' in page.text and f'value="{moment}"' not in page.text
        # Times read as the account's local clock, not as raw timestamps.
        assert re.search(r'<time class="when" datetime="[^"]+">\d\d:\d\d</time>', page.text)
        token = tab.cookies[CSRF_COOKIE]
        form: dict[str, str | list[str]] = {
            "csrf_token": token,
            "team_id": str(floor.team_id),
            "kind": "negative_rating",
        }
        # Without the CSRF token: refused, nothing written.
        refused = tab.post("/coach/acknowledge", data={**form, "csrf_token": "", "alert_id": str(first)})
        assert refused.status_code == 403
        # An alert of another team (here: one that does not exist) fails the whole request.
        with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
            other = api.post(
                "/api/v1/feedback",
                json={
                    "account_id": floor.other_account_id,
                    "agent_id": floor.other_agent_id,
                    "channel": "chat",
                    "external_id": "other-team",
                    "rating": 1,
                },
            )
            assert other.status_code == 201, other.text
        [foreign] = [a.id for a in alerts_of(db, tenant.org_id) if a.team_id == floor.other_team_id]
        mixed = tab.post("/coach/acknowledge", data={**form, "alert_id": [str(first), str(foreign)]})
        assert mixed.status_code == 404
        assert all(a.acknowledged_at is None for a in alerts_of(db, tenant.org_id))
        done = tab.post("/coach/acknowledge", data={**form, "alert_id": [str(first), str(third)]})
        assert done.status_code == 303
        assert (
            done.headers["location"] == f"/coach?team_id={floor.team_id}&kind=negative_rating&acknowledged=2"
        )
        # Again: already acknowledged, the first acknowledgement stays and no event repeats.
        again = tab.post("/coach/acknowledge", data={**form, "alert_id": str(first)})
        assert again.headers["location"].endswith("acknowledged=0")
    state = {a.id: a.acknowledged_by for a in alerts_of(db, tenant.org_id) if a.team_id == floor.team_id}
    assert state == {first: leader.id, second: None, third: leader.id, moment: None}
    events = events_of(db, tenant.org_id, "alert.acknowledged")
    assert sorted(e.payload["id"] for e in events) == sorted([first, third])
    assert all(e.streams == [f"coach:{floor.team_id}"] for e in events)
