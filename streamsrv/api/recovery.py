"""``/api/v1/recovery``: the service-recovery queue (cases, claiming, notes, follow-ups, metrics).

For recovery staff and managers of the case's account, and administrators; a case outside the
caller's scope is 404. Changes are made in a person's name, so they need a logged-in user
(the page sends its session cookie and CSRF header). Refused transitions are 409 with a code.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, Reply, created_or_replayed, route
from streamsrv.models import RecoveryCase
from streamsrv.recovery import service
from streamsrv.recovery.metrics import recovery_metrics
from streamsrv.recovery.schemas import (
    CaseEnvelope,
    CaseOut,
    CaseQuery,
    ContactIn,
    FollowupCreated,
    MetricsOut,
    MetricsQuery,
    NoteIn,
    ResolveIn,
)
from streamsrv.recovery.views import case_json

TAG = "recovery"
CASE_PATH = "/api/v1/recovery/cases/{case_id:int}"
ACTION_ERRORS = (404, 409)
# Every route of the queue: recovery staff, managers and administrators, with the read scope.
queue_route = partial(route, tag=TAG, scope="read", guard=service.require_queue_access)


def case_view(call: Call[Any, Any], session: Session, case: RecoveryCase) -> dict[str, Any]:
    """The case as it now is, with its customer's follow-up link when there is one."""
    return case_json(case, service.with_link(session, case, call.ctx.signer, call.ctx.settings))


def envelope(call: Call[Any, Any], session: Session, case: RecoveryCase) -> dict[str, Any]:
    return {"case": case_view(call, session, case)}


@queue_route(
    "GET",
    "/api/v1/recovery/cases",
    summary="List recovery cases (active: open and claimed, oldest first; resolved: newest first)",
    query=CaseQuery,
    response=CaseOut,
    response_list=True,
    errors=(404,),
)
def list_cases(call: Call[None, CaseQuery], session: Session) -> service.CasePage:
    return service.list_cases(session, call.identity, call.query)


@queue_route(
    "GET", CASE_PATH, summary="One recovery case with its notes", response=CaseEnvelope, errors=(404,)
)
def get_case(call: Call[None, None], session: Session) -> dict[str, Any]:
    return envelope(call, session, service.visible_case(session, call.identity, call.id("case_id")))


@queue_route(
    "POST",
    CASE_PATH + "/claim",
    summary="Claim an open case (409 already_claimed if someone was faster)",
    response=CaseEnvelope,
    errors=ACTION_ERRORS,
)
def claim_case(call: Call[None, None], session: Session) -> dict[str, Any]:
    return envelope(call, session, service.claim(session, call.identity, call.id("case_id"), call.now))


@queue_route(
    "POST",
    CASE_PATH + "/release",
    summary="Give a claimed case back to the queue",
    response=CaseEnvelope,
    errors=ACTION_ERRORS,
)
def release_case(call: Call[None, None], session: Session) -> dict[str, Any]:
    return envelope(call, session, service.release(session, call.identity, call.id("case_id"), call.now))


@queue_route(
    "POST",
    CASE_PATH + "/notes",
    summary="Add a note to a case",
    body=NoteIn,
    response=CaseEnvelope,
    status=201,
    errors=ACTION_ERRORS,
)
def add_note(call: Call[NoteIn, None], session: Session) -> dict[str, Any]:
    return envelope(
        call, session, service.add_note(session, call.identity, call.id("case_id"), call.body.text, call.now)
    )


@queue_route(
    "POST",
    CASE_PATH + "/contact",
    summary="Record the outcome of contacting the customer",
    body=ContactIn,
    response=CaseEnvelope,
    errors=ACTION_ERRORS,
)
def record_contact(call: Call[ContactIn, None], session: Session) -> dict[str, Any]:
    return envelope(
        call, session, service.record_contact(session, call.identity, call.id("case_id"), call.body, call.now)
    )


@queue_route(
    "POST",
    CASE_PATH + "/resolve",
    summary="Resolve a case (the claimer, or a manager)",
    body=ResolveIn,
    response=CaseEnvelope,
    errors=ACTION_ERRORS,
)
def resolve_case(call: Call[ResolveIn, None], session: Session) -> dict[str, Any]:
    return envelope(
        call,
        session,
        service.resolve(session, call.identity, call.id("case_id"), call.body.resolution, call.now),
    )


@queue_route(
    "POST",
    CASE_PATH + "/followup",
    summary="Create (or return) the follow-up feedback request for the customer: {token, url}",
    response=FollowupCreated,
    status=201,
    errors=ACTION_ERRORS,
    extra_responses={200: "the follow-up already existed; the same link"},
)
def send_followup(call: Call[None, None], session: Session) -> Reply:
    ctx = call.ctx
    sent = service.send_followup(
        session, call.identity, call.id("case_id"), ctx.signer, ctx.settings, call.now
    )
    body = {"token": sent.token, "url": sent.url, "case": case_view(call, session, sent.case)}
    return created_or_replayed(body, sent.created)


@queue_route(
    "GET",
    "/api/v1/recovery/metrics",
    summary="Recovery metrics: time to claim and resolve, SLA share, rating uplift, queue size",
    query=MetricsQuery,
    response=MetricsOut,
    errors=(404,),
)
def metrics(call: Call[None, MetricsQuery], session: Session) -> dict[str, Any]:
    query = call.query
    if query.account_id is not None:
        service.check_account(session, call.identity, query.account_id)
    return recovery_metrics(session, call.identity, query.account_id, query.since, query.until, call.now)


routes: list[BaseRoute] = [
    list_cases,
    get_case,
    claim_case,
    release_case,
    add_note,
    record_contact,
    resolve_case,
    send_followup,
    metrics,
]
