"""The coaching panel in a real browser: alerts arrive live, acknowledgements spread, text stays text."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from streamsrv.db import Database
from streamsrv.models import Role
from tests.browser import new_context
from tests.coaching_support import Ingest, alerts_of, events_of, seed_alerts
from tests.conftest import Tenant
from tests.matrix_support import tiny_png
from tests.streaming import make_floor, make_user
from tests.support import TIMEOUT, wait_until

PASSWORD = "correct horse battery"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/coach")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/coach")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)


def test_negative_response_raises_alert_live_as_text(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    log_in(page, tenant.server.url, leader.email)
    expect(page.locator("#alerts-empty")).to_be_visible()
    with Ingest(tenant, db, floor) as ingest:
        hostile = ingest.send(1, comment=HOSTILE)
        # Another team's trouble stays off this panel.
        other = ingest.client.post(
            "/api/v1/feedback",
            json={
                "account_id": floor.other_account_id,
                "agent_id": floor.other_agent_id,
                "channel": "chat",
                "external_id": "elsewhere",
                "rating": 1,
                "comment": "other team",
            },
        )
        assert other.status_code == 201, other.text
        # The sentinel, posted once the other team's response (and its alert, same transaction)
        # is committed: its outbox rows come later, the relay publishes in outbox order, the node
        # reads every stream over one Redis pub/sub connection (publish order across channels)
        # and writes to the page's one socket in that order, and coach.js renders each frame as
        # it comes. So once the sentinel is shown, the other team's card or alert would be too,
        # had the page been sent them.
        ingest.send(5, agent=1, comment="sentinel")
    expect(page.locator("#feed .feed-card").first.locator(".comment")).to_have_text(
        "sentinel", timeout=TIMEOUT * 1000
    )
    alert = page.locator("#alerts .alert-card").first
    expect(alert).to_have_class("alert-card sev-high rule-negative_rating arrived")
    expect(alert.locator(".alert-agent")).to_have_text("Agent 0")
    expect(alert.locator(".quote-text")).to_have_text(HOSTILE)
    card = page.locator(f'#feed .feed-card[data-response-id="{hostile["id"]}"]')
    expect(card.locator(".comment")).to_have_text(HOSTILE)
    expect(page.locator("#kpi-neg")).to_have_text("1")
    expect(page.locator("#kpi-open")).to_have_text("1")
    expect(page.locator(".agent-row").first.locator(".agent-today")).to_contain_text("1 today")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".coach b, .coach img").count() == 0
    assert "other team" not in page.locator(".coach").inner_text()


def test_acknowledging_updates_another_browser_live(tenant: Tenant, db: Database, browser: Browser) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    manager = make_user(db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id])
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(2, comment="slow")
    [row] = alerts_of(db, tenant.org_id, "negative_rating")
    one, two = new_context(browser), new_context(browser)
    try:
        first, second = one.new_page(), two.new_page()
        log_in(first, tenant.server.url, leader.email)
        log_in(second, tenant.server.url, manager.email)
        selector = f'#alerts .alert-card[data-alert-id="{row.id}"]'
        expect(second.locator(selector)).to_be_visible()
        first.locator(f"{selector} .ack-btn").click()
        expect(first.locator(f'#acked [data-alert-id="{row.id}"] .ack-state')).to_contain_text(
            "Acknowledged by team_leader"
        )
        # The other browser sees it move to "recently acknowledged" without reloading.
        done = second.locator(f'#acked [data-alert-id="{row.id}"]')
        expect(done).to_have_count(1, timeout=TIMEOUT * 1000)
        expect(done.locator(".ack-state")).to_contain_text("team_leader")
        expect(second.locator(selector)).to_have_count(0)
        expect(second.locator("#kpi-open")).to_have_text("0")
        expect(second.locator("#alerts-empty")).to_be_visible()
    finally:
        one.close()
        two.close()


def test_note_and_shoutout_from_a_feedback_card(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    with Ingest(tenant, db, floor) as ingest:
        response = ingest.send(5, comment="Brilliant help")
    log_in(page, tenant.server.url, leader.email)
    card = page.locator(f'#feed .feed-card[data-response-id="{response["id"]}"]')
    card.locator(".note-btn").click()
    page.fill("#dialog-text", "Great empathy <i>here</i>")
    page.check("#dialog-shared")
    page.click("#dialog-submit")
    expect(page.locator("#toast")).to_have_text("Coaching note saved")
    card.locator(".shout-btn").click()
    expect(page.locator("#shared-row")).to_be_hidden()
    page.fill("#dialog-text", "Thank you for going the extra mile!")
    page.click("#dialog-submit")
    expect(page.locator("#toast")).to_contain_text("Shout-out")
    # Shout-outs are great moments: listed under them, live.
    expect(page.locator("#shoutout-list .so-text")).to_have_text(
        ["Thank you for going the extra mile!"], timeout=TIMEOUT * 1000
    )
    wait_until(lambda: len(events_of(db, tenant.org_id, "shoutout.posted")) == 1)
    [note] = events_of(db, tenant.org_id, "coaching.note")
    assert note.payload["text"] == "Great empathy <i>here</i>" and note.payload["shared"] is True
    assert note.payload["response_id"] == response["id"]


def test_coach_page_requires_a_coaching_role(tenant: Tenant, db: Database, page: Page) -> None:
    page.goto(f"{tenant.server.url}/coach")
    assert "/login" in page.url
    floor = make_floor(db, tenant.org_id)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    page.goto(f"{tenant.server.url}/login?next=/coach")
    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".status-code")).to_have_text("403")


def test_team_picker_switches_teams(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    manager = make_user(
        db, tenant.org_id, Role.manager, PASSWORD, account_ids=[floor.account_id, floor.other_account_id]
    )
    log_in(page, tenant.server.url, manager.email)
    expect(page.locator("#team-picker option")).to_have_count(2)
    expect(page.locator("#team-sub")).to_contain_text("Team A")
    page.select_option("#team-picker", str(floor.other_team_id))
    page.wait_for_url(f"**/coach?team_id={floor.other_team_id}")
    expect(page.locator("#team-sub")).to_contain_text("Team B")
    expect(page.locator(".agent-row .agent-name")).to_have_text(["Other agent"])
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def test_open_alerts_tile_counts_every_open_alert_and_the_list_loads_more(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    seed_alerts(db, floor, "negative_rating", 74)
    log_in(page, tenant.server.url, leader.email)
    expect(page.locator("#kpi-open")).to_have_text("74")
    expect(page.locator("#alerts .alert-card")).to_have_count(50)
    expect(page.locator("#alerts-showing-text")).to_have_text("Showing 50 of 74 open alerts")
    page.click("#alerts-more")
    expect(page.locator("#alerts .alert-card")).to_have_count(74)
    expect(page.locator("#alerts-showing-text")).to_have_text("Showing 74 of 74 open alerts")
    expect(page.locator("#alerts-more")).to_be_hidden()
    expect(page.locator("#kpi-open")).to_have_text("74")


def test_attention_and_great_moments_are_two_lists_filtered_live(
    tenant: Tenant, db: Database, page: Page
) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    [moment] = seed_alerts(db, floor, "great_moment", 1, agent=1)
    [streak] = seed_alerts(db, floor, "low_streak", 1, agent=1)
    log_in(page, tenant.server.url, leader.email)
    expect(page.locator("#alerts-title")).to_have_text("Needs attention")
    expect(page.locator("#moments-title")).to_have_text("Great moments")
    expect(page.locator(f'#moments .alert-card[data-alert-id="{moment}"]')).to_be_visible()
    expect(page.locator(f'#alerts .alert-card[data-alert-id="{streak}"]')).to_be_visible()
    expect(page.locator("#alerts .rule-great_moment, #moments .rule-low_streak")).to_have_count(0)
    # Filter: negative ratings about Agent 0 only (a plain GET form).
    page.select_option("#filter-kind", "negative_rating")
    page.select_option("#filter-agent", str(floor.agent_ids[0]))
    page.click("#alert-filter button[type=submit]")
    page.wait_for_url("**/coach?*kind=negative_rating*")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    expect(page.locator(".alert-card")).to_have_count(0)
    expect(page.locator("#kpi-open")).to_have_text("0")
    with Ingest(tenant, db, floor) as ingest:
        ingest.send(1, agent=1, comment="not for this filter")
        ingest.send(1, agent=0, comment="in the filter")
    expect(page.locator("#alerts .alert-card .quote-text")).to_have_text(
        ["in the filter"], timeout=TIMEOUT * 1000
    )
    # Agent 1's alert was published before Agent 0's: had the page kept it, it would show by now.
    expect(page.locator(".alert-card")).to_have_count(1)
    expect(page.locator("#kpi-open")).to_have_text("1")
    assert "not for this filter" not in page.locator(".alerts-panel").inner_text()


def test_acknowledge_selected_in_one_request(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    first, second, third = seed_alerts(db, floor, "negative_rating", 3)
    log_in(page, tenant.server.url, leader.email)
    expect(page.locator("#kpi-open")).to_have_text("3")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.check(f'.alert-card[data-alert-id="{first}"] .pick-box')
    page.check(f'.alert-card[data-alert-id="{third}"] .pick-box')
    page.click("#ack-selected")
    page.wait_for_url("**/coach?*acknowledged=2*")
    expect(page.locator("#ack-done")).to_have_text("2 acknowledged")
    expect(page.locator("#kpi-open")).to_have_text("1")
    expect(page.locator("#alerts .alert-card")).to_have_count(1)
    assert posts == [f"{tenant.server.url}/coach/acknowledge"]
    acked = {a.id: a.acknowledged_by for a in alerts_of(db, tenant.org_id)}
    assert acked == {first: leader.id, second: None, third: leader.id}
    assert len(events_of(db, tenant.org_id, "alert.acknowledged")) == 2


def test_roster_shows_photos_with_the_name_as_alt_text(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    uploaded = tenant.api.post(
        f"/api/v1/agents/{floor.agent_ids[0]}/photo",
        content=tiny_png(),
        headers={"Content-Type": "image/png"},
    )
    assert uploaded.status_code == 200, uploaded.text
    log_in(page, tenant.server.url, leader.email)
    photo = page.locator('.agent-row .avatar img[alt="Agent 0"]')
    expect(photo).to_be_visible()
    wait_until(lambda: photo.evaluate("img => img.complete && img.naturalWidth > 0"))
    # Without a photo: the initials, hidden from screen readers (the name follows them).
    other = page.locator(f'.agent-row[data-agent-id="{floor.agent_ids[1]}"] .avatar')
    expect(other).to_have_text("A1")
    expect(other).to_have_attribute("aria-hidden", "true")
