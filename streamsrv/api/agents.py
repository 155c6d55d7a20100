"""``/api/v1/agents``: the people customers rate, with their card, and their public photo."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.images import ALLOWED, sniff_image
from streamsrv.errors import ApiError, field_error
from streamsrv.http import patch_changes, read_body
from streamsrv.kernel import Call, Reply, route
from streamsrv.org import agents
from streamsrv.org.common import Page, require_writer
from streamsrv.org.schemas import AGENT_NULLABLE, AgentCreate, AgentListQuery, AgentOut, AgentUpdate

TAG = "agents"
PHOTO_FIELD = "photo"
# A versioned photo URL never changes content; an unversioned one may, so it is cached briefly.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"


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
def update_agent(call: Call[AgentUpdate, None], session: Session) -> AgentOut:
    changes = patch_changes(call.body, AGENT_NULLABLE)
    return agents.update(session, call.identity, call.id("agent_id"), changes, base_url(call))


async def _read_photo(request: Request, limit: int) -> bytes:
    """The image from a multipart field ``photo`` or, for simple clients, the raw request body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
            upload = form.get(PHOTO_FIELD)
            if not isinstance(upload, UploadFile):
                raise field_error(PHOTO_FIELD, "send the image as the multipart file field 'photo'")
            data = await upload.read(limit + 1)
    else:
        data = await read_body(request, limit)
    if len(data) > limit:
        raise ApiError(413, f"photo is larger than {limit} bytes", fields={PHOTO_FIELD: "too large"})
    if not data:
        raise field_error(PHOTO_FIELD, "the image is empty")
    return data


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
    data = await _read_photo(call.request, call.ctx.settings.max_upload_bytes)
    media_type = sniff_image(data)
    if media_type is None:
        raise field_error(PHOTO_FIELD, f"not a supported image; send one of {', '.join(ALLOWED)}")
    return await call.run(
        lambda session: agents.store_photo(session, identity, agent_id, media_type, data, base_url(call))
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
    versioned = call.request.query_params.get("v") == str(photo.version)
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE_CACHE if versioned else SHORT_CACHE,
        "Content-Disposition": "inline",
    }
    if call.request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(photo.data, media_type=photo.content_type, headers=headers)


routes: list[BaseRoute] = [create_agent, list_agents, get_agent, update_agent, upload_photo, serve_photo]
