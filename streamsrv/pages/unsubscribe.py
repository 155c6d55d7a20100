"""``/u/{token}``: the unsubscribe link of survey emails.

GET shows what the link does and a button; POST unsubscribes. Mail clients that offer
"unsubscribe" themselves POST ``List-Unsubscribe=One-Click`` here (RFC 8058) without any cookie,
so the POST takes no CSRF token: the signed link is the credential, and the worst a forged POST
can do is what the link's owner could do with one click. A GET never unsubscribes (mail scanners
follow links).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.context import AppContext
from streamsrv.mail import suppressions, unsubscribe
from streamsrv.models import utcnow
from streamsrv.security.tokens import TokenError
from streamsrv.templating import render

INVALID = ("This link doesn't work", "Please check that you opened the whole link from the email.")


async def _answer(request: Request, work: Callable[[Session, str], tuple[str, str, bool]]) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    try:
        account_name, email, done = await ctx.db.run(lambda session: work(session, token))
    except TokenError:
        title, message = INVALID
        context = {"status": 404, "title": title, "message": message}
        return render(request, "survey_gone.html", context, status=404)
    return render(
        request,
        "unsubscribe.html",
        {"token": token, "account_name": account_name, "email": email, "done": done},
    )


async def show_unsubscribe(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    sealer = unsubscribe.address_sealer(ctx.settings.secret_key)

    def load(session: Session, token: str) -> tuple[str, str, bool]:
        who = unsubscribe.resolve(session, ctx.signer, sealer, token)
        assert who.account.id is not None
        listed = suppressions.find(session, who.account.id, who.email)
        return who.account.name, unsubscribe.masked(who.email), listed is not None

    return await _answer(request, load)


async def confirm_unsubscribe(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    sealer = unsubscribe.address_sealer(ctx.settings.secret_key)
    # The body ("List-Unsubscribe=One-Click") is read and dropped: the link alone decides.
    await request.body()
    now = utcnow()

    def apply(session: Session, token: str) -> tuple[str, str, bool]:
        who, row = unsubscribe.unsubscribe(session, ctx.signer, sealer, token, now)
        return who.account.name, unsubscribe.masked(row.email), True

    return await _answer(request, apply)


routes: list[BaseRoute] = [
    Route("/u/{token}", show_unsubscribe, methods=["GET"], name="unsubscribe"),
    Route("/u/{token}", confirm_unsubscribe, methods=["POST"], name="unsubscribe_confirm"),
]
