"""``/api/v1/accounts/{id}/suppressions``: addresses of an account's customers never emailed.

Unsubscribes and bounces land here by themselves; administrators add and remove addresses by
hand. Reading needs the ``read`` scope within the account and a role that deals with the
account's email (``suppressions.READERS``), changing it an administrator whose scope covers the
account.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.api.schemas_mail import SuppressionIn, SuppressionOut
from streamsrv.errors import not_found
from streamsrv.kernel import Call, Reply, route
from streamsrv.mail import suppressions
from streamsrv.models import Account, Suppression, SuppressionReason
from streamsrv.org import accounts
from streamsrv.org.common import Page, get_in_org, paginate, require_writer
from streamsrv.org.schemas import PageQuery

TAG = "suppressions"
PATH = "/api/v1/accounts/{account_id:int}/suppressions"


def suppression_out(row: Suppression) -> SuppressionOut:
    return SuppressionOut.model_validate(row, from_attributes=True)


def _writable(call: Call[object, object], session: Session) -> Account:
    account_id = call.id("account_id")
    require_writer(call.identity, account_id)
    return get_in_org(session, Account, account_id, call.identity.org_id, "account")


@route(
    "GET",
    PATH,
    summary="List the account's suppressed addresses (unsubscribed, bounced, added by hand)",
    tag=TAG,
    query=PageQuery,
    response=SuppressionOut,
    response_list=True,
    errors=(404,),
    scope="read",
    guard=suppressions.require_reader,
)
def list_suppressions(call: Call[None, PageQuery], session: Session) -> Page[SuppressionOut]:
    account_id = call.id("account_id")
    accounts.load_visible(session, call.identity, account_id)
    rows, cursor = paginate(
        session, suppressions.listing(account_id), Suppression.id, call.query.cursor, call.query.limit
    )
    return Page([suppression_out(r) for r in rows], cursor)


@route(
    "POST",
    PATH,
    summary="Suppress an address: no survey email goes to it any more (repeating it is harmless)",
    tag=TAG,
    body=SuppressionIn,
    response=SuppressionOut,
    status=201,
    errors=(404,),
    scope="admin",
    guard=require_writer,
    extra_responses={200: "the address was already listed; the existing entry"},
)
def add_suppression(call: Call[SuppressionIn, None], session: Session) -> Reply:
    account = _writable(call, session)  # type: ignore[arg-type]
    assert account.id is not None
    row, created = suppressions.add(
        session,
        org_id=account.org_id,
        account_id=account.id,
        email=call.body.email,
        reason=SuppressionReason(call.body.reason),
        now=call.now,
    )
    out = suppression_out(row)
    location = f"/api/v1/accounts/{account.id}/suppressions/{quote(out.email)}"
    return Reply(out, status=201 if created else 200, location=location)


@route(
    "DELETE",
    PATH + "/{email}",
    summary="Take an address off the list: it may be emailed again",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def remove_suppression(call: Call[None, None], session: Session) -> None:
    account = _writable(call, session)  # type: ignore[arg-type]
    assert account.id is not None
    if not suppressions.remove(session, account.id, str(call.request.path_params["email"])):
        raise not_found("suppressed address")


routes: list[BaseRoute] = [list_suppressions, add_suppression, remove_suppression]
