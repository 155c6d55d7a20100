"""``POST /api/v1/interactions``: record a service interaction and issue its feedback request."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, Reply, created_or_replayed, route
from streamsrv.mail.survey_email import delivery_state
from streamsrv.survey.requests import IssuedRequest, record_interaction
from streamsrv.survey.schemas import InteractionCreated
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


@route(
    "POST",
    "/api/v1/interactions",
    summary="Record an interaction; returns its feedback request link (idempotent on external_id)",
    tag="feedback",
    body=InteractionCreate,
    response=InteractionCreated,
    status=201,
    errors=(409, 503),
    scope="ingest",
    idempotent=True,
)
def create_interaction(call: Call[InteractionCreate, None], session: Session) -> Reply:
    call.body.agent_fields()
    ctx = call.ctx
    issued = record_interaction(
        session, ctx.signer, ctx.settings, call.identity, call.body, call.now, call.body.send
    )
    return created_or_replayed(answer_json(session, issued), issued.created)


routes: list[BaseRoute] = [create_interaction]
