"""``POST /api/v1/responses/{token}``: the customer's answer, with the link token as credential."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv import attribution
from streamsrv.ids import StrictId
from streamsrv.kernel import Call, Reply, created_or_replayed, route
from streamsrv.survey.edit_limit import edit_limit
from streamsrv.survey.responses import check_by_token, submit_by_token
from streamsrv.survey.schemas import ResponseEnvelope
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import ResponseIn


class _AnyObject(BaseModel):
    """Any JSON object: the body is validated after the link, against the link's account."""

    model_config = ConfigDict(extra="allow")


@route(
    "POST",
    "/api/v1/responses/{token}",
    summary="Submit or edit the answer to one feedback request (201 first time, 200 on an edit)",
    tag="feedback",
    body=ResponseIn,
    read_as=_AnyObject,
    response=ResponseEnvelope,
    status=201,
    errors=(404, 409, 410, 429, 503),
    auth="token",
)
async def submit_response(call: Call[_AnyObject, None]) -> Reply:
    token: str = call.request.path_params["token"]
    raw = dict(call.body.model_extra or {})
    # Only an answer that would be stored counts toward the link's limit: a developer's
    # invalid attempts answer 422 and do not lock the customer out.
    await call.run(lambda session: check_by_token(session, token, raw, call.now))
    await edit_limit(call.ctx).check(token)

    def store(session: Session) -> Reply:
        stored = submit_by_token(session, token, raw, source="api", now=call.now)
        return created_or_replayed({"response": stored.response}, stored.created)

    # Two simultaneous first answers race on the one-response-per-request constraint; the loser is
    # run again and becomes an edit of the winner's row.
    return await run_idempotent(call.ctx.db, store)


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictId
    reason: Annotated[str, Field(max_length=500)]


@route(
    "POST",
    "/api/v1/responses/{response_id:int}/reassign",
    summary="Move a response to the agent who really handled it (managers and administrators)",
    tag="feedback",
    body=ReassignIn,
    errors=(404, 409, 422),
    scope="read",
)
def reassign_response(call: Call[ReassignIn, None], session: Session) -> dict[str, Any]:
    body = call.body
    return attribution.reassign(
        session, call.identity, call.id("response_id"), body.agent_id, body.reason, call.now
    )


routes: list[BaseRoute] = [submit_response, reassign_response]
