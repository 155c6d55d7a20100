"""The start page: who is logged in, what they may see, and links to the surfaces of their role."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.labels import role_label
from streamsrv.org.users import describe_scope
from streamsrv.pages.nav import surfaces_for
from streamsrv.pages.session import current_user, load
from streamsrv.templating import render


async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    identity = user_identity(user)
    scope = await load(request, lambda session: describe_scope(session, identity))
    return render(
        request,
        "home.html",
        {
            "role_label": role_label(user.role),
            "scope": scope,
            # The same table as the header's (streamsrv.pages.nav.SURFACES).
            "surfaces": [s for s in surfaces_for(user) if s.on_home],
        },
    )


routes: list[BaseRoute] = [Route("/", home, methods=["GET"], name="home")]
