"""Monthly reward statements of an account (``/api/v1/accounts/{id}/statements/{YYYY-MM}``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv import earnings, ledger, statement_export
from streamsrv.dashboard.filters import authorize_dashboard
from streamsrv.ids import StrictId
from streamsrv.kernel import Call, route

TAG = "statements"
PATH = "/api/v1/accounts/{account_id:int}/statements/{month}"


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictId
    amount: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    reason: Annotated[str, Field(max_length=500)]


def _month(call: Call[Any, None]) -> str:
    return str(call.request.path_params["month"])


@route(
    "GET",
    PATH,
    summary="An account's reward statement for one month (per agent: count and value of each reward)",
    tag=TAG,
    errors=(400, 404, 422),
    scope="read",
    guard=authorize_dashboard,
)
def get_statement(call: Call[None, None], session: Session) -> dict[str, Any]:
    return ledger.statement(session, call.identity, call.id("account_id"), _month(call), call.now)


@route(
    "POST",
    PATH + "/adjustments",
    summary="Add or remove an amount for one agent, with a reason (managers and administrators)",
    tag=TAG,
    body=AdjustmentIn,
    errors=(400, 404, 409, 422),
    scope="read",
)
def post_adjustment(call: Call[AdjustmentIn, None], session: Session) -> dict[str, Any]:
    body = call.body
    return ledger.add_adjustment(
        session,
        call.identity,
        call.id("account_id"),
        _month(call),
        body.agent_id,
        body.amount,
        body.reason,
        call.now,
    )


@route(
    "POST",
    PATH + "/close",
    summary="Close a month's statement: later rewards of that month count toward the next open month",
    tag=TAG,
    errors=(400, 404, 409, 422),
    scope="read",
)
def post_close(call: Call[None, None], session: Session) -> dict[str, Any]:
    return ledger.close_statement(session, call.identity, call.id("account_id"), _month(call), call.now)


def _export(call: Call[None, None], session: Session, ext: str) -> Response:
    account, month, data = ledger.export_table(
        session, call.identity, call.id("account_id"), _month(call), call.now
    )
    rows = statement_export.payroll_table(session, account, data)
    if ext == "csv":
        content, media = statement_export.to_csv(rows), statement_export.CSV_TYPE
    else:
        content, media = statement_export.to_xlsx(rows, month), statement_export.XLSX_TYPE
    name = statement_export.filename(account, month, ext)
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@route(
    "GET",
    PATH + "/export.csv",
    summary="The month's statement as a payroll CSV (agent, external ids, per reward count and value, total)",
    tag=TAG,
    errors=(400, 404, 422),
    scope="read",
    guard=authorize_dashboard,
)
def export_csv(call: Call[None, None], session: Session) -> Response:
    return _export(call, session, "csv")


@route(
    "GET",
    PATH + "/export.xlsx",
    summary="The month's statement as a payroll spreadsheet (XLSX, same columns as the CSV)",
    tag=TAG,
    errors=(400, 404, 422),
    scope="read",
    guard=authorize_dashboard,
)
def export_xlsx(call: Call[None, None], session: Session) -> Response:
    return _export(call, session, "xlsx")


class EarningsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: Annotated[str, Field(max_length=7, description="YYYY-MM; default: the current month")] | None = (
        None
    )


@route(
    "GET",
    "/api/v1/agents/{agent_id:int}/earnings",
    summary="An agent's running total for a month: rewards, amount cut by the cap, adjustments, total",
    tag=TAG,
    query=EarningsQuery,
    errors=(400, 404, 422),
    scope="read",
)
def get_earnings(call: Call[None, EarningsQuery], session: Session) -> dict[str, Any]:
    return earnings.earnings(session, call.identity, call.id("agent_id"), call.query.month, call.now)


routes: list[BaseRoute] = [
    get_statement,
    post_adjustment,
    post_close,
    export_csv,
    export_xlsx,
    get_earnings,
]
