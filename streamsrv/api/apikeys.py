"""``/api/v1/api-keys``: scoped keys for integrations; the secret is shown once, at creation."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, Reply, route
from streamsrv.org import apikeys
from streamsrv.org.common import Page, require_org_admin
from streamsrv.org.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, PageQuery
from streamsrv.revocation import drop_credential

TAG = "api-keys"


@route(
    "POST",
    "/api/v1/api-keys",
    summary="Create an API key; the answer carries the secret, once",
    tag=TAG,
    body=ApiKeyCreate,
    response=ApiKeyCreated,
    status=201,
    scope="admin",
    guard=require_org_admin,
)
def create_key(call: Call[ApiKeyCreate, None], session: Session) -> Reply:
    out = apikeys.create(session, call.identity, call.body)
    # The secret must not linger in shared caches or browser history.
    return Reply(out, location=f"/api/v1/api-keys/{out.id}", headers={"Cache-Control": "no-store"})


@route(
    "GET",
    "/api/v1/api-keys",
    summary="List the organization's API keys (never their secrets)",
    tag=TAG,
    query=PageQuery,
    response=ApiKeyOut,
    response_list=True,
    scope="admin",
    guard=require_org_admin,
)
def list_keys(call: Call[None, PageQuery], session: Session) -> Page[ApiKeyOut]:
    return apikeys.listing(session, call.identity, call.query)


@route(
    "GET",
    "/api/v1/api-keys/{key_id:int}",
    summary="Get one API key (never its secret)",
    tag=TAG,
    response=ApiKeyOut,
    errors=(404,),
    scope="admin",
    guard=require_org_admin,
)
def get_key(call: Call[None, None], session: Session) -> ApiKeyOut:
    return apikeys.get(session, call.identity, call.id("key_id"))


@route(
    "DELETE",
    "/api/v1/api-keys/{key_id:int}",
    summary="Revoke an API key (effective immediately; repeating it is harmless)",
    tag=TAG,
    response=ApiKeyOut,
    errors=(404,),
    scope="admin",
    guard=require_org_admin,
)
async def revoke_key(call: Call[None, None]) -> ApiKeyOut:
    identity, key_id = call.identity, call.id("key_id")
    out = await call.run(lambda session: apikeys.revoke(session, identity, key_id))
    # Streams opened with this key, or with stream tokens it issued, close on every node.
    await drop_credential(call.ctx, f"apikey:{key_id}")
    return out


routes: list[BaseRoute] = [create_key, list_keys, get_key, revoke_key]
