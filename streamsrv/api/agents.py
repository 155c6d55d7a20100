"""``/api/v1/agents``: the people customers rate, with their card (photo, bio, hobbies).

Uploaded photos are stored in the database (every node can serve them) and served publicly at
``/media/agents/{id}/photo``: survey pages show them to customers who have no login. The URL
carries the photo's version, so it can be cached for a long time and still change on re-upload.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import (
    agents_clause,
    app_ctx,
    conflict,
    get_in_org,
    page,
    paginate,
    patch_changes,
    path_id,
    require_writer,
    visible,
)
from streamsrv.api.images import image_response, read_image
from streamsrv.api.schemas_admin import AGENT_NULLABLE, AgentCreate, AgentListQuery, AgentOut, AgentUpdate
from streamsrv.auth import Identity, authenticate
from streamsrv.errors import field_error, not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Agent, AgentPhoto, Team

TAG = "agents"
PHOTO_FIELD = "photo"


def photo_path(agent_id: int, version: int) -> str:
    return f"/media/agents/{agent_id}/photo?v={version}"


def public_photo(agent: Agent, photo_version: int | None, base_url: str = "") -> str | None:
    """The photo to show for an agent: the uploaded one, else the configured URL, else none."""
    if photo_version is not None and agent.id is not None:
        return base_url + photo_path(agent.id, photo_version)
    return agent.photo_url


def photo_versions(session: Session, agent_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    # Only the version column: the image bytes stay in the database.
    rows = session.exec(
        select(AgentPhoto.agent_id, AgentPhoto.version).where(col(AgentPhoto.agent_id).in_(ids))
    ).all()
    return {agent_id: version for agent_id, version in rows}


def agent_out(agent: Agent, photo_version: int | None, base_url: str) -> AgentOut:
    assert agent.id is not None
    return AgentOut(
        id=agent.id,
        org_id=agent.org_id,
        account_id=agent.account_id,
        team_id=agent.team_id,
        name=agent.name,
        bio=agent.bio,
        hobbies=list(agent.hobbies or []),
        photo=public_photo(agent, photo_version, base_url),
        photo_url=agent.photo_url,
        has_uploaded_photo=photo_version is not None,
        external_ids=dict(agent.external_ids or {}),
        active=agent.active,
        created_at=agent.created_at,
    )


def _load_team(session: Session, identity: Identity, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.org_id != identity.org_id or not identity.sees_account(team.account_id):
        raise field_error("team_id", "no such team in this organization")
    return team


def _check_external_ids(
    session: Session, org_id: int, external_ids: dict[str, str], except_id: int | None
) -> None:
    """A helpdesk's agent id must point at one agent, or webhooks could credit the wrong person."""
    if not external_ids:
        return
    wanted = set(external_ids.items())
    # JSON columns are not portably indexable across SQLite and PostgreSQL; org-sized scan.
    others = session.exec(select(Agent.id, Agent.external_ids).where(Agent.org_id == org_id)).all()
    for other_id, other_ids in others:
        if other_id == except_id or not other_ids:
            continue
        clash = wanted & set(other_ids.items())
        if clash:
            system, value = sorted(clash)[0]
            raise conflict(f"{system} id {value!r} already belongs to agent {other_id}", "external_ids")


def load_visible_agent(session: Session, identity: Identity, agent_id: int) -> Agent:
    stmt = visible(
        select(Agent).where(Agent.id == agent_id, Agent.org_id == identity.org_id), agents_clause(identity)
    )
    agent = session.exec(stmt).first()
    if agent is None:
        raise not_found("agent")
    return agent


def _load_writable_agent(session: Session, identity: Identity, agent_id: int) -> Agent:
    agent = get_in_org(session, Agent, agent_id, identity.org_id, "agent")
    if not identity.sees_account(agent.account_id):
        raise not_found("agent")
    return agent


@endpoint(
    "POST",
    "/api/v1/agents",
    summary="Create an agent in a team",
    tag=TAG,
    body=AgentCreate,
    response=AgentOut,
    status=201,
    errors=(409,),
    scope="admin",
)
async def create_agent(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    body = await read_json(request, AgentCreate)
    base_url = app_ctx(request).settings.public_url

    def create(session: Session) -> AgentOut:
        team = _load_team(session, identity, body.team_id)
        _check_external_ids(session, identity.org_id, body.external_ids, None)
        agent = Agent(
            org_id=identity.org_id,
            account_id=team.account_id,
            team_id=body.team_id,
            name=body.name,
            bio=body.bio,
            hobbies=body.hobbies,
            photo_url=body.photo_url,
            external_ids=body.external_ids,
            active=body.active,
        )
        session.add(agent)
        session.flush()
        return agent_out(agent, None, base_url)

    out = await app_ctx(request).db.run(create)
    return json_response(out, status=201, headers={"Location": f"/api/v1/agents/{out.id}"})


@endpoint(
    "GET",
    "/api/v1/agents",
    summary="List the agents the caller may see",
    tag=TAG,
    query=AgentListQuery,
    response=AgentOut,
    response_list=True,
    scope="read",
)
async def list_agents(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, AgentListQuery)
    base_url = app_ctx(request).settings.public_url

    def fetch(session: Session) -> dict[str, Any]:
        stmt = visible(select(Agent).where(Agent.org_id == identity.org_id), agents_clause(identity))
        if query.account_id is not None:
            stmt = stmt.where(Agent.account_id == query.account_id)
        if query.team_id is not None:
            stmt = stmt.where(Agent.team_id == query.team_id)
        if query.active is not None:
            stmt = stmt.where(Agent.active == query.active)
        rows, cursor = paginate(session, stmt, Agent.id, query.cursor, query.limit)
        versions = photo_versions(session, (a.id for a in rows if a.id is not None))
        return page([agent_out(a, versions.get(a.id or 0), base_url) for a in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/agents/{agent_id:int}",
    summary="Get one agent",
    tag=TAG,
    response=AgentOut,
    errors=(404,),
    scope="read",
)
async def get_agent(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    agent_id = path_id(request, "agent_id")
    base_url = app_ctx(request).settings.public_url

    def fetch(session: Session) -> AgentOut:
        agent = load_visible_agent(session, identity, agent_id)
        return agent_out(agent, photo_versions(session, [agent_id]).get(agent_id), base_url)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "PATCH",
    "/api/v1/agents/{agent_id:int}",
    summary="Change an agent's card, team or active flag (moving team moves the account too)",
    tag=TAG,
    body=AgentUpdate,
    response=AgentOut,
    errors=(404, 409),
    scope="admin",
)
async def update_agent(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    agent_id = path_id(request, "agent_id")
    body = await read_json(request, AgentUpdate)
    changes = patch_changes(body, AGENT_NULLABLE)
    base_url = app_ctx(request).settings.public_url

    def update(session: Session) -> AgentOut:
        agent = _load_writable_agent(session, identity, agent_id)
        if "team_id" in changes:
            team = _load_team(session, identity, changes["team_id"])
            # Past responses keep the team and account they were given under.
            agent.account_id = team.account_id
        if "external_ids" in changes:
            _check_external_ids(session, identity.org_id, changes["external_ids"], agent_id)
        for key, value in changes.items():
            setattr(agent, key, value)
        session.add(agent)
        session.flush()
        return agent_out(agent, photo_versions(session, [agent_id]).get(agent_id), base_url)

    return json_response(await app_ctx(request).db.run(update))


@endpoint(
    "POST",
    "/api/v1/agents/{agent_id:int}/photo",
    summary="Upload the agent's photo (multipart field 'photo' or a raw PNG/JPEG/WebP/GIF body)",
    tag=TAG,
    response=AgentOut,
    errors=(404, 413, 422),
    scope="admin",
)
async def upload_photo(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    agent_id = path_id(request, "agent_id")
    ctx = app_ctx(request)
    base_url = ctx.settings.public_url

    def check(session: Session) -> None:
        _load_writable_agent(session, identity, agent_id)

    # Refuse unknown agents before accepting megabytes of upload.
    await ctx.db.run(check)
    image = await read_image(request, ctx.settings.max_upload_bytes, PHOTO_FIELD)

    def store(session: Session) -> AgentOut:
        agent = _load_writable_agent(session, identity, agent_id)
        photo = session.get(AgentPhoto, agent_id)
        if photo is None:
            photo = AgentPhoto(
                agent_id=agent_id, org_id=identity.org_id, content_type=image.media_type, data=image.data
            )
        else:
            photo.content_type = image.media_type
            photo.data = image.data
            photo.version += 1
        session.add(photo)
        session.flush()
        return agent_out(agent, photo.version, base_url)

    return json_response(await ctx.db.run(store))


@endpoint(
    "GET",
    "/media/agents/{agent_id:int}/photo",
    summary="The agent's photo (public: survey pages show it)",
    tag=TAG,
    errors=(404,),
    auth="none",
    content_type="image/*",
)
async def serve_photo(request: Request) -> Response:
    agent_id = path_id(request, "agent_id")

    def fetch(session: Session) -> AgentPhoto | None:
        return session.get(AgentPhoto, agent_id)

    photo = await app_ctx(request).db.run(fetch)
    if photo is None:
        # A linked (not uploaded) photo is served by its own host: the agent's ``photo`` field
        # already points there.
        raise not_found("photo")
    etag = f'"agent-{agent_id}-v{photo.version}"'
    return image_response(request, photo.data, photo.content_type, etag, photo.version)


routes: list[BaseRoute] = [create_agent, list_agents, get_agent, update_agent, upload_photo, serve_photo]
