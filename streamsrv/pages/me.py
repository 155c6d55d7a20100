"""``/me``: an agent's personal stream: their own feedback as it arrives, stats, shout-outs, notes.

The page carries no data itself: ``static/js/me.js`` loads ``GET /api/v1/me`` and subscribes to
``agent:{id}``, both of which check again that the caller is this agent. The running total of
the month's rewards comes from ``GET /api/v1/agents/{id}/earnings``, reloaded on each
``ledger.updated`` of the agent's stream.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.models import Role
from streamsrv.pages.session import current_user, to_login
from streamsrv.templating import error_page, render


async def me_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/me")
    if user.role != Role.agent or user.agent_id is None:
        return error_page(
            request,
            403,
            "This page is for agents",
            "My feedback shows an agent's own ratings; your role has its own pages.",
        )
    return render(
        request, "me.html", {"agent_stream": stream_names.agent(user.agent_id), "agent_id": user.agent_id}
    )


routes: list[BaseRoute] = [Route("/me", me_page, methods=["GET"], name="me")]
