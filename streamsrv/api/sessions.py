"""``/api/v1/users/me/sessions``: the logged-in user's open login sessions, and ending one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv import logins
from streamsrv.auth import Identity
from streamsrv.errors import not_found
from streamsrv.kernel import Call, route
from streamsrv.models import LoginSession, User
from streamsrv.org.common import Page
from streamsrv.revocation import drop_credential

TAG = "users"


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    # Updated at most once a minute.
    last_seen_at: datetime
    expires_at: datetime
    # The session this request was made with.
    current: bool


def _user_of(session: Session, identity: Identity) -> User:
    user = session.get(User, identity.user_id) if identity.via == "session" else None
    if user is None:
        raise not_found("user (this credential is an API key, not a user session)")
    return user


@route(
    "GET",
    "/api/v1/users/me/sessions",
    summary="The logged-in user's open sessions (session cookie; an API key: 404)",
    tag=TAG,
    response=SessionOut,
    response_list=True,
    errors=(404,),
)
def list_my_sessions(call: Call[None, None], session: Session) -> Page[SessionOut]:
    identity = call.identity
    rows = logins.listing(session, _user_of(session, identity))
    return Page([_out(row, identity.session_id) for row in rows], None)


def _out(row: LoginSession, current: int | None) -> SessionOut:
    assert row.id is not None
    return SessionOut(
        id=row.id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        current=row.id == current,
    )


@route(
    "DELETE",
    "/api/v1/users/me/sessions/{session_id:int}",
    summary="End one of the logged-in user's sessions, with its live sockets and stream tokens",
    tag=TAG,
    status=204,
    errors=(404,),
)
async def end_my_session(call: Call[None, None]) -> None:
    identity, session_id = call.identity, call.id("session_id")

    def end(session: Session) -> bool:
        return logins.end(session, session_id, _user_of(session, identity).id)

    if not await call.run(end):
        raise not_found("session")
    # After the commit: its sockets close on every node and cannot reconnect.
    await drop_credential(call.ctx, f"session:{session_id}")


routes: list[BaseRoute] = [list_my_sessions, end_my_session]
