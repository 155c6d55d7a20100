"""What each role reaches: one table, from which every scope decision is derived.

A role's scope names rows at one level of the organization: its accounts, its teams or its
agent (administrators and unrestricted API keys: the whole organization). ``RULES`` says, per
role, that level, which stream kinds it may subscribe to (the table in docs/streams.md) and
which stream kind its live feed follows. The SQL filters on rows (``rows_clause``), the stream
check (``may_subscribe``) and the live feed (``live_streams``) are computed from it, so that a
list, a subscription and a page can never disagree about who sees what.

Rows above a role's level (the account of a team leader's team, an agent's own team) are
reached upward: a scope of teams reaches the accounts holding them, an agent reaches its team
and account. Those are reached for reading what is shown about them (names, boards), never for
what happens below them: a team leader's account is not its scope of feedback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import false
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from streamsrv import stream_names
from streamsrv.errors import ApiError
from streamsrv.models import Account, Agent, Role, Team

if TYPE_CHECKING:
    from streamsrv.auth import Identity
    from streamsrv.stream_names import StreamRef

R = TypeVar("R")

# API keys without the admin scope act as this role: they read (and ingest into) their accounts,
# or the whole organization when not restricted to accounts, but never administer.
SERVICE_ROLE = "service"
# A wallboard's display token: it reaches the one board it names and nothing else.
DISPLAY_ROLE = "display"


class Level(enum.IntEnum):
    """Where in the organization a scope names its rows; a higher value is finer."""

    NAMED = 0  # only the streams its token names (display tokens)
    ACCOUNT = 1
    TEAM = 2
    AGENT = 3


# The level of a stream kind's subject.
KIND_LEVEL: dict[str, Level] = {
    stream_names.ACCOUNT: Level.ACCOUNT,
    stream_names.RECOVERY: Level.ACCOUNT,
    stream_names.BOARD_ACCOUNT: Level.ACCOUNT,
    stream_names.TEAM: Level.TEAM,
    stream_names.COACH: Level.TEAM,
    stream_names.BOARD_TEAM: Level.TEAM,
    stream_names.AGENT: Level.AGENT,
}

ALL_KINDS = frozenset(stream_names.KINDS)
BOARDS = frozenset(stream_names.BOARD_KINDS)


@dataclass(frozen=True)
class RoleRule:
    level: Level
    # Stream kinds it may subscribe to, for subjects inside its scope.
    streams: frozenset[str]
    # The stream kind of its live feed (/live), one stream per id of its scope.
    live: str | None = None
    # Without any account in its scope it reaches the whole organization.
    org_wide_unrestricted: bool = False
    # Reads the feedback listing, the dashboard aggregates and the CSV export of its scope.
    feedback: bool = True


RULES: dict[str, RoleRule] = {
    Role.admin: RoleRule(Level.ACCOUNT, ALL_KINDS, stream_names.ACCOUNT, org_wide_unrestricted=True),
    SERVICE_ROLE: RoleRule(Level.ACCOUNT, ALL_KINDS, org_wide_unrestricted=True),
    Role.manager: RoleRule(Level.ACCOUNT, ALL_KINDS, stream_names.ACCOUNT),
    Role.client_viewer: RoleRule(
        Level.ACCOUNT, BOARDS | {stream_names.TEAM, stream_names.ACCOUNT}, stream_names.ACCOUNT
    ),
    # Recovery staff work from their cases, which carry the response they act on: all of the
    # accounts' feedback, with every other customer's comment, is not theirs to browse.
    Role.recovery: RoleRule(
        Level.ACCOUNT, BOARDS | {stream_names.RECOVERY}, stream_names.RECOVERY, feedback=False
    ),
    Role.team_leader: RoleRule(
        Level.TEAM, BOARDS | {stream_names.AGENT, stream_names.TEAM, stream_names.COACH}, stream_names.TEAM
    ),
    Role.agent: RoleRule(Level.AGENT, BOARDS | {stream_names.AGENT}, stream_names.AGENT),
    DISPLAY_ROLE: RoleRule(Level.NAMED, BOARDS),
}

# Roles whose scope is a set of accounts (or, unrestricted, the organization).
ACCOUNT_ROLES = frozenset(role for role, rule in RULES.items() if rule.level is Level.ACCOUNT)


def rule_of(role: str) -> RoleRule | None:
    return RULES.get(role)


def reads_feedback(identity: Identity) -> bool:
    rule = RULES.get(identity.role)
    return rule is not None and rule.feedback


def require_feedback_reader(identity: Identity) -> None:
    """The guard of the feedback listing, the dashboard and the export."""
    if not reads_feedback(identity):
        raise ApiError(
            403,
            f"the {identity.role} role does not read the feedback listing, dashboards or exports",
            code="forbidden",
        )


def org_wide(identity: Identity) -> bool:
    rule = RULES.get(identity.role)
    return rule is not None and rule.org_wide_unrestricted and not identity.account_ids


def own_ids(identity: Identity) -> frozenset[int]:
    """The ids the identity's scope names, at its role's level."""
    rule = RULES.get(identity.role)
    if rule is None or rule.level is Level.NAMED:
        return frozenset()
    if rule.level is Level.ACCOUNT:
        return identity.account_ids
    if rule.level is Level.TEAM:
        return identity.team_ids
    return frozenset() if identity.agent_id is None else frozenset({identity.agent_id})


# --- rows ----------------------------------------------------------------------------------------


def _above(identity: Identity, level: Level) -> SelectOfScalar[int]:
    """Ids at ``level`` (coarser than the role's) of the rows holding the identity's teams or agent."""
    ids = sorted(own_ids(identity))
    if RULES[identity.role].level is Level.TEAM:
        return select(Team.account_id).where(Team.org_id == identity.org_id, col(Team.id).in_(ids))
    column = Agent.account_id if level is Level.ACCOUNT else Agent.team_id
    return select(column).where(Agent.org_id == identity.org_id, col(Agent.id).in_(ids))


def rows_clause(
    identity: Identity, account_col: Any, team_col: Any = None, agent_col: Any = None
) -> ColumnElement[bool] | None:
    """A WHERE clause limiting rows to what ``identity`` may read (None: the whole organization).

    Pass the row's columns for the levels it has: feedback has all three, a team its account and
    itself, an account only itself.
    """
    rule = RULES.get(identity.role)
    if rule is None or rule.level is Level.NAMED:
        return false()
    if org_wide(identity):
        return None
    ids = own_ids(identity)
    if not ids:
        return false()
    columns = {Level.ACCOUNT: account_col, Level.TEAM: team_col, Level.AGENT: agent_col}
    if columns[rule.level] is not None:
        return columns[rule.level].in_(sorted(ids))  # type: ignore[no-any-return]
    finest = max(level for level, column in columns.items() if column is not None)
    return columns[finest].in_(_above(identity, finest))  # type: ignore[no-any-return]


def visible(stmt: SelectOfScalar[R], clause: ColumnElement[bool] | None) -> SelectOfScalar[R]:
    return stmt if clause is None else stmt.where(clause)


def accounts_clause(identity: Identity) -> ColumnElement[bool] | None:
    return rows_clause(identity, Account.id)


def teams_clause(identity: Identity) -> ColumnElement[bool] | None:
    return rows_clause(identity, Team.account_id, Team.id)


def agents_clause(identity: Identity) -> ColumnElement[bool] | None:
    return rows_clause(identity, Agent.account_id, Agent.team_id, Agent.id)


# --- places and streams -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Where a stream's subject sits in the organization."""

    account_id: int
    team_id: int | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class Reach:
    """An identity's scope resolved to concrete ids at every level, its upward reach included."""

    accounts: frozenset[int]
    teams: frozenset[int]
    agent: int | None = None

    def holds(self, owner: Owner, level: Level) -> bool:
        if level is Level.ACCOUNT:
            return owner.account_id in self.accounts
        if level is Level.TEAM:
            return owner.team_id in self.teams
        return owner.agent_id is not None and owner.agent_id == self.agent


def in_scope(identity: Identity, owner: Owner) -> bool:
    """Whether something at ``owner`` lies in the identity's own scope (``rows_clause`` in Python)."""
    rule = RULES.get(identity.role)
    if rule is None or rule.level is Level.NAMED:
        return False
    if org_wide(identity):
        return True
    return Reach(identity.account_ids, identity.team_ids, identity.agent_id).holds(owner, rule.level)


def sees_account(identity: Identity, account_id: int) -> bool:
    """Whether the account itself is in the scope: a team leader's or agent's account is not."""
    return in_scope(identity, Owner(account_id))


def resolve_reach(session: Session, identity: Identity) -> Reach:
    """The accounts and teams an identity reaches, loaded once per connection."""
    accounts = set(identity.account_ids)
    teams = set(identity.team_ids)
    rule = RULES.get(identity.role)
    if rule is not None and rule.level > Level.ACCOUNT and own_ids(identity):
        accounts.update(session.exec(_above(identity, Level.ACCOUNT)).all())
        if rule.level > Level.TEAM:
            teams.update(session.exec(_above(identity, Level.TEAM)).all())
    return Reach(accounts=frozenset(accounts), teams=frozenset(teams), agent=identity.agent_id)


def may_subscribe(identity: Identity, reach: Reach, ref: StreamRef, owner: Owner) -> bool:
    """Whether ``identity`` may follow the stream ``ref``, whose subject sits at ``owner``.

    A stream kind is allowed by the role's rule; the subject must then lie in the scope, compared
    at the coarser of the role's level and the stream's: a team leader's agent stream needs the
    agent's team, an agent's account board needs the agent's account.
    """
    if identity.streams is not None and ref.name not in identity.streams:
        return False
    rule = RULES.get(identity.role)
    if rule is None or ref.kind not in rule.streams:
        return False
    if rule.level is Level.NAMED or org_wide(identity):
        return True
    return reach.holds(owner, min(rule.level, KIND_LEVEL[ref.kind]))


def live_streams(session: Session, identity: Identity) -> list[str]:
    """The streams of the live feed: one of the role's live kind per id of its scope."""
    rule = RULES.get(identity.role)
    if rule is None or rule.live is None:
        return []
    assert KIND_LEVEL[rule.live] is rule.level, "a live feed follows the role's own level"
    if org_wide(identity):
        ids = [
            i
            for i in session.exec(
                select(Account.id).where(Account.org_id == identity.org_id).order_by(col(Account.id))
            ).all()
            if i is not None
        ]
    else:
        ids = sorted(own_ids(identity))
    return [stream_names.of(rule.live, i) for i in ids]
