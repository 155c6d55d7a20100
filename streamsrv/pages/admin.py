"""``/admin``: the admin sections the user's role may open (``streamsrv.pages.admin_sections``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.pages.admin_forms import forbidden
from streamsrv.pages.admin_sections import sections_for
from streamsrv.pages.session import current_user, to_login
from streamsrv.templating import render

PAGE = "/admin"


async def index(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    sections = sections_for(user)
    if not sections:
        return forbidden(request, "Your role has nothing to set up here.")
    return render(request, "admin_index.html", {"sections": sections})


routes: list[BaseRoute] = [Route(PAGE, index, methods=["GET"], name="admin")]
