"""``/live``: the live feed of every response the logged-in user may see.

The streams follow from the user's role and scope (``streamsrv.access.live_streams``; ``/ws``
applies the same table again on subscribe); the page loads recent responses over HTTP, then
stays live through ``static/js/stream.js``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.access import live_streams
from streamsrv.auth import user_identity
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.period_filters import account_zones
from streamsrv.templating import render


async def live(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/live")
    identity = user_identity(user)
    streams, zones = await load(
        request, lambda session: (live_streams(session, identity), account_zones(session, identity))
    )
    return render(request, "live.html", {"streams": " ".join(streams), "zones": zones})


routes: list[BaseRoute] = [Route("/live", live, methods=["GET"], name="live")]
