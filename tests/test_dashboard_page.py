"""The dashboard in a real browser: KPIs go live, drill-down, moderation, customer text stays text,
and "today" is the account's day whatever the browser's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Account, Response, Role
from streamsrv.periods import day_start
from tests.browser import new_context
from tests.conftest import Tenant
from tests.dashboard_support import PASSWORD, Site, ingest_key, make_site, post_feedback
from tests.streaming import make_user, store_response
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
        post_feedback(
            api, site.account_id, site.agent_ids[0], rating=5, comment="Maya was great", reward="coffee"
        )
        post_feedback(
            api, site.account_id, site.agent_ids[2], rating=3, comment="Lena was fine", channel="phone"
        )
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
        row = s.exec(
            select(Response).where(Response.account_id == site.account_id, Response.rating == 5)
        ).one()
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


def test_today_on_the_dashboard_is_the_boards_today_whatever_the_browser_zone(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    """A browser in Manila looking at an account in Paris counts the account's day, as the board does."""
    site = make_site(db, tenant.org_id)
    manila = ZoneInfo("Asia/Manila")
    # Paris, unless its day is about to turn while the test runs; Chicago is seven hours off.
    account_tz = next(
        tz
        for tz in (ZoneInfo("Europe/Paris"), ZoneInfo("America/Chicago"))
        if time(0, 5) <= datetime.now(tz).time() <= time(23, 55)
    )
    with db.session() as s:
        account = s.get(Account, site.account_id)
        assert account is not None
        account.time_zone = account_tz.key
        s.add(account)
    now = datetime.now(UTC)
    account_day, manila_day = (day_start(now.astimezone(tz).date(), tz) for tz in (account_tz, manila))
    # Between the two midnights lies what only one of the two zones calls today.
    first, second = sorted((account_day, manila_day))
    moments = [first - timedelta(hours=1), first + (second - first) / 2]
    if now - second > timedelta(minutes=2):
        moments.append(second + (now - second) / 2)
    for at in moments:
        store_response(
            db,
            at,
            org_id=site.org_id,
            account_id=site.account_id,
            team_id=site.team_ids[0],
            agent_id=site.agent_ids[0],
        )
    in_account = sum(at >= account_day for at in moments)
    assert in_account != sum(at >= manila_day for at in moments)
    board = tenant.api.get(f"/api/v1/boards/account/{site.account_id}", params={"period": "today"}).json()
    assert sum(a["count"] for a in board["standings"] + board["not_ranked"]) == in_account

    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[site.account_id])
    context = new_context(browser, timezone_id=manila.key)
    try:
        page = context.new_page()
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == manila.key
        open_dashboard(page, tenant.server.url, manager.email)
        page.click('[data-period="today"]')
        expect(page.locator(".dash")).to_have_attribute("data-loaded", "2", timeout=WAIT)
        expect(page.locator("#period-label")).to_contain_text("Today")
        expect(page.locator("#period-label")).to_contain_text(account_tz.key)
        assert kpi(page, "responses") == str(in_account)
        expect(page.locator("#response-list .feed-card")).to_have_count(in_account)
        # Custom dates start from the account's today too, not the browser's.
        page.click('[data-period="custom"]')
        expect(page.locator(".dash")).to_have_attribute("data-loaded", "3", timeout=WAIT)
        expect(page.locator("#f-to")).to_have_value(now.astimezone(account_tz).date().isoformat())
        assert kpi(page, "responses") == str(len(moments))

        page.goto(f"{tenant.server.url}/wallboard/account/{site.account_id}")
        waiting = page.locator("#waiting li", has_text="Maya Chen")
        expect(waiting.locator(".waiting-count")).to_have_text(f"{in_account}/5", timeout=WAIT)
    finally:
        context.close()
