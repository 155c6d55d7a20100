"""``/settings``: the logged-in user's own page: their name, their email (shown), a new password
(the current one first; checked by the password policy; every other session ends), a link to
their agent profile when they are linked to an agent, and "log out everywhere".

The forms post here, CSRF-protected, and come back to the page (Post/Redirect/Get). Checking
the current password counts as a login attempt for the login throttle, so the form cannot be
used to guess it faster than the login page allows.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import logins
from streamsrv.auth import SESSION_COOKIE, user_identity
from streamsrv.context import AppContext
from streamsrv.errors import ApiError
from streamsrv.models import User
from streamsrv.org import users
from streamsrv.pages.login import TOO_MANY
from streamsrv.pages.login import _throttle as login_throttle
from streamsrv.pages.login_throttle import Refused
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import drop_credential
from streamsrv.security import csrf
from streamsrv.security.passwords import HASHER, HasherBusy
from streamsrv.templating import error_page, render

PAGE = "/settings"
EXPIRED_FORM = "The form expired; reload the page and try again."
NOTICES = {
    "name": "Your name was saved.",
    "password": "Your new password is set; every other session of yours has ended.",
}
MAX_NAME = 200


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _page(
    request: Request, user: User, errors: dict[str, str] | None = None, status: int = 200, **values: Any
) -> Response:
    return render(
        request,
        "settings.html",
        {
            "me": user,
            "errors": errors or {},
            "name_value": values.get("name", user.name),
            "notice": NOTICES.get(request.query_params.get("done", "")) if not errors else None,
        },
        status=status,
    )


async def settings_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    return _page(request, user)


async def _posted(request: Request) -> tuple[User | None, FormData | None, Response | None]:
    user = await current_user(request)
    if user is None:
        return None, None, to_login(PAGE)
    form = await request.form(max_files=0, max_fields=10)
    if not csrf.verify(request, _text(form, csrf.FIELD, 200)):
        return None, None, error_page(request, 403, "Please try again", EXPIRED_FORM)
    return user, form, None


async def save_name(request: Request) -> Response:
    user, form, refused = await _posted(request)
    if refused is not None or user is None or form is None:
        return refused or to_login(PAGE)
    name = " ".join(_text(form, "name", 1000).split())
    if len(name) > MAX_NAME:
        return _page(request, user, {"name": f"at most {MAX_NAME} characters"}, 422, name=name)
    identity = user_identity(user)
    await load(request, lambda session: users.update_own_name(session, identity, name))
    return RedirectResponse(f"{PAGE}?done=name", status_code=303)


async def change_password(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    user, form, refused = await _posted(request)
    if refused is not None or user is None or form is None:
        return refused or to_login(PAGE)
    current = _text(form, "current", 1024)
    new = _text(form, "password", 2048)
    confirm = _text(form, "confirm", 2048)
    if not current:
        return _page(request, user, {"current": "Enter your current password."}, 400)
    try:
        users.check_password(new, user.email, user.name)
    except ApiError as exc:
        return _page(request, user, {"password": exc.fields.get("password", exc.message)}, 422)
    if new != confirm:
        return _page(request, user, {"confirm": "The two new passwords differ."}, 422)
    throttle = login_throttle(ctx)
    attempt = await throttle.reserve(user.email, request.client.host if request.client else None)
    if isinstance(attempt, Refused):
        minutes = max(1, -(-attempt.retry_after // 60))
        return _page(request, user, {"current": TOO_MANY[attempt.limit].format(minutes)}, 429)
    try:
        if not await HASHER.verify(user.password_hash, current):
            return _page(request, user, {"current": "This is not your current password."}, 400)
        await throttle.succeeded(attempt)
        password_hash = await HASHER.hash(new)
    except HasherBusy:
        await throttle.cancel(attempt)
        return error_page(request, 503, "Please try again", "Too many passwords are being checked right now.")
    identity = user_identity(user)
    expected = user.password_hash

    def apply(session: Any) -> str | None:
        if not users.change_own_password(session, identity, expected, password_hash):
            return None
        row = session.get(User, user.id)
        # Every session ended with the change; this browser carries on in a new one.
        return logins.open_session(session, ctx.signer, row, ctx.settings.session_max_age)

    cookie = await load(request, apply)
    if cookie is None:
        return _page(request, user, {"current": "Your password changed meanwhile; log in again."}, 409)
    await drop_credential(ctx, f"user:{user.id}")
    response = RedirectResponse(f"{PAGE}?done=password", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=ctx.settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
        path="/",
    )
    return response


routes: list[BaseRoute] = [
    Route(PAGE, settings_page, methods=["GET"], name="settings"),
    Route(PAGE + "/name", save_name, methods=["POST"], name="settings_name"),
    Route(PAGE + "/password", change_password, methods=["POST"], name="settings_password"),
]
