"""Comment moderation and the audit log.

``POST /api/v1/responses/{response_id}/moderation`` hides or shows a comment (managers of the
account and admins); ``GET /api/v1/audit-log`` lists what was done (admins).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.auth import authenticate
from streamsrv.context import AppContext
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import utcnow
from streamsrv.moderation import (
    AuditPage,
    AuditQuery,
    Moderated,
    ModerationIn,
    list_audit,
    set_comment_hidden,
)
from streamsrv.survey.schemas import ResponseEnvelope


class AuditEntryOut(BaseModel):
    id: int
    actor_user_id: int | None
    actor_api_key_id: int | None
    action: str
    target: str
    details: dict[str, Any]
    created_at: str


@endpoint(
    "POST",
    "/api/v1/responses/{response_id:int}/moderation",
    summary="Hide or show a response's comment (managers of its account, admins); audited",
    tag="moderation",
    body=ModerationIn,
    response=ResponseEnvelope,
    errors=(404,),
    scope="read",
)
async def moderate(request: Request) -> Response:
    identity = await authenticate(request)
    response_id: int = request.path_params["response_id"]
    data = await read_json(request, ModerationIn)
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> Moderated:
        return set_comment_hidden(session, identity, response_id, data, utcnow())

    done = await ctx.db.run(work)
    return json_response({"response": done.response})


@endpoint(
    "GET",
    "/api/v1/audit-log",
    summary="The organization's audit log, newest first (admins)",
    tag="moderation",
    query=AuditQuery,
    response=AuditEntryOut,
    response_list=True,
)
async def audit_log(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require_admin()
    query = parse_query(request, AuditQuery)
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> AuditPage:
        return list_audit(session, identity, query)

    page = await ctx.db.run(work)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


routes: list[BaseRoute] = [moderate, audit_log]
