"""``POST /api/v1/interactions``: record a service interaction and issue its feedback request."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.auth import authenticate
from streamsrv.context import AppContext
from streamsrv.http import endpoint, json_response, read_json
from streamsrv.mail.survey_email import delivery_state
from streamsrv.models import utcnow
from streamsrv.survey.requests import IssuedRequest, record_interaction
from streamsrv.survey.schemas import InteractionCreated
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import InteractionCreate
from streamsrv.timefmt import iso


def issued_json(issued: IssuedRequest) -> dict[str, Any]:
    return {
        "interaction_id": issued.interaction.id,
        "request": {
            "id": issued.request.id,
            "token": issued.token,
            "url": issued.url,
            "status": issued.request.status,
            "expires_at": iso(issued.request.expires_at),
        },
    }


def answer_json(session: Session, issued: IssuedRequest) -> dict[str, Any]:
    """The request with the state of its survey email (docs/email.md)."""
    body = issued_json(issued)
    body["request"]["delivery"] = delivery_state(session, issued.request, issued.interaction)
    return body


@endpoint(
    "POST",
    "/api/v1/interactions",
    summary="Record an interaction; returns its feedback request link (idempotent on external_id)",
    tag="feedback",
    body=InteractionCreate,
    response=InteractionCreated,
    status=201,
    errors=(409,),
    scope="ingest",
)
async def create_interaction(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("ingest")
    data = await read_json(request, InteractionCreate)
    data.agent_fields()
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        issued = record_interaction(session, ctx.signer, ctx.settings, identity, data, utcnow(), data.send)
        return answer_json(session, issued), issued.created

    body, created = await run_idempotent(ctx.db, work)
    return json_response(body, status=201 if created else 200)


routes: list[BaseRoute] = [create_interaction]
