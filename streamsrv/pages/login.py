"""Logging in and out with email and password.

Each login opens a session kept on the server (``streamsrv.logins``); the cookie carries its
signed random secret. Logout ends that session, and "log out everywhere" every session of the
user, on the server: a copied cookie stops working, and live sockets and stream tokens of the
ended sessions are closed on every node. Failures answer the same generic message whether the
email exists or not, and take as long (``verify_password`` checks a dummy hash for unknown
emails).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import logins
from streamsrv.auth import SESSION_COOKIE, session_login
from streamsrv.context import AppContext, LoginHints
from streamsrv.models import User
from streamsrv.org import users
from streamsrv.pages.login_throttle import LoginThrottle
from streamsrv.pages.session import current_user
from streamsrv.revocation import drop_credential
from streamsrv.security import csrf
from streamsrv.security.passwords import hash_password, needs_rehash, verify_password
from streamsrv.templating import error_page, render

WRONG_CREDENTIALS = "Wrong email or password."
EXPIRED_FORM = "This form has expired or was not sent from this site. Please try again."
MAX_NEXT_LENGTH = 2000


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
    return LoginThrottle(ctx.redis, ctx.settings.redis_prefix)


def _login_page(
    request: Request, next_url: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    context: dict[str, object] = {"next": next_url, "email": email, "error": error}
    hints: LoginHints | None = request.app.state.ctx.login_hints
    if hints is not None:
        context.update(demo_logins=hints.logins, demo_password=hints.password)
    return render(request, "login.html", context, status=status)


async def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if await current_user(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    return _login_page(request, next_url)


async def _check_password(ctx: AppContext, email: str, password: str) -> User | None:
    """The login this email and password open. One address may have a login in several
    organizations: the password tells them apart (the oldest login wins if they share one), so
    the form never asks for, or reveals, an organization."""
    found = await ctx.db.run(lambda session: users.by_email(session, email))
    candidates: list[User | None] = [*found] or [None]
    user = None
    # Argon2 runs outside the database transaction: it is slow on purpose. Every candidate is
    # checked (an unknown address against a dummy hash), whichever matches first.
    for candidate in candidates:
        ok = await run_in_threadpool(verify_password, candidate.password_hash if candidate else None, password)
        if ok and candidate is not None and candidate.active and user is None:
            user = candidate
    if user is None:
        return None
    if needs_rehash(user.password_hash):
        await _rehash(ctx, user, password)
    return user


async def _rehash(ctx: AppContext, user: User, password: str) -> None:
    """Upgrade the stored hash when Argon2's parameters have been raised since it was made."""
    new_hash = await run_in_threadpool(hash_password, password)
    await ctx.db.run(
        lambda session: users.upgrade_password_hash(session, user.id, user.password_hash, new_hash)
    )


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


async def login_submit(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
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
    wait = await throttle.blocked_for(email)
    if wait:
        response = _login_page(
            request,
            next_url,
            email,
            f"Too many failed attempts for this email. Try again in {_minutes(wait)} minutes.",
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response

    user = await _check_password(ctx, email, password)
    if user is None:
        await throttle.record_failure(email)
        return _login_page(request, next_url, email, WRONG_CREDENTIALS, status=400)

    await throttle.reset(email)
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
