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
from streamsrv.models import utcnow
from streamsrv.survey.requests import IssuedRequest, record_interaction
from streamsrv.survey.schemas import InteractionCreated
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import InteractionIn
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


@endpoint(
    "POST",
    "/api/v1/interactions",
    summary="Record an interaction; returns its feedback request link (idempotent on external_id)",
    tag="feedback",
    body=InteractionIn,
    response=InteractionCreated,
    status=201,
    errors=(409,),
    scope="ingest",
)
async def create_interaction(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("ingest")
    data = await read_json(request, InteractionIn)
    data.agent_fields()
    ctx: AppContext = request.app.state.ctx

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        issued = record_interaction(session, ctx.signer, ctx.settings, identity, data, utcnow())
        return issued_json(issued), issued.created

    body, created = await run_idempotent(ctx.db, work)
    return json_response(body, status=201 if created else 200)


routes: list[BaseRoute] = [create_interaction]
