"""``/api/v1/accounts``: client programmes with their survey settings and reward catalogue."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.org import accounts
from streamsrv.org.common import Page, require_org_admin, require_writer
from streamsrv.org.schemas import ACCOUNT_NULLABLE, AccountCreate, AccountOut, AccountUpdate, PageQuery

TAG = "accounts"


@route(
    "POST",
    "/api/v1/accounts",
    summary="Create an account",
    tag=TAG,
    body=AccountCreate,
    response=AccountOut,
    status=201,
    errors=(409,),
    scope="admin",
    guard=require_org_admin,
)
def create_account(call: Call[AccountCreate, None], session: Session) -> Reply:
    out = accounts.create(session, call.identity, call.body)
    return Reply(out, location=f"/api/v1/accounts/{out.id}")


@route(
    "GET",
    "/api/v1/accounts",
    summary="List the accounts the caller may see",
    tag=TAG,
    query=PageQuery,
    response=AccountOut,
    response_list=True,
    scope="read",
)
def list_accounts(call: Call[None, PageQuery], session: Session) -> Page[AccountOut]:
    return accounts.listing(session, call.identity, call.query)


@route(
    "GET",
    "/api/v1/accounts/{account_id:int}",
    summary="Get one account",
    tag=TAG,
    response=AccountOut,
    errors=(404,),
    scope="read",
)
def get_account(call: Call[None, None], session: Session) -> AccountOut:
    return accounts.get(session, call.identity, call.id("account_id"))


@route(
    "PATCH",
    "/api/v1/accounts/{account_id:int}",
    summary="Change an account's name or settings",
    tag=TAG,
    body=AccountUpdate,
    response=AccountOut,
    errors=(404, 409),
    scope="admin",
    guard=require_writer,
)
def update_account(call: Call[AccountUpdate, None], session: Session) -> AccountOut:
    changes = patch_changes(call.body, ACCOUNT_NULLABLE)
    return accounts.update(session, call.identity, call.id("account_id"), changes)


routes: list[BaseRoute] = [create_account, list_accounts, get_account, update_account]
