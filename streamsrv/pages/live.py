"""``/live``: the live feed of every response the logged-in user may see.

The server picks the streams from the user's role and scope (the same rules as ``/ws`` applies
again on subscribe); the page loads recent responses over HTTP, then stays live through
``static/js/stream.js``.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.auth import user_identity
from streamsrv.models import Account, Role, User
from streamsrv.pages.home import current_user
from streamsrv.period_filters import account_zones
from streamsrv.templating import render


def live_streams(session: Session, user: User) -> list[str]:
    if user.role == Role.admin and not user.account_ids:
        ids = session.exec(
            select(Account.id).where(Account.org_id == user.org_id).order_by(col(Account.id))
        ).all()
        return [stream_names.account(i) for i in ids if i is not None]
    if user.role in (Role.admin, Role.manager, Role.client_viewer):
        return [stream_names.account(i) for i in sorted(user.account_ids)]
    if user.role == Role.team_leader:
        return [stream_names.team(i) for i in sorted(user.team_ids)]
    if user.role == Role.recovery:
        return [stream_names.recovery(i) for i in sorted(user.account_ids)]
    if user.role == Role.agent and user.agent_id is not None:
        return [stream_names.agent(user.agent_id)]
    return []


async def live(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/live')}", status_code=303)
    streams, zones = await request.app.state.ctx.db.run(
        lambda session: (live_streams(session, user), account_zones(session, user_identity(user)))
    )
    return render(request, "live.html", {"streams": " ".join(streams), "zones": zones})


routes: list[BaseRoute] = [Route("/live", live, methods=["GET"], name="live")]
