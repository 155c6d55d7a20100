"""``POST /api/v1/stream-tokens``: short-lived signed tokens for named streams."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv import stream_auth
from streamsrv.errors import ApiError
from streamsrv.kernel import Call, route
from streamsrv.protocol import ProtocolError, parse_stream
from streamsrv.stream_names import StreamRef
from streamsrv.stream_tokens import MIN_TTL, issue


class StreamTokenIn(BaseModel):
    streams: list[str] = Field(min_length=1, max_length=64, description="e.g. ['agent:42', 'board:team:3']")
    ttl_seconds: int = Field(default=3600, ge=MIN_TTL, le=7 * 24 * 3600, strict=True)


class StreamTokenOut(BaseModel):
    token: str
    streams: list[str]
    expires_at: datetime
    ws_url: str


def parse_streams(names: list[str]) -> list[StreamRef]:
    refs = []
    for i, name in enumerate(names):
        try:
            refs.append(parse_stream(name))
        except ProtocolError as exc:
            raise ApiError(422, exc.message, fields={f"streams.{i}": exc.message}) from None
    return refs


@route(
    "POST",
    "/api/v1/stream-tokens",
    summary="Issue a short-lived token for named streams (never wider than the caller's scope)",
    tag="streams",
    body=StreamTokenIn,
    response=StreamTokenOut,
    status=201,
    scope="streams",
)
def create_stream_token(call: Call[StreamTokenIn, None], session: Session) -> StreamTokenOut:
    settings, body = call.ctx.settings, call.body
    if body.ttl_seconds > settings.stream_token_max_ttl:
        raise ApiError(
            422,
            f"ttl_seconds may be at most {settings.stream_token_max_ttl}",
            fields={"ttl_seconds": "too long"},
        )
    refs = parse_streams(body.streams)
    refused = stream_auth.refused(session, call.identity, refs)
    if refused:
        raise ApiError(
            403,
            f"not allowed to grant: {', '.join(refused)}",
            code="forbidden",
            fields={"streams": ", ".join(refused)},
        )
    token, expires = issue(call.ctx, call.identity, [r.name for r in refs], body.ttl_seconds)
    ws_base = settings.public_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return StreamTokenOut(
        token=token,
        streams=sorted({r.name for r in refs}),
        expires_at=datetime.fromtimestamp(expires, UTC),
        ws_url=f"{ws_base}/ws?token={token}",
    )


routes: list[BaseRoute] = [create_stream_token]
