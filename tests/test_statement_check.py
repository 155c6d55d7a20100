"""Issue 13's acceptance, end to end: a demo with a month of history is served by a real
``streamsrv demo`` process; ``scripts/statement_check.py`` logs in as the demo manager, closes
last month's statements, exports them and finds them equal to its own recount from the
database. Run again, it leaves the closed months alone; and it does notice a difference."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.process_support import START_TIMEOUT, clean_env, running, streamsrv_command

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "statement_check.py"
SUMMARY = re.compile(r"accounts: (\d+), agents: (\d+), rewarded answers: (\d+), total: ([\d.]+)\)")

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for this demo: the demo organization exists once per database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'streamsrv.sqlite3'}"
        return
    name = f"streamsrv_check_{secrets.token_hex(6)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT * 3,
        cwd=ROOT,
    )


def summary(output: str) -> tuple[int, int, int, Decimal]:
    match = SUMMARY.search(output)
    assert match, output
    return int(match[1]), int(match[2]), int(match[3]), Decimal(match[4])


def test_closed_statements_equal_the_recount(tmp_path: Path, demo_database: str) -> None:
    data_dir = tmp_path / "var"
    env = clean_env(data_dir, STREAMSRV_DATABASE_URL=demo_database)
    with running([*streamsrv_command(), "demo", "--rate", "2"], tmp_path, env) as demo:
        # Seeding a month of history comes first: on PostgreSQL on a busy machine, a while.
        demo.wait_healthy(timeout=START_TIMEOUT * 2, path="/readyz")
        first = run_check("--url", demo.url, "--database-url", demo_database)
        assert first.returncode == 0, first.stdout + first.stderr + demo.output()
        assert "OK: exported totals equal the recount" in first.stdout
        assert first.stdout.count(": closed now") == 2
        accounts, agents, answers, total = summary(first.stdout)
        assert accounts == 2 and agents >= 30 and answers >= 100 and total > 0

        # Again: the months are closed already; the exports still equal the recount.
        again = run_check("--url", demo.url, "--database-url", demo_database)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count(": already closed") == 2
        assert summary(again.stdout) == (accounts, agents, answers, total)

        # A reward removed behind the ledger's back (a direct SQL update) is caught.
        engine = sa.create_engine(demo_database)
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT r.id, a.name FROM ledger_entries l JOIN responses r ON r.id = l.response_id "
                        "JOIN agents a ON a.id = r.agent_id JOIN statement_closes c "
                        "ON c.account_id = l.account_id AND c.month = l.month ORDER BY l.id LIMIT 1"
                    )
                ).one()
                conn.execute(sa.text("UPDATE responses SET reward = NULL WHERE id = :id"), {"id": row[0]})
        finally:
            engine.dispose()
        tampered = run_check("--url", demo.url, "--database-url", demo_database)
        assert tampered.returncode == 1, tampered.stdout + tampered.stderr
        assert "FAILED: exported totals differ from the recount" in tampered.stdout
        assert f"{row[1]}: csv" in tampered.stdout


def test_the_check_starts_and_stops_its_own_demo(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    done = run_check("--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Starting streamsrv demo" in done.stdout
    assert "OK: exported totals equal the recount" in done.stdout
    _, agents, _, total = summary(done.stdout)
    assert agents > 0 and total > 0
    assert (data_dir / "streamsrv.sqlite3").is_file()
    log = (data_dir / "statement-check-demo.log").read_text()
    assert "Stopped cleanly." in log, log


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    done = run_check("--url", "http://127.0.0.1:9", "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert "statement check could not run" in done.stderr
