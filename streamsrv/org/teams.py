"""Teams: each belongs to one account of the organization."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import teams_clause, visible
from streamsrv.auth import Identity
from streamsrv.errors import field_error, not_found
from streamsrv.models import Account, Team
from streamsrv.org.common import (
    Page,
    apply,
    conflict,
    flush_or_conflict,
    get_in_org,
    get_visible,
    name_taken,
    paginate,
)
from streamsrv.org.schemas import TeamCreate, TeamListQuery, TeamOut

DUPLICATE = "a team with this name already exists in the account"


def team_out(team: Team) -> TeamOut:
    return TeamOut.model_validate(team, from_attributes=True)


def _name_taken(session: Session, account_id: int, name: str, except_id: int | None = None) -> bool:
    return name_taken(session, Team, col(Team.account_id) == account_id, name, except_id)


def load_visible(session: Session, identity: Identity, team_id: int) -> Team:
    return get_visible(session, Team, team_id, identity, teams_clause(identity), "team")


def create(session: Session, identity: Identity, body: TeamCreate) -> TeamOut:
    account = session.get(Account, body.account_id)
    if account is None or account.org_id != identity.org_id or not identity.sees_account(body.account_id):
        raise field_error("account_id", "no such account in this organization")
    if _name_taken(session, body.account_id, body.name):
        raise conflict(DUPLICATE, "name")
    team = Team(org_id=identity.org_id, account_id=body.account_id, name=body.name)
    session.add(team)
    flush_or_conflict(session, DUPLICATE, "name")
    audit_log.record(
        session,
        identity,
        "team.created",
        f"team:{team.id}",
        {"name": team.name, "account_id": team.account_id},
    )
    return team_out(team)


def listing(session: Session, identity: Identity, query: TeamListQuery) -> Page[TeamOut]:
    stmt = visible(select(Team).where(Team.org_id == identity.org_id), teams_clause(identity))
    if query.account_id is not None:
        stmt = stmt.where(Team.account_id == query.account_id)
    rows, cursor = paginate(session, stmt, Team.id, query.cursor, query.limit)
    return Page([team_out(t) for t in rows], cursor)


def get(session: Session, identity: Identity, team_id: int) -> TeamOut:
    return team_out(load_visible(session, identity, team_id))


def update(session: Session, identity: Identity, team_id: int, changes: dict[str, Any]) -> TeamOut:
    team = get_in_org(session, Team, team_id, identity.org_id, "team")
    if not identity.sees_account(team.account_id):
        raise not_found("team")
    name = changes.get("name")
    if name is not None and _name_taken(session, team.account_id, name, except_id=team_id):
        raise conflict(DUPLICATE, "name")
    apply(team, changes)
    session.add(team)
    flush_or_conflict(session, DUPLICATE, "name")
    audit_log.record(session, identity, "team.updated", f"team:{team_id}", {"fields": sorted(changes)})
    return team_out(team)
