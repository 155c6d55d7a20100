"""``/api/v1/accounts/{id}/suppressions``: addresses of an account's customers never emailed.

Unsubscribes and bounces land here by themselves; administrators add and remove addresses by
hand. Reading needs the ``read`` scope within the account, changing it an administrator whose
scope covers the account.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.accounts import load_visible_account
from streamsrv.api.admin_common import app_ctx, get_in_org, page, paginate, path_id, require_writer
from streamsrv.api.schemas_admin import PageQuery
from streamsrv.api.schemas_mail import SuppressionIn, SuppressionOut
from streamsrv.auth import authenticate
from streamsrv.errors import not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.mail import suppressions
from streamsrv.models import Account, Suppression, SuppressionReason, utcnow

TAG = "suppressions"
PATH = "/api/v1/accounts/{account_id:int}/suppressions"


def suppression_out(row: Suppression) -> SuppressionOut:
    return SuppressionOut.model_validate(row, from_attributes=True)


@endpoint(
    "GET",
    PATH,
    summary="List the account's suppressed addresses (unsubscribed, bounced, added by hand)",
    tag=TAG,
    query=PageQuery,
    response=SuppressionOut,
    response_list=True,
    errors=(404,),
    scope="read",
)
async def list_suppressions(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    account_id = path_id(request, "account_id")
    query = parse_query(request, PageQuery)

    def fetch(session: Session) -> dict[str, Any]:
        load_visible_account(session, identity, account_id)
        rows, cursor = paginate(
            session, suppressions.listing(account_id), Suppression.id, query.cursor, query.limit
        )
        return page([suppression_out(r) for r in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "POST",
    PATH,
    summary="Suppress an address: no survey email goes to it any more (repeating it is harmless)",
    tag=TAG,
    body=SuppressionIn,
    response=SuppressionOut,
    status=201,
    errors=(404,),
    scope="admin",
    extra_responses={200: "the address was already listed; the existing entry"},
)
async def add_suppression(request: Request) -> Response:
    identity = await authenticate(request)
    account_id = path_id(request, "account_id")
    require_writer(identity, account_id)
    body = await read_json(request, SuppressionIn)

    def add(session: Session) -> tuple[SuppressionOut, bool]:
        account = get_in_org(session, Account, account_id, identity.org_id, "account")
        row, created = suppressions.add(
            session,
            org_id=account.org_id,
            account_id=account_id,
            email=body.email,
            reason=SuppressionReason(body.reason),
            now=utcnow(),
        )
        return suppression_out(row), created

    out, created = await app_ctx(request).db.run(add)
    location = f"/api/v1/accounts/{account_id}/suppressions/{quote(out.email)}"
    return json_response(out, status=201 if created else 200, headers={"Location": location})


@endpoint(
    "DELETE",
    PATH + "/{email}",
    summary="Take an address off the list: it may be emailed again",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
)
async def remove_suppression(request: Request) -> Response:
    identity = await authenticate(request)
    account_id = path_id(request, "account_id")
    require_writer(identity, account_id)
    email: str = request.path_params["email"]

    def remove(session: Session) -> None:
        get_in_org(session, Account, account_id, identity.org_id, "account")
        if not suppressions.remove(session, account_id, email):
            raise not_found("suppressed address")

    await app_ctx(request).db.run(remove)
    return Response(status_code=204)


routes: list[BaseRoute] = [list_suppressions, add_suppression, remove_suppression]
