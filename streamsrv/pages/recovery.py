"""``/recovery``: the service-recovery triage queue, live.

The page subscribes to the ``recovery:{account_id}`` streams of the accounts whose queues the
user works (``/ws`` checks the same scope again); it loads the queue and the metrics over the
JSON API and then stays live through ``static/js/recovery.js``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.auth import user_identity
from streamsrv.pages.session import chosen_account, current_user, load, to_login
from streamsrv.period_filters import account_zones
from streamsrv.recovery.service import QUEUE_ROLES, SUPERVISORS, queue_accounts
from streamsrv.templating import error_page, render


async def recovery_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/recovery")
    if user.role not in QUEUE_ROLES:
        return error_page(
            request, 403, "Not for your role", "The recovery queue is for recovery staff and managers."
        )
    identity = user_identity(user)
    accounts, zones = await load(
        request, lambda session: (queue_accounts(session, identity), account_zones(session, identity))
    )
    return render(
        request,
        "recovery.html",
        {
            "accounts": accounts,
            "zones": zones,
            "streams": " ".join(stream_names.recovery(a.id) for a in accounts),
            "supervisor": user.role in SUPERVISORS,
            # The account chosen in the header opens preselected.
            "chosen_account": chosen_account(request),
        },
    )


routes: list[BaseRoute] = [Route("/recovery", recovery_page, methods=["GET"], name="recovery")]
