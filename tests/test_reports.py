"""Scheduled reports by email: the team leader's daily digest and the client viewer's weekly
summary, through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

The jobs run with a chosen ``now`` (the account's report hour tomorrow, or next week), so nothing
waits for a clock; the deliveries they queue are due at that future ``now`` and are brought
forward for the server's worker, as the chat digest's test does. Each account's report hour is
set twelve hours away from the real one, so the server's own scheduler never finds it due.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from streamsrv.deliveries.schedule import Scheduler
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.models import Account, Delivery, DeliveryStatus, Response, Role, User, utcnow
from streamsrv.periods import zone
from streamsrv.reports import jobs, timing
from tests.email_support import MailStack, mail_stack, parts
from tests.streaming import make_user
from tests.support import TIMEOUT, wait_until
from tests.survey_support import Setup, interaction_body, make_setup

ZONE = "America/New_York"
EVIL = "<script>alert('x')</script> & more"


@pytest.fixture(scope="module")
def stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[MailStack]:
    yield from mail_stack(backend, tmp_path_factory.mktemp("reports"), redis_server)


@pytest.fixture
def api(stack: MailStack) -> Iterator[httpx.Client]:
    with stack.api() as client:
        yield client


def quiet_hour() -> int:
    """An hour the real clock in :data:`ZONE` is far from (the server's scheduler runs too)."""
    return (utcnow().astimezone(zone(ZONE)).hour + 12) % 24


def setup_for(stack: MailStack, **account: Any) -> Setup:
    account.setdefault("suppression_days", 0)
    account.setdefault("time_zone", ZONE)
    account.setdefault("report_hour", quiet_hour())
    return make_setup(stack.db, stack.org.org_id, **account)


def answer(
    stack: MailStack, api: httpx.Client, setup: Setup, agent_id: int | None = None, **body: Any
) -> int:
    interaction = interaction_body(setup, send="none")
    if agent_id is not None:
        interaction["agent_id"] = agent_id
    created = api.post("/api/v1/interactions", json=interaction)
    assert created.status_code == 201, created.text
    token = created.json()["request"]["token"]
    r = httpx.post(f"{stack.server.url}/api/v1/responses/{token}", json=body, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    body_out = r.json()
    return int(body_out["response"]["id"])


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in :data:`ZONE`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(ZONE)).astimezone(zone("UTC"))


def today() -> date:
    return utcnow().astimezone(zone(ZONE)).date()


def reports_for(stack: MailStack, user: User) -> list[Delivery]:
    with stack.db.session() as s:
        return list(
            s.exec(
                select(Delivery)
                .where(Delivery.kind == jobs.KIND, Delivery.ref == f"user:{user.id}")
                .order_by(col(Delivery.id))
            ).all()
        )


def deliver(stack: MailStack, user: User, count: int = 1) -> list[EmailMessage]:
    """Bring the user's queued reports forward (they are due at the chosen future ``now``) and
    wait until the SMTP server has them all."""
    with stack.db.session() as s:
        s.execute(
            update(Delivery)
            .where(
                col(Delivery.kind) == jobs.KIND,
                col(Delivery.ref) == f"user:{user.id}",
                col(Delivery.status) == DeliveryStatus.scheduled,
            )
            .values(due_at=utcnow())
        )
    got = stack.inbox.wait_for(user.email, count)
    wait_until(
        lambda: all(d.status == DeliveryStatus.sent for d in reports_for(stack, user)), timeout=TIMEOUT * 2
    )
    return got


def run_daily(stack: MailStack, now: datetime) -> int:
    with stack.db.session() as s:
        return jobs.enqueue_daily(s, now)


def run_weekly(stack: MailStack, now: datetime) -> int:
    with stack.db.session() as s:
        return jobs.enqueue_weekly(s, now)


def hide(api: httpx.Client, response_id: int) -> None:
    r = api.post(f"/api/v1/responses/{response_id}/moderation", json={"hidden": True, "reason": "abuse"})
    assert r.status_code == 200, r.text


def move_back(stack: MailStack, response_ids: list[int], delta: timedelta) -> None:
    with stack.db.session() as s:
        for rid in response_ids:
            row = s.get(Response, rid)
            assert row is not None
            s.execute(
                update(Response).where(col(Response.id) == rid).values(created_at=row.created_at - delta)
            )


# --- timing ------------------------------------------------------------------------------------


def test_send_date_window_and_report_periods() -> None:
    tz = zone(ZONE)
    day = date(2026, 3, 9)  # a Monday, the day after New York's clocks went forward
    assert timing.send_date(at(day, 6, 59), tz, 7) is None
    assert timing.send_date(at(day, 7, 0), tz, 7) == day
    assert timing.send_date(at(day, 11, 59), tz, 7) == day
    assert timing.send_date(at(day, 12, 0), tz, 7) is None
    # A window that runs past midnight still belongs to the day it began on.
    assert timing.send_date(at(day, 23, 30), tz, 22) == day
    assert timing.send_date(at(day + timedelta(days=1), 1, 0), tz, 22) == day
    assert timing.send_date(at(day + timedelta(days=1), 3, 0), tz, 22) is None
    assert timing.report_day(day) == date(2026, 3, 8)
    assert timing.report_week(day) == date(2026, 3, 2)
    assert timing.report_week(date(2026, 3, 15)) == date(2026, 3, 2)  # a Sunday: last full week


# --- daily digest ------------------------------------------------------------------------------


def test_daily_digest_to_a_team_leader(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    other = setup_for(stack)
    leader = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[setup.team_id])
    other_leader = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[other.team_id])
    inactive = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[setup.team_id], active=False)
    answer(stack, api, setup, rating=5, comment="Wonderful, thank you Maria")
    answer(stack, api, setup, agent_id=setup.other_agent_id, rating=4, comment=EVIL)
    rude = answer(stack, api, setup, rating=1, comment="Personal details 0790 hidden away")
    answer(stack, api, setup, agent_id=setup.other_agent_id, rating=2, comment="Slow to reply")
    hide(api, rude)
    answer(stack, api, other, rating=3, comment="Other account's words")
    hour = quiet_hour()
    tomorrow = today() + timedelta(days=1)

    # Before the report hour nothing is queued.
    assert run_daily(stack, at(tomorrow, hour) - timedelta(minutes=1)) == 0
    assert reports_for(stack, leader) == []
    made = run_daily(stack, at(tomorrow, hour, 10))
    assert made == 2  # this leader and the other account's; not the deactivated one
    assert reports_for(stack, inactive) == []
    [queued] = reports_for(stack, leader)
    assert queued.dedupe_key == f"report.daily:{leader.id}:{today().isoformat()}"
    assert queued.payload["account_id"] == setup.account_id
    # A second run the same morning queues nothing more.
    assert run_daily(stack, at(tomorrow, hour, 40)) == 0
    assert len(reports_for(stack, leader)) == 1

    [message] = deliver(stack, leader)
    text, html = parts(message)
    text = text.replace("\r\n", "\n")
    assert today().isoformat() in str(message["Subject"]) and "4 responses" in str(message["Subject"])
    assert "Responses: 4" in text and "Average rating: 3.00\u2605" in text
    assert "Negative responses: 2" in text and "Open recovery cases: 2" in text
    assert 'Maria Lopez, 5\u2605 of 5 (Chat): "Wonderful, thank you Maria"' in text
    assert 'Sam Otieno, 2\u2605 of 5 (Chat): "Slow to reply"' in text
    # The hidden comment appears nowhere; its response still counts, listed without words.
    for body in (text, html, message.as_string()):
        assert "Personal details" not in body and "0790" not in body
    assert "Maria Lopez, 1\u2605 of 5 (Chat)\n" in text
    # Customer text is escaped in HTML, verbatim in the plain text.
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert EVIL in text
    assert "Other account" not in text and "Other account" not in html
    assert (
        f"{stack.settings.public_url}/coach" in text and f'href="{stack.settings.public_url}/coach"' in html
    )

    # Each leader gets only their own teams.
    [theirs] = deliver(stack, other_leader)
    their_text, _ = parts(theirs)
    assert "Other account's words" in their_text and "Wonderful" not in their_text
    # A run the day after (no responses that day) sends nothing more to anyone.
    assert run_daily(stack, at(tomorrow + timedelta(days=1), hour, 10)) == 0
    assert len(stack.inbox.to(leader.email)) == 1


def test_a_leader_whose_teams_had_no_responses_gets_nothing(stack: MailStack) -> None:
    setup = setup_for(stack)
    leader = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[setup.team_id])
    run_daily(stack, at(today() + timedelta(days=1), quiet_hour(), 5))
    assert reports_for(stack, leader) == []


def test_two_nodes_running_the_same_slot_send_once(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    leader = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[setup.team_id])
    answer(stack, api, setup, rating=5, comment="Great")
    # A minute no other test of this module uses, so the slot is fresh.
    now = at(today() + timedelta(days=1), quiet_hour(), 2) + timedelta(hours=2)
    job = [p for p in jobs.periodic(stack.db) if p.name == jobs.DAILY_JOB]
    node_a = Scheduler(stack.db, f"node-a-{secrets.token_hex(3)}", job)
    node_b = Scheduler(stack.db, f"node-b-{secrets.token_hex(3)}", job)

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(node_a.run_due(now), node_b.run_due(now)))

    ran = asyncio.run(both())
    assert sorted(len(r) for r in ran) == [0, 1], ran
    # The next slot, on the other node: the dedupe key holds.
    asyncio.run(node_b.run_due(now + jobs.EVERY))
    assert len(reports_for(stack, leader)) == 1
    deliver(stack, leader)
    assert len(stack.inbox.to(leader.email)) == 1


# --- weekly summary ----------------------------------------------------------------------------


def test_weekly_summary_to_client_viewers_of_their_account_only(stack: MailStack, api: httpx.Client) -> None:
    weekday = today().isoweekday()
    mine = setup_for(
        stack, ask_csat=True, ask_nps=True, weekly_report_day=weekday, leaderboard_min_responses=1
    )
    theirs = setup_for(stack, weekly_report_day=weekday)
    viewer = make_user(stack.db, stack.org.org_id, Role.client_viewer, account_ids=[mine.account_id])
    other_viewer = make_user(stack.db, stack.org.org_id, Role.client_viewer, account_ids=[theirs.account_id])
    answer(stack, api, mine, rating=5, csat=5, nps=10, comment="Lovely")
    answer(stack, api, mine, rating=4, csat=4, nps=9)
    answer(stack, api, mine, agent_id=mine.other_agent_id, rating=1, csat=1, nps=2)
    earlier = answer(stack, api, mine, rating=2, csat=2, nps=5)
    move_back(stack, [earlier], timedelta(days=7))
    answer(stack, api, theirs, rating=3)
    hour = quiet_hour()
    # Next week, on the accounts' report day: the week covered is this one.
    send_on = today() + timedelta(days=7)
    assert timing.report_week(send_on) == timing.week_start(today())

    assert run_weekly(stack, at(send_on - timedelta(days=1), hour, 10)) == 0  # not the report day
    assert run_weekly(stack, at(send_on, hour) - timedelta(minutes=1)) == 0  # before the hour
    assert run_weekly(stack, at(send_on, hour, 10)) == 2
    assert run_weekly(stack, at(send_on, hour, 25)) == 0

    [message] = deliver(stack, viewer)
    text, html = parts(message)
    text = text.replace("\r\n", "\n")
    monday = timing.week_start(today())
    assert monday.isoformat() in str(message["Subject"])
    assert "Responses: 3 (week before 1, +2)" in text
    assert "Average rating: 3.33\u2605 (week before 2.00\u2605, +1.33)" in text
    assert "CSAT: 66.7% (week before 0.0%, +66.7 pts)" in text
    assert "NPS: 33.3 (week before -100.0, +133.3)" in text
    assert "Solved in one contact" not in text  # the account does not ask it
    assert "1. Maria Lopez: 4.50\u2605 over 2 responses" in text
    assert "2. Sam Otieno: 1.00\u2605 over 1 response\n" in text
    assert "Cases opened: 2" in text and "Open now: 2" in text
    assert "Lovely" not in text  # a summary, not comments
    theirs_name = _account_name(stack, theirs)
    assert theirs_name not in text and theirs_name not in html
    assert _account_name(stack, mine) in text
    assert f'href="{stack.settings.public_url}/dashboard"' in html
    [their_message] = deliver(stack, other_viewer)
    assert theirs_name in parts(their_message)[0]
    assert len(stack.inbox.to(viewer.email)) == 1


def _account_name(stack: MailStack, setup: Setup) -> str:
    with stack.db.session() as s:
        account = s.get(Account, setup.account_id)
        assert account is not None
        return account.name


def test_a_deactivated_viewer_gets_nothing_at_send_time(stack: MailStack, api: httpx.Client) -> None:
    weekday = today().isoweekday()
    setup = setup_for(stack, weekly_report_day=weekday)
    viewer = make_user(stack.db, stack.org.org_id, Role.client_viewer, account_ids=[setup.account_id])
    answer(stack, api, setup, rating=4)
    assert run_weekly(stack, at(today() + timedelta(days=7), quiet_hour(), 3) + timedelta(hours=1)) >= 1
    with stack.db.session() as s:
        s.execute(update(User).where(col(User.id) == viewer.id).values(active=False))
    with stack.db.session() as s:
        s.execute(
            update(Delivery)
            .where(col(Delivery.kind) == jobs.KIND, col(Delivery.ref) == f"user:{viewer.id}")
            .values(due_at=utcnow())
        )
    [row] = wait_until(
        lambda: (got := reports_for(stack, viewer)) and got[0].status == DeliveryStatus.suppressed and got,
        timeout=TIMEOUT * 2,
    )
    assert "deactivated" in (row.last_error or "")
    assert stack.inbox.to(viewer.email) == []


def test_a_bounced_report_puts_the_address_on_the_account_list(stack: MailStack, api: httpx.Client) -> None:
    setup = setup_for(stack)
    leader = make_user(stack.db, stack.org.org_id, Role.team_leader, team_ids=[setup.team_id])
    stack.inbox.refuse[leader.email] = "550 5.1.1 no such user"
    answer(stack, api, setup, rating=4)
    hour = quiet_hour()
    tomorrow = today() + timedelta(days=1)
    assert run_daily(stack, at(tomorrow, hour, 4) + timedelta(hours=3)) == 1
    with stack.db.session() as s:
        s.execute(
            update(Delivery)
            .where(col(Delivery.kind) == jobs.KIND, col(Delivery.ref) == f"user:{leader.id}")
            .values(due_at=utcnow())
        )
    [row] = wait_until(
        lambda: (got := reports_for(stack, leader)) and got[0].status == DeliveryStatus.failed and got,
        timeout=TIMEOUT * 2,
    )
    assert (row.last_error or "").startswith("bounced: 550")
    r = api.get(f"/api/v1/accounts/{setup.account_id}/suppressions")
    assert r.status_code == 200, r.text
    assert leader.email.lower() in [item["email"] for item in r.json()["items"]]
    # The next day's digest to that address is not sent.
    stack.inbox.refuse.pop(leader.email)
    next_day = answer(stack, api, setup, rating=5)
    move_back(stack, [next_day], timedelta(days=-1))
    assert run_daily(stack, at(tomorrow + timedelta(days=1), hour, 4) + timedelta(hours=3)) == 1
    with stack.db.session() as s:
        s.execute(
            update(Delivery)
            .where(
                col(Delivery.kind) == jobs.KIND,
                col(Delivery.ref) == f"user:{leader.id}",
                col(Delivery.status) == DeliveryStatus.scheduled,
            )
            .values(due_at=utcnow())
        )
    wait_until(
        lambda: (got := reports_for(stack, leader)) and got[-1].status == DeliveryStatus.suppressed,
        timeout=TIMEOUT * 2,
    )
    assert "suppression list" in (reports_for(stack, leader)[-1].last_error or "")
    assert stack.inbox.to(leader.email) == []
