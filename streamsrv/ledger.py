"""The reward ledger and monthly statements (issue 13).

Every reward a customer gives becomes an immutable :class:`LedgerEntry`, written by the
``RESPONSE_STORED`` receiver in the response's own transaction. An edit that changes or removes
the reward adds a reversal of the live award and, if a reward remains, a new award; nothing is
ever updated in place. Moderation (hiding a comment) does not touch the ledger: the reward stays.

A statement is the sum of an account's entries for one month (``YYYY-MM`` in the account's time
zone). Once a month is closed, lines that would belong to it go to the next open month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit, stream_names
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.hooks import ResponseChange
from streamsrv.models import Account, Agent, LedgerEntry, LedgerKind, Response, Role, StatementClose
from streamsrv.org.schemas import DEFAULT_CURRENCY
from streamsrv.outbox import emit
from streamsrv.periods import local_date, zone

LEDGER_UPDATED = "ledger.updated"
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
WRITERS = frozenset({Role.admin, Role.manager})


def month_key(at: datetime, time_zone: str | None) -> str:
    day = local_date(at, zone(time_zone))
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def parse_month(raw: str) -> str:
    if not MONTH_RE.match(raw):
        raise field_error("month", "must be a month written YYYY-MM", 400)
    return raw


def closed_months(session: Session, account_id: int) -> set[str]:
    rows = session.exec(select(StatementClose.month).where(StatementClose.account_id == account_id))
    return set(rows)


def open_month(session: Session, account_id: int, month: str) -> str:
    """``month``, or the first month after it that is not closed."""
    closed = closed_months(session, account_id)
    while month in closed:
        month = next_month(month)
    return month


def catalogue_item(account: Account, code: str) -> dict[str, Any]:
    for item in account.reward_catalogue:
        if item.get("code") == code:
            return item
    return {"code": code, "value": 0}


def to_cents(value: Any) -> int:
    return int((Decimal(str(value or 0)) * 100).to_integral_value())


def from_cents(cents: int) -> float | int:
    return cents // 100 if cents % 100 == 0 else cents / 100


def account_currency(account: Account) -> str:
    for item in account.reward_catalogue:
        if item.get("currency"):
            return str(item["currency"])
    return DEFAULT_CURRENCY


def live_award(session: Session, response_id: int) -> LedgerEntry | None:
    """The response's award that no reversal has taken back yet."""
    entries = session.exec(
        select(LedgerEntry).where(LedgerEntry.response_id == response_id).order_by(col(LedgerEntry.id))
    ).all()
    reversed_ids = {e.reverses_id for e in entries if e.kind == LedgerKind.reversal}
    awards = [e for e in entries if e.kind == LedgerKind.award and e.id not in reversed_ids]
    return awards[-1] if awards else None


def _announce(session: Session, org_id: int, account_id: int, agent_id: int, month: str) -> None:
    streams = [stream_names.account(account_id), stream_names.agent(agent_id)]
    agent = session.get(Agent, agent_id)
    if agent is not None:
        # The team's coaching panel shows its agents' running totals of the month.
        streams.append(stream_names.coach(agent.team_id))
    emit(
        session,
        org_id,
        LEDGER_UPDATED,
        streams,
        {"account_id": account_id, "agent_id": agent_id, "month": month},
    )


def sync_response(
    session: Session,
    account: Account,
    response: Response,
    now: datetime,
    *,
    reason: str = "",
    actor: str | None = None,
) -> bool:
    """Make the ledger match the response's current agent and reward; True if a line was added."""
    assert response.id is not None
    live = live_award(session, response.id)
    if live is not None and live.agent_id == response.agent_id and live.reward == response.reward:
        return False
    if live is None and response.reward is None:
        return False
    touched: set[tuple[int, str]] = set()
    if live is not None:
        month = open_month(session, account.id or 0, live.month)
        session.add(
            LedgerEntry(
                org_id=account.org_id,
                account_id=live.account_id,
                agent_id=live.agent_id,
                response_id=response.id,
                reward=live.reward,
                amount_cents=-live.amount_cents,
                currency=live.currency,
                month=month,
                kind=LedgerKind.reversal,
                reverses_id=live.id,
                reason=reason,
                actor=actor,
                created_at=now,
            )
        )
        touched.add((live.agent_id, month))
    if response.reward is not None:
        item = catalogue_item(account, response.reward)
        month = open_month(session, account.id or 0, month_key(response.created_at, account.time_zone))
        session.add(
            LedgerEntry(
                org_id=account.org_id,
                account_id=response.account_id,
                agent_id=response.agent_id,
                response_id=response.id,
                reward=response.reward,
                amount_cents=to_cents(item.get("value")),
                currency=str(item.get("currency") or account_currency(account)),
                month=month,
                kind=LedgerKind.award,
                reason=reason,
                actor=actor,
                created_at=now,
            )
        )
        touched.add((response.agent_id, month))
    session.flush()
    for agent_id, month in sorted(touched):
        _announce(session, account.org_id, response.account_id, agent_id, month)
    return True


def on_response(session: Session, change: ResponseChange) -> None:
    """``RESPONSE_STORED`` receiver: awards, reversals, in the response's transaction."""
    if change.is_followup:
        return  # a recovery follow-up is about the recovery, never the agent's pay
    if change.created and change.response.reward is None:
        return  # the common path of ingest: nothing to pay, no query
    sync_response(session, change.account, change.response, change.now)


# --- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRef:
    account: Account
    month: str


def _statement_account(
    session: Session, identity: Identity, account_id: int, raw_month: str, now: datetime
) -> StatementRef:
    account = session.get(Account, account_id)
    if account is None or account.org_id != identity.org_id or not identity.sees_account(account_id):
        raise not_found("account")
    month = parse_month(raw_month)
    if month > month_key(now, account.time_zone):
        raise ApiError(
            422,
            f"the month {month} has not started yet",
            code="month_not_started",
            fields={"month": "has not started yet"},
        )
    return StatementRef(account, month)


def _require_writer(identity: Identity) -> None:
    if identity.role not in WRITERS:
        raise ApiError(403, "only managers and administrators change statements", code="forbidden")


def statement(
    session: Session, identity: Identity, account_id: int, raw_month: str, now: datetime
) -> dict[str, Any]:
    """``GET /api/v1/accounts/{id}/statements/{YYYY-MM}``."""
    ref = _statement_account(session, identity, account_id, raw_month, now)
    return statement_json(session, ref.account, ref.month)


def _close_of(session: Session, account_id: int, month: str) -> StatementClose | None:
    return session.exec(
        select(StatementClose).where(StatementClose.account_id == account_id, StatementClose.month == month)
    ).first()


def cap_cents(cap: Any) -> int | None:
    return None if cap is None else to_cents(cap)


def statement_json(
    session: Session, account: Account, month: str, agent_ids: set[int] | None = None
) -> dict[str, Any]:
    """The month's statement (only ``agent_ids``' rows when given; ``total`` is then theirs).

    Amounts are in the statement's ``currency`` (the catalogue's one currency, or the one the month
    was closed with). An agent's reward value above the account's cap is cut (``capped``);
    adjustments are never capped. Lines in another currency (the catalogue changed currency in
    the month) stay out of ``total`` and are listed under ``other_currencies``.
    """
    assert account.id is not None
    closing = _close_of(session, account.id, month)
    currency = (closing.currency if closing else None) or account_currency(account)
    cap = cap_cents(closing.reward_cap if closing else account.reward_cap_per_agent)
    stmt = select(LedgerEntry).where(LedgerEntry.account_id == account.id, LedgerEntry.month == month)
    if agent_ids is not None:
        stmt = stmt.where(col(LedgerEntry.agent_id).in_(sorted(agent_ids) or [0]))
    entries = session.exec(stmt.order_by(col(LedgerEntry.id))).all()
    per_agent: dict[int, dict[str, Any]] = {}
    for entry in entries:
        row = per_agent.setdefault(entry.agent_id, {"rewards": {}, "adjustments": 0, "other": {}})
        if entry.currency != currency:
            other = row["other"].setdefault(entry.currency, {"rewards": {}, "adjustments": 0})
            target = other
        else:
            target = row
        if entry.kind == LedgerKind.adjustment:
            target["adjustments"] += entry.amount_cents
        else:
            reward = target["rewards"].setdefault(entry.reward or "", {"count": 0, "value": 0})
            reward["count"] += 1 if entry.kind == LedgerKind.award else -1
            reward["value"] += entry.amount_cents
    agents = []
    total = 0
    other_totals: dict[str, int] = {}
    for agent_id in sorted(per_agent):
        row = per_agent[agent_id]
        rewards = _rewards_out(row["rewards"])
        others: dict[str, Any] = {}
        for code, other in sorted(row["other"].items()):
            other_rewards = _rewards_out(other["rewards"])
            other_total = sum(r["value"] for r in other["rewards"].values()) + other["adjustments"]
            if other_rewards or other["adjustments"]:
                others[code] = {
                    "rewards": other_rewards,
                    "adjustments": from_cents(other["adjustments"]),
                    "total": from_cents(other_total),
                }
                other_totals[code] = other_totals.get(code, 0) + other_total
        if not rewards and not row["adjustments"] and not others:
            continue  # every award of this agent this month was reversed: nothing to pay or show
        value = sum(r["value"] for r in row["rewards"].values())
        capped = max(0, value - cap) if cap is not None else 0
        agent_total = value - capped + row["adjustments"]
        total += agent_total
        agents.append(
            {
                "agent_id": agent_id,
                "rewards": rewards,
                "capped": from_cents(capped),
                "adjustments": from_cents(row["adjustments"]),
                "total": from_cents(agent_total),
                "other_currencies": others,
            }
        )
    return {
        "account_id": account.id,
        "month": month,
        "status": "closed" if closing is not None else "open",
        "currency": currency,
        "cap": None if cap is None else from_cents(cap),
        "agents": agents,
        "total": from_cents(total),
        "other_currencies": {code: {"total": from_cents(c)} for code, c in sorted(other_totals.items())},
    }


def _rewards_out(rewards: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {
        code: {"count": r["count"], "value": from_cents(r["value"])}
        for code, r in sorted(rewards.items())
        if r["count"] or r["value"]
    }


def add_adjustment(
    session: Session,
    identity: Identity,
    account_id: int,
    raw_month: str,
    agent_id: int,
    amount: Decimal,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """``POST .../statements/{YYYY-MM}/adjustments``: a manager adds or removes an amount."""
    _require_writer(identity)
    ref = _statement_account(session, identity, account_id, raw_month, now)
    reason = reason.strip()
    if not reason:
        raise field_error("reason", "a reason is required")
    cents = to_cents(amount)
    if cents == 0:
        raise field_error("amount", "must not be zero")
    agent = session.get(Agent, agent_id)
    if agent is None or agent.org_id != identity.org_id or agent.account_id != account_id:
        raise field_error("agent_id", f"no agent {agent_id} in this account")
    if ref.month in closed_months(session, account_id):
        raise ApiError(409, f"the statement for {ref.month} is closed", code="statement_closed")
    session.add(
        LedgerEntry(
            org_id=ref.account.org_id,
            account_id=account_id,
            agent_id=agent_id,
            amount_cents=cents,
            currency=account_currency(ref.account),
            month=ref.month,
            kind=LedgerKind.adjustment,
            reason=reason,
            actor=identity.name or None,
            created_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        identity,
        "statement.adjust",
        f"account:{account_id}",
        {"month": ref.month, "agent_id": agent_id, "amount": str(amount), "reason": reason},
        now=now,
    )
    _announce(session, ref.account.org_id, account_id, agent_id, ref.month)
    return statement_json(session, ref.account, ref.month)


def close_statement(
    session: Session, identity: Identity, account_id: int, raw_month: str, now: datetime
) -> dict[str, Any]:
    """``POST .../statements/{YYYY-MM}/close``: later lines of that month go to the next open one."""
    _require_writer(identity)
    ref = _statement_account(session, identity, account_id, raw_month, now)
    if ref.month in closed_months(session, account_id):
        raise ApiError(409, f"the statement for {ref.month} is already closed", code="statement_closed")
    session.add(
        StatementClose(
            org_id=ref.account.org_id,
            account_id=account_id,
            month=ref.month,
            actor=identity.name or None,
            reward_cap=ref.account.reward_cap_per_agent,
            currency=account_currency(ref.account),
            closed_at=now,
        )
    )
    session.flush()
    audit.record(session, identity, "statement.close", f"account:{account_id}", {"month": ref.month}, now=now)
    return statement_json(session, ref.account, ref.month)


def export_table(
    session: Session, identity: Identity, account_id: int, raw_month: str, now: datetime
) -> tuple[Account, str, dict[str, Any]]:
    """What an export of ``GET .../statements/{YYYY-MM}/export.*`` holds (checked like the statement)."""
    ref = _statement_account(session, identity, account_id, raw_month, now)
    return ref.account, ref.month, statement_json(session, ref.account, ref.month)
