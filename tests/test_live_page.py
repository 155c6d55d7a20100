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


def feedback(
    account_id: int, agent_id: int, external_id: str, rating: int, comment: str
) -> dict[str, object]:
    return {
        "account_id": account_id,
        "agent_id": agent_id,
        "channel": "chat",
        "external_id": external_id,
        "rating": rating,
        "comment": comment,
    }


def test_live_feed_shows_new_responses_as_text(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id])
    log_in(page, tenant.server.url, manager.email)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    key = make_key(db, tenant.org_id, ["ingest"])
    hostile = "<script>window.__pwned = 1</script><b>bold</b>"
    with tenant.client(key) as api:
        r = api.post(
            "/api/v1/feedback", json=feedback(floor.account_id, floor.agent_ids[0], "live-1", 2, hostile)
        )
        assert r.status_code == 201, r.text
        hostile_id = r.json()["response"]["id"]
        # Another account's response must not show up for this manager.
        other = api.post(
            "/api/v1/feedback",
            json=feedback(floor.other_account_id, floor.other_agent_id, "live-2", 5, "other account"),
        )
        assert other.status_code == 201, other.text
        # The sentinel, posted only once the other account's response is committed (its 201 is
        # back): its outbox row comes later, the relay publishes in outbox order, the node reads
        # every stream over one Redis pub/sub connection (which keeps publish order across
        # channels) and writes to the page's one socket in that order, and live.js renders each
        # frame as it comes. So once the sentinel is shown, the other account's response would
        # be shown too had the page been sent it.
        sentinel = api.post(
            "/api/v1/feedback",
            json=feedback(floor.account_id, floor.agent_ids[1], "live-3", 4, "sentinel"),
        )
        assert sentinel.status_code == 201, sentinel.text
    feed = page.locator("#feed")
    expect(feed.locator(".feed-card").first.locator(".comment")).to_have_text(
        "sentinel", timeout=TIMEOUT * 1000
    )
    card = feed.locator(f'.feed-card[data-response-id="{hostile_id}"]')
    expect(card.locator(".comment")).to_have_text(hostile)
    expect(card.locator(".stars")).to_have_attribute("aria-label", "2 out of 5 stars")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".feed-card b").count() == 0
    assert "other account" not in feed.inner_text()


def test_live_feed_requires_login(tenant: Tenant, page: Page) -> None:
    page.goto(f"{tenant.server.url}/live")
    assert "/login" in page.url
