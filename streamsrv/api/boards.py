"""``/api/v1/boards/{team|account}/{id}``: a leaderboard snapshot for a board page or a TV.

Readable by users and API keys whose scope covers the board (the same rule as subscribing to
its stream), and by the display token of a wallboard showing exactly this board, sent as
``Authorization: Bearer d....`` or ``?token=d....`` (a TV page has nothing else to send).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.routing import BaseRoute

from streamsrv.auth import authenticate
from streamsrv.boards import board
from streamsrv.boards.displays import PREFIX
from streamsrv.boards.stats import BoardScope
from streamsrv.kernel import Call, route
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


async def load_board(call: Call[None, BoardQuery], scope: BoardScope) -> dict[str, Any]:
    """By display token when one is sent, else by the caller's credential (``identify=False``)."""
    target_id, period, now = call.id("target_id"), call.query.period, call.now
    token = display_token(call.request, call.query)
    if token is not None:
        ctx = call.ctx
        return await call.run(
            lambda session: board.display_snapshot(ctx, session, token, scope, target_id, period, now)
        )
    identity = await authenticate(call.request)
    identity.require("read")
    return await call.run(
        lambda session: board.member_snapshot(session, identity, scope, target_id, period, now)
    )


@route(
    "GET",
    "/api/v1/boards/team/{target_id:int}",
    summary="Leaderboard snapshot of a team for today, this week or this month (the account's time zone)",
    tag=TAG,
    query=BoardQuery,
    errors=(404,),
    scope="read",
    identify=False,
)
async def team_board(call: Call[None, BoardQuery]) -> dict[str, Any]:
    return await load_board(call, "team")


@route(
    "GET",
    "/api/v1/boards/account/{target_id:int}",
    summary="Leaderboard snapshot of an account for today, this week or this month (the account's time zone)",
    tag=TAG,
    query=BoardQuery,
    errors=(404,),
    scope="read",
    identify=False,
)
async def account_board(call: Call[None, BoardQuery]) -> dict[str, Any]:
    return await load_board(call, "account")


routes: list[BaseRoute] = [team_board, account_board]
