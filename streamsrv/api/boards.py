"""``/api/v1/boards/{team|account}/{id}``: a leaderboard snapshot for a board page or a TV.

Readable by users and API keys whose scope covers the board (the same rule as subscribing to
its stream), and by the display token of a wallboard showing exactly this board, sent as
``Authorization: Bearer d....`` or ``?token=d....`` (a TV page has nothing else to send).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, path_id
from streamsrv.auth import authenticate
from streamsrv.boards import board
from streamsrv.boards.displays import PREFIX, load_display
from streamsrv.boards.stats import BoardScope
from streamsrv.errors import ApiError
from streamsrv.http import endpoint, json_response, parse_query
from streamsrv.models import utcnow
from streamsrv.periods import Period

TAG = "boards"


class BoardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = "today"
    # A wallboard's display token (the TV page cannot set headers on every request it makes).
    token: str | None = Field(default=None, min_length=1, max_length=500, pattern=r"^[A-Za-z0-9._\-]+$")


def display_token(request: Request, query: BoardQuery) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip().startswith(PREFIX):
        return value.strip()
    return query.token


async def load_board(request: Request, scope: BoardScope) -> Response:
    target_id = path_id(request, "target_id")
    query = parse_query(request, BoardQuery)
    ctx = app_ctx(request)
    now = utcnow()
    token = display_token(request, query)
    if token is not None:

        def by_display(session: Session) -> dict[str, Any]:
            display = load_display(ctx, session, token)
            if display is None:
                raise ApiError(401, "this display token is invalid or has been revoked", code="unauthorized")
            if display.scope != scope or display.target_id != target_id:
                raise ApiError(403, "this display shows another board", code="forbidden")
            return board.snapshot(session, display.org_id, scope, target_id, query.period, now)

        return json_response(await ctx.db.run(by_display))

    identity = await authenticate(request)
    identity.require("read")

    def by_identity(session: Session) -> dict[str, Any]:
        board.authorize_board(session, identity, scope, target_id)
        return board.snapshot(session, identity.org_id, scope, target_id, query.period, now)

    return json_response(await ctx.db.run(by_identity))


@endpoint(
    "GET",
    "/api/v1/boards/team/{target_id:int}",
    summary="Leaderboard snapshot of a team for today, this week or this month (the account's time zone)",
    tag=TAG,
    query=BoardQuery,
    errors=(404,),
    scope="read",
)
async def team_board(request: Request) -> Response:
    return await load_board(request, "team")


@endpoint(
    "GET",
    "/api/v1/boards/account/{target_id:int}",
    summary="Leaderboard snapshot of an account for today, this week or this month (the account's time zone)",
    tag=TAG,
    query=BoardQuery,
    errors=(404,),
    scope="read",
)
async def account_board(request: Request) -> Response:
    return await load_board(request, "account")


routes: list[BaseRoute] = [team_board, account_board]
