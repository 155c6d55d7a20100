"""``/dashboard``: results per account, team and agent for managers, client viewers and admins.

The page is a shell: the filter bar's choices (accounts, teams, agents in the user's scope) are
rendered here, the numbers come from ``/api/v1/dashboard/*`` and ``/api/v1/feedback`` and stay
live through the ``account:{id}`` streams (``static/js/dashboard.js``). The APIs check scope
again on every call; what this page lists is only what the user could ask for anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.auth import user_identity
from streamsrv.models import Account, Agent, Channel, Role, Team, User
from streamsrv.pages.home import current_user
from streamsrv.period_filters import account_zones
from streamsrv.templating import error_page, render

DASHBOARD_ROLES = (Role.admin, Role.manager, Role.client_viewer)


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    account_id: int
    team_id: int | None = None


@dataclass
class Scope:
    accounts: list[Choice] = field(default_factory=list)
    teams: list[Choice] = field(default_factory=list)
    agents: list[Choice] = field(default_factory=list)

    @property
    def streams(self) -> list[str]:
        return [stream_names.account(a.id) for a in self.accounts]


def dashboard_scope(session: Session, user: User) -> Scope:
    """The accounts (and their teams and agents) this user may filter by."""
    stmt = select(Account.id, Account.name).where(Account.org_id == user.org_id)
    if not (user.role == Role.admin and not user.account_ids):
        stmt = stmt.where(col(Account.id).in_(sorted(user.account_ids or [])))
    accounts = [Choice(i, n, i) for i, n in session.exec(stmt.order_by(col(Account.name))).all() if i]
    ids = [a.id for a in accounts]
    if not ids:
        return Scope()
    teams = session.exec(
        select(Team.id, Team.name, Team.account_id)
        .where(Team.org_id == user.org_id, col(Team.account_id).in_(ids))
        .order_by(col(Team.name))
    ).all()
    agents = session.exec(
        select(Agent.id, Agent.name, Agent.account_id, Agent.team_id)
        .where(Agent.org_id == user.org_id, col(Agent.account_id).in_(ids))
        .order_by(col(Agent.name))
    ).all()
    return Scope(
        accounts=accounts,
        teams=[Choice(i, n, a) for i, n, a in teams if i],
        agents=[Choice(i, n, a, t) for i, n, a, t in agents if i],
    )


async def dashboard(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/dashboard')}", status_code=303)
    if user.role not in DASHBOARD_ROLES:
        return error_page(request, 403, "Not for your role", "The dashboard is for managers, clients and admins.")
    scope, zones = await request.app.state.ctx.db.run(
        lambda session: (dashboard_scope(session, user), account_zones(session, user_identity(user)))
    )
    return render(
        request,
        "dashboard.html",
        {
            "scope": scope,
            "zones": zones,
            "streams": " ".join(scope.streams),
            "channels": [c.value for c in Channel],
            "can_moderate": user.role in (Role.admin, Role.manager),
        },
    )


routes: list[BaseRoute] = [Route("/dashboard", dashboard, methods=["GET"], name="dashboard")]
