"""docs/screenshots/dashboard.png: the manager dashboard (1280x800) over the demo's month of history
plus today's traffic, with a response arriving live; also /tmp/dashboard-full.png (whole page)
and /tmp/dashboard-phone.png (phone width) for a visual check.

    .venv/bin/python scripts/screenshots/dashboard.py
"""

from __future__ import annotations

import httpx
from _boards_stage import SHOTS, stage
from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from streamsrv.models import Agent
from tests.browser import CHROMIUM, CHROMIUM_ARGS


def main() -> None:
    with stage() as st:
        email, password = st.logins["manager"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{st.server.url}/login?next=/dashboard")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{st.server.url}/dashboard")
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
            with st.db.session() as s:
                maya = s.exec(select(Agent).where(Agent.org_id == st.org_id, Agent.name == "Maya Chen")).one()
                account_id, agent_id = maya.account_id, maya.id
            with httpx.Client(
                base_url=st.server.url, headers={"Authorization": f"Bearer {st.ingest_key}"}, timeout=10
            ) as api:
                api.post(
                    "/api/v1/feedback",
                    json={
                        "account_id": account_id,
                        "agent_id": agent_id,
                        "channel": "phone",
                        "external_id": "shot-dashboard-1",
                        "rating": 5,
                        "comment": "Sorted my roaming bill in one call and followed up by text. Superb service.",
                        "reward": "coffee",
                    },
                ).raise_for_status()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "dashboard.png"))
            page.screenshot(path="/tmp/dashboard-full.png", full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            page.screenshot(path="/tmp/dashboard-phone.png", full_page=True)
            browser.close()


if __name__ == "__main__":
    main()
