"""Screenshot of the coaching panel with realistic data: docs/screenshots/coach.png.

    .venv/bin/python scripts/screenshots/coach.py [--out docs/screenshots/coach.png] [--phone /tmp/coach-phone.png]

Starts its own server, redis-server and temporary SQLite database, seeds the demo organization
(a month of history), acknowledges the team leader's older alerts as a leader would have, posts
a morning's worth of live feedback through the API, logs in as the team leader in headless
Chromium and captures the page once it is live.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from sqlmodel import col, select, update  # noqa: E402

from streamsrv import migrate  # noqa: E402
from streamsrv.app import create_app  # noqa: E402
from streamsrv.config import Settings  # noqa: E402
from streamsrv.db import Database  # noqa: E402
from streamsrv.demo.people import DEMO_PASSWORD  # noqa: E402
from streamsrv.demo.seed import seed_demo  # noqa: E402
from streamsrv.embedded_redis import EmbeddedRedis  # noqa: E402
from streamsrv.models import Agent, Alert, Role, Team, User, utcnow  # noqa: E402
from streamsrv.tenancy import new_api_key  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.support import TIMEOUT, LiveServer  # noqa: E402

TODAY = [
    (5, "Sorted my roaming in two minutes, thank you Maya!", "coffee", []),
    (4, "Quick and friendly.", None, []),
    (2, "Had to explain my issue three times before anyone understood.", None, ["clarity", "speed"]),
    (5, "Patient and clear, fixed the billing error for good.", "lunch", []),
    (3, "OK in the end but the wait was long.", None, ["speed"]),
    (1, "Cut off mid-call and nobody called back. <b>Unacceptable</b>.", None, ["follow_up", "speed"]),
    (4, "", None, []),
    (5, "Best support call I've had this year.", "high_five", []),
]


def prepare(db: Database, settings: Settings) -> tuple[int, str, str, list[tuple[int, int]]]:
    with db.session() as s:
        result = seed_demo(s, settings, rng=random.Random(7))
        leader = s.exec(select(User).where(User.org_id == result.org_id, User.role == Role.team_leader)).one()
        team_id = leader.team_ids[0]
        # The leader has worked through everything before today.
        s.exec(  # type: ignore[call-overload]
            update(Alert)
            .where(col(Alert.team_id) == team_id, col(Alert.created_at) < utcnow() - timedelta(hours=20))
            .values(acknowledged_by=leader.id, acknowledged_at=utcnow() - timedelta(hours=18))
        )
        team = s.get(Team, team_id)
        assert team is not None
        agents = s.exec(select(Agent).where(Agent.team_id == team_id).order_by(col(Agent.id))).all()
        _, key = new_api_key(s, result.org_id, "screenshot", ["ingest"])
        targets = [(team.account_id, a.id) for a in agents if a.id is not None]
        return result.org_id, leader.email, key, targets


def post_today(base: str, key: str, targets: list[tuple[int, int]]) -> None:
    rng = random.Random(11)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT) as api:
        for n, (rating, comment, reward, areas) in enumerate(TODAY):
            account_id, agent_id = targets[(n * 3) % len(targets)]
            body: dict[str, object] = {
                "account_id": account_id,
                "agent_id": agent_id,
                "channel": rng.choice(["phone", "chat", "email"]),
                "external_id": f"shot-{secrets.token_hex(4)}",
                "rating": rating,
                "comment": comment,
                "improvement_areas": areas,
            }
            if reward:
                body["reward"] = reward
            r = api.post("/api/v1/feedback", json=body)
            r.raise_for_status()


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/coach")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/coach")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "coach.png"))
    parser.add_argument("--phone", default=None, help="also save a 390x844 phone capture here")
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        print("Chromium is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'shot.sqlite3'}",
            redis_url=redis.url,
            secret_key=secrets.token_urlsafe(32),
            data_dir=Path(tmp),
            redis_prefix="shot",
        )
        db = Database(settings.database_url)
        migrate.upgrade(db.engine)
        _, email, key, targets = prepare(db, settings)
        server = LiveServer(create_app(settings)).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
                page = context.new_page()
                log_in(page, server.url, email)
                expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=TIMEOUT * 1000)
                post_today(server.url, key, targets)
                # The snapshot's 30 cards plus today's, all arrived live.
                expect(page.locator("#feed .feed-card")).to_have_count(
                    30 + len(TODAY), timeout=TIMEOUT * 1000
                )
                page.wait_for_timeout(1500)  # let the arrival highlight fade
                page.screenshot(path=args.out)
                if args.phone:
                    phone = browser.new_context(
                        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
                    )
                    p2 = phone.new_page()
                    log_in(p2, server.url, email)
                    expect(p2.locator("#conn")).to_have_attribute(
                        "data-state", "live", timeout=TIMEOUT * 1000
                    )
                    p2.wait_for_timeout(500)
                    p2.screenshot(path=args.phone)
                    p2.locator("#roster").scroll_into_view_if_needed()
                    p2.screenshot(path=args.phone.replace(".png", "-2.png"))
                browser.close()
        finally:
            server.stop()
            db.dispose()
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
