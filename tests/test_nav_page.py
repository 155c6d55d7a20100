"""The staff header and the one vocabulary, in a real browser against a live server.

Each role's header lists exactly the surfaces its role opens (and each link opens), the current
page is marked, the user menu works from the keyboard; the account switcher offers only the
accounts in scope and the server refuses a forged one; codes (``gift_card``, ``in_store``) never
reach a page, the CSV export or a stream event without their labels.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import Account, OutboxEvent, Role
from tests.browser import new_context
from tests.conftest import Tenant
from tests.dashboard_support import make_site
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"
CODES = ("gift_card", "high_five", "follow_up", "in_store", "Sms")
LABELS = ("Gift card", "High five", "Follow-up", "In store", "SMS")

# What each role's header lists (the pages' own guards decide; this is the expectation written
# out by hand, and each link is opened below).
EXPECTED: dict[Role, list[str]] = {
    Role.admin: [
        "Home",
        "Coaching",
        "QA reviews",
        "Live",
        "Recovery",
        "Dashboard",
        "Statements",
        "Wallboards",
        "Admin",
    ],
    Role.manager: [
        "Home",
        "Coaching",
        "QA reviews",
        "Live",
        "Recovery",
        "Dashboard",
        "Statements",
        "Wallboards",
        "Admin",
    ],
    Role.client_viewer: ["Home", "Live", "Dashboard", "Statements", "Wallboards"],
    Role.team_leader: ["Home", "Coaching", "QA reviews", "Live", "Wallboards", "Admin"],
    Role.recovery: ["Home", "Live", "Recovery", "Wallboards"],
    Role.agent: ["Home", "My feedback", "My QA reviews", "Live", "Wallboards"],
}


ROLE_NAMES: dict[Role, str] = {
    Role.admin: "Administrator",
    Role.manager: "Manager",
    Role.client_viewer: "Client viewer",
    Role.team_leader: "Team leader",
    Role.recovery: "Recovery",
    Role.agent: "Agent",
}


def log_in(page: Page, base: str, email: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def logged_in(browser: Browser, base: str, email: str, path: str) -> tuple[BrowserContext, Page]:
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, email, path)
    return context, page


def test_each_role_sees_exactly_its_surfaces(tenant: Tenant, db: Database, browser: Browser) -> None:
    floor = make_floor(db, tenant.org_id)
    scopes: dict[Role, dict[str, Any]] = {
        Role.admin: {},
        Role.manager: {"account_ids": [floor.account_id]},
        Role.client_viewer: {"account_ids": [floor.account_id]},
        Role.team_leader: {"team_ids": [floor.team_id]},
        Role.recovery: {"account_ids": [floor.account_id]},
        Role.agent: {"agent_id": floor.agent_ids[0]},
    }
    base = tenant.server.url
    for role, scope in scopes.items():
        user = make_user(db, tenant.org_id, role, PASSWORD, **scope)
        context, page = logged_in(browser, base, user.email, "/live")
        try:
            links = page.locator("nav.mainnav a")
            expect(links).to_have_text(EXPECTED[role])
            current = page.locator('nav.mainnav a[aria-current="page"]')
            expect(current).to_have_count(1)
            expect(current).to_have_text("Live")
            # Every surface offered opens for this user.
            for href in links.evaluate_all("els => els.map(e => e.getAttribute('href'))"):
                answer = page.request.get(f"{base}{href}", max_redirects=0)
                assert answer.status == 200, (role, href, answer.status)
            # The home page lists from the same table, and marks Home as the current page.
            page.goto(f"{base}/")
            expect(page.locator(".surface-link .surface-title")).to_have_text(EXPECTED[role][1:])
            expect(page.locator('nav.mainnav a[aria-current="page"]')).to_have_text("Home")
            expect(page.locator(".nav-user .nav-role")).to_have_text(ROLE_NAMES[role])
        finally:
            context.close()


def test_the_user_menu_works_from_the_keyboard_and_on_a_phone(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    floor = make_floor(db, tenant.org_id)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    context = new_context(browser, viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        log_in(page, tenant.server.url, agent.email, "/me")
        expect(page.locator('nav.mainnav a[aria-current="page"]')).to_have_text("My feedback")
        expect(page.locator("nav.mainnav a").first).to_be_visible()
        menu = page.locator(".nav-user")
        expect(menu.locator("a", has_text="Change password")).to_be_hidden()
        menu.locator("summary").focus()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("open", "")
        expect(menu.locator("a", has_text="Profile and settings")).to_have_attribute("href", "/settings")
        expect(menu.locator("a", has_text="Change password")).to_have_attribute("href", "/settings#password")
        logout = menu.locator("button", has_text="Log out")
        logout.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{tenant.server.url}/login")
    finally:
        context.close()


def test_the_account_switcher_offers_only_scoped_accounts(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    site = make_site(db, tenant.org_id)
    elsewhere = make_floor(db, tenant.org_id)
    with db.session() as s:
        names = {a.id: a.name for a in s.exec(select(Account).where(Account.org_id == tenant.org_id)).all()}
    manager = make_user(
        db, tenant.org_id, Role.manager, PASSWORD, account_ids=[site.account_id, site.other_account_id]
    )
    base = tenant.server.url
    context, page = logged_in(browser, base, manager.email, "/dashboard")
    try:
        expect(page.locator(".nav-account-name")).to_have_text("All accounts")
        page.locator(".nav-accounts summary").click()
        expect(page.locator("#nav-account option")).to_have_text(
            ["All accounts", names[site.account_id], names[site.other_account_id]]
        )
        html = page.content()
        assert names[elsewhere.account_id] not in html and names[elsewhere.other_account_id] not in html
        page.select_option("#nav-account", str(site.other_account_id))
        page.locator(".nav-accounts button[type=submit]").click()
        page.wait_for_url(f"{base}/dashboard")
        expect(page.locator(".nav-account-name")).to_have_text(names[site.other_account_id])
        expect(page.locator("#f-account")).to_have_value(str(site.other_account_id))
        page.goto(f"{base}/live")
        expect(page.locator("section.live")).to_have_attribute(
            "data-streams", f"account:{site.other_account_id}"
        )

        # A forged id (another account of the organization) is refused by the server.
        token = next(c["value"] for c in context.cookies() if c["name"] == "streamsrv_csrf")
        forged = page.request.post(
            f"{base}/nav/account",
            form={"csrf_token": token, "account_id": str(elsewhere.account_id), "next": "/dashboard"},
            max_redirects=0,
        )
        assert forged.status == 403
        assert names[elsewhere.account_id] not in forged.text()
        without_csrf = page.request.post(
            f"{base}/nav/account", form={"account_id": str(site.account_id)}, max_redirects=0
        )
        assert without_csrf.status == 403
        page.goto(f"{base}/dashboard")
        expect(page.locator(".nav-account-name")).to_have_text(names[site.other_account_id])
        # A forged cookie counts as no choice.
        context.add_cookies([{"name": "streamsrv_account", "value": str(elsewhere.account_id), "url": base}])
        page.goto(f"{base}/dashboard")
        expect(page.locator(".nav-account-name")).to_have_text("All accounts")
        expect(page.locator("#f-account")).to_have_value("")
    finally:
        context.close()

    # One account, or a team-level scope: no switcher at all.
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[site.team_ids[0]])
    single = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[site.account_id])
    for user in (leader, single):
        context, page = logged_in(browser, base, user.email, "/live")
        try:
            expect(page.locator(".nav-user")).to_be_visible()
            expect(page.locator(".nav-accounts")).to_have_count(0)
        finally:
            context.close()


def post(api: httpx.Client, account_id: int, agent_id: int, **fields: Any) -> dict[str, Any]:
    body = {
        "account_id": account_id,
        "agent_id": agent_id,
        "external_id": f"T-{secrets.token_hex(5)}",
        **fields,
    }
    answer = api.post("/api/v1/feedback", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["response"])


def assert_labels_not_codes(page: Page) -> None:
    text = page.locator("body").inner_text()
    for label in LABELS:
        assert label in text, (page.url, label)
    for code in CODES:
        assert code not in text, (page.url, code)


def test_pages_exports_and_events_show_labels_not_codes(
    tenant: Tenant, db: Database, browser: Browser
) -> None:
    floor = make_floor(db, tenant.org_id)
    agent_id = floor.agent_ids[0]
    base = tenant.server.url
    with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
        gift = post(
            api, floor.account_id, agent_id, channel="in_store", rating=5, reward="gift_card", comment="Great"
        )
        post(
            api,
            floor.account_id,
            agent_id,
            channel="sms",
            rating=2,
            improvement_areas=["follow_up"],
            comment="Slow",
        )
        post(api, floor.account_id, agent_id, channel="in_store", rating=5, reward="high_five")
    assert (gift["channel"], gift["channel_label"]) == ("in_store", "In store")
    assert (gift["reward"], gift["reward_label"]) == ("gift_card", "Gift card")

    users = {
        "/me": make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=agent_id),
        "/coach": make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id]),
        "/dashboard": make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id]),
    }
    for path, user in users.items():
        context, page = logged_in(browser, base, user.email, path)
        try:
            expect(page.locator("#feed .feed-card, #response-list .feed-card")).to_have_count(
                3, timeout=TIMEOUT * 1000
            )
            assert_labels_not_codes(page)
        finally:
            context.close()

    # /live: the snapshot, then a response arriving over the stream, both labelled.
    manager = users["/dashboard"]
    context, page = logged_in(browser, base, manager.email, "/live")
    try:
        expect(page.locator("#feed .feed-card")).to_have_count(3)
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
        with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
            live = post(
                api,
                floor.account_id,
                agent_id,
                channel="in_store",
                rating=4,
                reward="gift_card",
                comment="Live one",
            )
        fresh = page.locator(f'#feed .feed-card[data-response-id="{live["id"]}"]')
        expect(fresh.locator(".channel")).to_have_text("In store", timeout=TIMEOUT * 1000)
        expect(fresh.locator(".extras")).to_contain_text("Suggested reward: Gift card")
        assert_labels_not_codes(page)
    finally:
        context.close()

    # The stream event carries each code and its label.
    with db.session() as s:
        events = s.exec(
            select(OutboxEvent).where(OutboxEvent.org_id == tenant.org_id).order_by(col(OutboxEvent.id))
        ).all()
    received = next(
        e.payload for e in events if e.type == "feedback.received" and e.payload["id"] == live["id"]
    )
    assert received["channel"] == "in_store" and received["channel_label"] == "In store"
    assert received["reward"] == "gift_card" and received["reward_label"] == "Gift card"
    slow = next(e.payload for e in events if e.type == "feedback.received" and e.payload["channel"] == "sms")
    assert slow["channel_label"] == "SMS"
    assert slow["improvement_areas"] == ["follow_up"] and slow["improvement_area_labels"] == ["Follow-up"]
    suggested = next(
        e.payload for e in events if e.type == "reward.suggested" and e.payload["response_id"] == live["id"]
    )
    assert suggested["reward"] == {
        "code": "gift_card",
        "label": "Gift card",
        "emoji": suggested["reward"]["emoji"],
    }

    # The CSV: labels where people read, codes in their own columns.
    export = tenant.api.get("/api/v1/feedback.csv", params={"account_id": floor.account_id})
    assert export.status_code == 200, export.text
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(export.text))}
    first = rows[str(gift["id"])]
    assert (first["channel"], first["channel_code"]) == ("In store", "in_store")
    assert (first["reward"], first["reward_code"]) == ("Gift card", "gift_card")
    sms = next(row for row in rows.values() if row["channel_code"] == "sms")
    assert (sms["channel"], sms["improvement_areas"], sms["improvement_area_codes"]) == (
        "SMS",
        "Follow-up",
        "follow_up",
    )


def test_favicon_and_no_staff_header_for_customers_and_tvs(tenant: Tenant, db: Database, page: Page) -> None:
    base = tenant.server.url
    icon = httpx.get(f"{base}/favicon.ico", timeout=TIMEOUT)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    assert httpx.get(f"{base}/static/favicon.svg", timeout=TIMEOUT).status_code == 200

    floor = make_floor(db, tenant.org_id)
    created = tenant.api.post(
        "/api/v1/displays", json={"name": "Floor TV", "scope": "team", "target_id": floor.team_id}
    )
    assert created.status_code == 201, created.text
    page.goto(created.json()["url"].replace(tenant.server.app.state.ctx.settings.public_url, base))
    expect(page.locator("#board-title")).to_be_visible()
    expect(page.locator("nav.mainnav, .nav-user")).to_have_count(0)
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"/static/favicon\.svg$"))
    page.goto(f"{base}/login")
    expect(page.locator("nav.mainnav")).to_have_count(0)
