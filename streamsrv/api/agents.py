"""``/api/v1/agents``: the people customers rate, with their card, and their public photo."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.images import image_response, read_image
from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.org import agents
from streamsrv.org.common import Page, require_writer
from streamsrv.org.schemas import AGENT_NULLABLE, AgentCreate, AgentListQuery, AgentOut, AgentUpdate
from streamsrv.revocation import reach_changed

TAG = "agents"
PHOTO_FIELD = "photo"


def base_url(call: Call[Any, Any]) -> str:
    return call.ctx.settings.public_url


@route(
    "POST",
    "/api/v1/agents",
    summary="Create an agent in a team",
    tag=TAG,
    body=AgentCreate,
    response=AgentOut,
    status=201,
    errors=(409,),
    scope="admin",
    guard=require_writer,
)
def create_agent(call: Call[AgentCreate, None], session: Session) -> Reply:
    out = agents.create(session, call.identity, call.body, base_url(call))
    return Reply(out, location=f"/api/v1/agents/{out.id}")


@route(
    "GET",
    "/api/v1/agents",
    summary="List the agents the caller may see",
    tag=TAG,
    query=AgentListQuery,
    response=AgentOut,
    response_list=True,
    scope="read",
)
def list_agents(call: Call[None, AgentListQuery], session: Session) -> Page[AgentOut]:
    return agents.listing(session, call.identity, call.query, base_url(call))


@route(
    "GET",
    "/api/v1/agents/{agent_id:int}",
    summary="Get one agent",
    tag=TAG,
    response=AgentOut,
    errors=(404,),
    scope="read",
)
def get_agent(call: Call[None, None], session: Session) -> AgentOut:
    return agents.get(session, call.identity, call.id("agent_id"), base_url(call))


@route(
    "PATCH",
    "/api/v1/agents/{agent_id:int}",
    summary="Change an agent's card, team or active flag (moving team moves the account too)",
    tag=TAG,
    body=AgentUpdate,
    response=AgentOut,
    errors=(404, 409),
    scope="admin",
    guard=require_writer,
)
async def update_agent(call: Call[AgentUpdate, None]) -> AgentOut:
    identity, agent_id = call.identity, call.id("agent_id")
    changes = patch_changes(call.body, AGENT_NULLABLE)
    out = await call.run(lambda session: agents.update(session, identity, agent_id, changes, base_url(call)))
    if "team_id" in changes:
        # After the commit: open subscriptions to the agent's streams (and those of agent users
        # whose team this was) are authorised again on every node.
        await reach_changed(call.ctx, identity.org_id)
    return out


@route(
    "POST",
    "/api/v1/agents/{agent_id:int}/photo",
    summary="Upload the agent's photo (multipart field 'photo' or a raw PNG/JPEG/WebP/GIF body)",
    tag=TAG,
    response=AgentOut,
    errors=(404, 413, 422),
    scope="admin",
    guard=require_writer,
)
async def upload_photo(call: Call[None, None]) -> AgentOut:
    identity, agent_id = call.identity, call.id("agent_id")
    # Refuse unknown agents before accepting megabytes of upload.
    await call.run(lambda session: agents.load_writable(session, identity, agent_id))
    image = await read_image(call.request, call.ctx.settings.max_upload_bytes, PHOTO_FIELD)
    return await call.run(
        lambda session: agents.store_photo(
            session, identity, agent_id, image.media_type, image.data, base_url(call)
        )
    )


@route(
    "GET",
    "/media/agents/{agent_id:int}/photo",
    summary="The agent's photo (public: survey pages show it)",
    tag=TAG,
    errors=(404,),
    auth="none",
    content_type="image/*",
)
def serve_photo(call: Call[None, None], session: Session) -> Response:
    agent_id = call.id("agent_id")
    photo = agents.uploaded_photo(session, agent_id)
    etag = f'"agent-{agent_id}-v{photo.version}"'
    return image_response(call.request, photo.data, photo.content_type, etag, photo.version)


routes: list[BaseRoute] = [create_agent, list_agents, get_agent, update_agent, upload_photo, serve_photo]
