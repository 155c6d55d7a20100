"""``/api/v1/feedback``: server-side ingest of ratings collected elsewhere, and the listing."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.access import require_feedback_reader
from streamsrv.kernel import Call, Reply, created_or_replayed, route
from streamsrv.survey.listing import FeedbackQuery, Page, list_feedback
from streamsrv.survey.responses import ingest_feedback
from streamsrv.survey.schemas import ResponseEnvelope, ResponseOut
from streamsrv.survey.validation import FeedbackIn


@route(
    "POST",
    "/api/v1/feedback",
    summary="Ingest a rating collected elsewhere, interaction included (idempotent on external_id)",
    tag="feedback",
    body=FeedbackIn,
    response=ResponseEnvelope,
    status=201,
    errors=(503,),
    scope="ingest",
    idempotent=True,
)
def ingest(call: Call[FeedbackIn, None], session: Session) -> Reply:
    call.body.agent_fields()
    ctx = call.ctx
    stored = ingest_feedback(session, ctx.signer, ctx.settings, call.identity, call.body, call.now)
    return created_or_replayed({"response": stored.response}, stored.created)


@route(
    "GET",
    "/api/v1/feedback",
    summary="List responses, newest first, with filters and cursor pagination",
    tag="feedback",
    query=FeedbackQuery,
    response=ResponseOut,
    response_list=True,
    scope="read",
    guard=require_feedback_reader,
)
def list_responses(call: Call[None, FeedbackQuery], session: Session) -> Page:
    return list_feedback(session, call.identity, call.query)


routes: list[BaseRoute] = [ingest, list_responses]
