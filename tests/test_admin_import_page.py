"""Importing agents from CSV on the admin page, in Chromium: the dry run shows each line's
change and errors and writes nothing; applying writes exactly what was shown, in one go."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from streamsrv.db import Database
from streamsrv.models import Agent, AuditLog, Role
from tests.admin_agents_support import PASSWORD, csrf, log_in, session_client
from tests.conftest import Tenant
from tests.streaming import make_user


def setup_account(tenant: Tenant) -> tuple[int, int, int]:
    account = tenant.api.post("/api/v1/accounts", json={"name": "Imports"}).json()
    ids = []
    for name in ("Tier 1", "Tier 2"):
        team = tenant.api.post("/api/v1/teams", json={"account_id": account["id"], "name": name})
        assert team.status_code == 201, team.text
        ids.append(int(team.json()["id"]))
    return int(account["id"]), ids[0], ids[1]


def csv_text(bad_line: bool) -> str:
    lines = ["\ufeffname;team;email;zendesk_id;photo_url"]
    for n in range(40):
        team = "Tier 1" if n % 2 else "tier 2"
        email = "not-an-email" if bad_line and n == 17 else f"agent{n}@example.com"
        lines.append(f"Agent {n};{team};{email};{9000 + n};")
    # A formula-looking name is data.
    lines[5] = "=1+2;Tier 1;agent4@example.com;9004;https://example.com/a.png"
    return "\r\n".join(lines) + "\r\n"


def upload(page: Page, account_id: int, text: str) -> None:
    page.select_option("#f-account_id", str(account_id))
    page.set_input_files(
        "#f-file", files=[{"name": "agents.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}]
    )
    page.click("form[action='/admin/agents/import'] button[type=submit]")


def agents_of(tenant: Tenant, account_id: int) -> list[dict[str, object]]:
    r = tenant.api.get("/api/v1/agents", params={"account_id": account_id, "limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_dry_run_shows_the_bad_line_then_the_fixed_file_is_applied(
    tenant: Tenant, db: Database, page: Page
) -> None:
    base = tenant.server.url
    account_id, tier1, tier2 = setup_account(tenant)
    log_in(page, base, tenant.org.admin_email, "/admin/agents/import")
    sample = page.request.get(f"{base}/admin/agents/import/sample.csv")
    assert sample.status == 200 and sample.text().startswith("name,team,email,photo_url,zendesk_id")

    upload(page, account_id, csv_text(bad_line=True))
    bad = page.locator("#line-19")
    expect(bad.locator(".import-action")).to_have_text("Error")
    expect(bad.locator(".import-error")).to_contain_text("Email: must be an email address")
    # What was typed stays visible next to the message, so the person can find it in the file.
    expect(bad.locator("td").nth(3)).to_have_text("not-an-email")
    expect(page.locator("#plan-summary")).to_contain_text(
        "39 to create, 0 to update, 0 unchanged, 1 with errors"
    )
    expect(page.locator("#apply-import")).to_have_count(0)
    assert agents_of(tenant, account_id) == []

    upload(page, account_id, csv_text(bad_line=False))
    expect(page.locator("#plan-summary")).to_contain_text(
        "40 to create, 0 to update, 0 unchanged, 0 with errors"
    )
    expect(page.locator("#line-6 .import-action")).to_have_text("Create")
    assert agents_of(tenant, account_id) == []
    page.click("#apply-import")
    page.wait_for_url(f"{base}/admin/agents?imported=40")
    expect(page.locator("#done-notice")).to_contain_text("40 agents")

    made = agents_of(tenant, account_id)
    assert len(made) == 40
    by_email = {a["email"]: a for a in made}
    assert by_email["agent4@example.com"]["name"] == "=1+2"
    assert by_email["agent4@example.com"]["photo_url"] == "https://example.com/a.png"
    assert by_email["agent1@example.com"]["team_id"] == tier1
    assert by_email["agent0@example.com"]["team_id"] == tier2
    assert by_email["agent7@example.com"]["external_ids"] == {"zendesk": "9007"}

    # The same file again: every line is unchanged; a renamed agent is an update.
    again = csv_text(bad_line=False).replace("Agent 8;", "Agent Eight;")
    page.goto(f"{base}/admin/agents/import")
    upload(page, account_id, again)
    expect(page.locator("#plan-summary")).to_contain_text("0 to create, 1 to update, 39 unchanged")
    expect(page.locator("#line-10 .import-action")).to_have_text("Update")
    with db.session() as s:
        imports = s.exec(
            select(AuditLog).where(AuditLog.org_id == tenant.org_id, AuditLog.action == "agents.imported")
        ).all()
    assert [entry.details["created"] for entry in imports] == [40]


def test_apply_is_refused_when_agents_changed_since_the_dry_run(tenant: Tenant, db: Database) -> None:
    base = tenant.server.url
    account_id, tier1, _ = setup_account(tenant)
    text = "name,team,email\nFox Mulder,Tier 1,fox@example.com\nDana Scully,Tier 1,dana@example.com\n"
    with session_client(base, tenant.org.admin_email) as admin:
        dry = admin.post(
            "/admin/agents/import",
            data={"account_id": str(account_id), "csrf_token": csrf(admin)},
            files={"file": ("a.csv", text.encode(), "text/csv")},
        )
        assert dry.status_code == 200, dry.text
        token = re.search(r'name="token" value="([^"]+)"', dry.text)
        assert token is not None
        # Meanwhile an agent with one of the file's emails is created through the API.
        made = tenant.api.post(
            "/api/v1/agents", json={"team_id": tier1, "name": "Dana", "email": "dana@example.com"}
        )
        assert made.status_code == 201, made.text
        refused = admin.post(
            "/admin/agents/import/apply", data={"token": token.group(1), "csrf_token": csrf(admin)}
        )
        assert refused.status_code == 409
        assert "nothing was imported" in refused.text
        assert [a["name"] for a in agents_of(tenant, account_id)] == ["Dana"]
        forged = admin.post(
            "/admin/agents/import/apply",
            data={"token": token.group(1)[:-4] + "AAAA", "csrf_token": csrf(admin)},
        )
        assert forged.status_code == 400
        no_csrf = admin.post("/admin/agents/import/apply", data={"token": token.group(1)})
        assert no_csrf.status_code == 403
    assert len(agents_of(tenant, account_id)) == 1

    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[account_id])
    with session_client(base, manager.email) as m:
        assert m.get("/admin/agents/import").status_code == 403
        r = m.post(
            "/admin/agents/import",
            data={"account_id": str(account_id), "csrf_token": csrf(m)},
            files={"file": ("a.csv", text.encode(), "text/csv")},
        )
        assert r.status_code == 403
    with db.session() as s:
        assert len(s.exec(select(Agent).where(Agent.account_id == account_id)).all()) == 1
