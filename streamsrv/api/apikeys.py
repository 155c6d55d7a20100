"""``/api/v1/api-keys``: scoped keys for integrations; the secret is shown once, at creation.

Only an administrator of the whole organization manages keys: a key can grant ``admin``, so a
narrower credential minting keys would be an escalation path. Revoking is immediate, because
every request looks the key up (``streamsrv.auth.lookup_api_key``); nothing caches it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import (
    app_ctx,
    check_ids_in_org,
    get_in_org,
    page,
    paginate,
    path_id,
    require_org_admin,
)
from streamsrv.api.schemas_admin import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, PageQuery
from streamsrv.auth import authenticate
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Account, ApiKey, utcnow
from streamsrv.revocation import drop_credential
from streamsrv.tenancy import new_api_key

TAG = "api-keys"


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@endpoint(
    "POST",
    "/api/v1/api-keys",
    summary="Create an API key; the answer carries the secret, once",
    tag=TAG,
    body=ApiKeyCreate,
    response=ApiKeyCreated,
    status=201,
    scope="admin",
)
async def create_key(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    body = await read_json(request, ApiKeyCreate)

    def create(session: Session) -> ApiKeyCreated:
        check_ids_in_org(session, Account, body.account_ids, identity.org_id, "account_ids")
        key, plaintext = new_api_key(
            session,
            identity.org_id,
            body.name,
            body.scopes,
            account_ids=body.account_ids,
            created_by=identity.user_id,
        )
        return ApiKeyCreated(**key_out(key).model_dump(), key=plaintext)

    out = await app_ctx(request).db.run(create)
    # The secret must not linger in shared caches or browser history.
    return json_response(
        out, status=201, headers={"Location": f"/api/v1/api-keys/{out.id}", "Cache-Control": "no-store"}
    )


@endpoint(
    "GET",
    "/api/v1/api-keys",
    summary="List the organization's API keys (never their secrets)",
    tag=TAG,
    query=PageQuery,
    response=ApiKeyOut,
    response_list=True,
    scope="admin",
)
async def list_keys(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    query = parse_query(request, PageQuery)

    def fetch(session: Session) -> dict[str, Any]:
        stmt = select(ApiKey).where(ApiKey.org_id == identity.org_id)
        rows, cursor = paginate(session, stmt, ApiKey.id, query.cursor, query.limit)
        return page([key_out(k) for k in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/api-keys/{key_id:int}",
    summary="Get one API key (never its secret)",
    tag=TAG,
    response=ApiKeyOut,
    errors=(404,),
    scope="admin",
)
async def get_key(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    key_id = path_id(request, "key_id")

    def fetch(session: Session) -> ApiKeyOut:
        return key_out(get_in_org(session, ApiKey, key_id, identity.org_id, "API key"))

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "DELETE",
    "/api/v1/api-keys/{key_id:int}",
    summary="Revoke an API key (effective immediately; repeating it is harmless)",
    tag=TAG,
    response=ApiKeyOut,
    errors=(404,),
    scope="admin",
)
async def revoke_key(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    key_id = path_id(request, "key_id")

    def revoke(session: Session) -> ApiKeyOut:
        key = get_in_org(session, ApiKey, key_id, identity.org_id, "API key")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            session.add(key)
            session.flush()
        return key_out(key)

    ctx = app_ctx(request)
    out = await ctx.db.run(revoke)
    # Streams opened with this key, or with stream tokens it issued, close on every node.
    await drop_credential(ctx, f"apikey:{key_id}")
    return json_response(out)


routes: list[BaseRoute] = [create_key, list_keys, get_key, revoke_key]
