"""Wallboards: the index (displays for admins, board links for everyone else), a board for a
logged-in user, and the display URL a TV opens without logging in.

Every board page is a shell; ``static/js/wallboard.js`` loads the snapshot through
``/api/v1/boards/...`` and follows ``board:{scope}:{id}``, which authorise the caller again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.boards import board
from streamsrv.boards.displays import load_display
from streamsrv.boards.stats import BoardScope
from streamsrv.context import AppContext
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import Account, Role, Team, User
from streamsrv.pages.home import current_user
from streamsrv.stream_auth import resolve_reach
from streamsrv.templating import error_page, render


@dataclass(frozen=True)
class BoardLink:
    href: str
    title: str
    kind: str


def board_links(session: Session, user: User) -> list[BoardLink]:
    """Boards in this user's scope: their accounts' boards and their teams' boards."""
    identity = user_identity(user)
    accounts_stmt = select(Account).where(Account.org_id == user.org_id).order_by(col(Account.name))
    teams_stmt = select(Team).where(Team.org_id == user.org_id).order_by(col(Team.name))
    if not identity.org_wide:
        reach = resolve_reach(session, identity)
        accounts_stmt = accounts_stmt.where(col(Account.id).in_(sorted(reach.accounts)))
        if user.role in (Role.team_leader, Role.agent):
            teams_stmt = teams_stmt.where(col(Team.id).in_(sorted(reach.teams)))
        else:
            teams_stmt = teams_stmt.where(col(Team.account_id).in_(sorted(reach.accounts)))
    links = [BoardLink(f"/wallboard/account/{a.id}", a.name, "Account") for a in session.exec(accounts_stmt)]
    links += [BoardLink(f"/wallboard/team/{t.id}", t.name, "Team") for t in session.exec(teams_stmt)]
    return links


def board_targets(session: Session, user: User) -> dict[str, list[dict[str, Any]]]:
    """What an administrator may put on a screen (for the "new display" form)."""
    identity = user_identity(user)
    accounts = session.exec(
        select(Account).where(Account.org_id == user.org_id).order_by(col(Account.name))
    ).all()
    accounts = [a for a in accounts if a.id is not None and identity.sees_account(a.id)]
    names = {a.id: a.name for a in accounts}
    teams = session.exec(
        select(Team)
        .where(Team.org_id == user.org_id, col(Team.account_id).in_(list(names)))
        .order_by(col(Team.name))
    ).all()
    return {
        "accounts": [{"id": a.id, "name": a.name} for a in accounts],
        "teams": [{"id": t.id, "name": f"{t.name} ({names[t.account_id]})"} for t in teams],
    }


async def index(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/wallboard')}", status_code=303)
    ctx: AppContext = request.app.state.ctx
    is_admin = user.role == Role.admin

    def load(session: Session) -> tuple[list[BoardLink], dict[str, list[dict[str, Any]]]]:
        targets = board_targets(session, user) if is_admin else {"accounts": [], "teams": []}
        return board_links(session, user), targets

    links, targets = await ctx.db.run(load)
    return render(request, "wallboard_index.html", {"links": links, "is_admin": is_admin, "targets": targets})


def target_of(request: Request) -> int | None:
    value: int = request.path_params["target_id"]
    return value if 1 <= value <= MAX_ID else None


async def user_board(request: Request, scope: BoardScope) -> Response:
    path = f"/wallboard/{scope}/{request.path_params['target_id']}"
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    target_id = target_of(request)
    if target_id is None:
        return error_page(request, 404, "Board not found", "There is no such board.")
    ctx: AppContext = request.app.state.ctx
    identity: Identity = user_identity(user)

    def check(session: Session) -> str:
        board.authorize_board(session, identity, scope, target_id)
        return board.board_title(session, user.org_id, scope, target_id)[0]

    try:
        title = await ctx.db.run(check)
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
    ctx: AppContext = request.app.state.ctx
    display_id: int = request.path_params["display_id"]
    token = request.query_params.get("token", "")

    def load(session: Session) -> tuple[str, int, str] | None:
        display = load_display(ctx, session, token) if 0 < len(token) <= 500 else None
        if display is None or display.id != display_id:
            return None
        scope: BoardScope = "team" if display.scope == "team" else "account"
        title = board.board_title(session, display.org_id, scope, display.target_id)[0]
        return scope, display.target_id, title

    found = await ctx.db.run(load)
    if found is None:
        return render(request, "wallboard_revoked.html", {}, status=401)
    scope, target_id, title = found
    return render(
        request,
        "wallboard.html",
        {"scope": scope, "target_id": target_id, "title": title, "token": token, "tv": True},
    )


routes: list[BaseRoute] = [
    Route("/wallboard", index, methods=["GET"], name="wallboard"),
    Route("/wallboard/team/{target_id:int}", team_board, methods=["GET"], name="wallboard_team"),
    Route("/wallboard/account/{target_id:int}", account_board, methods=["GET"], name="wallboard_account"),
    Route("/wallboard/display/{display_id:int}", display_board, methods=["GET"], name="wallboard_display"),
]
