"""The dashboard in a real browser: KPIs go live, drill-down, moderation, customer text stays text."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Response, Role
from tests.conftest import Tenant
from tests.dashboard_support import PASSWORD, Site, ingest_key, make_site, post_feedback
from tests.streaming import make_user
from tests.support import TIMEOUT

WAIT = TIMEOUT * 1000
HOSTILE = "<script>window.__pwned = 1</script><b>bold</b> & <img src=x onerror=window.__pwned=2>"


def open_dashboard(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/dashboard")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT)
    expect(page.locator(".dash")).to_have_attribute("data-loaded", "1", timeout=WAIT)


def kpi(page: Page, name: str) -> str:
    return page.locator(f'[data-kpi="{name}"] .kpi-value').inner_text()


def seed(tenant: Tenant, db: Database) -> tuple[Site, str]:
    site = make_site(db, tenant.org_id)
    key = ingest_key(db, tenant.org_id)
    with tenant.client(key) as api:
        post_feedback(api, site.account_id, site.agent_ids[0], rating=5, comment="Maya was great", reward="coffee")
        post_feedback(api, site.account_id, site.agent_ids[2], rating=3, comment="Lena was fine", channel="phone")
        post_feedback(api, site.other_account_id, site.other_agent_id, rating=1, comment="other account")
    return site, key


def test_kpis_go_live_and_comments_stay_text(tenant: Tenant, db: Database, page: Page) -> None:
    site, key = seed(tenant, db)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[site.account_id])
    open_dashboard(page, tenant.server.url, manager.email)
    assert kpi(page, "responses") == "2"
    assert kpi(page, "average") == "4.00"
    expect(page.locator("#response-list .feed-card")).to_have_count(2)
    assert "other account" not in page.locator("#response-list").inner_text()

    with tenant.client(key) as api:
        post_feedback(api, site.account_id, site.agent_ids[1], rating=1, comment=HOSTILE)
    card = page.locator("#response-list .feed-card").first
    expect(card.locator(".comment")).to_have_text(HOSTILE, timeout=WAIT)
    expect(page.locator('[data-kpi="responses"] .kpi-value')).to_have_text("3", timeout=WAIT)
    expect(page.locator('[data-kpi="average"] .kpi-value')).to_have_text("3.00", timeout=WAIT)
    # The new agent shows up in the breakdown table too.
    expect(page.locator("#table-agent tbody tr")).to_have_count(3, timeout=WAIT)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#response-list b, #response-list img").count() == 0


def test_drill_down_and_moderation(tenant: Tenant, db: Database, page: Page) -> None:
    site, _ = seed(tenant, db)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[site.account_id])
    open_dashboard(page, tenant.server.url, manager.email)

    page.locator("#table-agent tbody tr", has_text="Lena Vogel").click()
    expect(page.locator("#drill .drill-label")).to_have_text("Agent: Lena Vogel")
    expect(page.locator("#response-list .feed-card")).to_have_count(1)
    expect(page.locator("#response-list .feed-card .agent")).to_have_text("Lena Vogel")
    assert f"agent_id={site.agent_ids[2]}" in (page.locator("#export").get_attribute("href") or "")
    page.click("#drill-clear")
    expect(page.locator("#response-list .feed-card")).to_have_count(2)

    # Clicking the 5-star bar lists only 5-star responses.
    page.locator("#chart-distribution .col.r5").click()
    expect(page.locator("#response-list .feed-card")).to_have_count(1)
    expect(page.locator("#response-list .feed-card .comment")).to_have_text("Maya was great")

    card = page.locator("#response-list .feed-card").first
    card.locator(".moderate").click()
    page.fill("#moderate-reason", "names a colleague")
    page.click("#moderate-confirm")
    expect(card.locator(".hidden-badge")).to_be_visible(timeout=WAIT)
    expect(card.locator(".moderate")).to_have_text("Show comment")
    with db.session() as s:
        rid = int(card.get_attribute("data-response-id") or 0)
        row = s.get(Response, rid)
        assert row is not None and row.comment_hidden
    # Hiding a comment never changes the numbers.
    assert kpi(page, "responses") == "2"


def test_client_viewer_sees_one_account_and_cannot_moderate(tenant: Tenant, db: Database, page: Page) -> None:
    site, _ = seed(tenant, db)
    with tenant.client() as anon:
        assert anon.get("/dashboard", follow_redirects=False).headers["location"].startswith("/login")
    with db.session() as s:
        row = s.exec(select(Response).where(Response.account_id == site.account_id, Response.rating == 5)).one()
        row.comment_hidden = True
        s.add(row)
    viewer = make_user(db, tenant.org_id, Role.client_viewer, PASSWORD, account_ids=[site.account_id])
    open_dashboard(page, tenant.server.url, viewer.email)
    assert page.locator("select#f-account").count() == 0
    expect(page.locator(".fixed-choice")).to_contain_text("Aurora")
    expect(page.locator("#response-list .feed-card")).to_have_count(2)
    assert page.locator("#response-list .moderate:visible").count() == 0
    text = page.locator("#response-list").inner_text()
    assert "Maya was great" not in text and "other account" not in text
    expect(page.locator("#response-list .hidden-badge:visible")).to_have_count(1)


def test_agents_are_refused(tenant: Tenant, db: Database, page: Page) -> None:
    site = make_site(db, tenant.org_id)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=site.agent_ids[0])
    page.goto(f"{tenant.server.url}/login?next=/dashboard")
    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    response = page.goto(f"{tenant.server.url}/dashboard")
    assert response is not None and response.status == 403
