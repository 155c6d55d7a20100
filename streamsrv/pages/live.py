"""``/live``: the live feed of every response the logged-in user may see.

The streams follow from the user's role and scope (``streamsrv.access.live_streams``; ``/ws``
applies the same table again on subscribe); the page loads recent responses over HTTP, then
stays live through ``static/js/stream.js``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.access import live_streams, rule_of
from streamsrv.auth import user_identity
from streamsrv.pages.session import chosen_account, current_user, load, to_login
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
    account = chosen_account(request)
    rule = rule_of(user.role)
    if account is not None and rule is not None and rule.live is not None:
        # The account chosen in the header: its stream only (the choice is in the user's scope).
        streams = [s for s in streams if s == stream_names.of(rule.live, account)]
    return render(
        request,
        "live.html",
        {
            "streams": " ".join(streams),
            "zones": zones,
            "account_id": account if rule and rule.feedback else None,
        },
    )


routes: list[BaseRoute] = [Route("/live", live, methods=["GET"], name="live")]
