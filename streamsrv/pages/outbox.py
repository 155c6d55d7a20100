"""``/outbox``: in ``streamsrv demo`` only, the survey emails it would have sent, for admins.

The list is plain escaped text; an email's HTML is shown in a sandboxed iframe whose document
comes from ``/outbox/{key}/html`` under a policy of its own (no scripts, no forms, no same
origin), so an email can never act as the page that shows it.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.context import AppContext
from streamsrv.mail import outbox
from streamsrv.models import Role
from streamsrv.pages.session import current_user
from streamsrv.templating import error_page, render

PREVIEW_POLICY = (
    "sandbox; default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)


async def _admin_in_demo(request: Request) -> Response | None:
    """None when the page may be shown, else the answer to give instead."""
    ctx: AppContext = request.app.state.ctx
    if not ctx.demo:
        return error_page(request, 404, "Not found", "The outbox exists only in `streamsrv demo`.")
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if user.role != Role.admin:
        return error_page(request, 403, "Not for your role", "The outbox is for administrators.")
    return None


async def outbox_page(request: Request) -> Response:
    refused = await _admin_in_demo(request)
    if refused is not None:
        return refused
    ctx: AppContext = request.app.state.ctx
    folder = outbox.outbox_dir(ctx.settings)
    items = outbox.recent(folder)
    key = request.query_params.get("key") or (items[0].key if items else "")
    message = outbox.load(folder, key) if key else None
    return render(
        request,
        "outbox.html",
        {
            "items": items,
            "selected": key if message is not None else None,
            "message": message,
            "text": outbox.body_of(message, "plain") if message is not None else None,
            "headers": [(k, str(v)) for k, v in message.items()] if message is not None else [],
        },
    )


async def outbox_html(request: Request) -> Response:
    refused = await _admin_in_demo(request)
    if refused is not None:
        return refused
    ctx: AppContext = request.app.state.ctx
    message = outbox.load(outbox.outbox_dir(ctx.settings), request.path_params["key"])
    html = outbox.body_of(message, "html") if message is not None else None
    if html is None:
        return error_page(request, 404, "Not found", "No such email in the outbox.")
    return Response(
        html,
        media_type="text/html",
        headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "no-store"},
    )


routes: list[BaseRoute] = [
    Route("/outbox", outbox_page, methods=["GET"], name="outbox"),
    Route("/outbox/{key}/html", outbox_html, methods=["GET"], name="outbox_html"),
]
