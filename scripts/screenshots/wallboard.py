"""docs/screenshots/wallboard.png: the team leaderboard on a TV (1920x1080, dark), opened through a
display URL with no login, while answers arrive.

    .venv/bin/python scripts/screenshots/wallboard.py
"""

from __future__ import annotations

import random

from _boards_stage import SHOTS, post_today, stage
from playwright.sync_api import expect, sync_playwright

from streamsrv.boards.displays import display_url
from streamsrv.models import Display
from tests.browser import CHROMIUM, CHROMIUM_ARGS


def main() -> None:
    with stage() as st:
        ctx = st.server.app.state.ctx
        with st.db.session() as s:
            display = Display(org_id=st.org_id, name="Floor 2 TV", scope="team", target_id=st.team_id)
            s.add(display)
            s.flush()
            url = display_url(ctx, display).replace(ctx.settings.public_url, st.server.url)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url + "&rotate=off")
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
            post_today(st, 8, random.Random(5))
            page.wait_for_timeout(2500)
            page.screenshot(path=str(SHOTS / "wallboard.png"))
            browser.close()


if __name__ == "__main__":
    main()
