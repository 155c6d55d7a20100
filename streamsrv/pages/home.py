"""The start page: who is logged in, what they may see, and links to the surfaces of their role."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.models import Role
from streamsrv.org.users import describe_scope
from streamsrv.pages.session import current_user, load
from streamsrv.templating import render


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


async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    identity = user_identity(user)
    scope = await load(request, lambda session: describe_scope(session, identity))
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
