"""``/dashboard``: results per account, team and agent for managers, client viewers and admins.

The page is a shell: the filter bar's choices (``streamsrv.dashboard.choices``) are rendered
here, the numbers come from ``/api/v1/dashboard/*`` and ``/api/v1/feedback`` and stay live
through the ``account:{id}`` streams (``static/js/dashboard.js``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.dashboard.choices import filter_choices
from streamsrv.models import Channel, Role
from streamsrv.pages.nav import DASHBOARD_ROLES
from streamsrv.pages.session import chosen_account, current_user, load, to_login
from streamsrv.period_filters import account_zones
from streamsrv.templating import error_page, render


async def dashboard(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/dashboard")
    if user.role not in DASHBOARD_ROLES:
        return error_page(
            request, 403, "Not for your role", "The dashboard is for managers, clients and admins."
        )
    identity = user_identity(user)
    scope, zones = await load(
        request, lambda session: (filter_choices(session, identity), account_zones(session, identity))
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
            # Managers and administrators open an agent's 1:1 sheet from the agent breakdown.
            "can_coach": user.role in (Role.admin, Role.manager),
            # The account chosen in the header opens preselected.
            "chosen_account": chosen_account(request),
        },
    )


routes: list[BaseRoute] = [Route("/dashboard", dashboard, methods=["GET"], name="dashboard")]
