"""Close last month's reward statements as the demo manager and check the exports against a recount.

    .venv/bin/python scripts/statement_check.py                      # starts `streamsrv demo` itself
    .venv/bin/python scripts/statement_check.py --url http://127.0.0.1:8000 \\
        --database-url sqlite:///var/streamsrv.sqlite3               # a demo that is already running

What a manager does, over HTTP: log in through the login form, list the accounts, and for each one
read last month's statement (last month in the account's time zone), close it (a month that is
already closed is left as it is, so the check can run again), and download ``export.csv`` and
``export.xlsx``. Independently of the server's ledger code, the same month is recounted straight
from the database: every rewarded answer of the month (recovery follow-ups earn nothing) at the
value of the account's reward catalogue. Prints one row per agent and either
``OK: exported totals equal the recount`` (exit 0) or the differences (exit 1).

Without ``--url`` the script starts ``streamsrv demo`` (data directory ``--data-dir``, default
``./var`` as the demo's; ``--database-url`` or ``STREAMSRV_DATABASE_URL`` for another database),
waits until it answers, checks, and stops it again.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from openpyxl import load_workbook

MANAGER_EMAIL = "manager@demo.streamsrv.local"
DEMO_PASSWORD = "northwind-demo-2025"  # noqa: S105  (the demo's public password)
CSRF_COOKIE = "streamsrv_csrf"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
FOLLOWUP = "recovery_followup"
# Seeding a month of history on a busy machine (or PostgreSQL) takes a while.
START_TIMEOUT = 300.0
STOP_TIMEOUT = 60.0
HTTP_TIMEOUT = 60.0
CENT = Decimal("0.01")


class CheckError(Exception):
    """The check could not be carried out (server, login or database trouble); exit 2."""


# --- the manager's side: HTTP only ---------------------------------------------------------------


class Manager:
    """A logged-in user's HTTP session: the session cookie, and the CSRF header on changes."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=HTTP_TIMEOUT, follow_redirects=False
        )

    def close(self) -> None:
        self.client.close()

    def login(self, email: str, password: str) -> None:
        form = self.client.get("/login")
        match = CSRF_FIELD.search(form.text)
        if form.status_code != 200 or match is None:
            raise CheckError(f"GET /login answered {form.status_code} without a login form")
        data = {"email": email, "password": password, "csrf_token": match.group(1)}
        answer = self.client.post("/login", data=data)
        if answer.status_code != 303:
            raise CheckError(f"logging in as {email} failed: {answer.status_code}")

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str) -> httpx.Response:
        token = self.client.cookies.get(CSRF_COOKIE) or ""
        return self.client.post(path, headers={"X-CSRF-Token": token})

    def json(self, path: str) -> Any:
        answer = self.get(path)
        if answer.status_code != 200:
            raise CheckError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json()

    def accounts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.json("/api/v1/accounts" + (f"?cursor={cursor}" if cursor else ""))
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found


def last_month(now: datetime, time_zone: str) -> str:
    local = now.astimezone(ZoneInfo(time_zone))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0)).quantize(CENT)


def _plain(name: Any) -> str:
    """The agent's name as written in the sheet (a leading quote guards against formulas)."""
    text = str(name)
    return text[1:] if text.startswith("'") else text


def totals_of(rows: list[list[Any]]) -> tuple[dict[str, Decimal], Decimal]:
    """Per agent name the ``Total (<currency>)`` column, and the sheet's own total row."""
    header = [str(h) for h in rows[0]]
    column = next((i for i, h in enumerate(header) if h.startswith("Total (")), None)
    if column is None or header[0] != "Agent":
        raise CheckError(f"unexpected export header: {header}")
    per_agent: dict[str, Decimal] = {}
    sheet_total: Decimal | None = None
    for row in rows[1:]:
        if not row or row[0] in (None, ""):
            continue
        if row[0] == "Total":
            sheet_total = money(row[column])
        else:
            per_agent[_plain(row[0])] = money(row[column])
    if sheet_total is None:
        raise CheckError("the export has no Total row")
    return per_agent, sheet_total


def csv_rows(content: bytes) -> list[list[Any]]:
    return [list(r) for r in csv.reader(io.StringIO(content.decode("utf-8")))]


def xlsx_rows(content: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


@dataclass
class Exported:
    month: str
    closed_now: bool
    currency: str
    statement_total: Decimal
    csv: dict[str, Decimal]
    csv_total: Decimal
    xlsx: dict[str, Decimal]
    xlsx_total: Decimal


def close_and_export(manager: Manager, account_id: int, month: str) -> Exported:
    base = f"/api/v1/accounts/{account_id}/statements/{month}"
    statement = manager.json(base)
    closed_now = False
    if statement["status"] != "closed":
        answer = manager.post(base + "/close")
        if answer.status_code != 200:
            raise CheckError(f"POST {base}/close answered {answer.status_code}: {answer.text[:300]}")
        statement = answer.json()
        closed_now = True
    if statement["status"] != "closed":
        raise CheckError(f"{base} is {statement['status']} after closing")
    sheets: dict[str, tuple[dict[str, Decimal], Decimal]] = {}
    for ext, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        answer = manager.get(f"{base}/export.{ext}")
        if answer.status_code != 200:
            raise CheckError(f"GET {base}/export.{ext} answered {answer.status_code}: {answer.text[:300]}")
        sheets[ext] = totals_of(read(answer.content))
    return Exported(
        month=month,
        closed_now=closed_now,
        currency=str(statement["currency"]),
        statement_total=money(statement["total"]),
        csv=sheets["csv"][0],
        csv_total=sheets["csv"][1],
        xlsx=sheets["xlsx"][0],
        xlsx_total=sheets["xlsx"][1],
    )


# --- the recount: SQL over the responses, nothing of the server's ledger code --------------------

ACCOUNTS = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("time_zone", sa.String),
    sa.column("reward_catalogue", sa.JSON),
)
AGENTS = sa.table(
    "agents", sa.column("id", sa.Integer), sa.column("account_id", sa.Integer), sa.column("name", sa.String)
)
RESPONSES = sa.table(
    "responses",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("agent_id", sa.Integer),
    sa.column("request_id", sa.Integer),
    sa.column("reward", sa.String),
    sa.column("source", sa.String),
    sa.column("created_at", sa.DateTime),
)
REQUESTS = sa.table("feedback_requests", sa.column("id", sa.Integer), sa.column("kind", sa.String))


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """The month's first and the next month's first local midnight, as naive UTC (as stored)."""
    year, mon = int(month[:4]), int(month[5:])
    tz = ZoneInfo(time_zone or "UTC")
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None)


@dataclass
class Recount:
    per_agent: dict[str, Decimal] = field(default_factory=dict)
    answers: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.per_agent.values(), Decimal(0)).quantize(CENT)


def recount(engine: sa.Engine, account_id: int, month: str) -> Recount:
    with engine.connect() as conn:
        account = conn.execute(
            sa.select(ACCOUNTS.c.time_zone, ACCOUNTS.c.reward_catalogue).where(ACCOUNTS.c.id == account_id)
        ).one()
        values = {str(item["code"]): money(item.get("value")) for item in account.reward_catalogue or []}
        start, end = month_bounds(month, account.time_zone)
        names = dict(
            conn.execute(sa.select(AGENTS.c.id, AGENTS.c.name).where(AGENTS.c.account_id == account_id)).all()
        )
        rows = conn.execute(
            sa.select(RESPONSES.c.agent_id, RESPONSES.c.reward, sa.func.count())
            .select_from(RESPONSES.outerjoin(REQUESTS, REQUESTS.c.id == RESPONSES.c.request_id))
            .where(
                RESPONSES.c.account_id == account_id,
                RESPONSES.c.reward.is_not(None),
                RESPONSES.c.created_at >= start,
                RESPONSES.c.created_at < end,
                # A recovery follow-up rates the recovery, never the agent's pay.
                RESPONSES.c.source != FOLLOWUP,
                sa.or_(REQUESTS.c.kind.is_(None), REQUESTS.c.kind != FOLLOWUP),
            )
            .group_by(RESPONSES.c.agent_id, RESPONSES.c.reward)
        ).all()
    result = Recount()
    for agent_id, reward, n in rows:
        name = names.get(agent_id, f"#{agent_id}")
        result.per_agent[name] = result.per_agent.get(name, Decimal(0)) + values.get(reward, Decimal(0)) * n
        result.answers += n
    return result


# --- comparing and reporting ---------------------------------------------------------------------


@dataclass
class Outcome:
    agents: int = 0
    total: Decimal = Decimal(0)
    answers: int = 0
    differences: list[str] = field(default_factory=list)


def compare(account: dict[str, Any], exported: Exported, counted: Recount, outcome: Outcome) -> None:
    state = "closed now" if exported.closed_now else "already closed"
    print(
        f"\n{account['name']} (account {account['id']}), {exported.month} in {account['time_zone']}: {state}"
    )
    names = sorted(set(exported.csv) | set(exported.xlsx) | {n for n, v in counted.per_agent.items() if v})
    width = max([len(n) for n in names] + [len("agent")])
    print(f"  {'agent':<{width}}  {'csv':>10}  {'xlsx':>10}  {'recount':>10}")
    zero = Decimal(0).quantize(CENT)
    for name in names:
        in_csv, in_xlsx = exported.csv.get(name, zero), exported.xlsx.get(name, zero)
        counted_value = counted.per_agent.get(name, zero).quantize(CENT)
        same = in_csv == in_xlsx == counted_value
        mark = "" if same else "  <-- differs"
        print(f"  {name:<{width}}  {in_csv:>10}  {in_xlsx:>10}  {counted_value:>10}{mark}")
        if not same:
            outcome.differences.append(
                f"{account['name']} {exported.month} {name}: csv {in_csv}, xlsx {in_xlsx}, recount {counted_value}"
            )
    totals = (exported.statement_total, exported.csv_total, exported.xlsx_total, counted.total)
    print(
        f"  {'total (' + exported.currency + ')':<{width}}  {totals[1]:>10}  {totals[2]:>10}  {totals[3]:>10}"
    )
    if len(set(totals)) != 1:
        outcome.differences.append(
            f"{account['name']} {exported.month} totals: statement {totals[0]}, csv {totals[1]}, "
            f"xlsx {totals[2]}, recount {totals[3]}"
        )
    outcome.agents += sum(1 for v in counted.per_agent.values() if v)
    outcome.total += counted.total
    outcome.answers += counted.answers


def check(base_url: str, database_url: str, email: str, password: str) -> int:
    engine = sa.create_engine(database_url)
    manager = Manager(base_url)
    outcome = Outcome()
    try:
        manager.login(email, password)
        now = datetime.now(UTC)
        accounts = manager.accounts()
        if not accounts:
            raise CheckError(f"{email} sees no accounts")
        for account in accounts:
            month = last_month(now, account["time_zone"])
            exported = close_and_export(manager, account["id"], month)
            compare(account, exported, recount(engine, account["id"], month), outcome)
    finally:
        manager.close()
        engine.dispose()
    print()
    summary = f"accounts: {len(accounts)}, agents: {outcome.agents}, rewarded answers: {outcome.answers}, total: {outcome.total}"
    if outcome.differences:
        print(f"FAILED: exported totals differ from the recount ({summary})")
        for line in outcome.differences:
            print(f"  {line}")
        return 1
    print(f"OK: exported totals equal the recount ({summary})")
    return 0


# --- starting a demo when no --url is given ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CheckError(
                f"streamsrv demo exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            if httpx.get(url + "/readyz", timeout=5.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise CheckError(
        f"streamsrv demo did not answer within {START_TIMEOUT:g}s:\n{log.read_text(errors='replace')}"
    )


@contextmanager
def demo_server(data_dir: Path, database_url: str | None) -> Iterator[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMSRV_DATA_DIR", "STREAMSRV_DATABASE_URL")}
    env["STREAMSRV_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if database_url:
        env["STREAMSRV_DATABASE_URL"] = database_url
    port = free_port()
    log = data_dir / "statement-check-demo.log"
    print(f"Starting streamsrv demo on port {port} (data directory {data_dir}; log {log}) ...", flush=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamsrv", "demo", "--port", str(port), "--rate", "0.5"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", help="a running demo server (default: start `streamsrv demo`)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("STREAMSRV_DATABASE_URL"),
        help="the server's database, for the recount (default: STREAMSRV_DATABASE_URL, else the SQLite "
        "file in --data-dir)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("STREAMSRV_DATA_DIR", "var")))
    parser.add_argument("--email", default=MANAGER_EMAIL)
    parser.add_argument("--password", default=DEMO_PASSWORD)
    args = parser.parse_args(argv)
    database_url = args.database_url or f"sqlite:///{args.data_dir.resolve() / 'streamsrv.sqlite3'}"
    try:
        if args.url:
            return check(args.url, database_url, args.email, args.password)
        with demo_server(args.data_dir.resolve(), args.database_url) as url:
            return check(url, database_url, args.email, args.password)
    except (CheckError, httpx.HTTPError, sa.exc.SQLAlchemyError) as exc:
        print(f"statement check could not run: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
