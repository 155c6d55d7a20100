"""``/settings/profile``: an agent's own card (bio, hobbies, photo), edited by the agent.

Only users linked to an agent (``User.agent_id``) have one. Each account decides whether its
agents may edit it (``agents_edit_profile``); when not, the page shows the card read-only and
its forms answer 403. Changes go through ``streamsrv.org.agents`` (audited).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.org import agents
from streamsrv.org.schemas import AgentOut, AgentUpdate
from streamsrv.pages.agent_forms import (
    Errors,
    FormProblem,
    closes_form,
    csrf_failed,
    from_validation,
    lines,
    read_form,
    read_photo,
    text,
)
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.templating import error_page, render

PAGE = "/settings/profile"


def _card(session: Session, identity: Identity, base: str) -> dict[str, Any]:
    agent, account = agents.own_agent(session, identity)
    assert agent.id is not None
    version = agents.photo_versions(session, [agent.id]).get(agent.id)
    return {"agent": agents.agent_out(agent, version, base), "editable": account.agents_edit_profile}


def _no_profile(request: Request) -> Response:
    return error_page(
        request,
        404,
        "No profile",
        "Your login is not linked to an agent, so there is no agent profile to edit.",
    )


def _base(request: Request) -> str:
    return str(request.app.state.ctx.settings.public_url)


async def _page(
    request: Request, identity: Identity, values: dict[str, str] | None, errors: Errors, status: int = 200
) -> Response:
    try:
        card = await load(request, lambda s: _card(s, identity, _base(request)))
    except ApiError:
        return _no_profile(request)
    agent: AgentOut = card["agent"]
    shown = values or {"bio": agent.bio, "hobbies": "\n".join(agent.hobbies)}
    return render(
        request,
        "settings_profile.html",
        {
            **card,
            "values": shown,
            "errors": errors,
            "saved": request.query_params.get("saved", "") in ("1", "photo"),
        },
        status=status,
    )


async def profile_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    if user.agent_id is None:
        return _no_profile(request)
    return await _page(request, user_identity(user), None, Errors())


async def _checked_form(request: Request) -> tuple[Identity, Any] | Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    try:
        form = await read_form(request, int(request.app.state.ctx.settings.max_upload_bytes) + 1)
    except FormProblem as exc:
        return error_page(request, 413, "Cannot read the form", str(exc))
    refused = csrf_failed(request, form)
    if refused is not None:
        return refused
    if user.agent_id is None:
        return _no_profile(request)
    return user_identity(user), form


def _refused(request: Request, exc: ApiError) -> Response:
    if exc.status == 403:
        return error_page(request, 403, "Profile editing is off", exc.message)
    if exc.status == 404:
        return _no_profile(request)
    return error_page(request, exc.status, "Cannot save it", exc.message)


async def save_profile(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    identity, form = checked
    values = {"bio": text(form, "bio"), "hobbies": text(form, "hobbies")}
    try:
        body = AgentUpdate(bio=values["bio"].replace("\r\n", "\n"), hobbies=lines(values["hobbies"]))
    except ValidationError as exc:
        return await _page(request, identity, values, from_validation(exc), 422)
    changes = {"bio": body.bio, "hobbies": body.hobbies}
    try:
        await load(request, lambda s: agents.update_own_profile(s, identity, changes, _base(request)))
    except ApiError as exc:
        return _refused(request, exc)
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303)


async def save_photo(request: Request) -> Response:
    checked = await _checked_form(request)
    if isinstance(checked, Response):
        return checked
    identity, form = checked
    errors = Errors()
    photo = await read_photo(form, int(request.app.state.ctx.settings.max_upload_bytes), errors)
    if photo is None and not errors:
        errors.add("photo", "choose a photo to upload")
    if photo is None:
        return await _page(request, identity, None, errors, 422)
    data, media_type = photo
    try:
        await load(request, lambda s: agents.store_own_photo(s, identity, media_type, data, _base(request)))
    except ApiError as exc:
        return _refused(request, exc)
    return RedirectResponse(f"{PAGE}?saved=photo", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, profile_page, methods=["GET"], name="profile"),
    Route(PAGE, closes_form(save_profile), methods=["POST"], name="profile_save"),
    Route(PAGE + "/photo", closes_form(save_photo), methods=["POST"], name="profile_photo"),
]
