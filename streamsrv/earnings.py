"""Running totals: what an agent's rewards add up to this month, as the statement will pay them.

``GET /api/v1/agents/{id}/earnings?month=YYYY-MM`` answers the agent's row of the month's
statement (``streamsrv.ledger.statement_json``: the cap and adjustments applied, other
currencies apart) with each reward's label and the amounts written for people. The agent
themself, the leaders of their team and the managers and administrators of their account may
read it; ``/me`` shows it live (``ledger.updated`` on the agent's stream) and ``/coach`` shows
the team's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import labels, ledger
from streamsrv.auth import Identity
from streamsrv.coaching.access import COACH_ROLES, coaches
from streamsrv.errors import ApiError, not_found
from streamsrv.models import Account, Agent, Role


def _may_read(identity: Identity, agent: Agent) -> bool:
    if agent.org_id != identity.org_id:
        return False
    if identity.role == Role.agent:
        return identity.agent_id is not None and identity.agent_id == agent.id
    return coaches(identity, agent.org_id, agent.account_id, agent.team_id)


def earnings(
    session: Session, identity: Identity, agent_id: int, raw_month: str | None, now: datetime
) -> dict[str, Any]:
    """``GET /api/v1/agents/{id}/earnings``; the current month in the account's zone by default."""
    identity.require("read")
    if identity.role != Role.agent and identity.role not in COACH_ROLES:
        raise ApiError(
            403,
            "earnings are for the agent, their team leaders, managers and administrators",
            code="forbidden",
        )
    agent = session.get(Agent, agent_id)
    if agent is None or agent.id is None or not _may_read(identity, agent):
        raise not_found("agent")
    account = session.get(Account, agent.account_id)
    assert account is not None
    current = ledger.month_key(now, account.time_zone)
    month = ledger.parse_month(raw_month) if raw_month else current
    if month > current:
        raise ApiError(
            422,
            f"the month {month} has not started yet",
            code="month_not_started",
            fields={"month": "has not started yet"},
        )
    return team_earnings(session, account, [agent], month)[agent.id]


def team_earnings(
    session: Session, account: Account, agents: list[Agent], month: str
) -> dict[int, dict[str, Any]]:
    """Each agent's running total for ``month`` (agents of ``account``), by agent id."""
    ids = {a.id for a in agents if a.id is not None}
    data = ledger.statement_json(session, account, month, agent_ids=ids)
    rows = {row["agent_id"]: row for row in data["agents"]}
    vocab = labels.vocabulary(account)
    currency = data["currency"]
    out: dict[int, dict[str, Any]] = {}
    for agent in agents:
        assert agent.id is not None
        row = rows.get(agent.id) or {
            "rewards": {},
            "capped": 0,
            "adjustments": 0,
            "total": 0,
            "other_currencies": {},
        }
        rewards = [
            {"code": code, "label": vocab.reward(code), **values} for code, values in row["rewards"].items()
        ]
        out[agent.id] = {
            "agent_id": agent.id,
            "agent_name": agent.name,
            "account_id": account.id,
            "month": month,
            "status": data["status"],
            "currency": currency,
            "cap": data["cap"],
            "rewards": rewards,
            "reward_value": ledger.from_cents(sum(ledger.to_cents(r["value"]) for r in rewards)),
            "capped": row["capped"],
            "adjustments": row["adjustments"],
            "total": row["total"],
            "total_text": labels.format_money(row["total"], currency),
            "other_currencies": {
                code: {**other, "total_text": labels.format_money(other["total"], code)}
                for code, other in row["other_currencies"].items()
            },
        }
    return out


def agents_of_team(session: Session, team_id: int) -> list[Agent]:
    stmt = select(Agent).where(Agent.team_id == team_id, col(Agent.active).is_(True))
    return list(session.exec(stmt.order_by(col(Agent.name), col(Agent.id))).all())
