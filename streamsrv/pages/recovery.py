"""``/recovery``: the service-recovery triage queue, live.

The server decides which ``recovery:{account_id}`` streams the page subscribes to (the same
rules ``/ws`` checks again); the page loads the queue and the metrics over the JSON API and then
stays live through ``static/js/recovery.js``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import stream_names
from streamsrv.auth import user_identity
from streamsrv.models import Account, Role, User
from streamsrv.pages.home import current_user
from streamsrv.period_filters import account_zones
from streamsrv.recovery.service import QUEUE_ROLES, SUPERVISORS
from streamsrv.templating import error_page, render


@dataclass(frozen=True)
class QueueAccount:
    id: int
    name: str


def queue_accounts(session: Session, user: User) -> list[QueueAccount]:
    stmt = select(Account.id, Account.name).where(Account.org_id == user.org_id)
    if not (user.role == Role.admin and not user.account_ids):
        stmt = stmt.where(col(Account.id).in_(sorted(user.account_ids or [])))
    rows = session.exec(stmt.order_by(col(Account.name))).all()
    return [QueueAccount(a_id, name) for a_id, name in rows if a_id is not None]


async def recovery_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse(f"/login?next={quote('/recovery')}", status_code=303)
    if user.role not in QUEUE_ROLES:
        return error_page(
            request, 403, "Not for your role", "The recovery queue is for recovery staff and managers."
        )
    accounts, zones = await request.app.state.ctx.db.run(
        lambda session: (queue_accounts(session, user), account_zones(session, user_identity(user)))
    )
    return render(
        request,
        "recovery.html",
        {
            "accounts": accounts,
            "zones": zones,
            "streams": " ".join(stream_names.recovery(a.id) for a in accounts),
            "supervisor": user.role in SUPERVISORS,
        },
    )


routes: list[BaseRoute] = [Route("/recovery", recovery_page, methods=["GET"], name="recovery")]
