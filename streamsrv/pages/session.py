"""Who is logged in, for the pages: the one way a page learns its user.

``current_user`` also puts the user on ``request.state.user`` so the page header (base.html)
can show them.
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

T = TypeVar("T")


async def current_user(request: Request) -> User | None:
    """The user of the session cookie, or None (no cookie, forged, expired or logged out)."""
    ctx: AppContext = request.app.state.ctx
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        request.state.user = None
        return None

    def load(session: Session) -> User | None:
        return session_user(ctx, session, cookie)

    user = await ctx.db.run(load)
    request.state.user = user
    return user


def to_login(path: str) -> RedirectResponse:
    """Off to the login form, and back to ``path`` afterwards."""
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


async def load(request: Request, fn: Callable[[Session], T]) -> T:
    """Run ``fn(session)`` in one transaction: what a page shows comes from feature modules."""
    ctx: AppContext = request.app.state.ctx
    return await ctx.db.run(fn)
