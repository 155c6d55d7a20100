"""QA API: scorecard templates, evaluations, the agent's acknowledgement or dispute, calibration.

Handlers call ``streamsrv.qa``, which authorises every request for role and scope (docs/qa.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, route
from streamsrv.org.common import Page
from streamsrv.qa import evaluations, templates
from streamsrv.qa.schemas import EvaluationIn, EvaluationsQuery, ReplyIn, TemplateIn
from streamsrv.qa.templates import require_reviewer, require_template_writer

TAG = "qa"


class TemplatesQuery(BaseModel):
    all_versions: bool = False


@route(
    "POST",
    "/api/v1/accounts/{account_id:int}/qa-templates",
    summary="Create a QA scorecard template for an account (managers, administrators)",
    tag=TAG,
    body=TemplateIn,
    status=201,
    errors=(404,),
    scope="read",
    guard=require_template_writer,
)
def create_template(call: Call[TemplateIn, None], session: Session) -> dict[str, Any]:
    return templates.create_template(session, call.identity, call.id("account_id"), call.body, call.now)


@route(
    "GET",
    "/api/v1/accounts/{account_id:int}/qa-templates",
    summary="An account's QA scorecards (latest versions; all_versions=true for every version)",
    tag=TAG,
    query=TemplatesQuery,
    response_list=True,
    errors=(404,),
    scope="read",
    guard=require_reviewer,
)
def list_templates(call: Call[None, TemplatesQuery], session: Session) -> Page[dict[str, Any]]:
    items = templates.list_templates(session, call.identity, call.id("account_id"), call.query.all_versions)
    return Page(items, None)


@route(
    "GET",
    "/api/v1/qa-templates/{template_id:int}",
    summary="One version of a QA scorecard",
    tag=TAG,
    errors=(404,),
    scope="read",
    guard=require_reviewer,
)
def get_template(call: Call[None, None], session: Session) -> dict[str, Any]:
    return templates.get_template(session, call.identity, call.id("template_id"))


@route(
    "PUT",
    "/api/v1/qa-templates/{template_id:int}",
    summary="Update a QA scorecard: adds its next version (stored versions never change)",
    tag=TAG,
    body=TemplateIn,
    status=201,
    errors=(404,),
    scope="read",
    guard=require_template_writer,
)
def update_template(call: Call[TemplateIn, None], session: Session) -> dict[str, Any]:
    return templates.new_version(session, call.identity, call.id("template_id"), call.body, call.now)


@route(
    "POST",
    "/api/v1/qa-evaluations",
    summary="Evaluate an interaction in your scope against a scorecard (score computed by the server)",
    tag=TAG,
    body=EvaluationIn,
    status=201,
    errors=(404,),
    scope="read",
    guard=require_reviewer,
)
def create_evaluation(call: Call[EvaluationIn, None], session: Session) -> dict[str, Any]:
    return evaluations.evaluate(session, call.identity, call.body, call.now)


@route(
    "GET",
    "/api/v1/qa-evaluations",
    summary="QA evaluations, newest first: reviewers see their scope's, an agent their own",
    tag=TAG,
    query=EvaluationsQuery,
    response_list=True,
    scope="read",
)
def list_evaluations(call: Call[None, EvaluationsQuery], session: Session) -> Page[dict[str, Any]]:
    q = call.query
    items = evaluations.list_evaluations(session, call.identity, q.agent_id, q.interaction_id, q.limit)
    return Page(items, None)


@route(
    "POST",
    "/api/v1/qa-evaluations/{evaluation_id:int}/reply",
    summary="The evaluated agent acknowledges or disputes an evaluation, once",
    tag=TAG,
    body=ReplyIn,
    errors=(404, 409),
    scope="read",
)
def reply(call: Call[ReplyIn, None], session: Session) -> dict[str, Any]:
    return evaluations.reply(session, call.identity, call.id("evaluation_id"), call.body, call.now)


@route(
    "GET",
    "/api/v1/interactions/{interaction_id:int}/qa-calibration",
    summary="Calibration: every reviewer's score of one interaction, with the spread",
    tag=TAG,
    errors=(404,),
    scope="read",
    guard=require_reviewer,
)
def calibration(call: Call[None, None], session: Session) -> dict[str, Any]:
    return evaluations.calibration(session, call.identity, call.id("interaction_id"))


routes: list[BaseRoute] = [
    create_template,
    list_templates,
    get_template,
    update_template,
    create_evaluation,
    list_evaluations,
    reply,
    calibration,
]
