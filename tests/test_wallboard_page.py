"""The wallboard in a real browser: a TV opens its display URL without logging in, shows the
standings, re-ranks as responses arrive, shows praise as text, and goes dark when revoked."""

from __future__ import annotations

import itertools
import re

import httpx
from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import Account, Role
from tests.coaching_support import user_client
from tests.conftest import Tenant
from tests.streaming import Floor, make_floor, make_key, make_user
from tests.support import TIMEOUT

_ids = itertools.count(1)


def rate(api: httpx.Client, floor: Floor, agent: int, rating: int, comment: str = "") -> None:
    r = api.post(
        "/api/v1/feedback",
        json={
            "account_id": floor.account_id,
            "agent_id": floor.agent_ids[agent],
            "channel": "chat",
            "external_id": f"wb-{next(_ids)}",
            "rating": rating,
            "comment": comment,
        },
    )
    assert r.status_code == 201, r.text


def test_display_shows_standings_rank_changes_and_praise_as_text(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id, agents=3)
    key = make_key(db, tenant.org_id, ["ingest"])
    created = tenant.api.post(
        "/api/v1/displays", json={"name": "Floor TV", "scope": "team", "target_id": floor.team_id}
    )
    assert created.status_code == 201, created.text
    display = created.json()
    with tenant.client(key) as api:
        for _ in range(5):
            rate(api, floor, 0, 5)
            rate(api, floor, 1, 4)
        rate(api, floor, 0, 2, "awful, never again")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(display["url"].replace(tenant.server.app.state.ctx.settings.public_url, tenant.server.url))
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".name")).to_have_text("Agent 0")
    expect(rows.nth(0).locator(".rank")).to_have_text("1")
    expect(rows.nth(1).locator(".name")).to_have_text("Agent 1")
    expect(page.locator("#waiting")).to_contain_text("Agent 2")
    expect(page.locator(".periods li.active")).to_have_text("Today")
    expect(page.locator("#revoked")).to_be_hidden()

    hostile = "<script>window.__pwned = 1</script><b>Best agent ever</b>"
    with tenant.client(key) as api:
        for _ in range(6):
            rate(api, floor, 1, 5)
        rate(api, floor, 1, 5, hostile)
        rate(api, floor, 2, 1, "terrible service from agent two")
        # The sentinel: Agent 0's 7th response, committed after the negative comment. The board's
        # events arrive in order on its one stream, so once it shows, so would that comment.
        rate(api, floor, 0, 5)
    expect(rows.filter(has_text="Agent 0").locator(".count")).to_have_text("7", timeout=TIMEOUT * 1000)
    expect(rows.nth(0).locator(".name")).to_have_text("Agent 1")
    expect(rows.nth(0).locator(".count")).to_have_text("12")
    expect(rows.nth(1).locator(".name")).to_have_text("Agent 0")
    expect(rows.nth(1).locator(".rank")).to_have_text("2")
    tick = page.locator("#ticker .tick").first
    expect(tick.locator(".tick-text")).to_have_text(f"\u201c{hostile}\u201d")
    expect(tick.locator("strong")).to_have_text("Agent")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#ticker b").count() == 0
    board_text = page.locator("main").inner_text()
    assert "terrible service" not in board_text and "awful" not in board_text

    assert tenant.api.delete(f"/api/v1/displays/{display['id']}").status_code == 204
    expect(page.locator("#revoked")).to_be_visible(timeout=TIMEOUT * 1000)
    expect(page.locator("#revoked h2")).to_have_text("This display has been revoked")


def test_admin_manages_displays_from_the_index(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    page.goto(f"{tenant.server.url}/login?next=/wallboard")
    page.fill("#email", tenant.org.admin_email)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{tenant.server.url}/wallboard")
    expect(page.locator(".board-links")).to_contain_text("Team A")
    page.fill("#display-name", "Lobby <TV>")
    page.select_option("#display-target", f"team:{floor.team_id}")
    page.click("#display-form button[type=submit]")
    row = page.locator(".display-row").first
    expect(row.locator(".d-name")).to_have_text("Lobby <TV>")
    expect(row.locator(".d-url")).to_have_value(re.compile(r"/wallboard/display/\d+\?token=d\."))
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator(".d-revoke").click()
    expect(page.locator(".display-row")).to_have_count(0)
    assert tenant.api.get("/api/v1/displays").json()["items"] == []


def test_a_long_board_fits_the_tv_screen(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id, agents=22)
    key = make_key(db, tenant.org_id, ["ingest"])
    created = tenant.api.post(
        "/api/v1/displays", json={"name": "Big TV", "scope": "team", "target_id": floor.team_id}
    )
    assert created.status_code == 201, created.text
    with tenant.client(key) as api:
        for agent in range(22):
            for _ in range(5):
                rate(api, floor, agent, 5 if agent % 2 else 4)
    page.set_viewport_size({"width": 1920, "height": 1080})
    url = created.json()["url"].replace(tenant.server.app.state.ctx.settings.public_url, tenant.server.url)
    page.goto(url + "&rotate=off")
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(22, timeout=TIMEOUT * 1000)
    last = rows.nth(21).bounding_box()
    ticker = page.locator(".ticker").bounding_box()
    assert last is not None and ticker is not None
    # Every agent is on screen, above the ticker: the TV cannot scroll.
    assert last["y"] + last["height"] <= ticker["y"] + 1
    # Both columns keep their headings: the right-hand ones start over the right-hand rows.
    headings = page.locator("#board-cols .board-cols")
    expect(headings).to_have_count(2)
    expect(headings.nth(0)).to_be_visible()
    expect(headings.nth(1)).to_be_visible()
    expect(headings.nth(1).get_by_text("Score")).to_be_visible()
    right = headings.nth(1).bounding_box()
    right_row = rows.nth(21).bounding_box()
    assert right is not None and right_row is not None
    assert abs(right["x"] - right_row["x"]) < 2 and right["y"] + right["height"] <= right_row["y"]


def test_a_display_shows_its_top_ranks_by_name_and_keeps_shoutouts_pinned(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id, agents=3)
    with db.session() as s:
        account = s.get(Account, floor.account_id)
        assert account is not None
        account.leaderboard_min_responses = 1
        s.add(account)
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
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        rate(api, floor, 0, 5)
        rate(api, floor, 1, 4)
        rate(api, floor, 2, 3)
    page.set_viewport_size({"width": 1920, "height": 1080})
    url = created.json()["url"].replace(tenant.server.app.state.ctx.settings.public_url, tenant.server.url)
    page.goto(url + "&rotate=off")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(3)
    expect(rows.locator(".name")).to_have_text(["Agent 0", "Agent 1", ""])
    expect(rows.nth(2).locator(".rank")).to_have_text("3")
    expect(rows.nth(2).locator(".score")).not_to_have_text("")
    expect(rows.nth(2).locator(".avatar")).to_be_hidden()
    # A live rating for the third agent carries their name: the screen still does not show it.
    with tenant.client(key) as api:
        rate(api, floor, 2, 3)
    expect(rows.nth(2).locator(".count")).to_have_text("2", timeout=TIMEOUT * 1000)
    assert "Agent 2" not in page.locator("main").inner_text()

    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    with user_client(tenant, leader) as coach:
        posted = coach.post(
            "/api/v1/shoutouts", json={"agent_id": floor.agent_ids[1], "message": "Thank you for Tuesday!"}
        )
        assert posted.status_code == 201, posted.text
    ticks = page.locator("#ticker .tick")
    expect(ticks.first.locator(".tick-text")).to_have_text("Thank you for Tuesday!", timeout=TIMEOUT * 1000)
    with tenant.client(key) as api:
        for n in range(14):
            rate(api, floor, 0, 5, f"praise {n}")
    expect(ticks.filter(has_text="praise 13")).to_have_count(1, timeout=TIMEOUT * 1000)
    # Fourteen newer comments did not push the shout-out out: it stays pinned at the front.
    expect(ticks).to_have_count(12)
    expect(ticks.first).to_have_class("tick tick-shoutout pinned")
    expect(ticks.first.locator(".tick-text")).to_have_text("Thank you for Tuesday!")
    expect(ticks.filter(has_text="praise 2")).to_have_count(0)
