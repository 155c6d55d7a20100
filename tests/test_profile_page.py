"""An agent edits their own profile at /settings/profile, in Chromium; with the account's
``agents_edit_profile`` off, the page says so and its forms are refused."""

from __future__ import annotations

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


def agent_user(tenant: Tenant, db: Database) -> tuple[int, int, str]:
    account = tenant.api.post("/api/v1/accounts", json={"name": "Profiles"}).json()
    team = tenant.api.post("/api/v1/teams", json={"account_id": account["id"], "name": "Tier 1"}).json()
    agent = tenant.api.post("/api/v1/agents", json={"team_id": team["id"], "name": "Dana Scully"}).json()
    user = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=agent["id"])
    return int(account["id"]), int(agent["id"]), user.email


def test_an_agent_edits_their_own_bio_and_photo(tenant: Tenant, db: Database, page: Page) -> None:
    base = tenant.server.url
    account_id, agent_id, email = agent_user(tenant, db)
    log_in(page, base, email, "/settings/profile")
    page.fill("#f-bio", "I fix <b>printers</b>.")
    page.fill("#f-hobbies", "chess\n\nsailing")
    page.click("#save-profile")
    page.wait_for_url(f"{base}/settings/profile?saved=1")
    expect(page.locator("#f-bio")).to_have_value("I fix <b>printers</b>.")
    agent = tenant.api.get(f"/api/v1/agents/{agent_id}").json()
    assert (agent["bio"], agent["hobbies"]) == ("I fix <b>printers</b>.", ["chess", "sailing"])

    page.set_input_files(
        "#f-photo", files=[{"name": "tall.png", "mimeType": "image/png", "buffer": png(120, 200)}]
    )
    page.locator(".crop-canvas").focus()
    page.keyboard.press("-")
    page.click("#save-photo")
    page.wait_for_url(f"{base}/settings/profile?saved=photo")
    photo = tenant.api.get(f"/api/v1/agents/{agent_id}").json()["photo"]
    served = urlsplit(photo)
    body = httpx.get(f"{base}{served.path}?{served.query}", timeout=TIMEOUT).content
    assert image_size(body) == (120, 120)
    with db.session() as s:
        actions = set(s.exec(select(AuditLog.action).where(AuditLog.target == f"agent:{agent_id}")).all())
    assert {"agent.profile_updated", "agent.profile_photo_uploaded"} <= actions

    # The account turns editing off: the page says so, and its forms are refused.
    r = tenant.api.patch(f"/api/v1/accounts/{account_id}", json={"agents_edit_profile": False})
    assert r.status_code == 200 and r.json()["agents_edit_profile"] is False
    page.goto(f"{base}/settings/profile")
    expect(page.locator("#profile-locked")).to_be_visible()
    expect(page.locator("#f-bio")).to_have_count(0)
    expect(page.locator(".profile-bio")).to_have_text("I fix <b>printers</b>.")
    with session_client(base, email) as agent_client:
        r = agent_client.post(
            "/settings/profile", data={"bio": "Changed", "hobbies": "", "csrf_token": csrf(agent_client)}
        )
        assert r.status_code == 403
        r = agent_client.post(
            "/settings/profile/photo",
            data={"csrf_token": csrf(agent_client)},
            files={"photo": ("p.png", png(10, 10), "image/png")},
        )
        assert r.status_code == 403
    assert tenant.api.get(f"/api/v1/agents/{agent_id}").json()["bio"] == "I fix <b>printers</b>."


def test_the_profile_needs_csrf_and_a_linked_agent(tenant: Tenant, db: Database) -> None:
    base = tenant.server.url
    _, agent_id, email = agent_user(tenant, db)
    with session_client(base, email) as agent_client:
        r = agent_client.post("/settings/profile", data={"bio": "Forged", "hobbies": ""})
        assert r.status_code == 403
        r = agent_client.post(
            "/settings/profile", data={"bio": "x" * 501, "hobbies": "", "csrf_token": csrf(agent_client)}
        )
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
        r = agent_client.post(
            "/settings/profile/photo",
            data={"csrf_token": csrf(agent_client)},
            files={"photo": ("p.png", b"<svg onload=alert(1)>", "image/png")},
        )
        assert r.status_code == 422 and "not a supported image" in r.text
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD)
    with session_client(base, manager.email) as m:
        assert m.get("/settings/profile").status_code == 404
        r = m.post("/settings/profile", data={"bio": "Not mine", "hobbies": "", "csrf_token": csrf(m)})
        assert r.status_code == 404
    with db.session() as s:
        stored = s.get(Agent, agent_id)
        assert stored is not None and stored.bio == ""
