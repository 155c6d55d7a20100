"""``GET /api/v1/interactions/{id}``: an interaction's request as ``POST`` answered it, now.

The integration that recorded an interaction reads here later what became of its survey email
(scheduled, sent, failed and why, suppressed and why). Same scope as recording (``ingest``): the
answer carries the survey link, which answers on the customer's behalf.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, get_in_org, path_id
from streamsrv.api.interactions import answer_json
from streamsrv.auth import authenticate
from streamsrv.errors import not_found
from streamsrv.http import endpoint, json_response
from streamsrv.models import Interaction
from streamsrv.survey.requests import IssuedRequest, latest_request, link_token, survey_url
from streamsrv.survey.schemas import InteractionCreated


@endpoint(
    "GET",
    "/api/v1/interactions/{interaction_id:int}",
    summary="An interaction's feedback request and the state of its survey email",
    tag="feedback",
    response=InteractionCreated,
    errors=(404,),
    scope="ingest",
)
async def get_interaction(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("ingest")
    interaction_id = path_id(request, "interaction_id")
    ctx = app_ctx(request)

    def fetch(session: Session) -> dict[str, Any]:
        interaction = get_in_org(session, Interaction, interaction_id, identity.org_id, "interaction")
        if not identity.sees_account(interaction.account_id):
            raise not_found("interaction")
        feedback_request = latest_request(session, interaction_id)
        if feedback_request is None:
            raise not_found("interaction")
        token = link_token(ctx.signer, feedback_request)
        url = survey_url(ctx.settings, token) if token else None
        return answer_json(session, IssuedRequest(interaction, feedback_request, token, url, False))

    return json_response(await ctx.db.run(fetch))


routes: list[BaseRoute] = [get_interaction]
