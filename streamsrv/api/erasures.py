"""``/api/v1/.../erasures``: erase one customer's contact details on request (by email address).

In one account (an administrator covering it) or in the whole organization (an administrator of
all of it); see ``streamsrv.retention.customer``.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, route
from streamsrv.models import Account
from streamsrv.org.common import get_in_org, require_org_admin, require_writer
from streamsrv.retention.customer import ErasureIn, ErasureOut, erase_customer

TAG = "personal data"
SUMMARY = (
    "Erase a customer's contact details everywhere: interactions, requests, emails, cases, stream history"
)


@route(
    "POST",
    "/api/v1/accounts/{account_id:int}/erasures",
    summary=SUMMARY + " (one account)",
    tag=TAG,
    body=ErasureIn,
    response=ErasureOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def erase_in_account(call: Call[ErasureIn, None], session: Session) -> ErasureOut:
    account_id = call.id("account_id")
    require_writer(call.identity, account_id)
    get_in_org(session, Account, account_id, call.identity.org_id, "account")
    return erase_customer(session, call.identity, call.ctx.signer, account_id, call.body.email, call.now)


@route(
    "POST",
    "/api/v1/erasures",
    summary=SUMMARY + " (every account of the organization)",
    tag=TAG,
    body=ErasureIn,
    response=ErasureOut,
    scope="admin",
    guard=require_org_admin,
)
def erase_in_org(call: Call[ErasureIn, None], session: Session) -> ErasureOut:
    return erase_customer(session, call.identity, call.ctx.signer, None, call.body.email, call.now)


routes: list[BaseRoute] = [erase_in_account, erase_in_org]
