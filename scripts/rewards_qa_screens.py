"""Screenshots of the month-end pages (statement, QA form, 1:1), taken from a running demo as its manager.

    .venv/bin/streamsrv demo &                                   # or any demo with its history
    .venv/bin/python scripts/rewards_qa_screens.py [--url http://127.0.0.1:8000] [--out docs/screenshots]

Logs in through the login form in headless Chromium as the demo manager and saves, each on its
own (one failing does not stop the others):

- ``statement.png``: ``/statements?month=<last month>``, last month's reward statement;
- ``qa-form.png``: the QA evaluation form of one interaction (``/qa?interaction_id=<id>``);
- ``one-on-one.png``: ``/agents/<id>/one-on-one?period=last_month`` for agent Maya Chen.

A page the server does not have (404, on a build without it) is reported and skipped; the exit
status is then 1, after the other screenshots were taken.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
MANAGER_EMAIL = "manager@demo.streamsrv.local"
DEMO_PASSWORD = "northwind-demo-2025"  # noqa: S105  (the demo's public password)
ONE_ON_ONE_AGENT = "Maya Chen"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000
# How many interactions of the QA picker are looked at for one with a customer comment.
QA_CANDIDATES = 15


class Missing(Exception):
    """The page is not on this server (404): reported and skipped."""


class ShotError(Exception):
    """The page answered, but not as expected."""


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login" in page.url:
        raise ShotError(f"could not log in as {email}")


def api(page: Page, base: str, path: str) -> Any:
    answer = page.request.get(base + path)
    if not answer.ok:
        raise ShotError(f"GET {path} answered {answer.status}")
    return answer.json()


def last_month(base: str, page: Page) -> str:
    """Last month on the clock of the manager's first account."""
    accounts = api(page, base, "/api/v1/accounts")["items"]
    zone = ZoneInfo(accounts[0]["time_zone"] if accounts else "UTC")
    local = datetime.now(UTC).astimezone(zone)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def visit(page: Page, url: str) -> None:
    answer = page.goto(url)
    if answer is None:
        raise ShotError(f"no answer from {url}")
    if answer.status == 404:
        raise Missing(f"{url} answered 404 (this server does not have the page)")
    if answer.status != 200:
        raise ShotError(f"{url} answered {answer.status}")
    page.wait_for_load_state("networkidle")


def statement(page: Page, base: str, out: Path) -> None:
    visit(page, f"{base}/statements?month={last_month(base, page)}")
    page.screenshot(path=str(out), full_page=True)


def qa_form(page: Page, base: str, out: Path) -> None:
    visit(page, f"{base}/qa")
    ids = [v for v in page.locator("#qa-interaction option").evaluate_all("os => os.map(o => o.value)") if v]
    if not ids:
        raise ShotError("the QA picker lists no interactions")
    chosen = ids[0]
    # One the customer commented on makes the better picture.
    for candidate in ids[:QA_CANDIDATES]:
        visit(page, f"{base}/qa?interaction_id={candidate}")
        if page.locator(".qa-comment").count():
            chosen = candidate
            break
    visit(page, f"{base}/qa?interaction_id={chosen}")
    page.locator(".qa-card").first.wait_for()
    page.screenshot(path=str(out), full_page=True)


def one_on_one(page: Page, base: str, out: Path) -> None:
    agents = api(page, base, "/api/v1/agents?limit=200")["items"]
    if not agents:
        raise ShotError("the manager sees no agents")
    agent = next((a for a in agents if a["name"] == ONE_ON_ONE_AGENT), agents[0])
    visit(page, f"{base}/agents/{agent['id']}/one-on-one?period=last_month")
    page.screenshot(path=str(out), full_page=True)


SHOTS: list[tuple[str, Callable[[Page, str, Path], None]]] = [
    ("statement.png", statement),
    ("qa-form.png", qa_form),
    ("one-on-one.png", one_on_one),
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--email", default=MANAGER_EMAIL)
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--only", action="append", help="take only this file (repeatable)")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            for name, shoot in SHOTS:
                if args.only and name not in args.only:
                    continue
                # A context per picture: one page's trouble cannot spoil the next.
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
                context.set_default_timeout(TIMEOUT_MS)
                page = context.new_page()
                try:
                    log_in(page, base, args.email, args.password)
                    shoot(page, base, args.out / name)
                    print(f"saved {args.out / name}")
                except Missing as exc:
                    print(f"skipped {name}: {exc}")
                    failed.append(name)
                except (ShotError, PlaywrightError) as exc:
                    print(f"failed {name}: {exc}")
                    failed.append(name)
                finally:
                    context.close()
        finally:
            browser.close()
    if failed:
        print(f"not taken: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
