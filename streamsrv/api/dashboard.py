"""Dashboard aggregates (``/api/v1/dashboard/...``) and the streaming CSV export.

Every endpoint narrows by the caller's scope (``Identity.scope_clause``): a client viewer sees
only their account, a team leader only their teams; agents are refused the aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from streamsrv.auth import ACCOUNT_ROLES, Identity, authenticate
from streamsrv.context import AppContext
from streamsrv.dashboard import aggregates
from streamsrv.dashboard.export import ExportQuery, csv_chunks, export_filename
from streamsrv.dashboard.filters import DashboardQuery, Period, authorize_dashboard, resolve_period
from streamsrv.dashboard.schemas import BreakdownOut, SummaryOut, TrendOut
from streamsrv.errors import ApiError
from streamsrv.http import endpoint, json_response, parse_query
from streamsrv.models import utcnow


class BreakdownQuery(DashboardQuery):
    by: Annotated[Literal["team", "agent", "channel"], Field(description="what one row stands for")]


Compute = Callable[[Session, Identity, Period], dict[str, Any]]


async def _aggregate(request: Request, query: DashboardQuery, compute: Compute) -> Response:
    identity = await authenticate(request)
    authorize_dashboard(identity, query)
    now = utcnow()
    ctx: AppContext = request.app.state.ctx
    result = await ctx.db.run(
        lambda session: compute(session, identity, resolve_period(session, identity, query, now))
    )
    return json_response(result)


@endpoint(
    "GET",
    "/api/v1/dashboard/summary",
    summary="KPIs for a filter: responses, response rate, average, CSAT, NPS, FCR, rewards, distribution",
    tag="dashboard",
    query=DashboardQuery,
    response=SummaryOut,
    errors=(404,),
    scope="read",
)
async def summary(request: Request) -> Response:
    query = parse_query(request, DashboardQuery)
    return await _aggregate(request, query, lambda s, i, p: aggregates.summary(s, i, query, p))


@endpoint(
    "GET",
    "/api/v1/dashboard/breakdown",
    summary="The same KPIs per team, agent or channel",
    tag="dashboard",
    query=BreakdownQuery,
    response=BreakdownOut,
    errors=(404,),
    scope="read",
)
async def breakdown(request: Request) -> Response:
    query = parse_query(request, BreakdownQuery)
    return await _aggregate(request, query, lambda s, i, p: aggregates.breakdown(s, i, query, p, query.by))


@endpoint(
    "GET",
    "/api/v1/dashboard/trend",
    summary="Responses and average rating per local day of the period (the view's time zone)",
    tag="dashboard",
    query=DashboardQuery,
    response=TrendOut,
    errors=(404,),
    scope="read",
)
async def trend(request: Request) -> Response:
    query = parse_query(request, DashboardQuery)
    return await _aggregate(request, query, lambda s, i, p: aggregates.trend(s, i, query, p))


@endpoint(
    "GET",
    "/api/v1/feedback.csv",
    summary="Export the responses of a filter as CSV (streamed; same filters and scope as the list)",
    tag="feedback",
    query=ExportQuery,
    errors=(404,),
    scope="read",
    content_type="text/csv",
)
async def export_csv(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    query = parse_query(request, ExportQuery)
    if query.account_id is not None and identity.role in ACCOUNT_ROLES and not identity.sees_account(query.account_id):
        raise ApiError(404, "account not found", fields={"account_id": "not in your scope"})
    ctx: AppContext = request.app.state.ctx
    return StreamingResponse(
        csv_chunks(ctx.db.engine, identity, query),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(utcnow())}"',
            "Cache-Control": "no-store",
        },
    )


routes: list[BaseRoute] = [summary, breakdown, trend, export_csv]
