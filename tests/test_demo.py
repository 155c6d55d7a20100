"""The demo: seeding, the traffic simulator against a live server, and the real command."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from streamsrv import migrate
from streamsrv.app import create_app
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.demo.people import DEMO_PASSWORD, ORG_NAME
from streamsrv.demo.seed import demo_targets, history_start, month_start, new_traffic_key, seed_demo
from streamsrv.demo.traffic import INGEST, SURVEY, run_traffic
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.ledger import month_key
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    Agent,
    CaseStatus,
    CoachingNote,
    Interaction,
    LedgerEntry,
    LedgerKind,
    Organization,
    QaEvaluation,
    QaTemplate,
    RecoveryCase,
    Response,
    Role,
    Shoutout,
    Team,
    User,
    utcnow,
)
from streamsrv.periods import zone
from tests.conftest import make_settings
from tests.process_support import START_TIMEOUT
from tests.support import TIMEOUT, LiveServer, wait_until


def count(session: Session, model: type, org_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(model.org_id == org_id)).one())


@pytest.fixture
def demo_db(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[tuple[Database, Settings]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", redis_server.url, tmp_path)
    db = Database(settings.database_url)
    migrate.upgrade(db.engine)
    yield db, settings
    db.dispose()


def test_seed_builds_the_demo_organization_once(demo_db: tuple[Database, Settings]) -> None:
    db, settings = demo_db
    with db.session() as session:
        first = seed_demo(session, settings)
    assert first.created and first.ingest_api_key and first.ingest_api_key.startswith("ssk_")
    assert 900 <= first.backfilled <= 1800
    with db.session() as session:
        again = seed_demo(session, settings)
    assert again.created is False and again.org_id == first.org_id
    assert again.ingest_api_key is None

    with db.session() as session:
        org_id = first.org_id
        assert len(session.exec(select(Organization).where(Organization.name == ORG_NAME)).all()) == 1
        accounts = session.exec(select(Account).where(Account.org_id == org_id)).all()
        assert sorted(a.name for a in accounts) == ["Aurora Telecom", "Brightside Energy"]
        aurora = next(a for a in accounts if a.name == "Aurora Telecom")
        assert aurora.ask_csat and aurora.ask_nps and aurora.ask_fcr and aurora.promo_code
        brightside = next(a for a in accounts if a.name == "Brightside Energy")
        assert brightside.ask_csat and not brightside.ask_nps and not brightside.ask_fcr
        assert count(session, Team, org_id) == 4
        agents = session.exec(select(Agent).where(Agent.org_id == org_id)).all()
        assert len(agents) >= 36
        for agent in agents:
            assert agent.bio and agent.hobbies
            assert agent.photo_url and agent.photo_url.startswith("/static/img/avatars/")
            # Written into the data directory (served from there), never into the package.
            assert (settings.avatars_dir / agent.photo_url.rsplit("/", 1)[1]).is_file()
        users = session.exec(select(User).where(User.org_id == org_id)).all()
        assert {u.role for u in users} == {str(r) for r in Role}
        by_role = {u.role: u for u in users}
        assert by_role[Role.client_viewer].account_ids == [aurora.id]
        assert set(by_role[Role.manager].account_ids) == {aurora.id, brightside.id}
        assert len(by_role[Role.team_leader].team_ids) == 1
        assert by_role[Role.agent].agent_id is not None
        # History: from the first day of last month (in each account's zone) to now, skewed
        # positive, through both paths; a couple of recovery follow-ups answered on top.
        assert aurora.time_zone == "America/New_York" and brightside.time_zone == "Europe/London"
        responses = session.exec(
            select(Response).where(Response.org_id == org_id, Response.source != FOLLOWUP_SOURCE)
        ).all()
        assert len(responses) == first.backfilled
        average = sum(r.rating for r in responses) / len(responses)
        assert 4.0 <= average <= 4.9
        assert {r.source for r in responses} >= {"survey", "api"}
        now = utcnow()
        for account in accounts:
            own = [r for r in responses if r.account_id == account.id]
            months = {month_key(r.created_at, account.time_zone) for r in own}
            this_month = month_key(now, account.time_zone)
            last_month = month_key(month_start(now, account.time_zone) - timedelta(days=1), account.time_zone)
            assert months == {last_month, this_month}
            assert min(r.created_at for r in own) >= history_start(now, account.time_zone)
            assert len({r.created_at.astimezone(zone(account.time_zone)).date() for r in own}) >= 28
        # Rewards came through the ledger's receiver: one award per rewarded response.
        awards = session.exec(select(LedgerEntry).where(LedgerEntry.org_id == org_id)).all()
        assert sorted(e.response_id or 0 for e in awards) == sorted(r.id or 0 for r in responses if r.reward)
        assert all(e.kind == LedgerKind.award for e in awards)
        # What people did with it: a scorecard per account, reviews, coaching, worked cases.
        assert count(session, QaTemplate, org_id) == 2
        assert count(session, QaEvaluation, org_id) >= 40
        assert count(session, CoachingNote, org_id) > 0 and count(session, Shoutout, org_id) > 0
        cases = session.exec(select(RecoveryCase).where(RecoveryCase.org_id == org_id)).all()
        assert {c.status for c in cases} >= {CaseStatus.resolved}
        assert sum(1 for c in cases if c.after_rating is not None) == 2
        followups = session.exec(
            select(Response).where(Response.org_id == org_id, Response.source == FOLLOWUP_SOURCE)
        ).all()
        assert len(followups) == 2 and all(f.reward is None for f in followups)
    assert {login.role for login in first.logins} == {str(r) for r in Role}
    assert all(login.password == DEMO_PASSWORD for login in first.logins)


def _history(settings: Settings, now: datetime) -> tuple[list[tuple[object, ...]], ...]:
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db.engine)
        with db.session() as session:
            seed_demo(session, settings, rng=random.Random(11), now=now)
        with db.session() as session:
            answers = session.exec(
                select(Response, Interaction, Agent)
                .join(Interaction, col(Interaction.id) == col(Response.interaction_id))
                .join(Agent, col(Agent.id) == col(Response.agent_id))
                .order_by(col(Response.id))
            ).all()
            rows = [
                (
                    a.name,
                    i.external_id,
                    i.customer_email,
                    r.created_at,
                    r.rating,
                    r.comment,
                    r.reward,
                    tuple(r.improvement_areas),
                    r.csat,
                    r.nps,
                    r.fcr,
                    r.channel,
                )
                for r, i, a in answers
            ]
            ledger = [
                (e.agent_id, e.month, e.amount_cents)
                for e in session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id)))
            ]
            reviews = [
                (q.interaction_id, q.score, q.comment, q.created_at)
                for q in session.exec(select(QaEvaluation).order_by(col(QaEvaluation.id)))
            ]
            cases = [
                (c.response_id, c.status, c.after_rating)
                for c in session.exec(select(RecoveryCase).order_by(col(RecoveryCase.id)))
            ]
    finally:
        db.dispose()
    return rows, ledger, reviews, cases


def test_the_history_is_the_same_for_the_same_seed_and_time(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    now = utcnow()
    first, second = (
        _history(make_settings(f"sqlite:///{tmp_path / f'{n}.sqlite3'}", redis_server.url, tmp_path / n), now)
        for n in ("one", "two")
    )
    assert first[0] and first[1] and first[2] and first[3]
    assert first == second


async def test_bounded_traffic_run_stores_every_response(
    demo_db: tuple[Database, Settings], redis_server: EmbeddedRedis
) -> None:
    db, settings = demo_db
    with db.session() as session:
        org_id = seed_demo(session, settings, with_history=False).org_id
        key = new_traffic_key(session, org_id)
        targets = demo_targets(session, org_id)
    live = LiveServer(create_app(settings)).start()
    try:
        stats = await run_traffic(
            live.url, key, targets, rate=100.0, max_count=20, max_seconds=TIMEOUT * 6, rng=random.Random(7)
        )
    finally:
        live.stop()
    assert stats.errors == 0, stats.last_error
    assert stats.sent == 20
    assert stats.by_path[INGEST] > 0 and stats.by_path[SURVEY] > 0
    with db.session() as session:
        rows = session.exec(
            select(Response, Interaction)
            .join(Interaction, col(Interaction.id) == col(Response.interaction_id))
            .where(Response.org_id == org_id)
        ).all()
    assert len(rows) == 20
    average = sum(r.rating for r, _ in rows) / len(rows)
    assert 3.5 <= average <= 5.0
    paths = {i.external_id.split("-")[1] for _, i in rows}
    assert paths == {INGEST, SURVEY}


def test_traffic_stops_at_max_seconds_when_the_server_refuses(
    demo_db: tuple[Database, Settings],
) -> None:
    import asyncio

    db, settings = demo_db
    with db.session() as session:
        org_id = seed_demo(session, settings, with_history=False).org_id
        targets = demo_targets(session, org_id)
    live = LiveServer(create_app(settings)).start()
    try:
        started = time.monotonic()
        stats = asyncio.run(
            run_traffic(live.url, "ssk_wrong_key", targets, rate=50.0, max_seconds=1.0, max_errors=1000)
        )
    finally:
        live.stop()
    assert time.monotonic() - started < TIMEOUT
    assert stats.sent == 0 and stats.errors > 0
    assert stats.last_error and "401" in stats.last_error


class Lines:
    """Reads a child's stdout on a thread so the test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._thread = threading.Thread(target=self._pump, args=(self._stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not printed within {timeout}s:\n{''.join(self.seen)}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended before {needle!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if needle in line:
                return line

    def close(self) -> None:
        """Call after the child exited: the pump has reached end of file and the pipe can go."""
        self._thread.join(timeout=TIMEOUT)
        self._stream.close()

    def rest(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return "".join(self.seen)


def demo_env() -> dict[str, str]:
    # Embedded defaults only: the command must work with nothing configured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSRV_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.slow
def test_demo_command_serves_simulates_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamsrv", "demo", "--port", str(port), "--rate", "20"],
        cwd=tmp_path,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines(proc)
    try:
        survey_line = lines.wait_for("survey link", START_TIMEOUT)
        lines.wait_for("Press Ctrl-C to stop", TIMEOUT)
        url = next(word for word in survey_line.split() if word.startswith("http"))
        page = httpx.get(url, timeout=TIMEOUT)
        assert page.status_code == 200
        assert "Maya Chen" in page.text

        db = Database(f"sqlite:///{tmp_path / 'var' / 'streamsrv.sqlite3'}")
        try:

            def simulated() -> int:
                with db.session() as session:
                    return int(
                        session.exec(
                            select(func.count())
                            .select_from(Response)
                            .join(Interaction, col(Interaction.id) == col(Response.interaction_id))
                            .where(col(Interaction.external_id).like("demo-%"))
                        ).one()
                    )

            wait_until(simulated, timeout=TIMEOUT * 2, interval=0.1)
        finally:
            db.dispose()

        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=TIMEOUT * 4)
        output = lines.rest(TIMEOUT)
        assert code == 0, output
        assert "Stopped cleanly." in output
        assert "Traceback" not in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        lines.close()


@pytest.mark.slow
def test_demo_seed_only_prints_logins_and_exits(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamsrv", "demo", "--seed-only"],
        cwd=tmp_path,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    for mailbox in ("admin", "manager", "client", "teamlead", "recovery", "agent"):
        assert f"{mailbox}@demo.streamsrv.local" in done.stdout
    assert DEMO_PASSWORD in done.stdout
    assert (tmp_path / "var" / "streamsrv.sqlite3").is_file()
