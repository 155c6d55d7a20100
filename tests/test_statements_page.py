"""/statements in a real browser: a manager adjusts, closes and exports; a client viewer reads;
an agent is refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import LedgerEntry, Role, StatementClose
from streamsrv.security import csrf
from tests.browser import new_context
from tests.conftest import Tenant
from tests.streaming import make_floor, make_key, make_user

PASSWORD = "correct horse battery"


def log_in(page: Page, base: str, email: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def test_a_manager_adjusts_closes_and_exports_a_month(
    tenant: Tenant, db: Database, page: Page, browser: Browser, tmp_path: Path
) -> None:
    floor = make_floor(db, tenant.org_id)
    r = tenant.api.patch(f"/api/v1/accounts/{floor.account_id}", json={"reward_cap_per_agent": 10})
    assert r.status_code == 200, r.text
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        for n, (agent, reward) in enumerate(((0, "gift_card"), (1, "coffee"))):
            sent = api.post(
                "/api/v1/feedback",
                json={
                    "account_id": floor.account_id,
                    "agent_id": floor.agent_ids[agent],
                    "channel": "chat",
                    "external_id": f"stmt-{n}",
                    "rating": 5,
                    "reward": reward,
                },
            )
            assert sent.status_code == 201, sent.text
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id])
    base = tenant.server.url
    path = f"/statements?account={floor.account_id}"
    log_in(page, base, manager.email, path)
    expect(page.locator("#statement-status")).to_have_text("Open")
    table = page.locator("#statement-table")
    expect(table.locator("thead")).to_contain_text("Gift card")
    assert "gift_card" not in page.locator("main").inner_text()
    first = table.locator(f'tr[data-agent-id="{floor.agent_ids[0]}"]')
    expect(first.locator(".capped")).to_have_text("$15.00")
    expect(first.locator(".total")).to_have_text("$10.00")
    expect(page.locator("#statement-total")).to_have_text("$14.00")

    # A mistake comes back next to its field, readable, and nothing is stored.
    page.select_option("#agent_id", str(floor.agent_ids[1]))
    page.fill("#amount", "2.505")
    page.click("#add-adjustment")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#reason-error")).to_be_visible()
    expect(page.locator("#amount")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#amount")).to_have_value("2.505")
    with db.session() as s:
        assert not s.exec(
            select(LedgerEntry).where(
                LedgerEntry.account_id == floor.account_id, LedgerEntry.kind == "adjustment"
            )
        ).all()

    hostile = "Advance <b>paid</b>"
    page.fill("#amount", "-2.50")
    page.fill("#reason", hostile)
    page.click("#add-adjustment")
    expect(page.locator("#saved-notice")).to_have_text("Adjustment added.")
    second = table.locator(f'tr[data-agent-id="{floor.agent_ids[1]}"]')
    expect(second.locator(".adjustments")).to_have_text("-$2.50")
    expect(second.locator(".total")).to_have_text("$1.50")
    expect(page.locator("#statement-total")).to_have_text("$11.50")
    expect(page.locator("#adjustment-lines")).to_contain_text(hostile)
    assert page.locator("#adjustment-lines b").count() == 0

    # Closing asks first; cancelling changes nothing.
    page.click("#close-month")
    expect(page.locator("#confirm-close")).to_be_visible()
    page.click("#cancel-close")
    expect(page.locator("#statement-status")).to_have_text("Open")
    page.click("#close-month")
    page.click("#confirm-close-button")
    expect(page.locator("#saved-notice")).to_have_text("The month is closed.")
    expect(page.locator("#statement-status")).to_have_text("Closed")
    expect(page.locator("#adjust-form")).to_have_count(0)
    expect(page.locator("#close-month")).to_have_count(0)
    with db.session() as s:
        assert (
            len(s.exec(select(StatementClose).where(StatementClose.account_id == floor.account_id)).all())
            == 1
        )

    with page.expect_download() as download:
        page.click("#export-csv")
    target = tmp_path / "statement.csv"
    download.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert "Capped (USD)" in rows[0] and "Adjustments (USD)" in rows[0] and "Gift card: count" in rows[0]
    assert float(rows[-1][-1]) == 11.5

    # A client viewer reads the same statement without any form.
    viewer = make_user(db, tenant.org_id, Role.client_viewer, PASSWORD, account_ids=[floor.account_id])
    context = new_context(browser)
    try:
        other = context.new_page()
        log_in(other, base, viewer.email, path)
        expect(other.locator("#statement-total")).to_have_text("$11.50")
        expect(other.locator("main form[method=post]")).to_have_count(0)
        expect(other.locator("#export-csv")).to_be_visible()
        # Sending the form anyway (with a valid CSRF token) is refused.
        token = next(c["value"] for c in context.cookies() if c["name"] == csrf.COOKIE)
        answer = other.request.post(
            f"{base}/statements/adjustments",
            form={
                "csrf_token": token,
                "account": str(floor.account_id),
                "month": page.locator("#pick-month").input_value(),
                "agent_id": str(floor.agent_ids[0]),
                "amount": "5",
                "reason": "Bonus",
            },
        )
        assert answer.status == 403
    finally:
        context.close()
    with db.session() as s:
        assert (
            len(
                s.exec(
                    select(LedgerEntry).where(
                        LedgerEntry.account_id == floor.account_id, LedgerEntry.kind == "adjustment"
                    )
                ).all()
            )
            == 1
        )

    # An agent gets a readable 403 page.
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    context = new_context(browser)
    try:
        mine = context.new_page()
        log_in(mine, base, agent.email, "/me")
        answer = mine.goto(f"{base}{path}")
        assert answer is not None and answer.status == 403
        expect(mine.locator("h1")).to_have_text("Not for your role")
    finally:
        context.close()
    assert httpx.get(f"{base}{path}", follow_redirects=False).status_code == 303
