"""The helpdesk integrations admin page in a real browser: waiting events are mapped through
a CSRF-protected form, customer text stays text, ticket links are safe links."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Interaction, Role
from tests.conftest import Tenant
from tests.integration_support import AGENT_IDS, connect, deliver, make_desk, sample
from tests.streaming import make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/admin/integrations")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/integrations")


def test_an_admin_maps_a_waiting_event_on_the_page(tenant: Tenant, db: Database, page: Page) -> None:
    # The shared server has no SMTP server: this account's requests are not emailed.
    desk = make_desk(db, tenant.org_id, known=False, send_channel="none")
    hook = connect(tenant.api, "zendesk", desk.account_id)
    body = sample("zendesk", **{"Cara Diaz": json.dumps(HOSTILE)[1:-1], "Maria Lopez": "Mystery Agent"})
    answer = deliver(hook, "zendesk", body)
    assert answer.status_code == 202, answer.text
    unmapped_id = answer.json()["unmapped_id"]
    assert deliver(hook, "zendesk", body, secret="wrong").status_code == 401

    admin = make_user(db, tenant.org_id, Role.admin, PASSWORD)
    log_in(page, tenant.server.url, admin.email)
    event = page.locator(f"#unmapped-{unmapped_id}")
    expect(event.locator(".ig-customer-name")).to_have_text(HOSTILE)
    expect(event.locator(".ig-agent-name")).to_have_text("Mystery Agent")
    assert page.evaluate("window.__pwned") is None
    link = event.locator("a.ticket-link")
    expect(link).to_have_attribute("href", "https://acme.zendesk.com/agent/tickets/35436")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    card = page.locator(f"#integration-{hook.id}")
    expect(card.locator(".ig-url code")).to_have_text(hook.url)
    expect(card.locator(".ig-log-row")).to_have_count(2)
    expect(card.locator(".ig-log-row").first).to_contain_text("Refused: signature or secret")
    expect(card.locator(".ig-log-row").nth(1)).to_contain_text("Waiting for an agent")

    event.locator("select").select_option(str(desk.agent_id))
    expect(event.locator("input[name=remember]")).to_be_checked()
    event.locator("button[type=submit]").click()
    page.wait_for_url(f"{tenant.server.url}/admin/integrations?mapped={unmapped_id}")
    expect(page.locator("#mapped-notice")).to_be_visible()
    expect(page.locator(f"#unmapped-{unmapped_id}")).to_have_count(0)
    with db.session() as s:
        [interaction] = s.exec(select(Interaction).where(Interaction.account_id == desk.account_id)).all()
    assert interaction.agent_id == desk.agent_id
    assert interaction.customer_name == HOSTILE

    # Remembered on the agent: the next ticket of this helpdesk agent needs nobody.
    again = deliver(hook, "zendesk", sample("zendesk", **{"35436": "35499"}))
    assert again.status_code == 201, again.text
    assert AGENT_IDS["zendesk"] in again.request.content.decode()


def test_the_map_form_needs_its_csrf_token_and_an_admin(tenant: Tenant, db: Database) -> None:
    desk = make_desk(db, tenant.org_id, known=False, send_channel="none")
    hook = connect(tenant.api, "zendesk", desk.account_id)
    unmapped_id = deliver(hook, "zendesk", sample("zendesk")).json()["unmapped_id"]
    admin = make_user(db, tenant.org_id, Role.admin, PASSWORD)
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[desk.account_id])
    url = f"/admin/integrations/unmapped/{unmapped_id}/map"
    for user, status in ((admin, 403), (manager, 403)):
        with httpx.Client(base_url=tenant.server.url, timeout=TIMEOUT) as browser:
            login = browser.get("/login")
            token = browser.cookies["streamsrv_csrf"]
            assert login.status_code == 200
            r = browser.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303, r.text
            forged = browser.post(url, data={"agent_id": str(desk.agent_id), "csrf_token": "forged"})
            assert forged.status_code == status
            page = browser.get("/admin/integrations")
            assert page.status_code == (200 if user is admin else 403)
    with db.session() as s:
        assert s.exec(select(Interaction).where(Interaction.account_id == desk.account_id)).all() == []


def test_ticket_links_show_on_recovery_dashboard_and_coach(tenant: Tenant, db: Database, page: Page) -> None:
    desk = make_desk(db, tenant.org_id, send_channel="none")
    hook = connect(tenant.api, "freshdesk", desk.account_id)
    answer = deliver(hook, "freshdesk", sample("freshdesk", agent_email=desk.agent_email))
    assert answer.status_code == 201, answer.text
    ticket = "https://acme.freshdesk.com/helpdesk/tickets/3221"
    # A link the API was asked to store with another scheme is refused, naming the field.
    bad = tenant.api.post(
        "/api/v1/interactions",
        json={
            "account_id": desk.account_id,
            "agent_id": desk.agent_id,
            "channel": "chat",
            "external_id": "bad-link",
            "ticket_url": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 422 and "ticket_url" in bad.json()["error"]["fields"]
    # The customer answers the survey badly: a recovery case opens, the card shows on the pages.
    made = tenant.api.post(
        "/api/v1/interactions",
        json={
            "account_id": desk.account_id,
            "agent_id": desk.agent_id,
            "channel": "email",
            "external_id": "freshdesk:3222",
            "customer": {"email": "dee@example.com", "name": "Dee"},
            "ticket_url": ticket.replace("3221", "3222"),
            "send": "none",
        },
    )
    assert made.status_code == 201, made.text
    token = made.json()["request"]["token"]
    rated = httpx.post(f"{tenant.server.url}/api/v1/responses/{token}", json={"rating": 1}, timeout=TIMEOUT)
    assert rated.status_code == 201, rated.text
    link = ticket.replace("3221", "3222")

    admin = make_user(db, tenant.org_id, Role.admin, PASSWORD)
    log_in(page, tenant.server.url, admin.email)
    page.goto(f"{tenant.server.url}/dashboard")
    card = page.locator("#response-list .feed-card").first
    expect(card.locator(".ticket-link")).to_have_attribute("href", link)
    expect(card.locator(".ticket-link")).to_have_attribute("rel", "noopener noreferrer")
    expect(card.locator(".ticket-link")).to_be_visible()

    page.goto(f"{tenant.server.url}/coach?team_id={desk.team_id}")
    card = page.locator("#feed .feed-card").first
    expect(card.locator(".ticket-link")).to_have_attribute("href", link)
    expect(card.locator(".ticket-link")).to_be_visible()

    page.goto(f"{tenant.server.url}/recovery")
    page.locator(".case .case-open").first.click()
    detail = page.locator(".cd")
    expect(detail.locator(".cd-ticket")).to_have_text("freshdesk:3222")
    expect(detail.locator(".cd-ticket-link")).to_have_attribute("href", link)
    expect(detail.locator(".cd-ticket-link")).to_have_attribute("rel", "noopener noreferrer")
