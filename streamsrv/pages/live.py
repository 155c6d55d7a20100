"""``/live``: the live feed of every response the logged-in user may see.

The server picks the streams from the user's role and scope (the same rules as ``/ws`` applies
again on subscribe); the page loads recent responses over HTTP, then stays live through
``static/js/stream.js``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.access import live_streams
from streamsrv.auth import user_identity
from streamsrv.pages.home import current_user
from streamsrv.templating import render


async def live(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/live')}", status_code=303)
    identity = user_identity(user)
    streams = await request.app.state.ctx.db.run(lambda session: live_streams(session, identity))
    return render(request, "live.html", {"streams": " ".join(streams)})


routes: list[BaseRoute] = [Route("/live", live, methods=["GET"], name="live")]
