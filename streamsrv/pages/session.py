"""Who is logged in, for the pages: the one way a page learns its user.

``current_user`` also puts the user on ``request.state.user``, and the header it gets
(``streamsrv.pages.nav``: the surfaces of the role, the accounts to switch between) on
``request.state.nav``, so the page header (base.html) can show them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse

from streamsrv.auth import SESSION_COOKIE, session_user
from streamsrv.context import AppContext
from streamsrv.models import User
from streamsrv.pages import nav

T = TypeVar("T")


async def current_user(request: Request) -> User | None:
    """The user of the session cookie, or None (no cookie, forged, expired or logged out)."""
    ctx: AppContext = request.app.state.ctx
    cookie = request.cookies.get(SESSION_COOKIE)
    request.state.user = None
    request.state.nav = None
    if not cookie:
        return None

    def load(session: Session) -> tuple[User | None, list[nav.AccountChoice]]:
        user = session_user(ctx, session, cookie)
        return user, (nav.switchable_accounts(session, user) if user is not None else [])

    user, accounts = await ctx.db.run(load)
    request.state.user = user
    request.state.accounts = accounts
    if user is not None:
        request.state.nav = nav.header(request, user, accounts)
    return user


def chosen_account(request: Request) -> int | None:
    """The id of the account the user switched to in the header (after ``current_user``), if
    it is in their scope; None means all of them."""
    header = getattr(request.state, "nav", None)
    return header.account.id if header is not None and header.account is not None else None


def to_login(path: str) -> RedirectResponse:
    """Off to the login form, and back to ``path`` afterwards."""
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


async def load(request: Request, fn: Callable[[Session], T]) -> T:
    """Run ``fn(session)`` in one transaction: what a page shows comes from feature modules."""
    ctx: AppContext = request.app.state.ctx
    return await ctx.db.run(fn)
