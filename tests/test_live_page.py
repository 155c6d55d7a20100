"""The live feed in a real browser: log in, watch responses arrive, customer text stays text."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import Role
from tests.conftest import Tenant
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/live")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/live")


def test_live_feed_shows_new_responses_as_text(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id])
    log_in(page, tenant.server.url, manager.email)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    key = make_key(db, tenant.org_id, ["ingest"])
    hostile = "<script>window.__pwned = 1</script><b>bold</b>"
    with tenant.client(key) as api:
        r = api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[0],
                "channel": "chat",
                "external_id": "live-1",
                "rating": 2,
                "comment": hostile,
            },
        )
        assert r.status_code == 201, r.text
        # Another account's response must not show up for this manager.
        api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.other_account_id,
                "agent_id": floor.other_agent_id,
                "channel": "chat",
                "external_id": "live-2",
                "rating": 5,
                "comment": "other account",
            },
        )
    card = page.locator(".feed-card").first
    expect(card.locator(".comment")).to_have_text(hostile, timeout=TIMEOUT * 1000)
    expect(card.locator(".stars")).to_have_attribute("aria-label", "2 out of 5 stars")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".feed-card b").count() == 0
    page.wait_for_timeout(300)
    assert "other account" not in page.locator("#feed").inner_text()


def test_live_feed_requires_login(tenant: Tenant, page: Page) -> None:
    page.goto(f"{tenant.server.url}/live")
    assert "/login" in page.url
