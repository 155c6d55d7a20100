"""Scheduling the report emails: which are due now, queued once each across nodes.

Both jobs run every :data:`EVERY` on every node's scheduler (``streamsrv.deliveries.schedule``:
one node runs each slot) and queue deliveries of kind :data:`KIND` with a dedupe key, so that a
retried slot, a second node or a catch-up run later in the morning never queues a report twice:

- ``report.daily:<user_id>:<day>``: each active team leader, for their teams' ``day``;
- ``report.weekly:<user_id>:<account_id>:<monday>``: each active client viewer, per account.

What the email says is read when it is sent (``streamsrv.reports.sender``), so a comment hidden
in between is not shown and a user deactivated in between gets nothing.

A team leader's reports follow their *home account*, the account of their first team (lowest
id): its ``report_hour`` and time zone decide when the digest goes and which day it covers.
A leader whose teams had no responses that day gets no email.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from streamsrv.db import Database
from streamsrv.deliveries import queue
from streamsrv.deliveries.schedule import Periodic
from streamsrv.mail.smtp import queue_for
from streamsrv.models import Account, Delivery, Role, SmtpSettings, User
from streamsrv.periods import zone
from streamsrv.reports import digest
from streamsrv.reports.timing import report_day, report_week, send_date

KIND = "report_email"
DAILY = "daily"
WEEKLY = "weekly"
DAILY_JOB = "reports.daily"
WEEKLY_JOB = "reports.weekly"
EVERY = timedelta(minutes=15)


def daily_key(user_id: int, day: date) -> str:
    return f"report.daily:{user_id}:{day.isoformat()}"


def weekly_key(user_id: int, account_id: int, monday: date) -> str:
    return f"report.weekly:{user_id}:{account_id}:{monday.isoformat()}"


def _due_accounts(session: Session, now: datetime, weekly: bool) -> dict[int, tuple[Account, date]]:
    """Accounts whose report hour window holds ``now``, with the send date (local)."""
    due: dict[int, tuple[Account, date]] = {}
    for account in session.exec(select(Account).order_by(col(Account.id))).all():
        sent_on = send_date(now, zone(account.time_zone), account.report_hour)
        if sent_on is None or (weekly and sent_on.isoweekday() != account.weekly_report_day):
            continue
        assert account.id is not None
        due[account.id] = (account, sent_on)
    return due


def _queued(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    rows = session.exec(
        select(Delivery.dedupe_key).where(col(Delivery.kind) == KIND, col(Delivery.dedupe_key).in_(wanted))
    ).all()
    return {key for key in rows if key is not None}


def _recipients(session: Session, role: Role) -> list[User]:
    return list(
        session.exec(
            select(User)
            .where(col(User.role) == role, col(User.active).is_(True), col(User.email) != "")
            .order_by(col(User.id))
        ).all()
    )


class _Queues:
    """Each organization's SMTP queue (its own server's, else the server-wide one), looked up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[int, str] = {}

    def __call__(self, org_id: int) -> str:
        if org_id not in self.known:
            self.known[org_id] = queue_for(org_id, self.session.get(SmtpSettings, org_id) is not None)
        return self.known[org_id]


def _enqueue(
    session: Session, queues: _Queues, user: User, key: str, payload: dict[str, Any], now: datetime
) -> bool:
    assert user.id is not None
    made = queue.enqueue(
        session,
        org_id=user.org_id,
        kind=KIND,
        queue=queues(user.org_id),
        ref=f"user:{user.id}",
        payload={**payload, "user_id": user.id},
        due_at=now,
        now=now,
        dedupe_key=key,
    )
    return made is not None


def enqueue_daily(session: Session, now: datetime) -> int:
    """Queue the daily digest of every team leader whose home account's report is due."""
    due = _due_accounts(session, now, weekly=False)
    if not due:
        return 0
    candidates: list[tuple[User, list[int], int, date]] = []
    for user in _recipients(session, Role.team_leader):
        teams = digest.leader_teams(session, user.org_id, user.team_ids) if user.team_ids else []
        if not teams:
            continue
        home = teams[0][1]
        if home.id not in due:
            continue
        assert user.id is not None and home.id is not None
        day = report_day(due[home.id][1])
        candidates.append((user, [t.id for t, _ in teams if t.id is not None], home.id, day))
    done = _queued(session, (daily_key(u.id or 0, day) for u, _, _, day in candidates))
    queues = _Queues(session)
    made = 0
    for user, team_ids, home_id, day in candidates:
        assert user.id is not None
        key = daily_key(user.id, day)
        if key in done:
            continue  # an earlier run (here or on another node) queued it
        period = digest.leader_period(day, due[home_id][0])
        if digest.responses_in(session, user.org_id, team_ids, period) == 0:
            continue  # nothing happened in the leader's teams: no email
        payload = {"report": DAILY, "account_id": home_id, "day": day.isoformat()}
        made += _enqueue(session, queues, user, key, payload, now)
    return made


def enqueue_weekly(session: Session, now: datetime) -> int:
    """Queue the weekly summary of every client viewer, per account of theirs whose day it is."""
    due = _due_accounts(session, now, weekly=True)
    if not due:
        return 0
    candidates: list[tuple[User, int, date]] = []
    for user in _recipients(session, Role.client_viewer):
        for account_id in sorted(set(user.account_ids)):
            found = due.get(account_id)
            if found is None or found[0].org_id != user.org_id:
                continue
            candidates.append((user, account_id, report_week(found[1])))
    done = _queued(session, (weekly_key(u.id or 0, a, monday) for u, a, monday in candidates))
    queues = _Queues(session)
    made = 0
    for user, account_id, monday in candidates:
        assert user.id is not None
        key = weekly_key(user.id, account_id, monday)
        if key in done:
            continue
        payload = {"report": WEEKLY, "account_id": account_id, "week": monday.isoformat()}
        made += _enqueue(session, queues, user, key, payload, now)
    return made


def periodic(db: Database) -> list[Periodic]:
    async def daily(now: datetime) -> None:
        await db.run(lambda session: enqueue_daily(session, now))

    async def weekly(now: datetime) -> None:
        await db.run(lambda session: enqueue_weekly(session, now))

    return [Periodic(DAILY_JOB, EVERY, daily), Periodic(WEEKLY_JOB, EVERY, weekly)]
