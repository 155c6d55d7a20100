"""``/api/v1/accounts``: client programmes with their survey settings and reward catalogue."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import (
    accounts_clause,
    app_ctx,
    conflict,
    flush_or_conflict,
    get_in_org,
    page,
    paginate,
    patch_changes,
    path_id,
    require_org_admin,
    require_writer,
    visible,
)
from streamsrv.api.schemas_admin import (
    ACCOUNT_NULLABLE,
    AccountCreate,
    AccountOut,
    AccountUpdate,
    PageQuery,
)
from streamsrv.auth import Identity, authenticate
from streamsrv.errors import not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Account

TAG = "accounts"
DUPLICATE = "an account with this name already exists"


def account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


def _name_taken(session: Session, org_id: int, name: str, except_id: int | None = None) -> bool:
    stmt = select(Account.id).where(Account.org_id == org_id, Account.name == name)
    if except_id is not None:
        stmt = stmt.where(Account.id != except_id)
    return session.exec(stmt).first() is not None


def load_visible_account(session: Session, identity: Identity, account_id: int) -> Account:
    """The account if it is in the caller's org and scope; 404 either way otherwise."""
    stmt = visible(
        select(Account).where(Account.id == account_id, Account.org_id == identity.org_id),
        accounts_clause(identity),
    )
    account = session.exec(stmt).first()
    if account is None:
        raise not_found("account")
    return account


@endpoint(
    "POST",
    "/api/v1/accounts",
    summary="Create an account",
    tag=TAG,
    body=AccountCreate,
    response=AccountOut,
    status=201,
    errors=(409,),
    scope="admin",
)
async def create_account(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    body = await read_json(request, AccountCreate)
    values: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)

    def create(session: Session) -> AccountOut:
        if _name_taken(session, identity.org_id, body.name):
            raise conflict(DUPLICATE, "name")
        # Omitted catalogues keep the model's defaults rather than becoming empty.
        account = Account(org_id=identity.org_id, **values)
        session.add(account)
        flush_or_conflict(session, DUPLICATE, "name")
        return account_out(account)

    out = await app_ctx(request).db.run(create)
    return json_response(out, status=201, headers={"Location": f"/api/v1/accounts/{out.id}"})


@endpoint(
    "GET",
    "/api/v1/accounts",
    summary="List the accounts the caller may see",
    tag=TAG,
    query=PageQuery,
    response=AccountOut,
    response_list=True,
    scope="read",
)
async def list_accounts(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, PageQuery)

    def fetch(session: Session) -> dict[str, Any]:
        stmt = visible(select(Account).where(Account.org_id == identity.org_id), accounts_clause(identity))
        rows, cursor = paginate(session, stmt, Account.id, query.cursor, query.limit)
        return page([account_out(a) for a in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/accounts/{account_id:int}",
    summary="Get one account",
    tag=TAG,
    response=AccountOut,
    errors=(404,),
    scope="read",
)
async def get_account(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    account_id = path_id(request, "account_id")

    def fetch(session: Session) -> AccountOut:
        return account_out(load_visible_account(session, identity, account_id))

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "PATCH",
    "/api/v1/accounts/{account_id:int}",
    summary="Change an account's name or settings",
    tag=TAG,
    body=AccountUpdate,
    response=AccountOut,
    errors=(404, 409),
    scope="admin",
)
async def update_account(request: Request) -> Response:
    identity = await authenticate(request)
    account_id = path_id(request, "account_id")
    require_writer(identity, account_id)
    body = await read_json(request, AccountUpdate)
    changes = patch_changes(body, ACCOUNT_NULLABLE)

    def update(session: Session) -> AccountOut:
        account = get_in_org(session, Account, account_id, identity.org_id, "account")
        name = changes.get("name")
        if name is not None and _name_taken(session, identity.org_id, name, except_id=account_id):
            raise conflict(DUPLICATE, "name")
        for key, value in changes.items():
            setattr(account, key, value)
        session.add(account)
        flush_or_conflict(session, DUPLICATE, "name")
        return account_out(account)

    return json_response(await app_ctx(request).db.run(update))


routes: list[BaseRoute] = [create_account, list_accounts, get_account, update_account]
