"""``/api/v1/feedback``: server-side ingest of ratings collected elsewhere, and the listing."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.auth import authenticate
from streamsrv.context import AppContext
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import utcnow
from streamsrv.survey.listing import FeedbackQuery, Page, list_feedback
from streamsrv.survey.responses import Stored, ingest_feedback
from streamsrv.survey.schemas import ResponseEnvelope, ResponseOut
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import FeedbackIn


@endpoint(
    "POST",
    "/api/v1/feedback",
    summary="Ingest a rating collected elsewhere, interaction included (idempotent on external_id)",
    tag="feedback",
    body=FeedbackIn,
    response=ResponseEnvelope,
    status=201,
    scope="ingest",
)
async def ingest(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("ingest")
    data = await read_json(request, FeedbackIn)
    data.agent_fields()
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> Stored:
        return ingest_feedback(session, ctx.signer, ctx.settings, identity, data, utcnow())

    stored = await run_idempotent(ctx.db, work)
    return json_response({"response": stored.response}, status=201 if stored.created else 200)


@endpoint(
    "GET",
    "/api/v1/feedback",
    summary="List responses, newest first, with filters and cursor pagination",
    tag="feedback",
    query=FeedbackQuery,
    response=ResponseOut,
    response_list=True,
    scope="read",
)
async def list_responses(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, FeedbackQuery)
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> Page:
        return list_feedback(session, identity, query)

    page = await ctx.db.run(work)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


routes: list[BaseRoute] = [ingest, list_responses]
