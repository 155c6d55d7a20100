"""``/api/v1/displays``: wallboard screens are named, get their URLs, and are revoked by
administrators, by managers (their accounts' boards) and team leaders (their teams' boards)."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.kernel import Call, route
from streamsrv.org import displays
from streamsrv.org.common import Page
from streamsrv.org.schemas import DisplayCreate, DisplayOptions, DisplayOut
from streamsrv.revocation import drop_credential

TAG = "displays"


@route(
    "POST",
    "/api/v1/displays",
    summary="Create a wallboard display; the answer carries its URL (with its display token)",
    tag=TAG,
    body=DisplayCreate,
    response=DisplayOut,
    status=201,
    scope="read",
    guard=displays.require_display_manager,
)
def create_display(call: Call[DisplayCreate, None], session: Session) -> DisplayOut:
    return displays.create(call.ctx, session, call.identity, call.body)


@route(
    "GET",
    "/api/v1/displays",
    summary="List the live (not revoked) wallboard displays",
    tag=TAG,
    response=DisplayOut,
    response_list=True,
    scope="read",
    guard=displays.require_display_manager,
)
def list_displays(call: Call[None, None], session: Session) -> Page[DisplayOut]:
    return Page(displays.live_displays(call.ctx, session, call.identity), None)


@route(
    "PATCH",
    "/api/v1/displays/{display_id:int}",
    summary="Change what a display shows (top N, names below it, shout-out pin time); same URL",
    tag=TAG,
    body=DisplayOptions,
    response=DisplayOut,
    errors=(404,),
    scope="read",
    guard=displays.require_display_manager,
)
def update_display(call: Call[DisplayOptions, None], session: Session) -> DisplayOut:
    return displays.update_options(call.ctx, session, call.identity, call.id("display_id"), call.body)


@route(
    "DELETE",
    "/api/v1/displays/{display_id:int}",
    summary="Revoke a display: its token stops working and its screen disconnects at once",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="read",
    guard=displays.require_display_manager,
)
async def revoke_display(call: Call[None, None]) -> None:
    identity, display_id = call.identity, call.id("display_id")
    await call.run(lambda session: displays.revoke(session, identity, display_id))
    # After the commit: a socket that reconnects now is refused, so dropping it is final.
    await drop_credential(call.ctx, f"display:{display_id}")


routes: list[BaseRoute] = [create_display, list_displays, update_display, revoke_display]
