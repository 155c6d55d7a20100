"""``/api/v1/integrations``: helpdesks that send solved tickets, and the events they send.

Administrators (one limited to some accounts: for those accounts) create an integration per
helpdesk and account, paste its URL and secret into the helpdesk, read its delivery log and map
the events whose agent was not recognised. The helpdesk itself calls
``POST /api/v1/integrations/{connector}/{id}/events`` with no API key: the vendor's signature or
the shared secret is its credential (docs/integrations.md).
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv import metrics
from streamsrv.errors import ApiError
from streamsrv.http import read_body
from streamsrv.integrations import receive, store
from streamsrv.integrations.schemas import (
    IntegrationCreate,
    IntegrationCreated,
    IntegrationDeliveryOut,
    IntegrationOut,
    MapIn,
    SecretIn,
    UnmappedOut,
    UnmappedQuery,
)
from streamsrv.kernel import Call, Reply, route
from streamsrv.org.common import Page, require_writer
from streamsrv.org.schemas import PageQuery

TAG = "integrations"
PATH = "/api/v1/integrations"
# A secret in an answer must not linger in shared caches or browser history.
NO_STORE = {"Cache-Control": "no-store"}


@route(
    "POST",
    PATH,
    summary="Connect a helpdesk to an account; the answer carries the URL and the secret, once",
    tag=TAG,
    body=IntegrationCreate,
    response=IntegrationCreated,
    status=201,
    scope="admin",
    guard=require_writer,
)
def create_integration(call: Call[IntegrationCreate, None], session: Session) -> Reply:
    out = store.create(session, call.ctx.settings, call.identity, call.body, call.now)
    return Reply(out, location=f"{PATH}/{out.id}", headers=NO_STORE)


@route(
    "GET",
    PATH,
    summary="List the helpdesk integrations of the caller's accounts (never their secrets)",
    tag=TAG,
    query=PageQuery,
    response=IntegrationOut,
    response_list=True,
    scope="admin",
    guard=require_writer,
)
def list_integrations(call: Call[None, PageQuery], session: Session) -> Page[IntegrationOut]:
    return store.listing(session, call.ctx.settings, call.identity, call.query)


@route(
    "GET",
    PATH + "/unmapped",
    summary="Solved tickets whose agent is not known yet, waiting to be mapped (status=open by default)",
    tag=TAG,
    query=UnmappedQuery,
    response=UnmappedOut,
    response_list=True,
    scope="admin",
    guard=require_writer,
)
def list_unmapped(call: Call[None, UnmappedQuery], session: Session) -> Page[UnmappedOut]:
    return store.unmapped_listing(session, call.identity, call.query)


@route(
    "POST",
    PATH + "/unmapped/{unmapped_id:int}/map",
    summary="Map a waiting event to an agent: its interaction is recorded and its survey sent",
    tag=TAG,
    body=MapIn,
    response=UnmappedOut,
    errors=(404, 409),
    scope="admin",
    guard=require_writer,
)
def map_unmapped(call: Call[MapIn, None], session: Session) -> object:
    return receive.map_event(
        session,
        call.ctx,
        call.identity,
        call.id("unmapped_id"),
        call.body.agent_id,
        call.body.remember,
        call.now,
    )


@route(
    "GET",
    PATH + "/{integration_id:int}",
    summary="Get one helpdesk integration (never its secret)",
    tag=TAG,
    response=IntegrationOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def get_integration(call: Call[None, None], session: Session) -> IntegrationOut:
    row = store.load_visible(session, call.identity, call.id("integration_id"))
    return store.integration_out(call.ctx.settings, row)


@route(
    "DELETE",
    PATH + "/{integration_id:int}",
    summary="Disconnect a helpdesk: its URL answers 404 from now on",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def delete_integration(call: Call[None, None], session: Session) -> None:
    store.remove(session, call.identity, call.id("integration_id"), call.now)


@route(
    "POST",
    PATH + "/{integration_id:int}/rotate-secret",
    summary="Replace the integration's secret (shown once); the old one stops working at once",
    tag=TAG,
    response=IntegrationCreated,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def rotate_secret(call: Call[None, None], session: Session) -> Reply:
    out = store.rotate(session, call.ctx.settings, call.identity, call.id("integration_id"), call.now)
    return Reply(out, headers=NO_STORE)


@route(
    "PUT",
    PATH + "/{integration_id:int}/secret",
    summary="Use the helpdesk's own signing secret (Zendesk, Intercom make theirs); never shown again",
    tag=TAG,
    body=SecretIn,
    response=IntegrationOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def set_secret(call: Call[SecretIn, None], session: Session) -> Reply:
    settings = call.ctx.settings
    out = store.rotate(
        session, settings, call.identity, call.id("integration_id"), call.now, call.body.secret
    )
    # The caller typed it: it is not echoed back.
    return Reply(IntegrationOut(**out.model_dump(exclude={"secret"})), headers=NO_STORE)


@route(
    "GET",
    PATH + "/{integration_id:int}/deliveries",
    summary="The integration's delivery log: its last 100 calls, newest first",
    tag=TAG,
    response=IntegrationDeliveryOut,
    response_list=True,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def list_deliveries(call: Call[None, None], session: Session) -> Page[IntegrationDeliveryOut]:
    # The log holds 100 calls at most: one page, never a cursor.
    return Page(store.deliveries(session, call.identity, call.id("integration_id")), None)


@route(
    "POST",
    PATH + "/{connector}/{integration_id:int}/events",
    summary="A helpdesk's webhook: a solved ticket becomes an interaction (verified per vendor)",
    tag=TAG,
    status=201,
    errors=(401, 404, 413, 422),
    auth="none",
    extra_responses={
        200: "a redelivery (status duplicate) or an event asking for no survey (status ignored)",
        202: "no agent matched: kept in the unmapped list (status unmapped)",
    },
)
async def receive_event(call: Call[None, None]) -> Reply:
    request = call.request
    connector_name = str(request.path_params["connector"])
    limit = min(receive.MAX_EVENT_BYTES, call.ctx.settings.max_body_bytes)

    async def raw_body() -> bytes:
        return await read_body(request, limit)

    connector, outcome = await receive.handle(
        call.ctx, connector_name, call.id("integration_id"), request.headers, raw_body, call.now
    )
    metrics.INTEGRATION_EVENTS.labels(connector=connector.name, status=outcome.status).inc()
    if outcome.http_status >= 400:
        raise ApiError(outcome.http_status, outcome.reason, fields=outcome.fields)
    status, body = connector.acknowledge(outcome.http_status, outcome.body())
    return Reply(body, status=status)


routes: list[BaseRoute] = [
    create_integration,
    list_integrations,
    list_unmapped,
    map_unmapped,
    get_integration,
    delete_integration,
    rotate_secret,
    set_secret,
    list_deliveries,
    receive_event,
]
