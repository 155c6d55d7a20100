"""CSRF protection for HTML forms and for cookie-authenticated API calls.

Double-submit: a random token lives in a SameSite=Strict cookie and must come back in the form
field ``csrf_token`` (or the ``X-CSRF-Token`` header). On top of that, a request whose ``Origin``
header names another site is refused.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response

COOKIE = "streamsrv_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def get_or_create(request: HTTPConnection) -> str:
    """The token to render into a form; remembered on ``request.state`` for ``set_cookie``."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        token = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        request.state.csrf_token = token
    return str(token)


def set_cookie(request: HTTPConnection, response: Response, secure: bool) -> None:
    token = getattr(request.state, "csrf_token", None)
    if token and request.cookies.get(COOKIE) != token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def same_origin(request: HTTPConnection) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        # Browsers always send Origin on cross-site POSTs; its absence means a same-site form or a
        # non-browser client, which cannot carry the victim's cookie jar anyway.
        return origin != "null"
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def verify(request: HTTPConnection, submitted: str | None) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted or not same_origin(request):
        return False
    return hmac.compare_digest(cookie, submitted)
