"""``/u/{token}``: the unsubscribe link of survey emails.

GET shows what the link does and a button; POST unsubscribes. Mail clients that offer
"unsubscribe" themselves POST ``List-Unsubscribe=One-Click`` here (RFC 8058) without any cookie,
so the POST takes no CSRF token: the signed link is the credential, and the worst a forged POST
can do is what the link's owner could do with one click. A GET never unsubscribes (mail scanners
follow links).
"""

from __future__ import annotations

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


def _invalid(request: Request) -> Response:
    title, message = INVALID
    return render(request, "survey_gone.html", {"status": 404, "title": title, "message": message}, status=404)


async def show_unsubscribe(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]

    def load(session: Session) -> tuple[str, str, bool]:
        who = unsubscribe.resolve(session, ctx.signer, token)
        assert who.account.id is not None
        listed = suppressions.find(session, who.account.id, who.email)
        return who.account.name, unsubscribe.masked(who.email), listed is not None

    try:
        account_name, email, done = await ctx.db.run(load)
    except TokenError:
        return _invalid(request)
    return render(
        request,
        "unsubscribe.html",
        {"token": token, "account_name": account_name, "email": email, "done": done},
    )


async def confirm_unsubscribe(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    token: str = request.path_params["token"]
    # The body ("List-Unsubscribe=One-Click") is read and dropped: the link alone decides.
    await request.body()
    now = utcnow()

    def apply(session: Session) -> tuple[str, str]:
        who, row = unsubscribe.unsubscribe(session, ctx.signer, token, now)
        return who.account.name, unsubscribe.masked(row.email)

    try:
        account_name, email = await ctx.db.run(apply)
    except TokenError:
        return _invalid(request)
    return render(
        request,
        "unsubscribe.html",
        {"token": token, "account_name": account_name, "email": email, "done": True},
    )


routes: list[BaseRoute] = [
    Route("/u/{token}", show_unsubscribe, methods=["GET"], name="unsubscribe"),
    Route("/u/{token}", confirm_unsubscribe, methods=["POST"], name="unsubscribe_confirm"),
]
