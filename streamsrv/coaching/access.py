"""Who may coach whom: team leaders their own teams, managers their accounts, admins the org.

Every coaching route and the ``/coach`` page go through these checks, server-side. A team or
agent outside the caller's scope answers 404, the same as one that does not exist, so that
nobody learns about other teams; a role that never coaches answers 403.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from streamsrv.access import Owner, in_scope, teams_clause, visible
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, not_found
from streamsrv.models import Agent, Role, Team, User

COACH_ROLES = frozenset({Role.admin, Role.manager, Role.team_leader})


def require_coach(identity: Identity) -> None:
    identity.require("read")
    if identity.role not in COACH_ROLES:
        raise ApiError(403, "coaching is for team leaders, managers and administrators", code="forbidden")


def require_person(identity: Identity) -> int:
    """Acknowledgements, notes and shout-outs are signed by a person, never by an API key."""
    if identity.user_id is None:
        raise ApiError(403, "sign in as a user to do this: it is recorded under your name", code="forbidden")
    return identity.user_id


def coaches(identity: Identity, org_id: int, account_id: int, team_id: int) -> bool:
    """Whether ``identity`` coaches the team ``team_id`` (of ``account_id``)."""
    if org_id != identity.org_id or identity.role not in COACH_ROLES:
        return False
    return in_scope(identity, Owner(account_id=account_id, team_id=team_id))


def load_team(session: Session, identity: Identity, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.id is None or not coaches(identity, team.org_id, team.account_id, team.id):
        raise not_found("team")
    return team


def load_agent(session: Session, identity: Identity, agent_id: int, field: str | None = None) -> Agent:
    """The agent if the caller coaches its team; 404, or 422 naming ``field`` for a body value."""
    agent = session.get(Agent, agent_id)
    if agent is None or not coaches(identity, agent.org_id, agent.account_id, agent.team_id):
        if field is not None:
            raise ApiError(
                422,
                f"{field}: no agent with this id in your teams",
                fields={field: "no agent with this id in your teams"},
            )
        raise not_found("agent")
    return agent


def coachable_teams(session: Session, identity: Identity, limit: int = 500) -> list[Team]:
    """The teams the caller coaches, by name."""
    if identity.role not in COACH_ROLES:
        return []
    stmt = visible(select(Team).where(Team.org_id == identity.org_id), teams_clause(identity))
    return list(session.exec(stmt.order_by(col(Team.name), col(Team.id)).limit(limit)).all())


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.name, User.email).where(col(User.id).in_(sorted(ids)))).all()
    return {uid: (name or email) for uid, name, email in rows if uid is not None}
