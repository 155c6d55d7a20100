"""Scheduled chat messages: recovery cases past their SLA, and each account's daily digest.

Both run on every node's scheduler (``streamsrv.deliveries.schedule``) and enqueue with dedupe
keys, so whichever node runs a slot, and however often a slot is retried, each case's breach and
each day's digest reach a channel once.

- SLA breach: a case not resolved by ``opened_at + recovery_sla_minutes`` has breached (the rule
  of ``streamsrv.recovery.metrics``). Checked every minute over the cases of the last
  :data:`BREACH_LOOKBACK`, for accounts with a channel that wants breaches.
- Digest: at the account's ``report_hour`` in its time zone (or up to five hours later, should
  the server have been down then: ``streamsrv.reports.timing``), yesterday's local day
  (``streamsrv.periods``) in figures from the dashboard's own aggregates, for the account or the
  channel's team, with the day's best and worst response (``streamsrv.reports.digest``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from streamsrv import labels
from streamsrv.auth import Identity
from streamsrv.chat import channels
from streamsrv.chat.channels import ChannelRoute
from streamsrv.chat.enqueue import case_path, enqueue_message, stars
from streamsrv.chat.messages import Message
from streamsrv.dashboard import aggregates
from streamsrv.dashboard.filters import DashboardQuery, Period
from streamsrv.db import Database
from streamsrv.deliveries.schedule import Periodic
from streamsrv.models import (
    Account,
    Agent,
    CaseStatus,
    Delivery,
    NotificationChannel,
    RecoveryCase,
    Role,
    Team,
)
from streamsrv.periods import day_bounds, local_date, zone
from streamsrv.reports.digest import Highlight, highlights
from streamsrv.reports.timing import report_day, send_date

SLA_JOB = "chat.sla_breaches"
SLA_EVERY = timedelta(minutes=1)
DIGEST_JOB = "chat.digests"
DIGEST_EVERY = timedelta(minutes=15)
BREACH_LOOKBACK = timedelta(days=7)
# Cases reported per account per run; the next run takes the rest.
BREACH_BATCH = 500
TOP_AGENTS = 3


def _subscribed(session: Session, event: str) -> dict[int, list[ChannelRoute]]:
    """Channels wanting ``event``, by account (across organizations: this is the server's job)."""
    by_account: dict[int, list[ChannelRoute]] = defaultdict(list)
    for row in session.exec(select(NotificationChannel).order_by(col(NotificationChannel.id))).all():
        if event in row.events and row.id is not None:
            by_account[row.account_id].append(
                ChannelRoute(row.id, row.kind, row.account_id, row.team_id, frozenset(row.events))
            )
    return by_account


def _unresolved(account: Account) -> list[Any]:
    return [
        RecoveryCase.org_id == account.org_id,
        RecoveryCase.account_id == account.id,
        col(RecoveryCase.status) != CaseStatus.resolved,
    ]


def breach_message(case: RecoveryCase, agent: str, account: Account) -> Message:
    due = case.opened_at + timedelta(minutes=account.recovery_sla_minutes)
    assert case.id is not None
    return Message(
        title=f"Recovery case past its SLA: {agent}",
        facts=[
            ("Agent", agent),
            ("Rating", stars(case.before_rating)),
            ("Status", labels.status_label(case.status)),
            ("Opened", labels.format_datetime(case.opened_at, account.time_zone)),
            ("Deadline", labels.format_datetime(due, account.time_zone)),
        ],
        link_path=case_path(case.id),
        link_label="Open the recovery case",
        summary=f"A recovery case for {agent} is past its SLA",
    )


def enqueue_breaches(session: Session, now: datetime) -> int:
    made = 0
    for account_id, routes in _subscribed(session, channels.CASE_SLA_BREACH).items():
        account = session.get(Account, account_id)
        if account is None:
            continue
        deadline = now - timedelta(minutes=account.recovery_sla_minutes)
        cases = session.exec(
            select(RecoveryCase)
            .where(
                *_unresolved(account),
                col(RecoveryCase.opened_at) < deadline,
                col(RecoveryCase.opened_at) >= deadline - BREACH_LOOKBACK,
            )
            .order_by(col(RecoveryCase.id))
            .limit(BREACH_BATCH)
        ).all()
        if not cases:
            continue
        agents = dict(
            session.exec(
                select(Agent.id, Agent.name).where(col(Agent.id).in_(sorted({c.agent_id for c in cases})))
            ).all()
        )
        for case in cases:
            targets = [r for r in routes if r.wants(channels.CASE_SLA_BREACH, account_id, case.team_id)]
            agent = agents.get(case.agent_id, f"Agent {case.agent_id}")
            message = breach_message(case, agent, account)
            made += len(
                enqueue_message(
                    session,
                    account.org_id,
                    targets,
                    channels.CASE_SLA_BREACH,
                    f"case:{case.id}",
                    message,
                    now,
                )
            )
    return made


# A digest's comment is a glimpse: the whole one is on the dashboard.
DIGEST_COMMENT_MAX = 150


def highlight_line(item: Highlight) -> str:
    """``Maria Lopez, 5★ of 5: “so helpful”`` (the renderers escape it for Slack and Teams)."""
    line = f"{item.agent}, {stars(item.rating)}"
    if item.comment:
        comment = item.comment
        if len(comment) > DIGEST_COMMENT_MAX:
            comment = comment[: DIGEST_COMMENT_MAX - 1].rstrip() + "\u2026"
        line += f": \u201c{comment}\u201d"
    return line


def digest_figures(
    session: Session, account: Account, team_id: int | None, period: Period, now: datetime
) -> Message:
    """Yesterday for the account (or one of its teams), from the dashboard's aggregates."""
    assert account.id is not None
    identity = Identity(
        org_id=account.org_id,
        role=Role.admin,
        scopes=frozenset({"read"}),
        name="daily digest",
        account_ids=frozenset({account.id}),
    )
    query = DashboardQuery(account_id=account.id, team_id=team_id)
    summary = aggregates.summary(session, identity, query, period)
    negative = sum(d["count"] for d in summary["distribution"] if d["rating"] <= account.negative_threshold)
    agents = [
        i for i in aggregates.breakdown(session, identity, query, period, "agent")["items"] if i["responses"]
    ]
    agents.sort(key=lambda i: (-(i["average_rating"] or 0), -i["responses"], i["name"]))
    top = ", ".join(
        f"{i['name']} ({i['average_rating']:.1f}\u2605, {i['responses']})" for i in agents[:TOP_AGENTS]
    )
    unresolved = _unresolved(account)
    if team_id is not None:
        unresolved.append(RecoveryCase.team_id == team_id)
    deadline = now - timedelta(minutes=account.recovery_sla_minutes)
    open_cases = session.exec(select(func.count(col(RecoveryCase.id))).where(*unresolved)).one()
    breached = session.exec(
        select(func.count(col(RecoveryCase.id))).where(*unresolved, col(RecoveryCase.opened_at) < deadline)
    ).one()
    name = account.name
    if team_id is not None:
        team = session.get(Team, team_id)
        name = f"{account.name} \u00b7 {team.name}" if team is not None else name
    day = local_date(period.since, period.tz)
    average = summary["average_rating"]
    best, worst = highlights(
        session,
        account.org_id,
        period,
        account_id=account.id,
        team_ids=None if team_id is None else [team_id],
        limit=1,
    )
    return Message(
        title=f"Daily digest: {name}, {day.isoformat()}",
        facts=[
            ("Responses", str(summary["responses"])),
            ("Average rating", f"{average:.2f}\u2605" if average is not None else "\u2013"),
            ("Negative responses", str(negative)),
            ("Top agents", top or "\u2013"),
            ("Open recovery cases", str(open_cases)),
            ("Past their SLA", str(breached)),
            ("Best of the day", highlight_line(best[0]) if best else "\u2013"),
            ("Worst of the day", highlight_line(worst[0]) if worst else "\u2013"),
        ],
        link_path="/dashboard",
        link_label="Open the dashboard",
        summary=f"Daily digest for {name}: {summary['responses']} responses, {negative} negative",
    )


def _all_enqueued(session: Session, keys: list[str]) -> bool:
    found = session.exec(select(func.count(col(Delivery.id))).where(col(Delivery.dedupe_key).in_(keys))).one()
    return int(found) >= len(keys)


def enqueue_digests(session: Session, now: datetime) -> int:
    made = 0
    for account_id, routes in _subscribed(session, channels.DAILY_DIGEST).items():
        account = session.get(Account, account_id)
        if account is None:
            continue
        tz = zone(account.time_zone)
        sent_on = send_date(now, tz, account.report_hour)
        if sent_on is None:
            continue
        yesterday = report_day(sent_on)
        period = Period(*day_bounds(yesterday, tz), tz)
        by_team: dict[int | None, list[ChannelRoute]] = defaultdict(list)
        for route in routes:
            by_team[route.team_id].append(route)
        cause = f"{account_id}:{yesterday.isoformat()}"
        for team_id, targets in by_team.items():
            keys = [f"{channels.DAILY_DIGEST}:{cause}:{t.id}" for t in targets]
            if _all_enqueued(session, keys):
                continue  # a run earlier this morning (here or on another node) sent it
            message = digest_figures(session, account, team_id, period, now)
            made += len(
                enqueue_message(session, account.org_id, targets, channels.DAILY_DIGEST, cause, message, now)
            )
    return made


def periodic(db: Database) -> list[Periodic]:
    async def breaches(now: datetime) -> None:
        await db.run(lambda session: enqueue_breaches(session, now))

    async def digests(now: datetime) -> None:
        await db.run(lambda session: enqueue_digests(session, now))

    return [Periodic(SLA_JOB, SLA_EVERY, breaches), Periodic(DIGEST_JOB, DIGEST_EVERY, digests)]
