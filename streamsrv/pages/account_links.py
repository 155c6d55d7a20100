"""The pages of emailed account links: accepting an invitation (``/invite/{token}``), asking
for a password reset (``/password/forgot``) and using one (``/password/reset/{token}``).

Nobody needs to be logged in. A link that is forged, used, replaced or expired gets one answer
(410), whichever it is. "Forgot your password?" answers the same page with the same status
whether the address has a login or not, and is throttled per address and per client (429,
counted alike for known and unknown addresses). Choosing a password checks it against the
password policy and ends every session of the user; then the login page follows. Link tokens
never reach the logs (``streamsrv.logs.HideLinkTokens``) or the audit log.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.context import AppContext
from streamsrv.errors import ApiError
from streamsrv.models import TokenPurpose, utcnow
from streamsrv.org import invitations, users
from streamsrv.pages.login_throttle import Limits, LoginThrottle, Refused
from streamsrv.pages.session import load
from streamsrv.revocation import drop_credential
from streamsrv.security import csrf
from streamsrv.security.passwords import HASHER, HasherBusy
from streamsrv.templating import error_page, render

EXPIRED_FORM = "This form has expired or was not sent from this site. Please try again."
GONE_TITLE = "This link no longer works"
GONE = {
    TokenPurpose.invite: "The invitation link was already used, replaced by a newer one, or has expired. "
    "Ask an administrator of your organization to resend the invitation.",
    TokenPurpose.reset: "The reset link was already used, replaced by a newer one, or has expired. "
    "Ask for a new link.",
}
MISMATCH = "The two passwords differ; type the same password twice."
BUSY = "Too many passwords are being checked right now. Please try again in a few seconds."
TOO_MANY = "Too many reset requests for this address. Try again in {} minutes."


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _gone(request: Request, purpose: TokenPurpose) -> Response:
    return error_page(request, 410, GONE_TITLE, GONE[purpose])


def _form(
    request: Request,
    purpose: TokenPurpose,
    token: str,
    link: invitations.Link,
    errors: dict[str, str],
    status: int,
) -> Response:
    return render(
        request,
        "account_link.html",
        {
            "invite": purpose is TokenPurpose.invite,
            "action": ("/invite/" if purpose is TokenPurpose.invite else "/password/reset/") + token,
            "person": link.user,
            "expires_at": link.expires_at,
            "errors": errors,
        },
        status=status,
    )


async def _show(request: Request, purpose: TokenPurpose) -> Response:
    ctx: AppContext = request.app.state.ctx
    token = str(request.path_params["token"])
    now = utcnow()
    link = await load(
        request, lambda session: invitations.open_link(session, ctx.signer, purpose, token, now)
    )
    if link is None:
        return _gone(request, purpose)
    return _form(request, purpose, token, link, {}, 200)


async def _submit(request: Request, purpose: TokenPurpose) -> Response:
    ctx: AppContext = request.app.state.ctx
    token = str(request.path_params["token"])
    async with request.form(max_files=0, max_fields=10) as form:
        submitted = _text(form, csrf.FIELD, 200)
        password = _text(form, "password", 2048)
        confirm = _text(form, "confirm", 2048)
    if not csrf.verify(request, submitted):
        return error_page(request, 403, "Please try again", EXPIRED_FORM)
    now = utcnow()
    link = await load(
        request, lambda session: invitations.open_link(session, ctx.signer, purpose, token, now)
    )
    if link is None:
        return _gone(request, purpose)
    try:
        users.check_password(password, link.user.email, link.user.name)
    except ApiError as exc:
        return _form(
            request, purpose, token, link, {"password": exc.fields.get("password", exc.message)}, 422
        )
    if password != confirm:
        return _form(request, purpose, token, link, {"confirm": MISMATCH}, 422)
    try:
        password_hash = await HASHER.hash(password)
    except HasherBusy:
        return error_page(request, 503, "Please try again", BUSY)
    user = await load(
        request,
        lambda session: invitations.use_link(session, ctx.signer, purpose, token, password_hash, utcnow()),
    )
    if user is None:
        return _gone(request, purpose)
    # After the commit: the live sockets of every ended session close on every node.
    await drop_credential(ctx, f"user:{user.id}")
    done = "welcome" if purpose is TokenPurpose.invite else "reset"
    return RedirectResponse(f"/login?done={done}", status_code=303)


async def invite_page(request: Request) -> Response:
    return await _show(request, TokenPurpose.invite)


async def invite_submit(request: Request) -> Response:
    return await _submit(request, TokenPurpose.invite)


async def reset_page(request: Request) -> Response:
    return await _show(request, TokenPurpose.reset)


async def reset_submit(request: Request) -> Response:
    return await _submit(request, TokenPurpose.reset)


def _throttle(ctx: AppContext) -> LoginThrottle:
    settings = ctx.settings
    limits = Limits(
        per_client=settings.reset_max_per_email,
        per_address=settings.login_max_per_address,
        per_email=settings.reset_max_per_email,
        window=settings.login_window,
    )
    # Counters of their own: asking for links never locks anyone out of logging in.
    return LoginThrottle(ctx.redis, f"{settings.redis_prefix}:reset", settings.secret_key, limits)


async def forgot_page(request: Request) -> Response:
    return render(request, "password_forgot.html", {"sent": False, "error": None})


async def forgot_submit(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    async with request.form(max_files=0, max_fields=10) as form:
        submitted = _text(form, csrf.FIELD, 200)
        email = _text(form, "email", 254).strip().lower()
    if not csrf.verify(request, submitted):
        return render(request, "password_forgot.html", {"sent": False, "error": EXPIRED_FORM}, status=403)
    if not email or "@" not in email or any(ord(ch) < 33 or ord(ch) == 127 for ch in email):
        error = "Enter the email address you log in with."
        return render(request, "password_forgot.html", {"sent": False, "error": error}, status=400)
    attempt = await _throttle(ctx).reserve(email, request.client.host if request.client else None)
    if isinstance(attempt, Refused):
        minutes = max(1, -(-attempt.retry_after // 60))
        response = render(
            request, "password_forgot.html", {"sent": False, "error": TOO_MANY.format(minutes)}, status=429
        )
        response.headers["Retry-After"] = str(attempt.retry_after)
        return response
    now = utcnow()
    await load(
        request, lambda session: invitations.request_reset(session, ctx.settings, ctx.signer, email, now)
    )
    # The same page and status whether or not a login has this address.
    return render(request, "password_forgot.html", {"sent": True, "error": None})


routes: list[BaseRoute] = [
    Route("/invite/{token}", invite_page, methods=["GET"], name="invite"),
    Route("/invite/{token}", invite_submit, methods=["POST"], name="invite_submit"),
    Route("/password/forgot", forgot_page, methods=["GET"], name="password_forgot"),
    Route("/password/forgot", forgot_submit, methods=["POST"], name="password_forgot_submit"),
    Route("/password/reset/{token}", reset_page, methods=["GET"], name="password_reset"),
    Route("/password/reset/{token}", reset_submit, methods=["POST"], name="password_reset_submit"),
]
