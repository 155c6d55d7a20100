"""Wallboards: the index (displays for admins, board links for everyone else), a board for a
logged-in user, and the display URL a TV opens without logging in.

Every board page is a shell; ``static/js/wallboard.js`` loads the snapshot through
``/api/v1/boards/...`` and follows ``board:{scope}:{id}``, which authorise the caller again.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.boards.stats import BoardScope
from streamsrv.boards.wallboards import BoardLink, board_links, board_targets, displayed_board, open_board
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import Role
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.templating import error_page, render


async def index(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/wallboard")
    identity = user_identity(user)
    is_admin = user.role == Role.admin

    def links_and_targets(session: Session) -> tuple[list[BoardLink], dict[str, list[dict[str, Any]]]]:
        targets = board_targets(session, identity) if is_admin else {"accounts": [], "teams": []}
        return board_links(session, identity), targets

    links, targets = await load(request, links_and_targets)
    return render(request, "wallboard_index.html", {"links": links, "is_admin": is_admin, "targets": targets})


def target_of(request: Request) -> int | None:
    value: int = request.path_params["target_id"]
    return value if 1 <= value <= MAX_ID else None


async def user_board(request: Request, scope: BoardScope) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(f"/wallboard/{scope}/{request.path_params['target_id']}")
    target_id = target_of(request)
    if target_id is None:
        return error_page(request, 404, "Board not found", "There is no such board.")
    identity = user_identity(user)
    try:
        title = await load(request, lambda session: open_board(session, identity, scope, target_id))
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Board not found", "There is no such board.")
        return error_page(request, 403, "Not your board", "This board is outside your scope.")
    return render(
        request,
        "wallboard.html",
        {"scope": scope, "target_id": target_id, "title": title, "token": "", "tv": False},
    )


async def team_board(request: Request) -> Response:
    return await user_board(request, "team")


async def account_board(request: Request) -> Response:
    return await user_board(request, "account")


async def display_board(request: Request) -> Response:
    """The TV: no login, the display token in the URL is the credential."""
    ctx = request.app.state.ctx
    display_id: int = request.path_params["display_id"]
    token = request.query_params.get("token", "")
    shown = await load(request, lambda session: displayed_board(ctx, session, token, display_id))
    if shown is None:
        return render(request, "wallboard_revoked.html", {}, status=401)
    return render(
        request,
        "wallboard.html",
        {
            "scope": shown.scope,
            "target_id": shown.target_id,
            "title": shown.title,
            "token": token,
            "tv": True,
        },
    )


routes: list[BaseRoute] = [
    Route("/wallboard", index, methods=["GET"], name="wallboard"),
    Route("/wallboard/team/{target_id:int}", team_board, methods=["GET"], name="wallboard_team"),
    Route("/wallboard/account/{target_id:int}", account_board, methods=["GET"], name="wallboard_account"),
    Route("/wallboard/display/{display_id:int}", display_board, methods=["GET"], name="wallboard_display"),
]
