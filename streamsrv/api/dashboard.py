"""Dashboard aggregates (``/api/v1/dashboard/...``) and the streaming CSV export.

Every endpoint narrows by the caller's scope (``streamsrv.access``): a client viewer sees only
their account, a team leader only their teams; agents are refused the aggregates.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from sqlmodel import Session
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from streamsrv.access import require_feedback_reader
from streamsrv.dashboard import aggregates, blended
from streamsrv.dashboard.export import ExportQuery, csv_chunks, export_filename
from streamsrv.dashboard.filters import (
    DashboardQuery,
    Period,
    authorize_dashboard,
    check_account_filter,
    resolve_period,
)
from streamsrv.dashboard.schemas import BreakdownOut, SummaryOut, TrendOut
from streamsrv.kernel import Call, route


class BreakdownQuery(DashboardQuery):
    by: Annotated[Literal["team", "agent", "channel"], Field(description="what one row stands for")]


def period_of(call: Call[None, DashboardQuery], session: Session) -> Period:
    check_account_filter(call.identity, call.query.account_id)
    # The period's days are the accounts' own (their time zone), so it is resolved with the data.
    return resolve_period(session, call.identity, call.query, call.now)


@route(
    "GET",
    "/api/v1/dashboard/summary",
    summary="KPIs for a filter: responses, response rate, average, CSAT, NPS, FCR, rewards, distribution",
    tag="dashboard",
    query=DashboardQuery,
    response=SummaryOut,
    errors=(404,),
    scope="read",
    guard=authorize_dashboard,
)
def summary(call: Call[None, DashboardQuery], session: Session) -> dict[str, Any]:
    return aggregates.summary(session, call.identity, call.query, period_of(call, session))


@route(
    "GET",
    "/api/v1/dashboard/breakdown",
    summary="The same KPIs per team, agent or channel; agent rows add the blended score",
    tag="dashboard",
    query=BreakdownQuery,
    response=BreakdownOut,
    errors=(404,),
    scope="read",
    guard=authorize_dashboard,
)
def breakdown(call: Call[None, BreakdownQuery], session: Session) -> dict[str, Any]:
    query = call.query
    period = period_of(call, session)
    out = aggregates.breakdown(session, call.identity, query, period, query.by)
    if query.by == "agent":
        return blended.add_to_breakdown(session, call.identity, out, period.since, period.until)
    for row in out["items"]:
        row.update(blended.NOT_SCORED)
    return out


@route(
    "GET",
    "/api/v1/dashboard/trend",
    summary="Responses and average rating per local day of the period (the view's time zone)",
    tag="dashboard",
    query=DashboardQuery,
    response=TrendOut,
    errors=(404,),
    scope="read",
    guard=authorize_dashboard,
)
def trend(call: Call[None, DashboardQuery], session: Session) -> dict[str, Any]:
    return aggregates.trend(session, call.identity, call.query, period_of(call, session))


@route(
    "GET",
    "/api/v1/feedback.csv",
    summary="Export the responses of a filter as CSV (streamed; same filters and scope as the list)",
    tag="feedback",
    query=ExportQuery,
    errors=(404,),
    scope="read",
    guard=require_feedback_reader,
    content_type="text/csv",
)
async def export_csv(call: Call[None, ExportQuery]) -> Response:
    check_account_filter(call.identity, call.query.account_id)
    return StreamingResponse(
        csv_chunks(call.ctx.db.engine, call.identity, call.query),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(call.now)}"',
            "Cache-Control": "no-store",
        },
    )


routes: list[BaseRoute] = [summary, breakdown, trend, export_csv]
