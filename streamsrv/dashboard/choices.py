"""The dashboard's filter bar: the accounts, teams and agents a caller may filter by.

What it lists is only what the caller could ask the aggregates for anyway; the APIs check the
scope again on every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.access import accounts_clause
from streamsrv.auth import Identity
from streamsrv.models import Account, Agent, Team


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    account_id: int
    team_id: int | None = None


@dataclass
class Choices:
    accounts: list[Choice] = field(default_factory=list)
    teams: list[Choice] = field(default_factory=list)
    agents: list[Choice] = field(default_factory=list)

    @property
    def streams(self) -> list[str]:
        return [stream_names.account(a.id) for a in self.accounts]


def filter_choices(session: Session, identity: Identity) -> Choices:
    """The accounts in scope, with all their teams and agents."""
    stmt = select(Account.id, Account.name).where(Account.org_id == identity.org_id)
    clause = accounts_clause(identity)
    if clause is not None:
        stmt = stmt.where(clause)
    accounts = [Choice(i, n, i) for i, n in session.exec(stmt.order_by(col(Account.name))).all() if i]
    ids = [a.id for a in accounts]
    if not ids:
        return Choices()
    teams = session.exec(
        select(Team.id, Team.name, Team.account_id)
        .where(Team.org_id == identity.org_id, col(Team.account_id).in_(ids))
        .order_by(col(Team.name))
    ).all()
    agents = session.exec(
        select(Agent.id, Agent.name, Agent.account_id, Agent.team_id)
        .where(Agent.org_id == identity.org_id, col(Agent.account_id).in_(ids))
        .order_by(col(Agent.name))
    ).all()
    return Choices(
        accounts=accounts,
        teams=[Choice(i, n, a) for i, n, a in teams if i],
        agents=[Choice(i, n, a, t) for i, n, a, t in agents if i],
    )
