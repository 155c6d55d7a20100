"""What every page shares besides its body: the favicon and the header's account switcher.

``POST /nav/account`` keeps the account a user chose in the header (a cookie read by
``streamsrv.pages.nav``). It is CSRF-protected and refuses, server-side, any account outside
the user's scope: the switcher only offers those, and a forged id gets a 403 page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.pages import nav
from streamsrv.pages.session import current_user, to_login
from streamsrv.paths import STATIC_DIR
from streamsrv.security import csrf
from streamsrv.templating import error_page

FAVICON = STATIC_DIR / "favicon.svg"


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page links; answer with the same icon."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def local_path(raw: str) -> str:
    """Back to a page of this site only: an absolute or scheme-relative URL becomes the home page."""
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw or any(c in raw for c in "\r\n"):
        return "/"
    return raw[:2000]


async def switch_account(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login("/")
    form = await request.form()
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return error_page(
            request, 403, "Please try again", "The form expired; reload the page and switch again."
        )
    raw = str(form.get("account_id") or "").strip()
    accounts: list[nav.AccountChoice] = getattr(request.state, "accounts", [])
    if raw == "":
        chosen: int | None = None
    else:
        wanted = nav.parse_account_id(raw)
        if wanted is None or all(a.id != wanted for a in accounts):
            return error_page(
                request, 403, "Not your account", "You can only switch to the accounts in your scope."
            )
        chosen = wanted
    response = RedirectResponse(local_path(str(form.get("next") or "/")), status_code=303)
    nav.remember_account(response, chosen, request.app.state.ctx.settings.cookie_secure)
    return response


routes: list[BaseRoute] = [
    Route("/favicon.ico", favicon, methods=["GET"], name="favicon"),
    Route("/nav/account", switch_account, methods=["POST"], name="switch_account"),
]
