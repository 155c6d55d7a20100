"""docs/screenshots/me.png: Maya Chen's personal stream (1280x800) with live cards arriving,
plus /tmp/me-phone.png at phone width for a visual check.

    .venv/bin/python scripts/screenshots/me.py
"""

from __future__ import annotations

from _boards_stage import SHOTS, stage
from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from streamsrv.models import Agent, CoachingNote, Shoutout, User
from tests.browser import CHROMIUM, CHROMIUM_ARGS


def add_recognition(st: object) -> int:
    """A shout-out and a shared note from Maya's team leader, as the coaching panel would post."""
    from _boards_stage import Stage

    assert isinstance(st, Stage)
    with st.db.session() as s:
        maya = s.exec(select(Agent).where(Agent.org_id == st.org_id, Agent.name == "Maya Chen")).one()
        lead = s.exec(select(User).where(User.org_id == st.org_id, User.role == "team_leader")).one()
        assert maya.id is not None and lead.id is not None
        s.add(
            Shoutout(
                org_id=st.org_id,
                account_id=maya.account_id,
                team_id=maya.team_id,
                agent_id=maya.id,
                author_id=lead.id,
                message="Three customers in a row mentioned how calm and clear you were. Thank you, Maya!",
            )
        )
        s.add(
            CoachingNote(
                org_id=st.org_id,
                agent_id=maya.id,
                author_id=lead.id,
                text="Great port-in walkthroughs this week. Try offering the SMS summary at the end of long calls.",
                shared=True,
            )
        )
        return maya.id


def main() -> None:
    with stage() as st:
        maya_id = add_recognition(st)
        email, password = st.logins["agent"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{st.server.url}/login?next=/me")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{st.server.url}/me")
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
            import httpx

            with httpx.Client(
                base_url=st.server.url, headers={"Authorization": f"Bearer {st.ingest_key}"}, timeout=10
            ) as api:
                with st.db.session() as s:
                    agent = s.get(Agent, maya_id)
                    assert agent is not None
                    account_id = agent.account_id
                api.post(
                    "/api/v1/feedback",
                    json={
                        "account_id": account_id,
                        "agent_id": maya_id,
                        "channel": "chat",
                        "external_id": "shot-live-1",
                        "rating": 5,
                        "comment": "Maya moved my number over in ten minutes and explained every step. Brilliant!",
                        "reward": "coffee",
                    },
                ).raise_for_status()
            page.wait_for_timeout(600)
            page.screenshot(path=str(SHOTS / "me.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            page.screenshot(path="/tmp/me-phone.png", full_page=True)
            browser.close()


if __name__ == "__main__":
    main()
