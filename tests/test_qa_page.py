"""The /qa review page in a real browser: the form beside the interaction's feedback, CSRF,
customer text kept as text, calibration; and the form's refusals over plain HTTP."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from streamsrv.db import Database
from streamsrv.models import QaEvaluation, Response, Role
from tests.coaching_support import user_client
from tests.conftest import Tenant
from tests.streaming import Floor, make_floor, make_user
from tests.test_qa_api import count, interaction_of, make_card

PASSWORD = "correct horse battery"
HOSTILE = "<script>window.__pwned = 1</script><b>rude</b>"


def with_comment(db: Database, interaction_id: int, comment: str) -> None:
    with db.session() as s:
        from sqlmodel import select

        response = s.exec(select(Response).where(Response.interaction_id == interaction_id)).one()
        response.comment = comment
        s.add(response)


def test_a_leader_scores_an_interaction_on_the_page(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    ix = interaction_of(db, floor)
    with_comment(db, ix, HOSTILE)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    base = tenant.server.url
    page.goto(f"{base}/login?next=/qa")
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/qa")
    page.select_option("#qa-interaction", str(ix))
    page.click(".qa-pick button[type=submit]")
    page.wait_for_url(f"{base}/qa?interaction_id={ix}")
    expect(page.locator("#qa-feedback .qa-comment")).to_have_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    form = page.locator(f"#qa-card-{card['id']}")
    form.get_by_role("group", name="Greeting").get_by_label("No").check()
    form.get_by_role("group", name="Verified identity (auto-fail)").get_by_label("Yes").check()
    form.get_by_role("group", name="Solved it").get_by_label("5").check()
    form.get_by_label("Comment").fill("Missed the greeting")
    form.get_by_role("button", name="Save evaluation").click()
    page.wait_for_url(re.compile(rf".*/qa\?interaction_id={ix}&saved=\d+$"))
    expect(page.locator("#qa-saved")).to_be_visible()
    expect(page.locator("#qa-calibration tbody tr")).to_have_count(1)
    expect(page.locator("#qa-spread")).to_contain_text("mean 87.5")
    with db.session() as s:
        from sqlmodel import select

        [row] = s.exec(select(QaEvaluation).where(QaEvaluation.interaction_id == ix)).all()
    assert row.score == 87.5 and row.comment == "Missed the greeting"


def test_the_form_refuses_without_storing(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    card = make_card(tenant, floor)
    mine = interaction_of(db, floor)
    theirs = interaction_of(db, floor, other=True)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    before = count(db, QaEvaluation)
    with user_client(tenant, leader) as c:
        token = c.headers["X-CSRF-Token"]  # the same value as its CSRF cookie
        form = {"interaction_id": str(mine), "template_id": str(card["id"]), "answer_c1": "yes"}
        r = c.post("/qa", data={**form, "csrf_token": "forged"})
        assert r.status_code == 403
        r = c.post("/qa", data={**form, "csrf_token": token})
        assert r.status_code == 422 and "answers.c2" in r.text
        assert 'value="yes" required checked' in r.text  # the answers given are kept
        r = c.post("/qa", data={**form, "interaction_id": str(theirs), "csrf_token": token})
        assert r.status_code == 404
        assert c.get(f"/qa?interaction_id={theirs}").status_code == 404
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    with user_client(tenant, agent) as c:
        assert c.get("/qa").status_code == 403
    assert count(db, QaEvaluation) == before


def evaluated(tenant: Tenant, db: Database, floor: Floor, agent: int = 0) -> tuple[int, int]:
    """An evaluation (id, interaction) of the floor's agent by its team leader, through the API."""
    card = make_card(tenant, floor)
    ix = interaction_of(db, floor, agent=agent)
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    with user_client(tenant, leader) as c:
        r = c.post(
            "/api/v1/qa-evaluations",
            json={
                "interaction_id": ix,
                "template_id": card["id"],
                "answers": {"c1": "yes", "c2": "yes", "c3": 3},
                "comment": HOSTILE,
            },
        )
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), ix


def test_an_agent_disputes_a_review_on_the_page(tenant: Tenant, db: Database, page: Page) -> None:
    floor = make_floor(db, tenant.org_id)
    evaluation_id, ix = evaluated(tenant, db, floor)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    base = tenant.server.url
    page.goto(f"{base}/login?next=/qa/mine")
    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/qa/mine")
    card = page.locator(f"#evaluation-{evaluation_id}")
    expect(card.get_by_role("heading")).to_have_text("Chat quality: 62.5 of 100")
    expect(card.locator(".qa-review-comment")).to_have_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    expect(card.locator("tbody tr")).to_have_count(3)
    card.get_by_role("button", name="Dispute").click()
    expect(page.locator("#qa-error")).to_have_text("a dispute needs a comment saying why")
    card = page.locator(f"#evaluation-{evaluation_id}")
    card.get_by_label("Your comment (needed to dispute)").fill("The customer hung up")
    card.get_by_role("button", name="Dispute").click()
    page.wait_for_url(f"{base}/qa/mine?answered={evaluation_id}")
    expect(page.locator("#qa-answered")).to_be_visible()
    expect(page.locator(f"#evaluation-{evaluation_id} .qa-status")).to_have_text(
        "You disputed this review: The customer hung up"
    )
    expect(page.locator(f"#evaluation-{evaluation_id} form")).to_have_count(0)
    with db.session() as s:
        row = s.get(QaEvaluation, evaluation_id)
        assert row is not None and row.agent_status == "disputed" and row.interaction_id == ix


def test_the_reply_form_is_the_agents_own_and_answered_once(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    evaluation_id, _ = evaluated(tenant, db, floor)
    other_id, _ = evaluated(tenant, db, floor, agent=1)
    agent = make_user(db, tenant.org_id, Role.agent, PASSWORD, agent_id=floor.agent_ids[0])
    url = f"/qa/mine/{evaluation_id}/reply"
    with user_client(tenant, agent) as c:
        token = c.headers["X-CSRF-Token"]
        assert c.post(url, data={"action": "acknowledge", "csrf_token": "forged"}).status_code == 403
        r = c.post(f"/qa/mine/{other_id}/reply", data={"action": "acknowledge", "csrf_token": token})
        assert r.status_code == 404
        assert c.post(url, data={"action": "acknowledge", "csrf_token": token}).status_code == 303
        r = c.post(url, data={"action": "dispute", "comment": "late", "csrf_token": token})
        assert r.status_code == 409 and "already acknowledged" in r.text
    leader = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    with user_client(tenant, leader) as c:
        assert c.get("/qa/mine").status_code == 403
        token = c.headers["X-CSRF-Token"]
        r = c.post(f"/qa/mine/{other_id}/reply", data={"action": "acknowledge", "csrf_token": token})
        assert r.status_code == 403
    with db.session() as s:
        row = s.get(QaEvaluation, other_id)
        assert row is not None and row.agent_status == "pending"
