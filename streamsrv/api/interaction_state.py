"""``GET /api/v1/interactions/{id}``: an interaction's request as ``POST`` answered it, now.

The integration that recorded an interaction reads here later what became of its survey email
(scheduled, sent, failed and why, suppressed and why). Same scope as recording (``ingest``): the
answer carries the survey link, which answers on the customer's behalf.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.api.interactions import answer_json
from streamsrv.errors import not_found
from streamsrv.kernel import Call, route
from streamsrv.models import Interaction
from streamsrv.org.common import get_in_org
from streamsrv.survey.requests import IssuedRequest, latest_request, link_token, survey_url
from streamsrv.survey.schemas import InteractionCreated


@route(
    "GET",
    "/api/v1/interactions/{interaction_id:int}",
    summary="An interaction's feedback request and the state of its survey email",
    tag="feedback",
    response=InteractionCreated,
    errors=(404,),
    scope="ingest",
)
def get_interaction(call: Call[None, None], session: Session) -> dict[str, Any]:
    identity, interaction_id = call.identity, call.id("interaction_id")
    interaction = get_in_org(session, Interaction, interaction_id, identity.org_id, "interaction")
    if not identity.sees_account(interaction.account_id):
        raise not_found("interaction")
    feedback_request = latest_request(session, interaction_id)
    if feedback_request is None:
        raise not_found("interaction")
    token = link_token(call.ctx.signer, feedback_request)
    url = survey_url(call.ctx.settings, token) if token else None
    return answer_json(session, IssuedRequest(interaction, feedback_request, token, url, False))


routes: list[BaseRoute] = [get_interaction]
