"""``/coach``: the team leader's micro-coaching panel.

The page itself carries only the team picker and the streams to follow; the panel's data comes
from ``GET /api/v1/coach`` (static/js/coach.js), then stays live on ``team:{id}`` (feedback) and
``coach:{id}`` (alerts, acknowledgements, notes, shout-outs).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.coaching.access import COACH_ROLES, coachable_teams
from streamsrv.ids import MAX_ID
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.templating import error_page, render


def requested_team(request: Request) -> int | None:
    raw = request.query_params.get("team_id", "")
    if raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    return None


async def coach(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/coach" + (f"?{request.url.query}" if request.url.query else ""))
    if user.role not in COACH_ROLES:
        return error_page(
            request, 403, "Not for your role", "The coaching panel is for team leaders and managers."
        )
    identity = user_identity(user)
    teams = await load(request, lambda session: coachable_teams(session, identity))
    wanted = requested_team(request)
    # An unknown or foreign team id falls back to the first team: the picker never leaks names.
    selected = next((t for t in teams if t.id == wanted), teams[0] if teams else None)
    return render(request, "coach.html", {"teams": teams, "selected": selected})


routes: list[BaseRoute] = [Route("/coach", coach, methods=["GET"], name="coach")]
