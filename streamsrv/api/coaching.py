"""Coaching API: the panel snapshot, acknowledging alerts, coaching notes, shout-outs, alert rules.

Every route authorises server-side: team leaders act on their own teams, managers on their
accounts, administrators on the organization (``streamsrv.coaching.access``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.coaching import notes, panel, settings, shoutouts
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
from streamsrv.kernel import Call, route
from streamsrv.org.common import Page, require_writer

TAG = "coaching"


@route(
    "GET",
    "/api/v1/coach",
    summary="Coaching panel snapshot: your teams, a team's agents with trends, feedback and alerts",
    tag=TAG,
    query=CoachQuery,
    response=CoachSnapshot,
    errors=(404,),
    scope="read",
    guard=require_coach,
)
def coach_snapshot(call: Call[None, CoachQuery], session: Session) -> dict[str, Any]:
    query = call.query
    where = panel.AlertFilter(query.kind, query.agent_id)
    return panel.snapshot(session, call.identity, query.team_id, call.now, where, query.open_limit)


@route(
    "POST",
    "/api/v1/alerts/{alert_id:int}/ack",
    summary="Acknowledge an alert (idempotent: the first acknowledgement is kept)",
    tag=TAG,
    response=AlertOut,
    errors=(404,),
    scope="read",
    guard=require_coach,
)
def acknowledge_alert(call: Call[None, None], session: Session) -> dict[str, Any]:
    return panel.acknowledge(session, call.identity, call.id("alert_id"), call.now)


@route(
    "POST",
    "/api/v1/coaching-notes",
    summary="Log a coaching note about an agent (shared notes are shown to the agent)",
    tag=TAG,
    body=NoteIn,
    response=NoteOut,
    status=201,
    scope="read",
    guard=require_coach,
)
def create_note(call: Call[NoteIn, None], session: Session) -> dict[str, Any]:
    body = call.body
    return notes.add_note(
        session, call.identity, body.agent_id, body.response_id, body.text, body.shared, call.now
    )


@route(
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
def list_notes(call: Call[None, NotesQuery], session: Session) -> Page[dict[str, Any]]:
    query = call.query
    before = int(query.cursor) if query.cursor else None
    items, next_cursor = notes.list_notes(session, call.identity, query.agent_id, before, query.limit)
    return Page(items, next_cursor)


@route(
    "POST",
    "/api/v1/shoutouts",
    summary="Post a shout-out for an agent: shown on the boards and the agent's page",
    tag=TAG,
    body=ShoutoutIn,
    response=ShoutoutOut,
    status=201,
    scope="read",
    guard=require_coach,
)
def create_shoutout(call: Call[ShoutoutIn, None], session: Session) -> dict[str, Any]:
    body = call.body
    return shoutouts.post_shoutout(
        session, call.identity, body.agent_id, body.response_id, body.message, call.now
    )


@route(
    "GET",
    "/api/v1/accounts/{account_id:int}/alert-rules",
    summary="An account's coaching alert rules (defaults filled in)",
    tag=TAG,
    response=AlertRulesOut,
    errors=(404,),
    scope="read",
)
def get_alert_rules(call: Call[None, None], session: Session) -> AlertRulesOut:
    return settings.read_rules(session, call.identity, call.id("account_id"))


@route(
    "PUT",
    "/api/v1/accounts/{account_id:int}/alert-rules",
    summary="Replace an account's coaching alert rules (administrators)",
    tag=TAG,
    body=AlertRulesIn,
    response=AlertRulesOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def put_alert_rules(call: Call[AlertRulesIn, None], session: Session) -> AlertRulesOut:
    return settings.replace_rules(session, call.identity, call.id("account_id"), call.body)


routes: list[BaseRoute] = [
    coach_snapshot,
    acknowledge_alert,
    create_note,
    list_notes,
    create_shoutout,
    get_alert_rules,
    put_alert_rules,
]
