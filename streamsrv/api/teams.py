"""``/api/v1/teams``: teams belong to one account of the organization."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.org import teams
from streamsrv.org.common import Page, require_writer
from streamsrv.org.schemas import TeamCreate, TeamListQuery, TeamOut, TeamUpdate

TAG = "teams"


@route(
    "POST",
    "/api/v1/teams",
    summary="Create a team in an account",
    tag=TAG,
    body=TeamCreate,
    response=TeamOut,
    status=201,
    errors=(409,),
    scope="admin",
    guard=require_writer,
)
def create_team(call: Call[TeamCreate, None], session: Session) -> Reply:
    out = teams.create(session, call.identity, call.body)
    return Reply(out, location=f"/api/v1/teams/{out.id}")


@route(
    "GET",
    "/api/v1/teams",
    summary="List the teams the caller may see",
    tag=TAG,
    query=TeamListQuery,
    response=TeamOut,
    response_list=True,
    scope="read",
)
def list_teams(call: Call[None, TeamListQuery], session: Session) -> Page[TeamOut]:
    return teams.listing(session, call.identity, call.query)


@route(
    "GET",
    "/api/v1/teams/{team_id:int}",
    summary="Get one team",
    tag=TAG,
    response=TeamOut,
    errors=(404,),
    scope="read",
)
def get_team(call: Call[None, None], session: Session) -> TeamOut:
    return teams.get(session, call.identity, call.id("team_id"))


@route(
    "PATCH",
    "/api/v1/teams/{team_id:int}",
    summary="Rename a team",
    tag=TAG,
    body=TeamUpdate,
    response=TeamOut,
    errors=(404, 409),
    scope="admin",
    guard=require_writer,
)
def update_team(call: Call[TeamUpdate, None], session: Session) -> TeamOut:
    return teams.update(session, call.identity, call.id("team_id"), patch_changes(call.body, ()))


routes: list[BaseRoute] = [create_team, list_teams, get_team, update_team]
