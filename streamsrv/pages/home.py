"""The start page: who is logged in, what they may see, and links to the surfaces of their role.

``current_user`` is the one way pages learn who is logged in; it also puts the user on
``request.state.user`` so the page header (base.html) can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import SESSION_COOKIE, session_user
from streamsrv.context import AppContext
from streamsrv.models import Account, Agent, Role, Team, User
from streamsrv.templating import render


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


@dataclass(frozen=True)
class Surface:
    href: str
    title: str
    description: str


SURFACES: dict[str, Surface] = {
    "live": Surface("/live", "Live feed", "Every response you may see, the moment it arrives."),
    "me": Surface("/me", "My feedback", "Your own ratings, rewards and shout-outs as they arrive."),
    "coach": Surface("/coach", "Coaching panel", "Your teams' feedback and alerts, live."),
    "recovery": Surface("/recovery", "Recovery queue", "Negative responses to claim and resolve."),
    "dashboard": Surface("/dashboard", "Dashboard", "Results per account, team and agent; exports."),
    "wallboard": Surface("/wallboard", "Wallboards", "Live leaderboards for the floor's screens."),
}

# Which surfaces each role may use; the pages themselves check again.
ROLE_SURFACES: dict[str, tuple[str, ...]] = {
    Role.admin: ("live", "dashboard", "wallboard", "coach", "recovery"),
    Role.manager: ("live", "dashboard", "coach", "recovery", "wallboard"),
    Role.client_viewer: ("live", "dashboard"),
    Role.team_leader: ("live", "coach"),
    Role.recovery: ("live", "recovery"),
    Role.agent: ("live", "me"),
}


def surfaces_for(role: str) -> list[Surface]:
    return [SURFACES[name] for name in ROLE_SURFACES.get(role, ())]


@dataclass
class ScopeSummary:
    everything: bool = False
    accounts: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    agent: str | None = None


def summarise_scope(session: Session, user: User) -> ScopeSummary:
    """Names, not ids: what this user's scope means in words they recognise."""
    summary = ScopeSummary(everything=user.role == Role.admin and not user.account_ids)
    if user.account_ids:
        summary.accounts = list(
            session.exec(
                select(Account.name)
                .where(Account.org_id == user.org_id, col(Account.id).in_(user.account_ids))
                .order_by(Account.name)
            ).all()
        )
    if user.team_ids:
        summary.teams = list(
            session.exec(
                select(Team.name)
                .where(Team.org_id == user.org_id, col(Team.id).in_(user.team_ids))
                .order_by(Team.name)
            ).all()
        )
    if user.agent_id is not None:
        agent = session.get(Agent, user.agent_id)
        if agent is not None and agent.org_id == user.org_id:
            summary.agent = agent.name
    return summary


async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    ctx: AppContext = request.app.state.ctx

    def load(session: Session) -> ScopeSummary:
        return summarise_scope(session, user)

    scope = await ctx.db.run(load)
    return render(
        request,
        "home.html",
        {
            "role_label": str(user.role).replace("_", " "),
            "scope": scope,
            "surfaces": surfaces_for(user.role),
        },
    )


routes: list[BaseRoute] = [Route("/", home, methods=["GET"], name="home")]
