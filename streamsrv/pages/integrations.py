"""``/admin/integrations``: the helpdesks sending solved tickets, and the events to map.

Administrators (for their accounts) see each integration's URL and latest calls, and map each
event whose agent was not recognised to one of the account's agents, optionally remembering the
helpdesk's id on the agent. The map form posts here, CSRF-protected, and comes back to the page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.integrations import labels, receive, store
from streamsrv.models import Role, utcnow
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.security import csrf
from streamsrv.templating import error_page, render

PAGE = "/admin/integrations"


def _not_admin(request: Request) -> Response:
    return error_page(
        request, 403, "Not for your role", "Helpdesk integrations are managed by administrators."
    )


async def integrations_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    if user.role != Role.admin:
        return _not_admin(request)
    identity = user_identity(user)
    settings = request.app.state.ctx.settings
    view = await load(request, lambda session: store.admin_view(session, settings, identity))
    mapped = request.query_params.get("mapped", "")
    return render(
        request,
        "integrations.html",
        {**view, "labels": labels, "mapped": mapped.isdigit() and len(mapped) <= 10},
    )


async def map_event(request: Request) -> Response:
    unmapped_id = int(request.path_params["unmapped_id"])
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    form = await request.form()
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return error_page(
            request, 403, "Please try again", "The form expired; reload the page and map it again."
        )
    if user.role != Role.admin:
        return _not_admin(request)
    if not 1 <= unmapped_id <= MAX_ID:
        return error_page(request, 404, "Not found", "This event does not exist.")
    raw_agent = str(form.get("agent_id") or "")
    if not raw_agent.isdigit() or len(raw_agent) > 10 or not 1 <= int(raw_agent) <= MAX_ID:
        return error_page(request, 422, "Pick an agent", "Choose the agent who handled this ticket.")
    agent_id = int(raw_agent)
    remember = form.get("remember") == "on"
    identity = user_identity(user)
    ctx = request.app.state.ctx
    now = utcnow()
    try:
        await load(
            request,
            lambda session: receive.map_event(session, ctx, identity, unmapped_id, agent_id, remember, now),
        )
    except ApiError as exc:
        titles = {404: "Not found", 409: "Already mapped", 422: "Cannot map it"}
        return error_page(request, exc.status, titles.get(exc.status, "Cannot map it"), exc.message)
    return RedirectResponse(f"{PAGE}?mapped={unmapped_id}", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, integrations_page, methods=["GET"], name="integrations"),
    Route(PAGE + "/unmapped/{unmapped_id:int}/map", map_event, methods=["POST"], name="integrations_map"),
]
