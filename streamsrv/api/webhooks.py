"""``/api/v1/webhook-endpoints``: customers' systems subscribed to events (outbound webhooks).

Administrators manage them: one of the whole organization any endpoint, one limited to some
accounts only endpoints limited to accounts of theirs. The signing secret is shown once, when
the endpoint is created or its secret rotated; it is stored sealed. URLs are checked by
``streamsrv.outbound.safety`` (HTTPS, no credentials, no private addresses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.deliveries import queue
from streamsrv.errors import ApiError, field_error
from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.models import WebhookEndpoint, WebhookStatus
from streamsrv.org.common import require_writer
from streamsrv.outbound import endpoints, messages, safety
from streamsrv.outbound.schemas import (
    DeliveryList,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    RotateSecret,
    SecretRotated,
    TestQueued,
)

TAG = "webhooks"
PATH = "/api/v1/webhook-endpoints"
ONE = PATH + "/{endpoint_id:int}"
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class EndpointList:
    items: list[EndpointOut]
    # Never more than one page (an organization has at most 50 endpoints); kept for the shape
    # every listing shares.
    next_cursor: str | None = None


def endpoint_out(row: WebhookEndpoint) -> EndpointOut:
    assert row.id is not None
    return EndpointOut(
        id=row.id,
        url=row.url,
        description=row.description,
        events=list(row.events),
        account_ids=list(row.account_ids),
        status=row.status,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        previous_secret_until=row.previous_until if row.previous_secret_sealed else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def checked_url(call: Call[Any, Any], url: str) -> str:
    try:
        return safety.check_url(url, allow_private=call.ctx.settings.outbound_allow_private)
    except safety.UnsafeTarget as exc:
        raise field_error("url", str(exc)) from None


@route(
    "POST",
    PATH,
    summary="Subscribe a URL to events; the answer holds its signing secret, shown this once",
    tag=TAG,
    body=EndpointCreate,
    response=EndpointCreated,
    status=201,
    errors=(409,),
    scope="admin",
    guard=require_writer,
)
def create_endpoint(call: Call[EndpointCreate, None], session: Session) -> Reply:
    identity = call.identity
    body = call.body
    url = checked_url(call, body.url)
    account_ids = endpoints.check_accounts(session, identity, body.account_ids)
    if endpoints.count(session, identity.org_id) >= endpoints.MAX_ENDPOINTS_PER_ORG:
        raise ApiError(
            409, f"an organization may have at most {endpoints.MAX_ENDPOINTS_PER_ORG} webhook endpoints"
        )
    seal = endpoints.sealer(call.ctx.settings.secret_key)
    secret = endpoints.new_secret()
    row = WebhookEndpoint(
        org_id=identity.org_id,
        url=url,
        description=body.description,
        events=list(body.events),
        account_ids=account_ids,
        secret_sealed=seal.seal(secret),
        created_by=identity.user_id,
        created_at=call.now,
        updated_at=call.now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    endpoints.changed(session, identity.org_id, row.id)
    endpoints.audit(session, identity, identity.org_id, "webhook.created", row, events=row.events)
    out = EndpointCreated(**endpoint_out(row).model_dump(), secret=secret)
    return Reply(out, status=201, location=f"{PATH}/{row.id}", headers=NO_STORE)


@route(
    "GET",
    PATH,
    summary="The webhook endpoints the caller administers",
    tag=TAG,
    response=EndpointOut,
    response_list=True,
    scope="admin",
    guard=require_writer,
)
def list_endpoints(call: Call[None, None], session: Session) -> EndpointList:
    return EndpointList([endpoint_out(r) for r in endpoints.listing(session, call.identity)])


@route(
    "GET",
    ONE,
    summary="One webhook endpoint (never its secret)",
    tag=TAG,
    response=EndpointOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def get_endpoint(call: Call[None, None], session: Session) -> EndpointOut:
    return endpoint_out(endpoints.load(session, call.identity, call.id("endpoint_id")))


@route(
    "PATCH",
    ONE,
    summary='Change an endpoint\'s URL, events or accounts; "status": "active" re-enables it',
    tag=TAG,
    body=EndpointUpdate,
    response=EndpointOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def update_endpoint(call: Call[EndpointUpdate, None], session: Session) -> EndpointOut:
    identity = call.identity
    row = endpoints.load(session, identity, call.id("endpoint_id"))
    changes = patch_changes(call.body, nullable={"description"})
    if "url" in changes:
        row.url = checked_url(call, changes["url"])
    if "events" in changes:
        row.events = list(changes["events"])
    if "account_ids" in changes:
        row.account_ids = endpoints.check_accounts(session, identity, changes["account_ids"])
    if "description" in changes:
        row.description = changes["description"]
    reenabled = changes.get("status") == WebhookStatus.active and row.status != WebhookStatus.active
    if reenabled:
        row.status = WebhookStatus.active
        row.disabled_reason = None
        row.disabled_at = None
    row.updated_at = call.now
    session.add(row)
    session.flush()
    assert row.id is not None
    endpoints.changed(session, identity.org_id, row.id)
    action = "webhook.enabled" if reenabled else "webhook.updated"
    endpoints.audit(session, identity, identity.org_id, action, row, fields=sorted(changes))
    return endpoint_out(row)


@route(
    "DELETE",
    ONE,
    summary="Delete an endpoint: messages not sent yet are not sent",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def delete_endpoint(call: Call[None, None], session: Session) -> None:
    identity = call.identity
    row = endpoints.load(session, identity, call.id("endpoint_id"))
    assert row.id is not None
    endpoints.changed(session, identity.org_id, row.id)
    endpoints.audit(session, identity, identity.org_id, "webhook.deleted", row)
    queue.cancel(session, messages.ref_of(row.id), call.now, "the endpoint was deleted")
    session.delete(row)
    session.flush()


@route(
    "POST",
    ONE + "/rotate-secret",
    summary="A new signing secret; the old one keeps signing next to it for grace_hours",
    tag=TAG,
    body=RotateSecret,
    response=SecretRotated,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def rotate_secret(call: Call[RotateSecret, None], session: Session) -> Reply:
    identity = call.identity
    row = endpoints.load(session, identity, call.id("endpoint_id"))
    assert row.id is not None
    seal = endpoints.sealer(call.ctx.settings.secret_key)
    secret = endpoints.rotate(row, seal, timedelta(hours=call.body.grace_hours), call.now)
    session.add(row)
    session.flush()
    endpoints.changed(session, identity.org_id, row.id)
    endpoints.audit(
        session, identity, identity.org_id, "webhook.secret_rotated", row, grace_hours=call.body.grace_hours
    )
    return Reply(
        SecretRotated(id=row.id, secret=secret, previous_secret_until=row.previous_until), headers=NO_STORE
    )


@route(
    "POST",
    ONE + "/test",
    summary="Queue a webhook.test message to the endpoint; answers the delivery's id",
    tag=TAG,
    response=TestQueued,
    status=202,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def test_endpoint(call: Call[None, None], session: Session) -> TestQueued:
    row = endpoints.load(session, call.identity, call.id("endpoint_id"))
    delivery_id, message_id = messages.send_test(session, row, call.now)
    return TestQueued(id=delivery_id, delivery_id=delivery_id, message_id=message_id, status="scheduled")


@route(
    "GET",
    ONE + "/deliveries",
    summary="The endpoint's last 100 messages: status, attempts, the receiver's answer",
    tag=TAG,
    response=DeliveryList,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def list_deliveries(call: Call[None, None], session: Session) -> DeliveryList:
    row = endpoints.load(session, call.identity, call.id("endpoint_id"))
    items = [DeliveryOut.model_validate(a, from_attributes=True) for a in messages.delivery_log(session, row)]
    return DeliveryList(items=items)


routes: list[BaseRoute] = [
    create_endpoint,
    list_endpoints,
    get_endpoint,
    update_endpoint,
    delete_endpoint,
    rotate_secret,
    test_endpoint,
    list_deliveries,
]
