"""The team and agent admin pages in a real browser: an agent is created with a photo cropped
to a square in the page, edited, moved between teams and deactivated; forms need their CSRF
token and an administrator covering the account."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Agent, AuditLog, Role
from tests.admin_agents_support import PASSWORD, csrf, image_size, log_in, png, session_client
from tests.conftest import Tenant
from tests.streaming import make_user
from tests.support import TIMEOUT

HOSTILE = '<img src=x onerror="window.__pwned = 1">'


def account_with_teams(tenant: Tenant, *names: str) -> tuple[int, list[int]]:
    account = tenant.api.post("/api/v1/accounts", json={"name": f"Acct {names[0]}"})
    assert account.status_code == 201, account.text
    account_id = int(account.json()["id"])
    ids = []
    for name in names:
        team = tenant.api.post("/api/v1/teams", json={"account_id": account_id, "name": name})
        assert team.status_code == 201, team.text
        ids.append(int(team.json()["id"]))
    return account_id, ids


def test_an_admin_creates_an_agent_with_a_cropped_photo_then_moves_and_deactivates_it(
    tenant: Tenant, db: Database, page: Page
) -> None:
    base = tenant.server.url
    _, (tier1, tier2) = account_with_teams(tenant, "Tier 1", "Tier 2")
    log_in(page, base, tenant.org.admin_email, "/admin/agents/new")

    # A form without a name comes back with the error tied to the field and the summary focused.
    page.select_option("#f-team_id", str(tier1))
    page.click("main button[type=submit]")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#f-name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-name")).to_have_attribute("aria-describedby", "f-name-error")

    page.fill("#f-name", "Dana " + HOSTILE)
    page.fill("#f-email", "Dana.Scully@Example.com")
    page.select_option("#f-team_id", str(tier1))
    page.fill("#f-bio", "Ten years in support.")
    page.fill("#f-hobbies", "climbing\nchess")
    page.fill("#f-ext_zendesk", "3615")
    page.set_input_files(
        "#f-photo", files=[{"name": "wide.png", "mimeType": "image/png", "buffer": png(300, 180)}]
    )
    canvas = page.locator(".crop-canvas")
    expect(canvas).to_be_visible()
    # Keyboard: zoom in twice and move the square right.
    canvas.focus()
    for key in ("+", "+", "ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    expect(page.locator(".crop-status")).to_contain_text("Square of 146 pixels")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/agents/\d+\?saved=1$"))
    agent_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    expect(page.locator("#done-notice")).to_be_visible()
    assert page.evaluate("window.__pwned") is None

    agent = tenant.api.get(f"/api/v1/agents/{agent_id}").json()
    assert agent["name"] == "Dana " + HOSTILE
    assert agent["email"] == "dana.scully@example.com"
    assert agent["hobbies"] == ["climbing", "chess"]
    assert agent["external_ids"] == {"zendesk": "3615"}
    assert agent["has_uploaded_photo"] is True
    served = urlsplit(agent["photo"])
    photo = httpx.get(f"{base}{served.path}?{served.query}", timeout=TIMEOUT)
    assert photo.status_code == 200
    width, height = image_size(photo.content)
    assert width == height == 146

    # Edit: move to Tier 2 and deactivate; the list shows it with its thumbnail.
    page.select_option("#f-team_id", str(tier2))
    page.uncheck("#f-active")
    page.fill("#f-bio", "Now in Tier 2.")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/admin/agents/{agent_id}?saved=1")
    moved = tenant.api.get(f"/api/v1/agents/{agent_id}").json()
    assert (moved["team_id"], moved["active"], moved["bio"]) == (tier2, False, "Now in Tier 2.")
    assert moved["external_ids"] == {"zendesk": "3615"}

    page.goto(f"{base}/admin/agents?team_id={tier2}&active=false")
    row = page.locator(f"#agent-{agent_id}")
    expect(row.locator(".agent-name")).to_have_text("Dana " + HOSTILE)
    expect(row.locator(".agent-status")).to_have_text("Inactive")
    expect(row.locator("img.thumb")).to_have_attribute("src", re.compile(rf"/media/agents/{agent_id}/photo"))
    page.goto(f"{base}/admin/agents?team_id={tier1}")
    expect(page.locator(f"#agent-{agent_id}")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None

    with db.session() as s:
        actions = s.exec(
            select(AuditLog.action).where(
                AuditLog.org_id == tenant.org_id, AuditLog.target == f"agent:{agent_id}"
            )
        ).all()
    assert {"agent.created", "agent.photo_uploaded", "agent.updated"} <= set(actions)


def test_teams_are_created_and_renamed_on_the_page(tenant: Tenant, page: Page) -> None:
    base = tenant.server.url
    account_id, (tier1,) = account_with_teams(tenant, "Tier 1")
    log_in(page, base, tenant.org.admin_email, "/admin/teams")
    page.select_option("#f-account_id", str(account_id))
    page.fill("#f-name", "Escalations")
    page.click("form[action='/admin/teams'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/teams?done=created")
    names = {
        t["name"] for t in tenant.api.get("/api/v1/teams", params={"account_id": account_id}).json()["items"]
    }
    assert names == {"Tier 1", "Escalations"}

    # Renaming to a taken name is refused on the field; then a free name is saved.
    field = page.locator(f"#f-team-{tier1}-name")
    field.fill("Escalations")
    page.locator(f"#team-{tier1} button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator(f"#f-team-{tier1}-name")).to_have_attribute("aria-invalid", "true")
    page.locator(f"#f-team-{tier1}-name").fill("Front line")
    page.locator(f"#team-{tier1} button[type=submit]").click()
    page.wait_for_url(f"{base}/admin/teams?done=renamed")
    assert tenant.api.get(f"/api/v1/teams/{tier1}").json()["name"] == "Front line"


def test_forms_need_the_csrf_token_and_an_admin_of_the_account(tenant: Tenant, db: Database) -> None:
    base = tenant.server.url
    account_id, (tier1,) = account_with_teams(tenant, "Tier 1")
    other_id, (other_team,) = account_with_teams(tenant, "Elsewhere")
    agent = tenant.api.post("/api/v1/agents", json={"team_id": tier1, "name": "Kept"}).json()
    form = {"name": "Changed", "team_id": str(tier1), "active": "on"}

    with session_client(base, tenant.org.admin_email) as admin:
        forged = admin.post(f"/admin/agents/{agent['id']}", data={**form, "csrf_token": "forged"})
        assert forged.status_code == 403
        missing = admin.post("/admin/teams", data={"account_id": str(account_id), "name": "X"})
        assert missing.status_code == 403

    restricted = make_user(db, tenant.org_id, Role.admin, PASSWORD, account_ids=[other_id])
    with session_client(base, restricted.email) as other:
        assert other.get(f"/admin/agents/{agent['id']}").status_code == 404
        r = other.post(f"/admin/agents/{agent['id']}", data={**form, "csrf_token": csrf(other)})
        assert r.status_code == 404
        r = other.post(f"/admin/teams/{tier1}/rename", data={"name": "Mine", "csrf_token": csrf(other)})
        assert r.status_code == 404
        listing = other.get("/admin/agents")
        assert listing.status_code == 200 and "Kept" not in listing.text
        # Its own account works.
        r = other.post(
            "/admin/agents/new",
            data={"name": "Theirs", "team_id": str(other_team), "active": "on", "csrf_token": csrf(other)},
        )
        assert r.status_code == 303, r.text

    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[account_id])
    with session_client(base, manager.email) as m:
        assert m.get("/admin/agents").status_code == 403
        r = m.post(f"/admin/agents/{agent['id']}", data={**form, "csrf_token": csrf(m)})
        assert r.status_code == 403

    with db.session() as s:
        stored = s.get(Agent, agent["id"])
        assert stored is not None and stored.name == "Kept"
        assert s.exec(select(Agent).where(Agent.name == "Changed")).all() == []


def test_the_api_keeps_one_agent_per_email(tenant: Tenant) -> None:
    _, (tier1,) = account_with_teams(tenant, "Tier 1")
    first = tenant.api.post(
        "/api/v1/agents", json={"team_id": tier1, "name": "A", "email": "Same@Example.com"}
    )
    assert first.status_code == 201 and first.json()["email"] == "same@example.com"
    clash = tenant.api.post(
        "/api/v1/agents", json={"team_id": tier1, "name": "B", "email": "same@example.com"}
    )
    assert clash.status_code == 409 and "email" in clash.json()["error"]["fields"]
    other = tenant.api.post("/api/v1/agents", json={"team_id": tier1, "name": "B", "email": "b@example.com"})
    assert other.status_code == 201
    moved = tenant.api.patch(f"/api/v1/agents/{other.json()['id']}", json={"email": "same@example.com"})
    assert moved.status_code == 409
    cleared = tenant.api.patch(f"/api/v1/agents/{other.json()['id']}", json={"email": None})
    assert cleared.status_code == 200 and cleared.json()["email"] is None
    bad = tenant.api.post("/api/v1/agents", json={"team_id": tier1, "name": "C", "email": "nope"})
    assert bad.status_code == 422


def test_without_script_the_original_photo_is_uploaded_and_a_bad_file_writes_nothing(
    tenant: Tenant, db: Database
) -> None:
    base = tenant.server.url
    _, (tier1,) = account_with_teams(tenant, "Tier 1")
    with session_client(base, tenant.org.admin_email) as admin:
        form = {"name": "Plain Upload", "team_id": str(tier1), "active": "on", "csrf_token": csrf(admin)}
        bad = admin.post(
            "/admin/agents/new", data=form, files={"photo": ("x.png", b"<svg onload=alert(1)>", "image/png")}
        )
        assert bad.status_code == 422
        assert 'id="f-photo-error"' in bad.text and "not a supported image" in bad.text
        with db.session() as s:
            assert s.exec(select(Agent).where(Agent.name == "Plain Upload")).all() == []
        made = admin.post(
            "/admin/agents/new", data=form, files={"photo": ("wide.png", png(64, 32), "image/png")}
        )
        assert made.status_code == 303, made.text
        agent_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    photo = tenant.api.get(f"/api/v1/agents/{agent_id}").json()["photo"]
    served = urlsplit(photo)
    assert image_size(httpx.get(f"{base}{served.path}?{served.query}", timeout=TIMEOUT).content) == (64, 32)
