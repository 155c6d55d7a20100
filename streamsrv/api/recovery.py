"""``/api/v1/recovery``: the service-recovery queue (cases, claiming, notes, follow-ups, metrics).

For recovery staff and managers of the case's account, and administrators; a case outside the
caller's scope is 404. Changes are made in a person's name, so they need a logged-in user
(the page sends its session cookie and CSRF header). Refused transitions are 409 with a code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, path_id
from streamsrv.auth import Identity, authenticate
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import RecoveryCase, utcnow
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


async def _queue_identity(request: Request) -> Identity:
    identity = await authenticate(request)
    service.require_queue_access(identity)
    return identity


async def _case_answer(
    request: Request,
    identity: Identity,
    change: Callable[[Session, Identity, int], RecoveryCase],
    status: int = 200,
) -> Response:
    """Run ``change`` on the path's case in one transaction; answer with the case as it now is."""
    case_id = path_id(request, "case_id")
    ctx = app_ctx(request)

    def work(session: Session) -> dict[str, Any]:
        case = change(session, identity, case_id)
        return case_json(case, service.with_link(session, case, ctx.signer, ctx.settings))

    return json_response({"case": await ctx.db.run(work)}, status=status)


@endpoint(
    "GET",
    "/api/v1/recovery/cases",
    summary="List recovery cases (active: open and claimed, oldest first; resolved: newest first)",
    tag=TAG,
    query=CaseQuery,
    response=CaseOut,
    response_list=True,
    errors=(404,),
    scope="read",
)
async def list_cases(request: Request) -> Response:
    identity = await _queue_identity(request)
    query = parse_query(request, CaseQuery)

    def work(session: Session) -> service.CasePage:
        return service.list_cases(session, identity, query)

    page = await app_ctx(request).db.run(work)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


@endpoint(
    "GET", CASE_PATH, summary="One recovery case with its notes", tag=TAG, response=CaseEnvelope,
    errors=(404,), scope="read",
)
async def get_case(request: Request) -> Response:
    identity = await _queue_identity(request)
    return await _case_answer(request, identity, service.visible_case)


@endpoint(
    "POST", CASE_PATH + "/claim", summary="Claim an open case (409 already_claimed if someone was faster)",
    tag=TAG, response=CaseEnvelope, errors=ACTION_ERRORS, scope="read",
)
async def claim_case(request: Request) -> Response:
    identity = await _queue_identity(request)
    now = utcnow()
    return await _case_answer(request, identity, lambda s, i, c: service.claim(s, i, c, now))


@endpoint(
    "POST", CASE_PATH + "/release", summary="Give a claimed case back to the queue", tag=TAG,
    response=CaseEnvelope, errors=ACTION_ERRORS, scope="read",
)
async def release_case(request: Request) -> Response:
    identity = await _queue_identity(request)
    now = utcnow()
    return await _case_answer(request, identity, lambda s, i, c: service.release(s, i, c, now))


@endpoint(
    "POST", CASE_PATH + "/notes", summary="Add a note to a case", tag=TAG, body=NoteIn,
    response=CaseEnvelope, status=201, errors=ACTION_ERRORS, scope="read",
)
async def add_note(request: Request) -> Response:
    identity = await _queue_identity(request)
    data = await read_json(request, NoteIn)
    now = utcnow()
    return await _case_answer(request, identity, lambda s, i, c: service.add_note(s, i, c, data.text, now), 201)


@endpoint(
    "POST", CASE_PATH + "/contact", summary="Record the outcome of contacting the customer", tag=TAG,
    body=ContactIn, response=CaseEnvelope, errors=ACTION_ERRORS, scope="read",
)
async def record_contact(request: Request) -> Response:
    identity = await _queue_identity(request)
    data = await read_json(request, ContactIn)
    now = utcnow()
    return await _case_answer(request, identity, lambda s, i, c: service.record_contact(s, i, c, data, now))


@endpoint(
    "POST", CASE_PATH + "/resolve", summary="Resolve a case (the claimer, or a manager)", tag=TAG,
    body=ResolveIn, response=CaseEnvelope, errors=ACTION_ERRORS, scope="read",
)
async def resolve_case(request: Request) -> Response:
    identity = await _queue_identity(request)
    data = await read_json(request, ResolveIn)
    now = utcnow()
    return await _case_answer(request, identity, lambda s, i, c: service.resolve(s, i, c, data.resolution, now))


@endpoint(
    "POST", CASE_PATH + "/followup",
    summary="Create (or return) the follow-up feedback request for the customer: {token, url}",
    tag=TAG, response=FollowupCreated, status=201, errors=ACTION_ERRORS, scope="read",
    extra_responses={200: "the follow-up already existed; the same link"},
)
async def send_followup(request: Request) -> Response:
    identity = await _queue_identity(request)
    case_id = path_id(request, "case_id")
    ctx = app_ctx(request)
    now = utcnow()

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        sent = service.send_followup(session, identity, case_id, ctx.signer, ctx.settings, now)
        case = case_json(sent.case, service.with_link(session, sent.case, ctx.signer, ctx.settings))
        return {"token": sent.token, "url": sent.url, "case": case}, sent.created

    body, created = await ctx.db.run(work)
    return json_response(body, status=201 if created else 200)


@endpoint(
    "GET", "/api/v1/recovery/metrics",
    summary="Recovery metrics: time to claim and resolve, SLA share, rating uplift, queue size",
    tag=TAG, query=MetricsQuery, response=MetricsOut, errors=(404,), scope="read",
)
async def metrics(request: Request) -> Response:
    identity = await _queue_identity(request)
    query = parse_query(request, MetricsQuery)

    def work(session: Session) -> dict[str, Any]:
        if query.account_id is not None:
            service.check_account(session, identity, query.account_id)
        return recovery_metrics(session, identity, query.account_id, query.since, query.until, utcnow())

    return json_response(await app_ctx(request).db.run(work))


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
