"""``POST /api/v1/interactions``: record a service interaction and issue its feedback request."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, Reply, created_or_replayed, route
from streamsrv.survey.requests import IssuedRequest, record_interaction
from streamsrv.survey.schemas import InteractionCreated
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


@route(
    "POST",
    "/api/v1/interactions",
    summary="Record an interaction; returns its feedback request link (idempotent on external_id)",
    tag="feedback",
    body=InteractionIn,
    response=InteractionCreated,
    status=201,
    errors=(409,),
    scope="ingest",
    idempotent=True,
)
def create_interaction(call: Call[InteractionIn, None], session: Session) -> Reply:
    call.body.agent_fields()
    ctx = call.ctx
    issued = record_interaction(session, ctx.signer, ctx.settings, call.identity, call.body, call.now)
    return created_or_replayed(issued_json(issued), issued.created)


routes: list[BaseRoute] = [create_interaction]
