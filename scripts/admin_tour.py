"""The admin tour: a new organization set up in the browser, from `streamsrv admin create-org` to a
working floor (an account, two teams, 40 agents from a CSV, a team leader and a manager invited
by email, a TV display), with a screenshot per step (docs/admin.md, "Setting up a floor").

    python scripts/admin_tour.py --out docs/screenshots

Runs on a fresh clone after `pip install '.[test]'` (`pip install .` plus Playwright, which the
`test` extra brings) with Chromium installed (`chromium` on the PATH). Everything is real and local: a fresh data directory (SQLite and the
embedded Redis), the `streamsrv` command line in subprocesses, an SMTP catcher (aiosmtpd) on a
free loopback port that the server's invitation emails go to, and headless Chromium driven as
a person would. No API call sets anything up: the API key printed by `create-org` is used only
at the end, read-only, to count what the pages made.

Prints a JSON summary and exits non-zero on any failure. The server (and its embedded Redis)
and the SMTP catcher are always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiosmtpd.controller import Controller

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:  # `pip install .` alone: Playwright comes with the `test` extra
    sys.exit("admin_tour: Playwright is missing: pip install '.[test]' (or pip install playwright)")

T = TypeVar("T")

ORG_NAME = "Northwind Contact Center"
ADMIN_EMAIL = "admin@northwind.example.com"
ACCOUNT_NAME = "Acme Retail"
TEAMS = ("Tier 1", "Tier 2")
AGENTS = 40
BAD_AGENT = 3  # its line in the file: 5 (the header is line 1)
LEADER = ("lena.ortiz@northwind.example.com", "Lena Ortiz")
MANAGER = ("marc.dubois@northwind.example.com", "Marc Dubois")
SENDER = "no-reply@northwind.example.com"
INVITE_LINK = re.compile(r"(https?://[^\s\"<>]+/invite/[A-Za-z0-9_.\-]+)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}


class TourError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, predicate: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TourError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


class Inbox:
    """What the SMTP catcher accepted (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> EmailMessage | None:
        with self.lock:
            found = [m for m in self.messages if address in str(m["To"])]
        return found[-1] if found else None


@contextmanager
def smtp_catcher() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def streamsrv_command() -> list[str]:
    """The `streamsrv` console script installed next to this Python, else the module."""
    script = Path(sys.executable).parent / "streamsrv"
    if script.exists():
        return [str(script)]
    found = shutil.which("streamsrv")
    return [found] if found else [sys.executable, "-m", "streamsrv"]


def tour_env(data_dir: Path, smtp_port: int, web_port: int) -> dict[str, str]:
    # Only this tour's settings: a STREAMSRV_DATABASE_URL or REDIS_URL in the caller's
    # environment must not point the tour at another installation.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSRV_")}
    env.update(
        STREAMSRV_DATA_DIR=str(data_dir),
        STREAMSRV_PUBLIC_URL=f"http://127.0.0.1:{web_port}",
        STREAMSRV_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        STREAMSRV_SMTP_FROM=SENDER,
        STREAMSRV_DELIVERY_POLL_INTERVAL="0.2",
        STREAMSRV_LOG_LEVEL="warning",
    )
    return env


def create_org(env: dict[str, str], password: str, timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [*streamsrv_command(), "admin", "create-org", ORG_NAME, "--admin-email", ADMIN_EMAIL,
         "--admin-password", password],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise TourError(f"streamsrv admin create-org failed ({done.returncode}): {done.stderr.strip()}")
    return dict(json.loads(done.stdout))


@contextmanager
def server(env: dict[str, str], port: int, log: Path, timeout: float) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*streamsrv_command(), "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:

            def healthy() -> bool:
                if proc.poll() is not None:
                    raise TourError(f"streamsrv serve exited with {proc.returncode}; see {log}")
                try:
                    return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until("the server's /healthz", healthy, timeout)
            yield base
        finally:
            # SIGTERM: the server stops uvicorn, then its embedded redis-server, and exits.
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def agents_csv(bad_line: bool) -> str:
    """40 agents, half per team; with ``bad_line`` one email is mistyped."""
    lines = ["name,team,email,zendesk_id"]
    first = ["Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas"]
    last = ["Silva", "Novak", "Okafor", "Larsen"]
    for n in range(AGENTS):
        name = f"{first[n % 10]} {last[n // 10]}"
        login = name.lower().replace(" ", ".")
        email = f"{login}@northwind.example.com"
        if bad_line and n == BAD_AGENT:
            email = email.replace("@", " at ")
        lines.append(f"{name},{TEAMS[n % 2]},{email},{5000 + n}")
    return "\n".join(lines) + "\n"


def scroll_to(locator: Locator, margin: int = 90) -> None:
    """Scroll so the element is near the top of the viewport (below the header)."""
    locator.evaluate(
        "(e, m) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - m)", margin
    )


class Tour:
    def __init__(self, browser: Browser, base: str, out: Path, inbox: Inbox, timeout: float) -> None:
        self.browser = browser
        self.base = base
        self.out = out
        self.inbox = inbox
        self.timeout = timeout
        self.shots: list[str] = []
        self.context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        self.context.set_default_timeout(timeout * 1000)
        self.page = self.context.new_page()

    def shot(self, name: str, page: Page | None = None, full_page: bool = False) -> None:
        file = f"admin-{len(self.shots) + 1:02d}-{name}.png"
        (page or self.page).screenshot(path=str(self.out / file), full_page=full_page)
        self.shots.append(file)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def login(self, password: str) -> None:
        p = self.page
        p.goto(self.url("/login?next=/admin"))
        p.fill("#email", ADMIN_EMAIL)
        p.fill("#password", password)
        self.shot("login")
        p.click("button[type=submit]")
        p.wait_for_url(self.url("/admin"))
        expect(p.locator("#admin-sections")).to_be_visible()
        self.shot("admin-index")

    def account(self) -> int:
        p = self.page
        p.click("[data-section=accounts] a")
        p.wait_for_url(self.url("/admin/accounts"))
        p.click("#new-account")
        p.wait_for_url(self.url("/admin/accounts/new"))
        p.fill("#name", ACCOUNT_NAME)
        rows = p.locator("#rewards fieldset.row")
        new = rows.last
        new.get_by_label("Label").fill("Coffee voucher")
        new.get_by_label("Value").fill("4.50")
        new.get_by_label("Currency").fill("EUR")
        for n in range(rows.count() - 1):
            rows.nth(n).get_by_label("Currency").fill("EUR")
        p.get_by_label("Ask customer satisfaction (CSAT)").check()
        p.select_option("#time_zone", "Europe/Berlin")
        scroll_to(new, margin=560)  # the rows above and the new one
        self.shot("new-account")
        p.click("#save-account")
        p.wait_for_url(re.compile(r".*/admin/accounts/\d+\?saved=created$"))
        expect(p.locator("#saved-notice")).to_have_text("Account created.")
        self.shot("account-created")
        return int(p.url.split("/admin/accounts/")[1].split("?")[0])

    def teams(self, account_id: int) -> None:
        p = self.page
        p.goto(self.url("/admin"))
        p.click("[data-section=teams] a")
        p.wait_for_url(self.url("/admin/teams"))
        for name in TEAMS:
            p.select_option("#f-account_id", str(account_id))
            p.fill("#f-name", name)
            p.click("form[action='/admin/teams'] button[type=submit]")
            p.wait_for_url(self.url("/admin/teams?done=created"))
        expect(p.locator(".adm-team")).to_have_count(len(TEAMS))
        self.shot("teams")

    def import_agents(self, account_id: int, work: Path) -> None:
        p = self.page
        p.goto(self.url("/admin/agents/import"))
        for bad in (True, False):
            csv_file = work / ("agents-with-a-mistake.csv" if bad else "agents.csv")
            csv_file.write_text(agents_csv(bad_line=bad), encoding="utf-8")
            p.select_option("#f-account_id", str(account_id))
            p.set_input_files("#f-file", str(csv_file))
            p.click("form[action='/admin/agents/import'] button[type=submit]")
            summary = p.locator("#plan-summary")
            if bad:
                expect(summary).to_contain_text(
                    f"{AGENTS - 1} to create, 0 to update, 0 unchanged, 1 with errors"
                )
                expect(p.locator("#apply-import")).to_have_count(0)
                bad_row = p.locator(f"#line-{BAD_AGENT + 2}")
                expect(bad_row.locator(".import-error")).to_contain_text("Email:")
                scroll_to(p.locator("#plan-title"))
                self.shot("import-dry-run-error")
                p.goto(self.url("/admin/agents/import"))
            else:
                expect(summary).to_contain_text(
                    f"{AGENTS} to create, 0 to update, 0 unchanged, 0 with errors"
                )
                # The end of the table and the Apply button (the summary is above).
                p.locator("#apply-import").scroll_into_view_if_needed()
                p.evaluate("window.scrollBy(0, 100)")
                self.shot("import-dry-run-ok")
                p.click("#apply-import")
                p.wait_for_url(self.url(f"/admin/agents?imported={AGENTS}"))
                expect(p.locator("#done-notice")).to_contain_text(f"{AGENTS} agents")
                self.shot("agents")

    def invite(self, email: str, name: str, role: str, scope: str, within: str, shot: str | None) -> None:
        p = self.page
        p.goto(self.url("/admin/users"))
        p.fill("#invite-email", email)
        p.fill("#invite-name", name)
        p.select_option("#role", role)
        p.locator("label.check", has_text=within).locator(f"input[name={scope}]").first.check()
        if shot:
            scroll_to(p.locator("label[for=invite-email]"), margin=16)
            self.shot(shot)
        p.click("#invite-submit")
        p.wait_for_url(self.url("/admin/users?done=invited"))
        expect(p.locator("#users-notice")).to_have_text("Invitation sent.")

    def accept(self, email: str, password: str, shots: bool) -> None:
        message = wait_until(
            f"the invitation email to {email}", lambda: self.inbox.to(email), self.timeout * 2
        )
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        if text is None or html is None:
            raise TourError("the invitation email has no text or no HTML part")
        found = INVITE_LINK.search(str(text.get_content()))
        if found is None:
            raise TourError("no invitation link in the email")
        link = found.group(1)
        if not link.startswith(self.base):
            raise TourError(f"the invitation link {link} does not point at the server {self.base}")
        context = self.browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(self.timeout * 1000)
        try:
            mail = context.new_page()
            if shots:
                # The email as the invitee's mail program shows it (its HTML part).
                mail.set_content(str(html.get_content()))
                self.shot("invitation-email", mail)
            mail.goto(link)
            expect(mail.locator("#link-email")).to_have_text(email)
            mail.fill("#password", password)
            mail.fill("#confirm", password)
            if shots:
                self.shot("choose-password", mail)
            mail.click("button[type=submit]")
            mail.wait_for_url(self.url("/login?done=welcome"))
            mail.fill("#email", email)
            mail.fill("#password", password)
            mail.click("button[type=submit]")
            mail.wait_for_url(self.url("/"))
            if shots:
                self.shot("team-leader-logged-in", mail)
        finally:
            context.close()

    def users(self) -> None:
        p = self.page
        p.goto(self.url("/admin/users"))
        expect(p.locator(".user-status", has_text="Invited")).to_have_count(0)
        self.shot("users-active")

    def display(self, team_name: str) -> None:
        p = self.page
        p.goto(self.url("/admin"))
        p.click("[data-section=displays] a")
        p.wait_for_url(self.url("/admin/displays"))
        p.fill("#name", f"{team_name} TV, floor 2")
        board = p.locator("#board")
        value = board.locator("option", has_text=team_name).first.get_attribute("value")
        if not value:
            raise TourError(f"no board for the team {team_name} on /admin/displays")
        board.select_option(value)
        p.get_by_role("button", name="Create display").click()
        p.wait_for_url(re.compile(r".*/admin/displays\?created=\d+$"))
        tv_url = p.locator("#display-url").inner_text().strip()
        self.shot("display-created")
        if not tv_url.startswith(self.base):
            raise TourError(f"the display address {tv_url} does not point at the server {self.base}")
        tv = self.browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        tv.set_default_timeout(self.timeout * 1000)
        try:
            screen = tv.new_page()
            screen.goto(tv_url)
            expect(screen.locator("#conn")).to_have_attribute("data-state", "live")
            self.shot("wallboard", screen)
        finally:
            tv.close()


def count(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        r = api.get(path, params=query)
        if r.status_code != 200:
            raise TourError(f"GET {path}: {r.status_code} {r.text[:200]}")
        body = r.json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def summary(base: str, org: dict[str, Any], shots: list[str], timeout: float) -> dict[str, Any]:
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {org['api_key']}"}, timeout=timeout
    ) as api:
        users = count(api, "/api/v1/users")
        return {
            "org_id": org["org_id"],
            "base_url": base,
            "accounts": len(count(api, "/api/v1/accounts")),
            "teams": len(count(api, "/api/v1/teams")),
            "agents": len(count(api, "/api/v1/agents")),
            "users": len(users),
            "users_active": sum(1 for u in users if u["active"]),
            "displays": len(count(api, "/api/v1/displays")),
            "screenshots": shots,
        }


def run(data_dir: Path, out: Path, timeout: float) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise TourError("Chromium is not installed (apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    admin_password = f"tour-{secrets.token_urlsafe(12)}"
    invitee_password = f"floor-{secrets.token_urlsafe(12)}"
    with smtp_catcher() as (inbox, smtp_port):
        port = free_port()
        env = tour_env(data_dir, smtp_port, port)
        org = create_org(env, admin_password, timeout * 6)
        with server(env, port, data_dir / "server.log", timeout * 6) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                tour = Tour(browser, base, out, inbox, timeout)
                tour.login(admin_password)
                account_id = tour.account()
                tour.teams(account_id)
                tour.import_agents(account_id, data_dir)
                tour.invite(
                    *LEADER, role="team_leader", scope="team_ids", within=TEAMS[0], shot="invite-team-leader"
                )
                tour.invite(*MANAGER, role="manager", scope="account_ids", within=ACCOUNT_NAME, shot=None)
                tour.accept(LEADER[0], invitee_password, shots=True)
                tour.accept(MANAGER[0], invitee_password + "-m", shots=False)
                tour.users()
                tour.display(TEAMS[0])
            finally:
                browser.close()
            return summary(base, org, tour.shots, timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="a fresh data directory (default: a temp dir)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="where screenshots go")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds for each wait in the browser")
    args = parser.parse_args(argv)
    # SIGTERM (a test's timeout, a CI job cancelled) unwinds like Ctrl-C: the `finally` blocks
    # stop the server, its embedded Redis and the SMTP catcher.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    temp = None
    if args.data_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="streamsrv-tour-")
        args.data_dir = Path(temp.name)
    elif args.data_dir.exists() and any(args.data_dir.iterdir()):
        print(
            f"admin_tour: {args.data_dir} is not empty; the tour needs a fresh data directory",
            file=sys.stderr,
        )
        return 2
    try:
        result = run(args.data_dir, args.out, args.timeout)
    except Exception as exc:  # noqa: BLE001 - any failure: a message, the server log, exit 1
        print(f"admin_tour: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        log = args.data_dir / "server.log"
        if log.exists():
            print("--- server log (last lines) ---", file=sys.stderr)
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        return 1
    finally:
        if temp is not None:
            temp.cleanup()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
