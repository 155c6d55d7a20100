"""``/api/v1/teams``: teams belong to one account of the organization."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import (
    app_ctx,
    conflict,
    flush_or_conflict,
    get_in_org,
    page,
    paginate,
    patch_changes,
    path_id,
    require_writer,
    teams_clause,
    visible,
)
from streamsrv.api.schemas_admin import TeamCreate, TeamListQuery, TeamOut, TeamUpdate
from streamsrv.auth import Identity, authenticate
from streamsrv.errors import field_error, not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Account, Team

TAG = "teams"
DUPLICATE = "a team with this name already exists in the account"


def team_out(team: Team) -> TeamOut:
    return TeamOut.model_validate(team, from_attributes=True)


def _name_taken(session: Session, account_id: int, name: str, except_id: int | None = None) -> bool:
    stmt = select(Team.id).where(Team.account_id == account_id, Team.name == name)
    if except_id is not None:
        stmt = stmt.where(Team.id != except_id)
    return session.exec(stmt).first() is not None


def load_visible_team(session: Session, identity: Identity, team_id: int) -> Team:
    stmt = visible(
        select(Team).where(Team.id == team_id, Team.org_id == identity.org_id), teams_clause(identity)
    )
    team = session.exec(stmt).first()
    if team is None:
        raise not_found("team")
    return team


@endpoint(
    "POST",
    "/api/v1/teams",
    summary="Create a team in an account",
    tag=TAG,
    body=TeamCreate,
    response=TeamOut,
    status=201,
    errors=(409,),
    scope="admin",
)
async def create_team(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    body = await read_json(request, TeamCreate)

    def create(session: Session) -> TeamOut:
        account = session.get(Account, body.account_id)
        if account is None or account.org_id != identity.org_id or not identity.sees_account(body.account_id):
            raise field_error("account_id", "no such account in this organization")
        if _name_taken(session, body.account_id, body.name):
            raise conflict(DUPLICATE, "name")
        team = Team(org_id=identity.org_id, account_id=body.account_id, name=body.name)
        session.add(team)
        flush_or_conflict(session, DUPLICATE, "name")
        return team_out(team)

    out = await app_ctx(request).db.run(create)
    return json_response(out, status=201, headers={"Location": f"/api/v1/teams/{out.id}"})


@endpoint(
    "GET",
    "/api/v1/teams",
    summary="List the teams the caller may see",
    tag=TAG,
    query=TeamListQuery,
    response=TeamOut,
    response_list=True,
    scope="read",
)
async def list_teams(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, TeamListQuery)

    def fetch(session: Session) -> dict[str, Any]:
        stmt = visible(select(Team).where(Team.org_id == identity.org_id), teams_clause(identity))
        if query.account_id is not None:
            stmt = stmt.where(Team.account_id == query.account_id)
        rows, cursor = paginate(session, stmt, Team.id, query.cursor, query.limit)
        return page([team_out(t) for t in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/teams/{team_id:int}",
    summary="Get one team",
    tag=TAG,
    response=TeamOut,
    errors=(404,),
    scope="read",
)
async def get_team(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    team_id = path_id(request, "team_id")

    def fetch(session: Session) -> TeamOut:
        return team_out(load_visible_team(session, identity, team_id))

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "PATCH",
    "/api/v1/teams/{team_id:int}",
    summary="Rename a team",
    tag=TAG,
    body=TeamUpdate,
    response=TeamOut,
    errors=(404, 409),
    scope="admin",
)
async def update_team(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    team_id = path_id(request, "team_id")
    body = await read_json(request, TeamUpdate)
    changes = patch_changes(body, ())

    def update(session: Session) -> TeamOut:
        team = get_in_org(session, Team, team_id, identity.org_id, "team")
        if not identity.sees_account(team.account_id):
            raise not_found("team")
        name = changes.get("name")
        if name is not None and _name_taken(session, team.account_id, name, except_id=team_id):
            raise conflict(DUPLICATE, "name")
        for key, value in changes.items():
            setattr(team, key, value)
        session.add(team)
        flush_or_conflict(session, DUPLICATE, "name")
        return team_out(team)

    return json_response(await app_ctx(request).db.run(update))


routes: list[BaseRoute] = [create_team, list_teams, get_team, update_team]
