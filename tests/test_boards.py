"""Boards, stats and displays through the real server: events, snapshots, /me isolation, revoking."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import inspect
from sqlmodel import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streamsrv import migrate
from streamsrv.auth import make_session_cookie
from streamsrv.db import Database
from streamsrv.models import Account, AuditLog, CoachingNote, Response, Role, Shoutout, User
from tests.conftest import Tenant, fresh_database
from tests.streaming import Floor, emit_events, make_floor, make_key, make_user
from tests.support import TIMEOUT
from tests.survey_support import outbox

_ids = itertools.count(1)


def feedback(
    api: httpx.Client, floor: Floor, agent: int, rating: int, comment: str = "", **extra: Any
) -> dict[str, Any]:
    body = {
        "account_id": floor.account_id,
        "agent_id": floor.agent_ids[agent] if agent >= 0 else floor.other_agent_id,
        "channel": "chat",
        "external_id": f"b-{next(_ids)}",
        "rating": rating,
        "comment": comment,
        **extra,
    }
    if agent < 0:
        body["account_id"] = floor.other_account_id
    r = api.post("/api/v1/feedback", json=body)
    assert r.status_code == 201, r.text
    return r.json()["response"]  # type: ignore[no-any-return]


def session_client(tenant: Tenant, user: User) -> httpx.Client:
    cookie = make_session_cookie(tenant.server.app.state.ctx, user)
    return httpx.Client(base_url=tenant.server.url, cookies={"streamsrv_session": cookie}, timeout=TIMEOUT)


@pytest.fixture
def floor(tenant: Tenant, db: Database) -> Floor:
    return make_floor(db, tenant.org_id, agents=3)


def test_every_response_emits_stats_and_leaderboard_events(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    agent = floor.agent_ids[0]
    feedback(tenant.api, floor, 0, 4, reward="coffee")
    feedback(tenant.api, floor, 0, 5, "Maya was wonderful <b>thanks</b>")
    stats = [e for e in outbox(db, tenant.org_id, "stats.updated")]
    assert [e.streams for e in stats] == [[f"agent:{agent}"]] * 2
    today = stats[-1].payload["periods"]["today"]
    assert today == {"count": 2, "rating_sum": 9, "rewards": 1, "average": 4.5}
    assert stats[-1].payload["periods"]["month"]["count"] == 2
    boards = outbox(db, tenant.org_id, "leaderboard.updated")
    assert boards[-1].streams == [f"board:team:{floor.team_id}", f"board:account:{floor.account_id}"]
    assert boards[-1].payload["periods"]["week"]["rating_sum"] == 9
    assert boards[-1].payload["highlight"]["comment"] == "Maya was wonderful <b>thanks</b>"
    assert boards[-1].payload["highlight"]["agent_name"] == "Agent"
    assert "highlight" not in boards[0].payload


def test_boards_never_carry_negative_comments(tenant: Tenant, db: Database, floor: Floor) -> None:
    secret = "rude and slow, never again"
    for rating in (1, 2, 3, 4):
        feedback(tenant.api, floor, 1, rating, f"{secret} {rating}")
    for event in outbox(db, tenant.org_id):
        if any(s.startswith("board:") for s in event.streams):
            assert secret not in str(event.payload)
    snap = tenant.api.get(f"/api/v1/boards/team/{floor.team_id}?period=today").json()
    assert secret not in str(snap)


def test_hidden_five_star_comment_is_not_a_highlight(tenant: Tenant, db: Database, floor: Floor) -> None:
    stored = feedback(tenant.api, floor, 0, 5, "great but private")
    with db.session() as s:
        row = s.get(Response, stored["id"])
        assert row is not None
        row.comment_hidden = True
        s.add(row)
    snap = tenant.api.get(f"/api/v1/boards/account/{floor.account_id}").json()
    assert snap["ticker"] == []


def test_board_snapshot_ranks_fairly(tenant: Tenant, db: Database, floor: Floor) -> None:
    for _ in range(5):
        feedback(tenant.api, floor, 0, 5, "Superb help")
    for _ in range(5):
        feedback(tenant.api, floor, 1, 4, reward="lunch")
    feedback(tenant.api, floor, 2, 5)
    feedback(tenant.api, floor, -1, 1, "other account")
    r = tenant.api.get(f"/api/v1/boards/team/{floor.team_id}", params={"period": "week"})
    assert r.status_code == 200, r.text
    snap = r.json()
    assert (
        snap["period"] == "week"
        and snap["min_responses"] == 5
        and snap["stream"] == f"board:team:{floor.team_id}"
    )
    assert [(s["agent_id"], s["rank"], s["count"]) for s in snap["standings"]] == [
        (floor.agent_ids[0], 1, 5),
        (floor.agent_ids[1], 2, 5),
    ]
    assert snap["standings"][1]["rewards"] == 5 and snap["standings"][1]["average"] == 4.0
    assert [(s["agent_id"], s["rank"]) for s in snap["not_ranked"]] == [(floor.agent_ids[2], None)]
    assert snap["ticker"][0]["comment"] == "Superb help"
    # m = 50/11; agent 0: (5m + 25) / 10
    assert snap["standings"][0]["score"] == pytest.approx((5 * 50 / 11 + 25) / 10, abs=1e-4)
    assert tenant.api.get(f"/api/v1/boards/team/{floor.team_id}?period=year").status_code == 422
    assert tenant.api.get("/api/v1/boards/team/2147483647").status_code == 404


def test_board_access_follows_scope(tenant: Tenant, db: Database, floor: Floor) -> None:
    outsider = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.other_account_id])
    agent_user = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    with session_client(tenant, outsider) as c:
        assert c.get(f"/api/v1/boards/team/{floor.team_id}").status_code == 403
        assert c.get(f"/api/v1/boards/account/{floor.other_account_id}").status_code == 200
    with session_client(tenant, agent_user) as c:
        assert c.get(f"/api/v1/boards/team/{floor.team_id}").status_code == 200
        assert c.get(f"/api/v1/boards/team/{floor.other_team_id}").status_code == 403
    key = make_key(db, tenant.org_id, ["read"], [floor.account_id])
    with tenant.client(key) as c:
        assert c.get(f"/api/v1/boards/account/{floor.account_id}").status_code == 200
        assert c.get(f"/api/v1/boards/account/{floor.other_account_id}").status_code == 403
    with tenant.client() as anonymous:
        assert anonymous.get(f"/api/v1/boards/team/{floor.team_id}").status_code == 401


def test_me_shows_only_the_agents_own_feedback(tenant: Tenant, db: Database, floor: Floor) -> None:
    mine = feedback(tenant.api, floor, 0, 5, "for agent zero", reward="coffee")
    feedback(tenant.api, floor, 1, 2, "for agent one")
    agent_user = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    assert leader.id is not None
    with db.session() as s:
        s.add(
            Shoutout(
                org_id=tenant.org_id,
                account_id=floor.account_id,
                team_id=floor.team_id,
                agent_id=floor.agent_ids[0],
                author_id=leader.id,
                message="Great week!",
            )
        )
        s.add(
            CoachingNote(
                org_id=tenant.org_id,
                agent_id=floor.agent_ids[0],
                author_id=leader.id,
                text="shared note",
                shared=True,
            )
        )
        s.add(
            CoachingNote(
                org_id=tenant.org_id, agent_id=floor.agent_ids[0], author_id=leader.id, text="private note"
            )
        )
        s.add(
            Shoutout(
                org_id=tenant.org_id,
                account_id=floor.account_id,
                team_id=floor.team_id,
                agent_id=floor.agent_ids[1],
                author_id=leader.id,
                message="for someone else",
            )
        )
    with session_client(tenant, agent_user) as c:
        r = c.get("/api/v1/me")
        assert r.status_code == 200, r.text
        body = r.json()
    assert [f["id"] for f in body["feedback"]] == [mine["id"]]
    assert body["feedback"][0]["reward_item"]["label"] == "Coffee"
    assert body["stats"]["today"] == {"count": 1, "rating_sum": 5, "rewards": 1, "average": 5.0}
    assert [s["message"] for s in body["shoutouts"]] == ["Great week!"]
    assert [n["text"] for n in body["notes"]] == ["shared note"]
    assert "for agent one" not in r.text and "private note" not in r.text
    with session_client(tenant, leader) as c:
        assert c.get("/api/v1/me").status_code == 403
    assert tenant.api.get("/api/v1/me").status_code == 403


def test_me_page_is_for_agents(tenant: Tenant, db: Database, floor: Floor) -> None:
    manager = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id])
    agent_user = make_user(db, tenant.org_id, Role.agent, agent_id=floor.agent_ids[0])
    with session_client(tenant, manager) as c:
        assert c.get("/me").status_code == 403
    with session_client(tenant, agent_user) as c:
        page = c.get("/me")
        assert page.status_code == 200 and f'data-stream="agent:{floor.agent_ids[0]}"' in page.text
    with tenant.client() as anonymous:
        r = anonymous.get("/me", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_displays_crud_is_for_managing_roles_and_validated(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    for role in (Role.client_viewer, Role.recovery):
        viewer = make_user(db, tenant.org_id, role, account_ids=[floor.account_id])
        with session_client(tenant, viewer) as c:
            assert c.get("/api/v1/displays").status_code == 403
    reader = make_key(db, tenant.org_id, ["read"])
    with tenant.client(reader) as c:
        assert (
            c.post(
                "/api/v1/displays", json={"name": "x", "scope": "team", "target_id": floor.team_id}
            ).status_code
            == 403
        )
    bad = tenant.api.post("/api/v1/displays", json={"name": " ", "scope": "floor", "target_id": 0})
    assert bad.status_code == 422 and {"name", "scope", "target_id"} <= set(bad.json()["error"]["fields"])
    missing = tenant.api.post(
        "/api/v1/displays", json={"name": "TV", "scope": "team", "target_id": 2147483647}
    )
    assert missing.status_code == 422 and "target_id" in missing.json()["error"]["fields"]
    assert tenant.api.get("/api/v1/displays").json()["items"] == []
    r = tenant.api.post(
        "/api/v1/displays", json={"name": "Floor 2", "scope": "team", "target_id": floor.team_id}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    settings = tenant.server.app.state.ctx.settings
    assert created["url"].startswith(f"{settings.public_url}/wallboard/display/{created['id']}?token=d.")
    listed = tenant.api.get("/api/v1/displays").json()["items"]
    assert [d["id"] for d in listed] == [created["id"]] and listed[0]["url"] == created["url"]
    token = created["url"].split("token=")[1]
    with tenant.client() as tv:
        assert tv.get(f"/api/v1/boards/team/{floor.team_id}", params={"token": token}).status_code == 200
        assert (
            tv.get(
                f"/api/v1/boards/team/{floor.team_id}", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
        # A display token opens its own board only.
        assert (
            tv.get(f"/api/v1/boards/account/{floor.account_id}", params={"token": token}).status_code == 403
        )
        assert tv.get(f"/api/v1/boards/team/{floor.team_id}", params={"token": "d.forged"}).status_code == 401
        page = tv.get(f"/wallboard/display/{created['id']}", params={"token": token})
        assert page.status_code == 200 and 'class="board-body tv"' in page.text
    assert tenant.api.delete("/api/v1/displays/2147483647").status_code == 404


def test_team_leaders_and_managers_manage_the_displays_of_their_own_boards(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    manager = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id])
    other = tenant.api.post(
        "/api/v1/displays", json={"name": "Other", "scope": "team", "target_id": floor.other_team_id}
    ).json()
    with session_client(tenant, leader) as c:
        c.get("/admin/displays")
        csrf = {"X-CSRF-Token": c.cookies["streamsrv_csrf"]}
        mine = c.post(
            "/api/v1/displays",
            json={"name": "Ours", "scope": "team", "target_id": floor.team_id},
            headers=csrf,
        )
        assert mine.status_code == 201, mine.text
        # Another team's board, or the account's board, is not the leader's to put on a screen.
        theirs = c.post(
            "/api/v1/displays",
            json={"name": "X", "scope": "team", "target_id": floor.other_team_id},
            headers=csrf,
        )
        assert theirs.status_code == 422 and "target_id" in theirs.json()["error"]["fields"]
        account = c.post(
            "/api/v1/displays",
            json={"name": "X", "scope": "account", "target_id": floor.account_id},
            headers=csrf,
        )
        assert account.status_code == 422 and "scope" in account.json()["error"]["fields"]
        assert [d["id"] for d in c.get("/api/v1/displays").json()["items"]] == [mine.json()["id"]]
        assert c.delete(f"/api/v1/displays/{other['id']}", headers=csrf).status_code == 404
        assert c.delete(f"/api/v1/displays/{mine.json()['id']}", headers=csrf).status_code == 204
    with session_client(tenant, manager) as c:
        c.get("/admin/displays")
        csrf = {"X-CSRF-Token": c.cookies["streamsrv_csrf"]}
        board = c.post(
            "/api/v1/displays",
            json={"name": "Lobby", "scope": "account", "target_id": floor.account_id},
            headers=csrf,
        )
        assert board.status_code == 201, board.text
        assert [d["id"] for d in c.get("/api/v1/displays").json()["items"]] == [board.json()["id"]]
        assert c.delete(f"/api/v1/displays/{other['id']}", headers=csrf).status_code == 404
    listed = {d["id"] for d in tenant.api.get("/api/v1/displays").json()["items"]}
    assert listed == {other["id"], board.json()["id"]}
    with db.session() as s:
        actions = s.exec(
            select(AuditLog.action, AuditLog.actor_user_id).where(AuditLog.org_id == tenant.org_id)
        ).all()
    assert ("display.created", leader.id) in actions and ("display.revoked", leader.id) in actions
    assert ("display.created", manager.id) in actions


async def test_revoking_a_display_closes_its_socket_at_once(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    r = await asyncio.to_thread(
        tenant.api.post,
        "/api/v1/displays",
        json={"name": "TV", "scope": "account", "target_id": floor.account_id},
    )
    display = r.json()
    token = display["url"].split("token=")[1]
    stream = f"board:account:{floor.account_id}"
    url = tenant.server.ws_url + "/ws?token=" + token
    async with connect(url) as ws:
        await ws.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
        assert '"subscribed"' in await asyncio.wait_for(ws.recv(), TIMEOUT)
        deleted = await asyncio.to_thread(tenant.api.delete, f"/api/v1/displays/{display['id']}")
        assert deleted.status_code == 204
        # "At once" without a stopwatch: the revocation is broadcast before the DELETE answers,
        # and a node hears it on the same Redis pub/sub connection as the board's events, so the
        # socket must be closed before an event committed after the DELETE could reach it.
        await asyncio.to_thread(emit_events, db, tenant.org_id, [stream], 1)
        with pytest.raises(ConnectionClosed) as info:
            frame = await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise AssertionError(f"delivered after the revocation: {frame!r}")
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    with tenant.client() as tv:
        snap = await asyncio.to_thread(
            tv.get, f"/api/v1/boards/account/{floor.account_id}", params={"token": token}
        )
        assert snap.status_code == 401
        page = await asyncio.to_thread(tv.get, f"/wallboard/display/{display['id']}", params={"token": token})
        assert page.status_code == 401 and "This display has been revoked" in page.text
    again = await asyncio.to_thread(tenant.api.delete, f"/api/v1/displays/{display['id']}")
    assert again.status_code == 404
    assert await asyncio.to_thread(lambda: tenant.api.get("/api/v1/displays").json()["items"]) == []


def test_board_pages_follow_scope(tenant: Tenant, db: Database, floor: Floor) -> None:
    manager = make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id])
    with session_client(tenant, manager) as c:
        page = c.get(f"/wallboard/team/{floor.team_id}")
        assert page.status_code == 200 and 'data-scope="team"' in page.text and 'data-token=""' in page.text
        assert c.get(f"/wallboard/account/{floor.other_account_id}").status_code == 403
        assert c.get("/wallboard/team/2147483647").status_code == 404
        index = c.get("/wallboard")
        assert index.status_code == 200 and f"/wallboard/team/{floor.team_id}" in index.text
        assert f"/wallboard/team/{floor.other_team_id}" not in index.text and "display-form" not in index.text
    with tenant.client() as anonymous:
        r = anonymous.get(f"/wallboard/team/{floor.team_id}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert anonymous.get("/wallboard/display/1?token=d.forged").status_code == 401


def test_display_options_keep_names_below_the_top_off_the_screen(
    tenant: Tenant, db: Database, floor: Floor
) -> None:
    with db.session() as s:
        account = s.get(Account, floor.account_id)
        assert account is not None
        account.leaderboard_min_responses = 1
        s.add(account)
    bad = tenant.api.post(
        "/api/v1/displays",
        json={"name": "TV", "scope": "team", "target_id": floor.team_id, "top_n": 0, "below_top": "blur"},
    )
    assert bad.status_code == 422 and {"top_n", "below_top"} <= set(bad.json()["error"]["fields"])
    created = tenant.api.post(
        "/api/v1/displays",
        json={
            "name": "Top two",
            "scope": "team",
            "target_id": floor.team_id,
            "top_n": 2,
            "below_top": "anonymous",
        },
    )
    assert created.status_code == 201, created.text
    display = created.json()
    assert (display["top_n"], display["below_top"], display["shoutout_pin_minutes"]) == (2, "anonymous", 10)
    with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
        feedback(api, floor, 0, 5)
        feedback(api, floor, 1, 4)
        feedback(api, floor, 2, 2)
    token = display["url"].split("token=")[1]
    with httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT) as tv:
        board = tv.get(f"/api/v1/boards/team/{floor.team_id}", params={"token": token})
        assert board.status_code == 200, board.text
        body = board.json()
        assert body["options"] == {"top_n": 2, "below_top": "anonymous", "shoutout_pin_minutes": 10}
        assert [(s["rank"], s["name"]) for s in body["standings"]] == [
            (1, "Agent 0"),
            (2, "Agent 1"),
            (3, ""),
        ]
        assert body["standings"][2]["score"] is not None and body["standings"][2]["photo"] is None
        assert "Agent 2" not in board.text
    # A member's own board page is not a display: everyone by name.
    member = tenant.api.get(f"/api/v1/boards/team/{floor.team_id}").json()
    assert [s["name"] for s in member["standings"]] == ["Agent 0", "Agent 1", "Agent 2"]
    # Changing the options keeps the display (the screen's token still works); bad values change nothing.
    path = f"/api/v1/displays/{display['id']}"
    refused = tenant.api.patch(path, json={"top_n": 1, "shoutout_pin_minutes": -1})
    assert refused.status_code == 422 and "shoutout_pin_minutes" in refused.json()["error"]["fields"]
    changed = tenant.api.patch(path, json={"top_n": 1, "below_top": "hidden", "shoutout_pin_minutes": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == display["id"] and changed.json()["top_n"] == 1
    with httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT) as tv:
        body = tv.get(f"/api/v1/boards/team/{floor.team_id}", params={"token": token}).json()
    assert [s["name"] for s in body["standings"]] == ["Agent 0", "", ""]
    assert body["options"]["shoutout_pin_minutes"] == 30
    with db.session() as s:
        actions = s.exec(
            select(AuditLog.action, AuditLog.details)
            .where(AuditLog.org_id == tenant.org_id, AuditLog.target == f"display:{display['id']}")
            # Without an order PostgreSQL may hand the rows back in any order.
            .order_by(AuditLog.id)
        ).all()
    assert [a for a, _ in actions] == ["display.created", "display.updated"]
    assert actions[1][1]["top_n"] == 1 and actions[1][1]["below_top"] == "hidden"
    assert tenant.api.patch("/api/v1/displays/2147483647", json={}).status_code == 404


def test_display_options_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    options = {"top_n", "below_top", "shoutout_pin_minutes"}
    with fresh_database(backend, tmp_path) as database:

        def columns() -> set[str]:
            return {c["name"] for c in inspect(database.engine).get_columns("displays")}

        assert options <= columns()
        migrate.downgrade(database.engine, "0013")
        assert not options & columns()
        migrate.upgrade(database.engine)
        assert options <= columns()
