"""/me in a real browser: an agent's own feedback arrives live, as text, and nobody else's."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import Role
from tests.conftest import Tenant
from tests.reaching_support import followup_link
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


CATALOGUE = [
    {"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4, "currency": "EUR"},
    {"code": "lunch", "label": "Lunch", "emoji": "\U0001f957", "value": 15},
]


def test_me_shows_rank_rewards_with_value_and_scores_without_followups(
    tenant: Tenant, db: Database, page: Page
) -> None:
    setup, path, _ = followup_link(
        tenant, db, ask_csat=True, ask_nps=True, leaderboard_min_responses=1, reward_catalogue=CATALOGUE
    )
    token = path.rsplit("/", 1)[1]
    answer = httpx.post(
        f"{tenant.server.url}/api/v1/responses/{token}",
        json={"rating": 5, "comment": "follow-up answer"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        for n, (agent, rating, extra) in enumerate(
            [
                (setup.agent_id, 5, {"reward": "coffee", "csat": 5, "nps": 10}),
                (setup.agent_id, 5, {"reward": "coffee", "csat": 4, "nps": 6}),
                (setup.agent_id, 5, {"reward": "lunch", "csat": 2}),
                (setup.other_agent_id, 4, {}),
            ]
        ):
            r = api.post(
                "/api/v1/feedback",
                json={
                    "account_id": setup.account_id,
                    "agent_id": agent,
                    "channel": "chat",
                    "external_id": f"me-month-{n}",
                    "rating": rating,
                    **extra,
                },
            )
            assert r.status_code == 201, r.text
    user = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=setup.agent_id)
    log_in(page, tenant.server.url, user.email, "/me")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    # The follow-up answer rates the recovery: not in the feed (1 star + three 5 stars are).
    expect(page.locator(".me-card")).to_have_count(4)
    assert "follow-up answer" not in page.locator("#feed").inner_text()
    # Ratings 1, 5, 5, 5 (average 4) against a colleague's 4: equal fair scores share rank 1.
    month = page.locator('.stat[data-period="month"]')
    expect(month.locator(".stat-rank")).to_have_text("Rank 1 of 2 in your team")
    rewards = page.locator("#month-rewards-list .month-reward")
    expect(rewards).to_have_count(2)
    expect(rewards.nth(0).locator(".reward-label")).to_have_text("\u2615 Coffee \u00d7 2")
    expect(rewards.nth(0).locator(".reward-value")).to_have_text("4 EUR each \u00b7 8 EUR")
    expect(rewards.nth(1).locator(".reward-label")).to_have_text("\U0001f957 Lunch \u00d7 1")
    expect(rewards.nth(1).locator(".reward-value")).to_have_text("15 each \u00b7 15")
    expect(page.locator("#scores")).to_be_visible()
    # CSAT 5, 4, 2: two of three satisfied; NPS 10 and 6: one promoter, one detractor.
    expect(page.locator("#score-csat .score-value")).to_have_text("66.7% (3 answers)")
    expect(page.locator("#score-nps .score-value")).to_have_text("0 (2 answers)")


def test_me_hides_scores_the_account_does_not_ask(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    log_in(page, tenant.server.url, agent.email, "/me")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    expect(page.locator('.stat[data-period="today"] .stat-rank')).to_have_text("Not ranked yet today")
    expect(page.locator("#month-rewards-empty")).to_be_visible()
    expect(page.locator("#scores")).to_be_hidden()
