"""``/me``: an agent's personal stream: their own feedback as it arrives, stats, shout-outs, notes.

The page carries no data itself: ``static/js/me.js`` loads ``GET /api/v1/me`` and subscribes to
``agent:{id}``, both of which check again that the caller is this agent.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.models import Role
from streamsrv.pages.home import current_user
from streamsrv.templating import error_page, render


async def me_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/me')}", status_code=303)
    if user.role != Role.agent or user.agent_id is None:
        return error_page(
            request,
            403,
            "This page is for agents",
            "My feedback shows an agent's own ratings; your role has its own pages.",
        )
    return render(request, "me.html", {"agent_stream": stream_names.agent(user.agent_id)})


routes: list[BaseRoute] = [Route("/me", me_page, methods=["GET"], name="me")]
