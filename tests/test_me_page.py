"""/me in a real browser: an agent's own feedback arrives live, as text, and nobody else's."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import Role
from tests.conftest import Tenant
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"


def log_in(page: Page, base: str, email: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def test_me_updates_live_and_shows_only_own_feedback_as_text(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, tenant.server.url, agent.email, "/me")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    expect(page.locator("#me-title")).to_have_text("Agent 0")
    expect(page.locator("#feed-empty")).to_be_visible()
    hostile = "<script>window.__pwned = 1</script><img src=x onerror=alert(1)><b>bold</b>"
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        colleague = api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[1],
                "channel": "chat",
                "external_id": "me-colleague",
                "rating": 1,
                "comment": "colleague's feedback",
            },
        )
        assert colleague.status_code == 201
        mine = api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[0],
                "channel": "phone",
                "external_id": "me-own",
                "rating": 5,
                "comment": hostile,
                "reward": "coffee",
            },
        )
        assert mine.status_code == 201, mine.text
    card = page.locator(".me-card").first
    expect(card.locator(".comment")).to_have_text(hostile, timeout=TIMEOUT * 1000)
    expect(card.locator(".stars")).to_have_attribute("aria-label", "5 out of 5 stars")
    expect(card.locator(".reward")).to_contain_text("Coffee")
    expect(card).to_have_class("feed-card me-card positive arrived")
    today = page.locator('.stat[data-period="today"]')
    expect(today.locator(".count")).to_have_text("1", timeout=TIMEOUT * 1000)
    expect(today.locator(".value")).to_have_text("5.00")
    expect(today.locator(".rewards")).to_have_text("1")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#feed b, #feed img").count() == 0
    assert page.locator(".me-card").count() == 1
    assert "colleague's feedback" not in page.locator("main").inner_text()
    # A reload starts from the snapshot: the same card, still text.
    page.reload()
    expect(page.locator(".me-card .comment").first).to_have_text(hostile)


def test_me_refuses_other_roles(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    page.goto(f"{tenant.server.url}/login?next=/me")
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("This page is for agents")
