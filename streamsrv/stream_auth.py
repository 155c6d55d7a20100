"""Who may subscribe to which stream (the table in docs/streams.md), decided server-side.

``Reach`` is the identity's scope resolved once per connection to concrete accounts and teams;
``may_subscribe`` is then a pure function of the identity, its reach and the stream's owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from streamsrv.auth import SERVICE_ROLE, Identity
from streamsrv.models import Account, Agent, Role, Team
from streamsrv.stream_names import TEAM_KINDS, StreamRef


@dataclass(frozen=True)
class Owner:
    """Where a stream's subject sits in the organization."""

    account_id: int
    team_id: int | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class Reach:
    accounts: frozenset[int]
    teams: frozenset[int]


def resolve_owner(session: Session, org_id: int, ref: StreamRef) -> Owner | None:
    if ref.kind == "agent":
        agent = session.get(Agent, ref.id)
        if agent is None or agent.org_id != org_id:
            return None
        return Owner(account_id=agent.account_id, team_id=agent.team_id, agent_id=agent.id)
    if ref.kind in TEAM_KINDS:
        team = session.get(Team, ref.id)
        if team is None or team.org_id != org_id:
            return None
        return Owner(account_id=team.account_id, team_id=team.id)
    account = session.get(Account, ref.id)
    if account is None or account.org_id != org_id:
        return None
    return Owner(account_id=ref.id)


def resolve_reach(session: Session, identity: Identity) -> Reach:
    """The accounts and teams an identity's role reaches (team leaders and agents included)."""
    accounts = set(identity.account_ids)
    teams = set(identity.team_ids)
    if identity.role == Role.team_leader and teams:
        rows = session.exec(
            select(Team.account_id).where(Team.org_id == identity.org_id, col(Team.id).in_(sorted(teams)))
        )
        accounts.update(rows.all())
    if identity.role == Role.agent and identity.agent_id is not None:
        agent = session.get(Agent, identity.agent_id)
        if agent is not None and agent.org_id == identity.org_id:
            accounts.add(agent.account_id)
            teams.add(agent.team_id)
    return Reach(accounts=frozenset(accounts), teams=frozenset(teams))


def kind_is_board(ref: StreamRef) -> bool:
    return ref.is_board


def may_subscribe(identity: Identity, reach: Reach, ref: StreamRef, owner: Owner) -> bool:
    if identity.streams is not None and ref.name not in identity.streams:
        return False
    if identity.display_id is not None:
        # A wallboard's token names exactly one board; the board exists in its org (owner).
        return kind_is_board(ref)
    role = identity.role
    kind = ref.kind
    if identity.org_wide:
        return True
    in_account = owner.account_id in reach.accounts
    if role in (Role.admin, Role.manager, SERVICE_ROLE):
        return in_account
    if role == Role.client_viewer:
        return in_account and kind in ("team", "account", "board:team", "board:account")
    if role == Role.recovery:
        return in_account and kind in ("recovery", "board:team", "board:account")
    if role == Role.team_leader:
        if kind in ("agent", "team", "coach", "board:team"):
            return owner.team_id in reach.teams
        return kind == "board:account" and in_account
    if role == Role.agent:
        if kind == "agent":
            return owner.agent_id == identity.agent_id
        if kind == "board:team":
            return owner.team_id in reach.teams
        return kind == "board:account" and in_account
    return False
