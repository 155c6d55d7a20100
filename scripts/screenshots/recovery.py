"""Render docs/screenshots/recovery.png: the recovery queue with realistic demo data.

    .venv/bin/python scripts/screenshots/recovery.py [out.png] [--phone]

Starts a private server (temporary SQLite, embedded Redis), seeds the demo organization with
its month of history, settles the old cases the way a working team would, adds a few fresh
complaints, and photographs the page in headless Chromium as Rita from the recovery team.
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx

# Run from anywhere: the test helpers (live server, Chromium lookup) live in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from playwright.sync_api import sync_playwright
from sqlmodel import select

from streamsrv import migrate
from streamsrv.app import create_app
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.demo.people import DEMO_PASSWORD
from streamsrv.demo.seed import email_for, seed_demo
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Agent, CaseStatus, RecoveryCase, Role, User, utcnow
from tests.browser import CHROMIUM_ARGS, chromium_path
from tests.support import LiveServer

ROOT = Path(__file__).resolve().parents[2]
FRESH = [
    (
        1,
        "Third call about the same broken router and nobody calls back. I want to cancel.",
        ["resolution", "follow_up"],
    ),
    (2, "Agent was polite but could not explain why my bill doubled.", ["clarity", "knowledge"]),
    (1, "On hold for 50 minutes, then disconnected.", ["speed"]),
    (2, "Promised a technician on Monday. Nobody came.", ["follow_up"]),
]
CUSTOMERS = [
    ("Dana Reyes", "+1 415 555 0134"),
    ("Oliver Grant", "+44 20 7946 0958"),
    ("Priya Natarajan", "+1 646 555 0199"),
    ("Lukas Becker", "+49 30 901820"),
]


def settle_history(db: Database, rng: random.Random) -> None:
    """Old cases were worked: claimed within minutes, resolved within hours, some followed up."""
    with db.session() as s:
        users = s.exec(select(User).where(User.role == Role.recovery)).all()
        for case in s.exec(select(RecoveryCase)).all():
            claimed = case.opened_at + timedelta(minutes=rng.randint(3, 45))
            case.status = CaseStatus.resolved
            case.claimed_by = case.resolved_by = users[0].id
            case.claimed_at = claimed
            case.resolved_at = claimed + timedelta(minutes=rng.randint(20, 260))
            case.contact_outcome = "reached"
            case.resolution = "Apologised and fixed the underlying issue."
            if rng.random() < 0.6:
                case.after_rating = min(5, case.before_rating + rng.randint(1, 4))
            s.add(case)


def main() -> None:
    out = (
        Path(sys.argv[1])
        if len(sys.argv) > 1 and not sys.argv[1].startswith("--")
        else ROOT / "docs/screenshots/recovery.png"
    )
    phone = "--phone" in sys.argv
    tmp = Path(tempfile.mkdtemp())
    with EmbeddedRedis() as redis:
        settings = Settings(
            database_url=f"sqlite:///{tmp / 'demo.sqlite3'}",
            redis_url=redis.url,
            secret_key=secrets.token_urlsafe(32),
            data_dir=tmp,
        )
        db = Database(settings.database_url)
        migrate.upgrade(db.engine)
        with db.session() as s:
            seeded = seed_demo(s, settings)
        settle_history(db, random.Random(7))
        server = LiveServer(create_app(settings)).start()
        try:
            with db.session() as s:
                agents = s.exec(select(Agent).order_by(Agent.id)).all()
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {seeded.ingest_api_key}"}
            ) as api:
                for n, ((rating, comment, areas), (name, phone_no)) in enumerate(
                    zip(FRESH, CUSTOMERS, strict=True)
                ):
                    agent = agents[(n * 5) % len(agents)]
                    first = name.split()[0].lower()
                    r = api.post(
                        "/api/v1/feedback",
                        json={
                            "account_id": agent.account_id,
                            "agent_id": agent.id,
                            "channel": ["phone", "chat", "email", "phone"][n],
                            "external_id": f"ZD-{48210 + n}",
                            "rating": rating,
                            "comment": comment,
                            "improvement_areas": areas,
                            "customer": {"name": name, "email": f"{first}@example.com", "phone": phone_no},
                        },
                    )
                    assert r.status_code == 201, r.text
            # Make the queue's ages realistic: the oldest has waited hours, the newest minutes.
            with db.session() as s:
                fresh = s.exec(
                    select(RecoveryCase)
                    .where(RecoveryCase.status == CaseStatus.open)
                    .order_by(RecoveryCase.id)
                ).all()
                for case, minutes in zip(fresh, (250, 215, 48, 4), strict=False):
                    case.opened_at = utcnow() - timedelta(minutes=minutes)
                    s.add(case)
            with sync_playwright() as pw:
                path = chromium_path()
                browser = pw.chromium.launch(executable_path=str(path) if path else None, args=CHROMIUM_ARGS)
                size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
                page = browser.new_page(viewport=size, device_scale_factor=1)
                page.goto(f"{server.url}/login?next=/recovery")
                page.fill("#email", email_for("recovery"))
                page.fill("#password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("#conn[data-state=live]")
                page.wait_for_selector(".case")
                page.locator(".case .case-open").nth(1).click()
                page.wait_for_selector(".cd")
                page.locator(".cd-claim").click()
                page.wait_for_selector(".cd-contact-form:not([hidden])")
                page.locator(".cd-note-form textarea").fill("Customer prefers a call after 5pm.")
                page.locator(".cd-note-form button").click()
                page.wait_for_selector(".note-text")
                page.locator(".cd-contact-form input[name=note]").fill("Apologised, booked an engineer")
                page.locator(".cd-contact-form button").click()
                page.wait_for_timeout(1500)
                page.locator("textarea, input").evaluate_all("els => els.forEach(e => e.blur())")
                page.evaluate("window.scrollTo(0, 0)")
                if phone:
                    page.locator(".cd-back").click()
                page.screenshot(path=str(out))
                browser.close()
        finally:
            server.stop()
            db.dispose()
    print(out)


if __name__ == "__main__":
    main()
