"""Logging in and out with email and password.

Each login opens a session kept on the server (``streamsrv.logins``); the cookie carries its
signed random secret. Logout ends that session, and "log out everywhere" every session of the
user, on the server: a copied cookie stops working, and live sockets and stream tokens of the
ended sessions are closed on every node. Failures answer the same generic message whether the
email exists or not, and take as long (an unknown email is checked against a dummy hash).

Before any password is checked the attempt is counted by ``LoginThrottle`` (429 when over a
limit) and the check itself waits its turn in the bounded hasher (503 when the line is full).
A successful login also leaves a signed device cookie, which later attempts for the same email
from that browser present so that others' failures cannot lock it out.
"""

from __future__ import annotations

import hmac
import html
import secrets
from urllib.parse import quote, urlsplit

from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import logins, metrics
from streamsrv.auth import SESSION_COOKIE, session_login
from streamsrv.context import AppContext, LoginHints
from streamsrv.models import User
from streamsrv.org import users
from streamsrv.pages.login_throttle import Limits, LoginThrottle, Refused
from streamsrv.pages.session import current_user
from streamsrv.revocation import drop_credential
from streamsrv.security import csrf
from streamsrv.security.passwords import HASHER, HasherBusy, needs_rehash
from streamsrv.security.tokens import DEVICE, TokenError
from streamsrv.templating import error_page, render

WRONG_CREDENTIALS = "Wrong email or password."
TOO_MANY = {
    "client": "Too many failed attempts for this email. Try again in {} minutes.",
    "device": "Too many failed attempts for this email. Try again in {} minutes.",
    "email": "Too many failed attempts for this email. Try again in {} minutes.",
    "address": "Too many failed attempts from your network. Try again in {} minutes.",
}
BUSY = "Too many people are logging in right now. Please try again in a few seconds."
REFUSAL_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Try again later · streamsrv</title>
  <link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
  <main id="main">
    <section class="card narrow login-card">
      <h1>Try again later</h1>
      <p class="errors" role="alert">{message}</p>
      <p><a href="{again}">Back to the login page</a></p>
    </section>
  </main>
</body>
</html>
"""
# What the login page says after an emailed link was used (``streamsrv.pages.account_links``).
NOTICES = {
    "welcome": "Your password is set. Log in with your email and your new password.",
    "reset": "Your new password is set and every session ended. Log in with the new password.",
}
EXPIRED_FORM = "This form has expired or was not sent from this site. Please try again."
MAX_NEXT_LENGTH = 2000
# Marks a browser that logged in before: its attempts skip the shared throttle counters.
DEVICE_COOKIE = "streamsrv_device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def safe_next(raw: str | None) -> str:
    """Only same-site relative paths: ``?next=`` must never become an open redirect."""
    if not raw or len(raw) > MAX_NEXT_LENGTH:
        return "/"
    # "//evil" and "/\\evil" are read by browsers as another host; control characters and
    # whitespace can smuggle one in too.
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return raw


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _throttle(ctx: AppContext) -> LoginThrottle:
    settings = ctx.settings
    limits = Limits(
        per_client=settings.login_max_per_client,
        per_address=settings.login_max_per_address,
        per_email=settings.login_max_per_email,
        window=settings.login_window,
    )
    return LoginThrottle(ctx.redis, settings.redis_prefix, settings.secret_key, limits)


def _known_device(ctx: AppContext, request: Request, throttle: LoginThrottle, email: str) -> str | None:
    """The device id of a valid device cookie issued to this email, else None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        data = ctx.signer.loads(DEVICE, cookie, max_age=DEVICE_MAX_AGE)
    except TokenError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    if not hmac.compare_digest(str(data.get("e", "")), throttle.email_digest(email)):
        return None
    device: str = data["d"]
    return device


def _set_device_cookie(
    ctx: AppContext, response: Response, throttle: LoginThrottle, email: str, device: str | None
) -> None:
    value = ctx.signer.dumps(
        DEVICE, {"d": device or secrets.token_urlsafe(16), "e": throttle.email_digest(email)}
    )
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
        path="/login",
    )


def _login_page(
    request: Request, next_url: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    notice = NOTICES.get(request.query_params.get("done", "")) if error is None else None
    context: dict[str, object] = {"next": next_url, "email": email, "error": error, "notice": notice}
    hints: LoginHints | None = request.app.state.ctx.login_hints
    if hints is not None:
        context.update(demo_logins=hints.logins, demo_password=hints.password)
    return render(request, "login.html", context, status=status)


async def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if await current_user(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    return _login_page(request, next_url)


async def _check_password(ctx: AppContext, email: str, password: str, known_device: bool) -> User | None:
    """The login this email and password open. One address may have a login in several
    organizations: the password tells them apart (the oldest login wins if they share one), so
    the form never asks for, or reveals, an organization."""
    found = await ctx.db.run(lambda session: users.by_email(session, email))
    candidates: list[User | None] = [*found] or [None]
    user = None
    # Argon2 runs outside the database transaction and off its threads: it is slow on purpose.
    # Every candidate is checked (an unknown address against a dummy hash).
    for candidate in candidates:
        # A pending invitation has no password: checked against the dummy hash, so it takes as
        # long as any other, and fails.
        hashed = candidate.password_hash if candidate and not users.is_pending(candidate) else None
        ok = await HASHER.verify(hashed, password, priority=known_device)
        if ok and candidate is not None and candidate.active and user is None:
            user = candidate
    if user is None:
        return None
    if needs_rehash(user.password_hash):
        await _rehash(ctx, user, password)
    return user


async def _rehash(ctx: AppContext, user: User, password: str) -> None:
    """Upgrade the stored hash when Argon2's parameters have been raised since it was made."""
    try:
        new_hash = await HASHER.hash(password)
    except HasherBusy:
        return  # the next login upgrades it
    await ctx.db.run(
        lambda session: users.upgrade_password_hash(session, user.id, user.password_hash, new_hash)
    )


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _refusal(next_url: str, message: str, status: int, wait: int) -> Response:
    """A refused attempt's page: the message and a way back to the form, built without the
    template engine, because under a flood refusals are most of what the server answers."""
    again = "/login" if next_url == "/" else f"/login?next={quote(next_url)}"
    body = REFUSAL_PAGE.format(message=html.escape(message), again=html.escape(again))
    return HTMLResponse(body, status, headers={"Retry-After": str(wait), "Cache-Control": "no-store"})


def _busy(next_url: str) -> Response:
    metrics.PASSWORD_HASHES_REFUSED.inc()
    return _refusal(next_url, BUSY, 503, HasherBusy.retry_after)


async def login_submit(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    if DEVICE_COOKIE not in request.cookies and HASHER.full():
        # Not even the form is read (parsing it was most of a refusal's cost under a flood).
        return _busy(safe_next(request.query_params.get("next")))
    async with request.form(max_files=0, max_fields=10) as form:
        email = _text(form, "email", 254).strip().lower()
        password = _text(form, "password", 1024)
        next_url = safe_next(_text(form, "next", MAX_NEXT_LENGTH))
        submitted_token = _text(form, csrf.FIELD, 200)
    if not csrf.verify(request, submitted_token):
        return _login_page(request, next_url, email, EXPIRED_FORM, status=403)
    if not email or not password:
        return _login_page(request, next_url, email, "Enter your email and password.", status=400)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in email):
        # No stored email contains these (and PostgreSQL refuses NUL in a query parameter).
        return _login_page(request, next_url, "", WRONG_CREDENTIALS, status=400)

    throttle = _throttle(ctx)
    device = _known_device(ctx, request, throttle, email)
    if HASHER.full(priority=device is not None):
        return _busy(next_url)  # before Redis and the database are asked
    # Counted before the password is checked, so parallel guesses cannot all get past the limit.
    attempt = await throttle.reserve(email, request.client.host if request.client else None, device)
    if isinstance(attempt, Refused):
        wait = attempt.retry_after
        return _refusal(next_url, TOO_MANY[attempt.limit].format(_minutes(wait)), 429, wait)

    try:
        user = await _check_password(ctx, email, password, known_device=device is not None)
    except HasherBusy as busy:
        await throttle.cancel(attempt)
        return _refusal(next_url, BUSY, 503, busy.retry_after)
    if user is None:
        return _login_page(request, next_url, email, WRONG_CREDENTIALS, status=400)

    await throttle.succeeded(attempt)
    max_age = ctx.settings.session_max_age
    cookie = await ctx.db.run(lambda session: logins.open_session(session, ctx.signer, user, max_age))
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=ctx.settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
        path="/",
    )
    _set_device_cookie(ctx, response, throttle, email, device)
    return response


async def logout(request: Request) -> Response:
    """Ends this browser's session; with ``everywhere=1``, every session of the user."""
    ctx: AppContext = request.app.state.ctx
    async with request.form(max_files=0, max_fields=10) as form:
        submitted_token = _text(form, csrf.FIELD, 200)
        everywhere = _text(form, "everywhere", 10) in ("1", "true", "on")
    if not csrf.verify(request, submitted_token):
        return error_page(request, 403, "Could not log out", EXPIRED_FORM)
    cookie = request.cookies.get(SESSION_COOKIE)

    def end(session: Session) -> str | None:
        login = session_login(ctx, session, cookie)
        if login is None:
            return None
        if everywhere:
            users.end_sessions(session, login.user.id)
            return f"user:{login.user.id}"
        logins.end(session, login.session_id)
        return f"session:{login.session_id}"

    ended = await ctx.db.run(end)
    if ended is not None:
        # After the commit: the sockets of what ended close on every node, and cannot reconnect.
        await drop_credential(ctx, ended)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.settings.cookie_secure
    )
    return response


routes: list[BaseRoute] = [
    Route("/login", login_form, methods=["GET"], name="login"),
    Route("/login", login_submit, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
