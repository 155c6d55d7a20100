"""The account page's "Scheduled reports" block in a real browser: the report hour and the weekly
summary's day are chosen from lists, saved through the API's schema, and audited."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import AuditLog, Role
from tests.conftest import Tenant
from tests.streaming import make_user
from tests.test_admin_api import account
from tests.test_admin_pages import log_in


def test_an_admin_sets_the_report_hour_and_weekly_day(tenant: Tenant, db: Database, page: Page) -> None:
    admin = make_user(db, tenant.org_id, Role.admin)
    created = account(tenant.api)
    base = tenant.server.url
    path = f"/admin/accounts/{created['id']}"
    log_in(page, base, admin.email, path)
    reports = page.locator("#reports")
    expect(reports.locator("legend")).to_have_text("Scheduled reports")
    expect(page.get_by_label("Report hour")).to_have_value("7")
    expect(page.get_by_label("Weekly summary day")).to_have_value("1")
    expect(page.get_by_label("Report hour").locator("option:checked")).to_have_text("07:00")
    page.get_by_label("Report hour").select_option(label="18:00")
    page.get_by_label("Weekly summary day").select_option(label="Friday")
    page.click("#save-account")
    page.wait_for_url(re.compile(rf".*{path}\?saved=settings$"))
    out = tenant.api.get(f"/api/v1/accounts/{created['id']}").json()
    assert out["report_hour"] == 18 and out["weekly_report_day"] == 5
    expect(page.get_by_label("Report hour")).to_have_value("18")
    expect(page.get_by_label("Weekly summary day")).to_have_value("5")
    with db.session() as s:
        details = s.exec(
            select(AuditLog.details).where(
                AuditLog.target == f"account:{created['id']}", AuditLog.action == "account.updated"
            )
        ).all()
    assert any({"report_hour", "weekly_report_day"} <= set(d["fields"]) for d in details)
