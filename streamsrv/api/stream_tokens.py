"""``POST /api/v1/stream-tokens``: short-lived signed tokens for named streams."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from streamsrv import stream_auth
from streamsrv.auth import authenticate
from streamsrv.context import AppContext
from streamsrv.errors import ApiError
from streamsrv.http import endpoint, json_response, read_json
from streamsrv.protocol import ProtocolError, parse_stream
from streamsrv.stream_tokens import MIN_TTL, issue


class StreamTokenIn(BaseModel):
    streams: list[str] = Field(min_length=1, max_length=64, description="e.g. ['agent:42', 'board:team:3']")
    ttl_seconds: int = Field(default=3600, ge=MIN_TTL, le=7 * 24 * 3600, strict=True)


class StreamTokenOut(BaseModel):
    token: str
    streams: list[str]
    expires_at: datetime
    ws_url: str


@endpoint(
    "POST",
    "/api/v1/stream-tokens",
    summary="Issue a short-lived token for named streams (never wider than the caller's scope)",
    tag="streams",
    body=StreamTokenIn,
    response=StreamTokenOut,
    status=201,
    scope="streams",
)
async def create_stream_token(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    identity = await authenticate(request)
    identity.require("streams")
    body = await read_json(request, StreamTokenIn)
    if body.ttl_seconds > ctx.settings.stream_token_max_ttl:
        raise ApiError(
            422,
            f"ttl_seconds may be at most {ctx.settings.stream_token_max_ttl}",
            fields={"ttl_seconds": "too long"},
        )
    refs = []
    for i, name in enumerate(body.streams):
        try:
            refs.append(parse_stream(name))
        except ProtocolError as exc:
            raise ApiError(422, exc.message, fields={f"streams.{i}": exc.message}) from None

    refused = await ctx.db.run(lambda session: stream_auth.refused(session, identity, refs))
    if refused:
        raise ApiError(
            403,
            f"not allowed to grant: {', '.join(refused)}",
            code="forbidden",
            fields={"streams": ", ".join(refused)},
        )
    token, expires = issue(ctx, identity, [r.name for r in refs], body.ttl_seconds)
    ws_base = ctx.settings.public_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    out = StreamTokenOut(
        token=token,
        streams=sorted({r.name for r in refs}),
        expires_at=datetime.fromtimestamp(expires, UTC),
        ws_url=f"{ws_base}/ws?token={token}",
    )
    return json_response(out, status=201)


routes = [create_stream_token]
