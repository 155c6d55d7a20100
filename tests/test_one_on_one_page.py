"""The 1:1 sheet (/agents/{id}/one-on-one) in a real browser: the agent's header, blended score,
trend, best and worst responses (customer text kept as text, hidden comments kept hidden), areas,
QA, notes and shout-outs of the period; the print stylesheet; and who may open it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import Account, Response, Role, User
from tests.coaching_support import user_client
from tests.conftest import Tenant
from tests.streaming import Floor, make_floor, make_user, store_response
from tests.test_qa_api import make_card

PASSWORD = "correct horse battery"
HOSTILE = "<script>window.__pwned = 1</script><b>great</b>"
HIDDEN = "a rude remark about the customer's mother"


def respond(
    db: Database, floor: Floor, rating: int, comment: str = "", hidden: bool = False, **extra: object
) -> int:
    rid = store_response(
        db,
        datetime.now(UTC) - timedelta(minutes=5),
        org_id=floor.org_id,
        account_id=floor.account_id,
        team_id=floor.team_id,
        agent_id=floor.agent_ids[0],
        rating=rating,
        **extra,  # type: ignore[arg-type]
    )
    with db.session() as s:
        row = s.get(Response, rid)
        assert row is not None
        row.comment = comment
        row.comment_hidden = hidden
        s.add(row)
    return rid


def seed(tenant: Tenant, db: Database, floor: Floor, leader: User) -> None:
    best = respond(db, floor, 5, HOSTILE)
    respond(db, floor, 4, "Helpful")
    respond(db, floor, 3, areas=["speed", "knowledge"])
    respond(db, floor, 2, "Slow", areas=["speed"])
    worst = respond(db, floor, 1, HIDDEN, hidden=True)
    with db.session() as s:
        account = s.get(Account, floor.account_id)
        assert account is not None
        account.scorecard_weights = {"rating": 80, "csat": 0, "nps": 0, "fcr": 0, "qa": 20}
        account.scorecard_min_responses = 5
        s.add(account)
        interaction = s.get(Response, best)
        assert interaction is not None
        interaction_id = interaction.interaction_id
    card = make_card(tenant, floor)
    with user_client(tenant, leader) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={
                "interaction_id": interaction_id,
                "template_id": card["id"],
                "answers": {"c1": "yes", "c2": "yes", "c3": 5},
            },
        )
        assert r.status_code == 201, r.text
        for text, shared in (("Talk about pacing", True), ("Private: watch the escalations", False)):
            r = c.post(
                "/api/v1/coaching-notes",
                json={"agent_id": floor.agent_ids[0], "text": text, "shared": shared},
            )
            assert r.status_code == 201, r.text
        r = c.post(
            "/api/v1/shoutouts",
            json={"agent_id": floor.agent_ids[0], "message": "Saved the day", "response_id": worst},
        )
        assert r.status_code == 201, r.text


def log_in(page: Page, base: str, email: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def test_a_leader_opens_and_prints_the_sheet(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    seed(tenant, db, floor, leader)
    base = tenant.server.url
    target = f"/agents/{floor.agent_ids[0]}/one-on-one?period=30d"
    log_in(page, base, leader.email, target)
    expect(page.locator("#sheet-agent")).to_have_text("Agent 0")
    expect(page.locator("#sheet-team")).to_have_text("Team A")
    expect(page.locator("#sheet-period")).to_contain_text("Last 30 days")
    # Ratings 5, 4, 3, 2, 1 -> 50; QA 100 (all yes, 5 of 5): 0.8 * 50 + 0.2 * 100 = 60.
    expect(page.locator("#blended-score")).to_contain_text("60.0")
    expect(page.locator("#blended-components tbody tr")).to_have_count(5)
    expect(page.locator("#blended-components")).to_contain_text("Customer rating")
    expect(page.locator("#trend-table tbody tr")).to_have_count(1)
    best = page.locator("#best-responses .sheet-response").first
    expect(best.locator(".sheet-comment")).to_have_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    worst = page.locator("#worst-responses .sheet-response").first
    expect(worst).to_contain_text("Comment hidden by a moderator.")
    expect(page.locator("#worst-responses")).not_to_contain_text(HIDDEN)
    expect(page.locator("#areas-table tbody tr").first).to_contain_text("Speed of response")
    expect(page.locator("#areas-table tbody tr").first).to_contain_text("2")
    expect(page.locator("#qa-table tbody tr")).to_have_count(1)
    expect(page.locator("#qa-table")).to_contain_text("Chat quality")
    expect(page.locator("#qa-table")).to_contain_text("Awaiting the agent")
    expect(page.locator("#notes-list li")).to_have_count(2)
    expect(page.locator("#shoutouts-list")).to_contain_text("Saved the day")
    expect(page.locator("#print-sheet")).to_be_visible()
    expect(page.locator("header.topbar")).to_be_visible()

    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("#period-form")).to_be_hidden()
    expect(page.locator("#print-sheet")).to_be_hidden()
    expect(page.locator("#blended-score")).to_be_visible()
    page.emulate_media(media="screen")

    # The period picker is a plain form: last month has none of this.
    page.select_option("#period", "last_month")
    page.locator("#period-form button[type=submit]").click()
    page.wait_for_url(f"{base}/agents/{floor.agent_ids[0]}/one-on-one?period=last_month&from_date=&to_date=")
    expect(page.locator("#blended-score")).to_contain_text("Not enough responses")
    expect(page.locator("#trend-empty")).to_be_visible()


def test_the_agent_sees_their_own_sheet_with_shared_notes_only(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    seed(tenant, db, floor, leader)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    base = tenant.server.url
    log_in(page, base, agent.email, f"/agents/{floor.agent_ids[0]}/one-on-one")
    expect(page.locator("#sheet-period")).to_contain_text("This month")
    expect(page.locator("#notes-list li")).to_have_count(1)
    expect(page.locator("#notes-list")).to_contain_text("Talk about pacing")
    expect(page.locator("#notes-list")).not_to_contain_text("escalations")
    expect(page.locator("#worst-responses")).not_to_contain_text(HIDDEN)


def test_who_may_open_a_sheet(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    mine, colleague = floor.agent_ids
    path = f"/agents/{mine}/one-on-one"
    people = {
        "leader": make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id]),
        "other_leader": make_user(
            db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.other_team_id]
        ),
        "manager": make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id]),
        "other_manager": make_user(
            db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.other_account_id]
        ),
        "admin": make_user(db, tenant.org_id, Role.admin, PASSWORD),
        "agent": make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=mine),
        "colleague": make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=colleague),
        "client": make_user(db, tenant.org_id, Role.client_viewer, PASSWORD, account_ids=[floor.account_id]),
        "recovery": make_user(db, tenant.org_id, Role.recovery, PASSWORD, account_ids=[floor.account_id]),
    }
    expected = {
        "leader": 200,
        "other_leader": 404,
        "manager": 200,
        "other_manager": 404,
        "admin": 200,
        "agent": 200,
        "colleague": 404,
        "client": 403,
        "recovery": 403,
    }
    for who, user in people.items():
        with user_client(tenant, user) as c:
            assert c.get(path).status_code == expected[who], who
    with user_client(tenant, people["admin"]) as c:
        assert c.get(f"/agents/{floor.other_agent_id}/one-on-one").status_code == 200
        assert c.get("/agents/999999999/one-on-one").status_code == 404
        r = c.get(path, params={"period": "custom", "from_date": "2026-02-10", "to_date": "2026-02-01"})
        assert r.status_code == 422 and "must not be before from_date" in r.text
        assert c.get(path, params={"period": "fortnight"}).status_code == 422
        assert c.get(path, params={"period": "custom", "from_date": "1900-01-01"}).status_code == 422
        r = c.get(path, params={"period": "custom", "from_date": "2026-01-01", "to_date": "2026-01-31"})
        assert r.status_code == 200 and "01 Jan 2026 \u2013 31 Jan 2026" in r.text
    r = tenant.api.get(path, follow_redirects=False)
    assert r.status_code == 303


def test_the_dashboard_agent_table_shows_the_blended_score_and_links_the_sheet(
    tenant: Tenant, db: Database, page: Page
) -> None:
    from tests.dashboard_support import PASSWORD as SITE_PASSWORD
    from tests.dashboard_support import ingest_key, make_site, post_feedback

    site = make_site(db, tenant.org_id)
    with db.session() as s:
        account = s.get(Account, site.account_id)
        assert account is not None
        account.scorecard_min_responses = 2
        s.add(account)
    with tenant.client(ingest_key(db, tenant.org_id)) as api:
        for rating in (5, 4):
            post_feedback(api, site.account_id, site.agent_ids[0], rating=rating)
        post_feedback(api, site.account_id, site.agent_ids[2], rating=3)
    manager = make_user(db, tenant.org_id, Role.manager, SITE_PASSWORD, account_ids=[site.account_id])
    base = tenant.server.url
    page.goto(f"{base}/login?next=/dashboard")
    page.fill("#email", manager.email)
    page.fill("#password", SITE_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    maya = page.locator(f'#table-agent tbody tr[data-id="{site.agent_ids[0]}"]')
    lena = page.locator(f'#table-agent tbody tr[data-id="{site.agent_ids[2]}"]')
    # Ratings 5 and 4: average 4.5 -> 87.5 of 100; one response is below the minimum of 2.
    expect(maya.locator(".blended")).to_have_text("87.5")
    expect(lena.locator(".blended")).to_have_text("\u2013")
    expect(lena.locator(".blended")).to_have_attribute("title", "Not enough responses")
    expect(page.locator("#table-team tbody tr").first.locator(".blended")).to_have_count(0)
    maya.get_by_role("link", name="1:1 sheet of Maya Chen").click()
    page.wait_for_url(f"{base}/agents/{site.agent_ids[0]}/one-on-one?period=30d")
    expect(page.locator("#blended-score")).to_contain_text("87.5")
