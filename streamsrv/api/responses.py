"""``POST /api/v1/responses/{token}``: the customer's answer, with the link token as credential."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.context import AppContext
from streamsrv.http import endpoint, json_response, read_json
from streamsrv.models import utcnow
from streamsrv.survey.responses import Stored, submit_by_token
from streamsrv.survey.schemas import ResponseEnvelope
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import ResponseIn


class _AnyObject(BaseModel):
    """Any JSON object: the body is validated after the link, against the link's account."""

    model_config = ConfigDict(extra="allow")


@endpoint(
    "POST",
    "/api/v1/responses/{token}",
    summary="Submit or edit the answer to one feedback request (201 first time, 200 on an edit)",
    tag="feedback",
    body=ResponseIn,
    response=ResponseEnvelope,
    status=201,
    errors=(404, 409, 410),
    auth="token",
)
async def submit_response(request: Request) -> Response:
    token: str = request.path_params["token"]
    body = await read_json(request, _AnyObject)
    raw: dict[str, Any] = dict(body.model_extra or {})
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> Stored:
        return submit_by_token(session, token, raw, source="api", now=utcnow())

    # Two simultaneous first answers race on the one-response-per-request constraint; the loser
    # is re-run and becomes an edit of the winner's row.
    stored = await run_idempotent(ctx.db, work)
    return json_response({"response": stored.response}, status=201 if stored.created else 200)


routes: list[BaseRoute] = [submit_response]
