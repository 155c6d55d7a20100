"""Coaching API: the panel snapshot, acknowledging alerts, coaching notes, shout-outs, alert rules.

Every route authorises server-side: team leaders act on their own teams, managers on their
accounts, administrators on the organization (``streamsrv.coaching.access``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, get_in_org, path_id, require_writer
from streamsrv.auth import authenticate
from streamsrv.coaching import notes, panel, shoutouts
from streamsrv.coaching.access import require_coach
from streamsrv.coaching.schemas import (
    AlertOut,
    AlertRulesIn,
    AlertRulesOut,
    CoachQuery,
    CoachSnapshot,
    NoteIn,
    NoteOut,
    NotesQuery,
    ShoutoutIn,
    ShoutoutOut,
)
from streamsrv.errors import not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Account, alert_rules_of, utcnow

TAG = "coaching"


@endpoint(
    "GET",
    "/api/v1/coach",
    summary="Coaching panel snapshot: your teams, a team's agents with trends, feedback and alerts",
    tag=TAG,
    query=CoachQuery,
    response=CoachSnapshot,
    errors=(404,),
    scope="read",
)
async def coach_snapshot(request: Request) -> Response:
    identity = await authenticate(request)
    require_coach(identity)
    query = parse_query(request, CoachQuery)
    now = utcnow()

    def fetch(session: Session) -> dict[str, Any]:
        return panel.snapshot(session, identity, query.team_id, now)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "POST",
    "/api/v1/alerts/{alert_id:int}/ack",
    summary="Acknowledge an alert (idempotent: the first acknowledgement is kept)",
    tag=TAG,
    response=AlertOut,
    errors=(404,),
    scope="read",
)
async def acknowledge_alert(request: Request) -> Response:
    identity = await authenticate(request)
    require_coach(identity)
    alert_id = path_id(request, "alert_id")
    now = utcnow()

    def ack(session: Session) -> dict[str, Any]:
        return panel.acknowledge(session, identity, alert_id, now)

    return json_response(await app_ctx(request).db.run(ack))


@endpoint(
    "POST",
    "/api/v1/coaching-notes",
    summary="Log a coaching note about an agent (shared notes are shown to the agent)",
    tag=TAG,
    body=NoteIn,
    response=NoteOut,
    status=201,
    scope="read",
)
async def create_note(request: Request) -> Response:
    identity = await authenticate(request)
    require_coach(identity)
    body = await read_json(request, NoteIn)
    now = utcnow()

    def add(session: Session) -> dict[str, Any]:
        return notes.add_note(session, identity, body.agent_id, body.response_id, body.text, body.shared, now)

    return json_response(await app_ctx(request).db.run(add), status=201)


@endpoint(
    "GET",
    "/api/v1/coaching-notes",
    summary="Coaching notes about an agent, newest first (an agent sees the shared ones about them)",
    tag=TAG,
    query=NotesQuery,
    response=NoteOut,
    response_list=True,
    errors=(404,),
    scope="read",
)
async def list_notes(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, NotesQuery)
    before = int(query.cursor) if query.cursor else None

    def fetch(session: Session) -> tuple[list[dict[str, Any]], str | None]:
        return notes.list_notes(session, identity, query.agent_id, before, query.limit)

    items, next_cursor = await app_ctx(request).db.run(fetch)
    return json_response({"items": items, "next_cursor": next_cursor})


@endpoint(
    "POST",
    "/api/v1/shoutouts",
    summary="Post a shout-out for an agent: shown on the boards and the agent's page",
    tag=TAG,
    body=ShoutoutIn,
    response=ShoutoutOut,
    status=201,
    scope="read",
)
async def create_shoutout(request: Request) -> Response:
    identity = await authenticate(request)
    require_coach(identity)
    body = await read_json(request, ShoutoutIn)
    now = utcnow()

    def post(session: Session) -> dict[str, Any]:
        return shoutouts.post_shoutout(session, identity, body.agent_id, body.response_id, body.message, now)

    return json_response(await app_ctx(request).db.run(post), status=201)


def rules_out(account: Account) -> AlertRulesOut:
    assert account.id is not None
    return AlertRulesOut(
        account_id=account.id, alert_rules=AlertRulesIn.model_validate(alert_rules_of(account))
    )


@endpoint(
    "GET",
    "/api/v1/accounts/{account_id:int}/alert-rules",
    summary="An account's coaching alert rules (defaults filled in)",
    tag=TAG,
    response=AlertRulesOut,
    errors=(404,),
    scope="read",
)
async def get_alert_rules(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    account_id = path_id(request, "account_id")

    def fetch(session: Session) -> AlertRulesOut:
        account = get_in_org(session, Account, account_id, identity.org_id, "account")
        if not identity.sees_account(account_id) and not _leads_in(session, identity, account_id):
            raise not_found("account")
        return rules_out(account)

    return json_response(await app_ctx(request).db.run(fetch))


def _leads_in(session: Session, identity: Any, account_id: int) -> bool:
    """Team leaders read the rules of the accounts their teams belong to."""
    from streamsrv.coaching.access import coachable_teams

    return any(t.account_id == account_id for t in coachable_teams(session, identity))


@endpoint(
    "PUT",
    "/api/v1/accounts/{account_id:int}/alert-rules",
    summary="Replace an account's coaching alert rules (administrators)",
    tag=TAG,
    body=AlertRulesIn,
    response=AlertRulesOut,
    errors=(404,),
    scope="admin",
)
async def put_alert_rules(request: Request) -> Response:
    identity = await authenticate(request)
    account_id = path_id(request, "account_id")
    require_writer(identity, account_id)
    body = await read_json(request, AlertRulesIn)

    def store(session: Session) -> AlertRulesOut:
        account = get_in_org(session, Account, account_id, identity.org_id, "account")
        # A new dict: the JSON column notices replacement, not mutation in place.
        account.alert_rules = body.model_dump(mode="json")
        session.add(account)
        session.flush()
        return rules_out(account)

    return json_response(await app_ctx(request).db.run(store))


routes: list[BaseRoute] = [
    coach_snapshot,
    acknowledge_alert,
    create_note,
    list_notes,
    create_shoutout,
    get_alert_rules,
    put_alert_rules,
]
