"""A customer answers a survey in a browser, and every surface that should see it does: the agent's
/me, the team leader's /coach (with an alert for a negative rating), the floor wallboard's
standings, and, for a negative rating, the /recovery queue, showing customer text only as text.

How fast ("within a second") is measured by scripts/latency.py (survey submit -> every surface's
stream, p50/p99 against the promise; figures in docs/benchmarks.md), not here: a wall-clock bound
in a test measures the machine the suite runs on, and flakes on a loaded one.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from streamsrv.db import Database
from streamsrv.models import Role
from tests.browser import new_context
from tests.conftest import Tenant
from tests.streaming import make_floor, make_key, make_user
from tests.support import TIMEOUT

PASSWORD = "correct horse battery"
WAIT = TIMEOUT * 1000
HOSTILE = "<script>window.__pwned = 1</script><b>rude</b> and slow"


def open_surface(browser: Browser, base: str, email: str | None, path: str) -> Page:
    page = new_context(browser).new_page()
    if email is not None:
        page.goto(f"{base}/login?next={path}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}{path}")
    else:
        page.goto(base + path)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
    return page


def test_one_survey_answer_reaches_every_surface(tenant: Tenant, db: Database, browser: Browser) -> None:
    floor = make_floor(db, tenant.org_id, agents=2)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    rescuer = make_user(db, tenant.org_id, Role.recovery, PASSWORD, account_ids=[floor.account_id])
    display = tenant.api.post(
        "/api/v1/displays", json={"name": "Floor TV", "scope": "team", "target_id": floor.team_id}
    )
    assert display.status_code == 201, display.text
    base = tenant.server.url
    tv_path = (
        display.json()["url"]
        .split("127.0.0.1:8000", 1)[-1]
        .replace(tenant.server.app.state.ctx.settings.public_url, "")
    )

    me = open_surface(browser, base, agent.email, "/me")
    coach = open_surface(browser, base, leader.email, "/coach")
    recovery = open_surface(browser, base, rescuer.email, "/recovery")
    tv = open_surface(browser, base, None, tv_path)

    with tenant.client(make_key(db, tenant.org_id, ["ingest"])) as api:
        created = api.post(
            "/api/v1/interactions",
            json={
                "account_id": floor.account_id,
                "agent_id": floor.agent_ids[0],
                "channel": "phone",
                "external_id": "e2e-1",
                "customer": {"email": "pat@example.com", "name": "Pat"},
            },
        )
    assert created.status_code == 201, created.text
    survey_url = created.json()["request"]["url"].replace(
        tenant.server.app.state.ctx.settings.public_url, base
    )

    customer = new_context(browser).new_page()
    customer.goto(survey_url)
    customer.locator("label[for=rating-1]").click()
    customer.fill("textarea[name=comment]", HOSTILE)
    customer.locator("button.submit").click()
    customer.wait_for_url("**/thanks")

    # Every surface updates live (no reload). The bound is the suite's generous TIMEOUT: speed is
    # scripts/latency.py's business.
    expect(me.locator(".feed-card .comment, .card .comment").first).to_have_text(HOSTILE, timeout=WAIT)
    expect(coach.locator("#alerts .alert-card").first).to_contain_class("rule-negative_rating", timeout=WAIT)
    expect(coach.locator("#alerts .alert-card .quote-text").first).to_have_text(HOSTILE, timeout=WAIT)
    expect(recovery.locator(".case .case-comment").first).to_have_text(HOSTILE, timeout=WAIT)
    # Agent 0 had no rating when the TV opened (listed as waiting, 0 of 5): the standings event
    # counts this one. It is also the one event that could have carried the comment to the TV.
    expect(tv.locator("#waiting li", has_text="Agent 0").locator(".waiting-count")).to_have_text(
        "1/5", timeout=WAIT
    )

    # Negative comments never reach the wallboard; customer text is never markup anywhere.
    assert "rude" not in tv.locator("body").inner_text()
    for page in (me, coach, recovery, tv):
        assert page.evaluate("window.__pwned") is None
        assert page.locator("b:text('rude')").count() == 0
