"""Jinja2 rendering with the things every page needs: CSRF token, current user, static URLs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from streamsrv import i18n, labels
from streamsrv.paths import TEMPLATES_DIR
from streamsrv.security import csrf


def make_templates() -> Jinja2Templates:
    # Starlette turns autoescaping on; customer text is always escaped unless marked safe.
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    i18n.install(templates.env)
    labels.install_filters(templates.env)
    return templates


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    ctx = request.app.state.ctx
    values: dict[str, Any] = {
        "csrf_token": csrf.get_or_create(request),
        "user": getattr(request.state, "user", None),
        # The staff header (streamsrv.pages.nav.Header), set by ``current_user``.
        "nav": getattr(request.state, "nav", None),
    }
    values.update(context or {})
    response: Response = ctx.templates.TemplateResponse(request, name, values, status_code=status)
    response.headers.setdefault("cache-control", "no-store")
    csrf.set_cookie(request, response, ctx.settings.cookie_secure)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )
