"""Running totals in a real browser: the agent's own on /me (live), the team's on /coach."""

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


def test_running_totals_on_me_live_and_on_the_coach_page(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    r = tenant.api.patch(f"/api/v1/accounts/{floor.account_id}", json={"reward_cap_per_agent": "17.50"})
    assert r.status_code == 200, r.text
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    log_in(page, tenant.server.url, agent.email, "/me")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    expect(page.locator("#earnings-total")).to_have_text("$0.00")
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        for n, reward in enumerate(("coffee", "lunch")):
            sent = api.post(
                "/api/v1/feedback",
                json={
                    "account_id": floor.account_id,
                    "agent_id": floor.agent_ids[0],
                    "channel": "chat",
                    "external_id": f"earn-{n}",
                    "rating": 5,
                    "reward": reward,
                },
            )
            assert sent.status_code == 201, sent.text
            # Each reward arrives live on the open page (ledger.updated on the agent's stream).
            want = "$4.00" if reward == "coffee" else "$17.50"
            expect(page.locator("#earnings-total")).to_have_text(want, timeout=TIMEOUT * 1000)
    expect(page.locator("#earnings-detail")).to_have_text(
        "Rewards $19.00; $1.50 above the monthly cap of $17.50."
    )

    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    page.context.clear_cookies()
    log_in(page, tenant.server.url, leader.email, "/coach")
    row = page.locator(f'#team-earnings tr[data-agent-id="{floor.agent_ids[0]}"]')
    expect(row.locator("th")).to_have_text("Agent 0")
    expect(row.locator(".earnings-total")).to_have_text("$17.50")
    expect(row).to_contain_text("Coffee \u00d7 1")
    expect(row).to_contain_text("$1.50 above the cap")
    other = page.locator(f'#team-earnings tr[data-agent-id="{floor.agent_ids[1]}"]')
    expect(other.locator(".earnings-total")).to_have_text("$0.00")
    # The panel's totals follow the ledger live.
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    with tenant.client(key) as api:
        sent = api.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[1],
                "channel": "chat",
                "external_id": "earn-leader",
                "rating": 5,
                "reward": "gift_card",
            },
        )
        assert sent.status_code == 201, sent.text
    expect(other.locator(".earnings-total")).to_have_text("$17.50", timeout=TIMEOUT * 1000)
    expect(other).to_contain_text("Gift card \u00d7 1 ($7.50 above the cap)")
    text = page.locator("#team-earnings").inner_text()
    assert "coffee" not in text and "gift_card" not in text
