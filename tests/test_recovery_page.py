"""The recovery queue in a real browser: cases arrive live, a claim race is seen by both sides,
customer text stays text."""

from __future__ import annotations

import secrets

from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from streamsrv.db import Database
from streamsrv.models import RecoveryCase, Response, Role, User
from tests.browser import new_context
from tests.conftest import Tenant
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"
WAIT = TIMEOUT * 1000


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/recovery")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/recovery")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT)


def post_feedback(
    tenant: Tenant, db: Database, account_id: int, agent_id: int, rating: int, comment: str
) -> None:
    key = make_key(db, tenant.org_id, ["ingest"])
    with tenant.client(key) as api:
        r = api.post(
            "/api/v1/feedback",
            json={
                "account_id": account_id,
                "agent_id": agent_id,
                "channel": "phone",
                "external_id": f"R-{secrets.token_hex(5)}",
                "rating": rating,
                "comment": comment,
                "customer": {"name": "Dana Reyes", "email": "dana@example.com", "phone": "+1 555 0100"},
            },
        )
        assert r.status_code == 201, r.text


def named_user(db: Database, org_id: int, account_id: int, name: str) -> User:
    user = make_user(db, org_id, Role.recovery, PASSWORD, account_ids=[account_id])
    with db.session() as s:
        row = s.get(User, user.id)
        assert row is not None
        row.name = name
        s.add(row)
    return user


def test_negative_response_appears_live_as_text(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    rita = make_user(db, tenant.org_id, Role.recovery, PASSWORD, account_ids=[floor.account_id])
    log_in(page, tenant.server.url, rita.email)
    expect(page.locator("#queue-empty")).to_be_visible()
    hostile = "<script>window.__pwned = 1</script><b>rude</b> & slow"
    post_feedback(tenant, db, floor.account_id, floor.agent_ids[0], 5, "great")
    post_feedback(tenant, db, floor.other_account_id, floor.other_agent_id, 1, "other account")
    # The hostile case is also the sentinel: committed after the two that must not open a case
    # here, and delivered after them (outbox order, one pub/sub connection, one socket), so once
    # it shows, a case from either would show too.
    post_feedback(tenant, db, floor.account_id, floor.agent_ids[0], 1, hostile)
    expect(page.locator(".case .case-comment").first).to_have_text(hostile, timeout=WAIT)
    card = page.locator(".case")
    assert card.count() == 1
    assert "other account" not in page.locator("main").inner_text()
    expect(card.locator(".case-comment")).to_have_text(hostile)
    expect(card.locator(".sla-chip")).to_have_attribute("data-sla", "ok")
    expect(card.locator(".case-owner")).to_have_text("Unclaimed")
    card.locator(".case-open").click()
    detail = page.locator(".cd")
    expect(detail.locator(".cd-comment")).to_have_text(hostile)
    expect(detail.locator(".cd-email")).to_have_text("dana@example.com")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".case b, .cd b").count() == 0
    expect(page.locator("#m-open")).to_have_text("1", timeout=WAIT)
    # Work it through: claim, note, resolve, follow-up link.
    detail.locator(".cd-claim").click()
    expect(detail.locator(".cd-owner")).to_have_text("Claimed by you")
    detail.locator(".cd-note-form textarea").fill("Called back <i>twice</i>")
    detail.locator(".cd-note-form button").click()
    expect(detail.locator(".note-text")).to_have_text("Called back <i>twice</i>")
    detail.locator(".cd-resolve-form textarea").fill("Refunded the delivery fee")
    detail.locator(".cd-resolve-form button").click()
    expect(detail.locator(".cd-owner")).to_have_text("Resolved by recovery")
    expect(page.locator(".case")).to_have_count(0)
    detail.locator(".cd-followup").click()
    expect(detail.locator(".cd-followup-state")).to_have_text("Waiting for the customer's answer.")
    assert "/f/" in detail.locator(".cd-followup-url").input_value()


def test_two_people_race_to_claim(tenant: Tenant, db: Database, browser: Browser) -> None:
    floor = make_floor(db, tenant.org_id)
    people = [named_user(db, tenant.org_id, floor.account_id, name) for name in ("Rita Ramos", "Sam Stone")]
    contexts = [new_context(browser) for _ in people]
    try:
        pages = [ctx.new_page() for ctx in contexts]
        for page, person in zip(pages, people, strict=True):
            log_in(page, tenant.server.url, person.email)
        post_feedback(tenant, db, floor.account_id, floor.agent_ids[0], 2, "Waited an hour")
        for page in pages:
            expect(page.locator(".case .claim")).to_be_visible(timeout=WAIT)
        # Both click as close together as a browser allows.
        handles = [page.locator(".case .claim") for page in pages]
        for handle in handles:
            handle.dispatch_event("click")
        owners = [page.locator(".case .case-owner") for page in pages]
        for owner in owners:
            expect(owner).not_to_have_text("Unclaimed", timeout=WAIT)
        texts = sorted(owner.inner_text() for owner in owners)
        assert texts[0] == "Claimed by you"
        assert texts[1] in ("Taken by Rita Ramos", "Taken by Sam Stone")
        for page in pages:
            expect(page.locator(".case .claim")).to_be_hidden()
    finally:
        for ctx in contexts:
            ctx.close()


def test_recovery_page_needs_login_and_role(tenant: Tenant, db: Database, page: Page) -> None:
    page.goto(f"{tenant.server.url}/recovery")
    assert "/login" in page.url
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("text=Not for your role").count() == 1


def test_a_case_link_from_a_chat_message_opens_the_case(tenant: Tenant, db: Database, page: Page) -> None:
    """Slack and Teams messages link to ``/recovery#case-<id>``: the page opens that case."""
    floor = make_floor(db, tenant.org_id)
    rita = make_user(db, tenant.org_id, Role.recovery, PASSWORD, account_ids=[floor.account_id])
    marker = f"linked-{secrets.token_hex(4)}"
    post_feedback(tenant, db, floor.account_id, floor.agent_ids[0], 1, "first one")
    post_feedback(tenant, db, floor.account_id, floor.agent_ids[0], 1, marker)
    with db.session() as s:
        case_id = s.exec(
            select(RecoveryCase.id)
            .join(Response, col(Response.id) == col(RecoveryCase.response_id))
            .where(Response.comment == marker)
        ).one()
    log_in(page, tenant.server.url, rita.email)
    page.goto("about:blank")
    page.goto(f"{tenant.server.url}/recovery#case-{case_id}")
    expect(page.locator(".cd .cd-comment")).to_have_text(marker, timeout=WAIT)
