"""``GET /api/v1/me``: the snapshot behind an agent's personal stream (``/me``)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, route
from streamsrv.me import me_snapshot, require_agent


@route(
    "GET",
    "/api/v1/me",
    summary="The logged-in agent's own stats, recent feedback, shout-outs and shared coaching notes",
    tag="me",
    errors=(403,),
    scope="read",
    guard=require_agent,
)
def me(call: Call[None, None], session: Session) -> dict[str, Any]:
    return me_snapshot(session, call.identity)


routes: list[BaseRoute] = [me]
