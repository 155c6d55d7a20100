"""Comment moderation and the audit log.

``POST /api/v1/responses/{response_id}/moderation`` hides or shows a comment (managers of the
account and admins); ``GET /api/v1/audit-log`` lists what was done (admins).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.auth import Identity
from streamsrv.kernel import Call, route
from streamsrv.moderation import AuditPage, AuditQuery, ModerationIn, list_audit, set_comment_hidden
from streamsrv.survey.schemas import ResponseEnvelope


class AuditEntryOut(BaseModel):
    id: int
    actor_user_id: int | None
    actor_api_key_id: int | None
    action: str
    target: str
    details: dict[str, Any]
    created_at: str


# No scope is required up front: whether the caller may moderate this response is decided by
# role and scope once the response is found (a reader of it learns 403, anyone else 404).
@route(
    "POST",
    "/api/v1/responses/{response_id:int}/moderation",
    summary="Hide or show a response's comment (managers of its account, admins); audited",
    tag="moderation",
    body=ModerationIn,
    response=ResponseEnvelope,
    errors=(404,),
)
def moderate(call: Call[ModerationIn, None], session: Session) -> dict[str, Any]:
    done = set_comment_hidden(session, call.identity, call.id("response_id"), call.body, call.now)
    return {"response": done.response}


@route(
    "GET",
    "/api/v1/audit-log",
    summary="The organization's audit log, newest first (admins)",
    tag="moderation",
    query=AuditQuery,
    response=AuditEntryOut,
    response_list=True,
    guard=Identity.require_admin,
)
def audit_log(call: Call[None, AuditQuery], session: Session) -> AuditPage:
    return list_audit(session, call.identity, call.query)


routes: list[BaseRoute] = [moderate, audit_log]
