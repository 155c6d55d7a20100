"""The admin pages in a real browser and over plain HTTP: the /admin index by role, account
settings with priced rewards and per-field errors, alert rules, displays for team leaders, API
keys shown once and copied. Every change goes through the API's own rules, so the API sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import select

from streamsrv.auth import make_session_cookie
from streamsrv.db import Database
from streamsrv.models import Account, AuditLog, Role, Team, User
from streamsrv.pages.admin_accounts import slug, unique_code
from tests.conftest import Tenant
from tests.matrix_support import tiny_png
from tests.streaming import Floor, make_floor, make_user
from tests.support import TIMEOUT, wait_until

PASSWORD = "correct horse battery"


def log_in(page: Page, base: str, email: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


@contextmanager
def session(tenant: Tenant, user: User) -> Iterator[httpx.Client]:
    """A logged-in browser-like client holding a CSRF cookie (``client.cookies['streamsrv_csrf']``)."""
    cookie = make_session_cookie(tenant.server.app.state.ctx, user)
    with httpx.Client(
        base_url=tenant.server.url, cookies={"streamsrv_session": cookie}, timeout=TIMEOUT
    ) as client:
        assert client.get("/admin").status_code in (200, 403)
        assert client.cookies.get("streamsrv_csrf")
        yield client


def token(client: httpx.Client) -> str:
    return str(client.cookies["streamsrv_csrf"])


def other_team(db: Database, floor: Floor) -> int:
    """A second team in the floor's own account."""
    with db.session() as s:
        team = Team(org_id=floor.org_id, account_id=floor.account_id, name="Team C")
        s.add(team)
        s.flush()
        assert team.id is not None
        return team.id


def test_the_admin_index_offers_what_each_role_may_open(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    everything = ["accounts", "teams", "agents", "users", "api-keys", "displays", "integrations"]
    expected = {
        Role.admin: ({}, everything),
        Role.manager: ({"account_ids": [floor.account_id]}, ["displays"]),
        Role.team_leader: ({"team_ids": [floor.team_id]}, ["displays"]),
    }
    for role, (scope, sections) in expected.items():
        user = make_user(db, tenant.org_id, role, **scope)
        with session(tenant, user) as c:
            page = c.get("/admin")
            assert page.status_code == 200
            assert re.findall(r'data-section="([a-z-]+)"', page.text) == sections
    # An administrator of one account: no organization-wide sections (users, API keys).
    narrow = make_user(db, tenant.org_id, Role.admin, account_ids=[floor.account_id])
    with session(tenant, narrow) as c:
        found = re.findall(r'data-section="([a-z-]+)"', c.get("/admin").text)
        assert found == ["accounts", "teams", "agents", "displays", "integrations"]
        assert c.get("/admin/api-keys").status_code == 403
        assert c.get("/admin/accounts/new").status_code == 403
    for role, scope in ((Role.agent, {"agent_id": floor.agent_ids[0]}), (Role.client_viewer, {})):
        user = make_user(db, tenant.org_id, role, **scope)
        with session(tenant, user) as c:
            for path in ("/admin", "/admin/accounts", "/admin/displays", "/admin/api-keys"):
                refused = c.get(path)
                assert refused.status_code == 403 and "Not for your role" in refused.text, path
    with session(tenant, make_user(db, tenant.org_id, Role.manager, account_ids=[floor.account_id])) as c:
        refused = c.get(f"/admin/accounts/{floor.account_id}")
        assert refused.status_code == 403 and "managed by administrators" in refused.text
    with tenant.client() as anonymous:
        r = anonymous.get("/admin/accounts", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/accounts"


def test_an_admin_creates_an_account_with_a_priced_reward(tenant: Tenant, db: Database, page: Page) -> None:
    admin = make_user(db, tenant.org_id, Role.admin)
    base = tenant.server.url
    log_in(page, base, admin.email, "/admin/accounts")
    page.click("#new-account")
    page.wait_for_url(f"{base}/admin/accounts/new")
    page.fill("#name", "Acme <b>Care</b>")
    rows = page.locator("#rewards fieldset.row")
    new = rows.last
    expect(new.locator("legend")).to_have_text("New reward")
    new.get_by_label("Label").fill("Free lunch")
    new.get_by_label("Value").fill("12.5")
    # An account's rewards share one currency (statements add them up); written in lower case.
    new.get_by_label("Currency").fill("usd")
    page.get_by_label("Ask customer satisfaction (CSAT)").check()
    page.select_option("#time_zone", "Europe/Paris")
    page.click("#save-account")
    page.wait_for_url(re.compile(r".*/admin/accounts/\d+\?saved=created$"))
    expect(page.locator("#saved-notice")).to_have_text("Account created.")
    expect(page.locator("#account-title")).to_have_text("Acme <b>Care</b>")
    account_id = int(page.url.split("/admin/accounts/")[1].split("?")[0])

    out = tenant.api.get(f"/api/v1/accounts/{account_id}").json()
    assert (
        out["name"] == "Acme <b>Care</b>" and out["ask_csat"] is True and out["time_zone"] == "Europe/Paris"
    )
    assert out["agents_edit_profile"] is True
    lunch = [r for r in out["reward_catalogue"] if r["label"] == "Free lunch"]
    assert lunch == [
        {"code": "free_lunch", "label": "Free lunch", "emoji": "", "value": 12.5, "currency": "USD"}
    ]
    assert all(r["currency"] == "USD" for r in out["reward_catalogue"])
    # The code is kept in the form, never shown as text.
    assert "free_lunch" not in page.locator("main").inner_text()

    # Rows are added and removed on the page; a second "Free lunch" gets a code of its own.
    page.get_by_role("button", name="Add a reward row").click()
    rows = page.locator("#rewards fieldset.row")
    count = rows.count()
    rows.nth(count - 1).get_by_label("Label").fill("Free lunch")
    rows.nth(count - 1).get_by_label("Value").fill("3")
    rows.nth(0).get_by_label("Remove this reward").check()
    page.get_by_label("Agents may edit their own bio, hobbies and photo").uncheck()
    page.get_by_label("Monthly cap per agent").fill("150.50")
    page.click("#save-account")
    page.wait_for_url(f"{base}/admin/accounts/{account_id}?saved=settings")
    assert tenant.api.get(f"/api/v1/accounts/{account_id}").json()["agents_edit_profile"] is False
    assert tenant.api.get(f"/api/v1/accounts/{account_id}").json()["reward_cap_per_agent"] == 150.5
    after = tenant.api.get(f"/api/v1/accounts/{account_id}").json()["reward_catalogue"]
    assert [r["code"] for r in after] == [r["code"] for r in out["reward_catalogue"][1:]] + ["free_lunch_2"]
    assert after[-1]["value"] == 3 and after[-1]["currency"] == "USD"
    with db.session() as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.target == f"account:{account_id}")).all()
    assert sorted(actions) == ["account.created", "account.updated"]


def test_a_bad_value_shows_its_field_error_and_changes_nothing(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    before = tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json()
    path = f"/admin/accounts/{floor.account_id}"
    log_in(page, tenant.server.url, admin.email, path)
    page.fill("#name", "Renamed")
    page.fill("#recovery_sla_minutes", "0")
    page.locator("#rewards fieldset.row").first.get_by_label("Currency").fill("XYZ")
    page.click("#save-account")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("nothing was saved")
    field = page.locator("#recovery_sla_minutes")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#recovery_sla_minutes-error")).to_have_text(
        "Input should be greater than or equal to 1"
    )
    assert "recovery_sla_minutes-error" in (field.get_attribute("aria-describedby") or "")
    expect(page.locator("#reward_catalogue-0-currency-error")).to_contain_text("ISO 4217")
    # What was typed stays in the form, to be corrected.
    expect(page.locator("#name")).to_have_value("Renamed")
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json() == before

    # A negative threshold out of range, sent without the browser's select, is refused the same way.
    with session(tenant, admin) as c:
        form = {"csrf_token": token(c), "name": before["name"], "negative_threshold": "9"}
        r = c.post(path, data=form)
        assert r.status_code == 422
        assert 'id="negative_threshold-error">Input should be less than or equal to 4<' in r.text
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json() == before

    # Rewards in two currencies are refused: a statement adds them up in one.
    page.goto(f"{tenant.server.url}{path}")
    page.locator("#rewards fieldset.row").first.get_by_label("Currency").fill("EUR")
    page.click("#save-account")
    expect(page.locator("#reward_catalogue-error")).to_contain_text("same currency")
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json() == before


def test_the_logo_is_uploaded_checked_and_removed_on_the_account_page(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    path = f"/admin/accounts/{floor.account_id}"
    media = f"/media/accounts/{floor.account_id}/logo"
    log_in(page, tenant.server.url, admin.email, path)
    expect(page.locator("#no-logo")).to_be_visible()
    page.get_by_label("Logo image").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": b"<svg onload=alert(1)>"}
    )
    page.click("#save-logo")
    expect(page.locator("#logo-error")).to_contain_text("Not a supported image")
    expect(page.locator("#error-summary")).to_be_focused()
    with tenant.client() as anonymous:
        assert anonymous.get(media).status_code == 404
        page.get_by_label("Logo image").set_input_files(
            {"name": "logo.png", "mimeType": "image/png", "buffer": tiny_png()}
        )
        page.click("#save-logo")
        page.wait_for_url(f"{tenant.server.url}{path}?saved=logo#logo-title")
        expect(page.locator("#saved-notice")).to_have_text("Logo saved.")
        shown = anonymous.get(media)
        assert shown.status_code == 200 and shown.content == tiny_png()
        expect(page.locator("#current-logo")).to_have_attribute("alt", re.compile("^Current logo of "))
        assert page.evaluate("document.getElementById('current-logo').naturalWidth") > 0
        page.get_by_role("button", name="Remove the logo").click()
        page.wait_for_url(f"{tenant.server.url}{path}?saved=logo#logo-title")
        expect(page.locator("#no-logo")).to_be_visible()
        assert anonymous.get(media).status_code == 404


def test_alert_rules_are_edited_on_the_account_page(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    path = f"/admin/accounts/{floor.account_id}"
    log_in(page, tenant.server.url, admin.email, path)
    page.get_by_label("Ratings of 3 or less in a row").fill("5")
    page.locator("#alert_rules-great_moment-enabled").uncheck()
    page.click("#save-alerts")
    page.wait_for_url(f"{tenant.server.url}{path}?saved=alerts#alerts-title")
    expect(page.locator("#saved-notice")).to_have_text("Alert rules saved.")
    expect(page.get_by_label("Ratings of 3 or less in a row")).to_have_value("5")
    rules = tenant.api.get(f"/api/v1/accounts/{floor.account_id}/alert-rules").json()["alert_rules"]
    assert rules["low_streak"] == {"enabled": True, "count": 5}
    assert rules["great_moment"] == {"enabled": False}

    page.get_by_label("Within (days)").fill("91")
    page.click("#save-alerts")
    expect(page.locator("#alert_rules-recurring_area-days-error")).to_have_text(
        "Input should be less than or equal to 90"
    )
    expect(page.locator("#error-summary")).to_be_focused()
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}/alert-rules").json()["alert_rules"] == rules
    with db.session() as s:
        audited = s.exec(select(AuditLog).where(AuditLog.action == "account.alert_rules_updated")).all()
    assert [e.target for e in audited if e.org_id == tenant.org_id] == [f"account:{floor.account_id}"]


def test_a_team_leader_manages_displays_of_their_own_team(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    sibling = other_team(db, floor)
    leader = make_user(db, tenant.org_id, Role.team_leader, team_ids=[floor.team_id])
    base = tenant.server.url
    log_in(page, base, leader.email, "/admin/displays")
    board = page.locator("#board")
    expect(board.locator("option")).to_have_count(2)  # "Choose…" and the leader's own team
    expect(board.locator("optgroup[label='Account boards']")).to_have_count(0)
    page.fill("#name", "Floor <TV>")
    board.select_option(f"team:{floor.team_id}")
    page.get_by_role("button", name="Create display").click()
    page.wait_for_url(re.compile(r".*/admin/displays\?created=\d+$"))
    url = page.locator("#display-url").inner_text()
    display_id = int(page.url.rsplit("=", 1)[1])
    assert f"/wallboard/display/{display_id}?token=" in url
    listed = tenant.api.get("/api/v1/displays").json()["items"]
    assert [(d["id"], d["name"], d["target_id"]) for d in listed] == [
        (display_id, "Floor <TV>", floor.team_id)
    ]
    row = page.locator(f"#display-{display_id}")
    expect(row.locator(".display-name")).to_have_text("Floor <TV>")
    row.locator("summary").click()
    row.get_by_role("button", name="Revoke Floor <TV>").click()
    page.wait_for_url(f"{base}/admin/displays?revoked=1")
    expect(page.locator("#revoked-notice")).to_be_visible()
    expect(page.locator("#no-displays")).to_be_visible()
    assert tenant.api.get("/api/v1/displays").json()["items"] == []

    # Another team (of the same account, and of another account) is refused on the page and the API.
    theirs = tenant.api.post(
        "/api/v1/displays", json={"name": "Theirs", "scope": "team", "target_id": sibling}
    )
    assert theirs.status_code == 201
    with session(tenant, leader) as c:
        for target in (sibling, floor.other_team_id):
            refused = c.post(
                "/admin/displays", data={"csrf_token": token(c), "name": "X", "board": f"team:{target}"}
            )
            assert refused.status_code == 403 and "outside your scope" in refused.text
            api = c.post(
                "/api/v1/displays",
                json={"name": "X", "scope": "team", "target_id": target},
                headers={"X-CSRF-Token": token(c)},
            )
            assert api.status_code == 422 and "target_id" in api.json()["error"]["fields"]
        account = c.post(
            "/api/v1/displays",
            json={"name": "X", "scope": "account", "target_id": floor.account_id},
            headers={"X-CSRF-Token": token(c)},
        )
        assert account.status_code == 422 and "scope" in account.json()["error"]["fields"]
        gone = c.post(f"/admin/displays/{theirs.json()['id']}/revoke", data={"csrf_token": token(c)})
        assert gone.status_code == 404
        api_gone = c.delete(f"/api/v1/displays/{theirs.json()['id']}", headers={"X-CSRF-Token": token(c)})
        assert api_gone.status_code == 404
        assert c.get("/api/v1/displays").json()["items"] == []
    assert [d["id"] for d in tenant.api.get("/api/v1/displays").json()["items"]] == [theirs.json()["id"]]


def test_an_api_key_is_shown_once_copied_used_and_revoked(
    tenant: Tenant, db: Database, browser_context: BrowserContext
) -> None:
    floor = make_floor(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    base = tenant.server.url
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = browser_context.new_page()
    log_in(page, base, admin.email, "/admin/api-keys")
    page.fill("#name", "Zendesk <sync>")
    page.get_by_label("Read feedback, dashboards and settings").check()
    page.get_by_label("Follow live updates").check()
    with db.session() as s:
        account = s.get(Account, floor.account_id)
        assert account is not None
        name = account.name
    page.get_by_label(name, exact=True).check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("ssk_")
    page.get_by_role("button", name="Copy the key").click()
    expect(page.locator("#new-key-copied")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key

    with tenant.client(key) as api:
        assert api.get("/api/v1/accounts").json()["items"][0]["id"] == floor.account_id
        assert api.get(f"/api/v1/accounts/{floor.other_account_id}").status_code == 404
    listed = [k for k in tenant.api.get("/api/v1/api-keys").json()["items"] if k["name"] == "Zendesk <sync>"]
    assert len(listed) == 1 and listed[0]["scopes"] == ["read", "streams"]
    assert listed[0]["account_ids"] == [floor.account_id]

    # Shown once: the page reloaded does not hold it.
    page.goto(f"{base}/admin/api-keys")
    assert key not in page.content()
    row = page.locator(f"#key-{listed[0]['id']}")
    expect(row.locator(".key-name")).to_have_text("Zendesk <sync>")
    row.locator("summary").click()
    row.get_by_role("button", name="Revoke Zendesk <sync>").click()
    page.wait_for_url(f"{base}/admin/api-keys?revoked=1")
    expect(row.locator(".key-status")).to_contain_text("Revoked")
    with tenant.client(key) as api:
        assert wait_until(lambda: api.get("/api/v1/accounts").status_code == 401)

    # No permission ticked: the field says so and no key is made.
    page.fill("#name", "Nothing")
    for box in page.locator("#scopes input").all():
        box.uncheck()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#scopes-error")).to_contain_text("at least 1")
    assert not [k for k in tenant.api.get("/api/v1/api-keys").json()["items"] if k["name"] == "Nothing"]


def test_every_admin_form_needs_its_csrf_token(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    admin = make_user(db, tenant.org_id, Role.admin)
    display = tenant.api.post(
        "/api/v1/displays", json={"name": "TV", "scope": "team", "target_id": floor.team_id}
    )
    key = tenant.api.post("/api/v1/api-keys", json={"name": "k", "scopes": ["read"]}).json()
    before = tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json()
    rules = tenant.api.get(f"/api/v1/accounts/{floor.account_id}/alert-rules").json()
    posts = {
        "/admin/accounts": {"name": "Forged account"},
        f"/admin/accounts/{floor.account_id}": {"name": "Forged name"},
        f"/admin/accounts/{floor.account_id}/alerts": {"alert_rules-low_streak-count": "9"},
        f"/admin/accounts/{floor.account_id}/logo": {"remove": "1"},
        "/admin/displays": {"name": "Forged", "board": f"team:{floor.team_id}"},
        f"/admin/displays/{display.json()['id']}/revoke": {},
        "/admin/api-keys": {"name": "Forged", "scopes": "read"},
        f"/admin/api-keys/{key['id']}/revoke": {},
    }
    with session(tenant, admin) as c:
        for path, form in posts.items():
            for forged in ({}, {"csrf_token": "forged"}):
                r = c.post(path, data={**form, **forged})
                assert r.status_code == 403 and "The form expired" in r.text, path
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}").json() == before
    assert tenant.api.get(f"/api/v1/accounts/{floor.account_id}/alert-rules").json() == rules
    names = [a["name"] for a in tenant.api.get("/api/v1/accounts").json()["items"]]
    assert "Forged account" not in names
    assert [d["id"] for d in tenant.api.get("/api/v1/displays").json()["items"]] == [display.json()["id"]]
    assert tenant.api.get(f"/api/v1/api-keys/{key['id']}").json()["revoked_at"] is None
    assert not [k for k in tenant.api.get("/api/v1/api-keys").json()["items"] if k["name"] == "Forged"]


def test_codes_are_made_from_labels() -> None:
    assert slug("Free coffee!") == "free_coffee"
    assert slug("Café crème") == "cafe_creme"
    assert slug("¡¡!!") == "item"
    assert len(slug("x" * 100)) == 40
    taken = {"lunch"}
    assert [unique_code("lunch", taken), unique_code("lunch", taken)] == ["lunch_2", "lunch_3"]
    assert unique_code("y" * 40, {"y" * 40}) == "y" * 38 + "_2"
