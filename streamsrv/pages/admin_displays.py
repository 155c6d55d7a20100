"""``/admin/displays``: wallboard screens. Name one and pick its board, get its TV address,
revoke it. Administrators manage their accounts' boards, managers too, team leaders their own
teams' boards only: the rule of ``streamsrv.org.displays``, which the API uses as well.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.org import displays
from streamsrv.org.schemas import DisplayCreate, DisplayOut
from streamsrv.pages.admin_forms import errors_of, forbidden, posted, text
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import drop_credential
from streamsrv.templating import error_page, render

PAGE = "/admin/displays"
FIELDS = {"name", "board", "scope", "target_id"}


def refusal(request: Request, identity: Identity) -> Response | None:
    try:
        displays.require_display_manager(identity)
    except ApiError:
        return forbidden(request, "Displays are managed by administrators, managers and team leaders.")
    return None


async def show(
    request: Request,
    identity: Identity,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ctx = request.app.state.ctx

    def view(session: Any) -> tuple[list[DisplayOut], dict[str, list[tuple[int, str]]]]:
        return displays.live_displays(ctx, session, identity), displays.board_choices(session, identity)

    live, boards = await load(request, view)
    created_raw = request.query_params.get("created", "")
    created = None
    if created_raw.isdigit() and len(created_raw) <= 10:
        created = next((d for d in live if d.id == int(created_raw)), None)
    context = {
        "displays": live,
        "boards": boards,
        "created": created,
        "revoked": request.query_params.get("revoked", "") == "1",
        "values": values or {},
        "errors": errors or {},
        "titles": {"name": "Name", "board": "Board"},
    }
    return render(request, "admin_displays.html", context, status=status)


async def page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    identity = user_identity(user)
    refused = refusal(request, identity)
    return refused if refused is not None else await show(request, identity)


async def create(request: Request) -> Response:
    checked_form = await posted(request, PAGE, refusal)
    if isinstance(checked_form, Response):
        return checked_form
    identity, form = checked_form.identity, checked_form.form
    values = {"name": text(form, "name", 300), "board": text(form, "board", 40)}
    scope, _, target = values["board"].partition(":")
    ctx = request.app.state.ctx
    try:
        if scope not in ("team", "account") or not target.isdigit() or len(target) > 10:
            raise ApiError(422, "choose a board", fields={"board": "Choose the board this screen shows"})
        body = DisplayCreate.model_validate(
            {"name": values["name"], "scope": scope, "target_id": int(target)}
        )

        def made(session: Any) -> DisplayOut | None:
            choices = displays.board_choices(session, identity)
            if body.target_id not in {board_id for board_id, _ in choices[body.scope]}:
                return None
            return displays.create(ctx, session, identity, body)

        out = await load(request, made)
    except (ValidationError, ApiError) as exc:
        errors = errors_of(exc, FIELDS)
        # The board is one control: its scope and target are one choice on the page.
        for part in ("scope", "target_id"):
            if part in errors:
                errors.setdefault("board", errors.pop(part))
        if isinstance(exc, ApiError) and exc.status == 403:
            return forbidden(request, exc.message)
        return await show(request, identity, values, errors, status=422)
    if out is None:
        return forbidden(request, "This board is outside your scope: pick one of the boards offered.")
    return RedirectResponse(f"{PAGE}?created={out.id}", status_code=303)


async def revoke(request: Request) -> Response:
    display_id: int = request.path_params["display_id"]
    checked_form = await posted(request, PAGE, refusal)
    if isinstance(checked_form, Response):
        return checked_form
    identity = checked_form.identity
    if not 1 <= display_id <= MAX_ID:
        return error_page(request, 404, "Not found", "There is no such display.")
    try:
        await load(request, lambda s: displays.revoke(s, identity, display_id))
    except ApiError as exc:
        if exc.status == 403:
            return forbidden(request, exc.message)
        return error_page(request, 404, "Not found", "There is no such display, or it was already revoked.")
    # After the commit, as the API does: the screen's live socket closes at once.
    await drop_credential(request.app.state.ctx, f"display:{display_id}")
    return RedirectResponse(f"{PAGE}?revoked=1", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, page, methods=["GET"], name="admin_displays"),
    Route(PAGE, create, methods=["POST"], name="admin_displays_create"),
    Route(PAGE + "/{display_id:int}/revoke", revoke, methods=["POST"], name="admin_display_revoke"),
]
