"""``/api/v1/displays``: administrators name wallboard screens, get their URLs, and revoke them.

Revoking commits first (``revoked_at`` set, version bumped, so the token stops authenticating
anywhere), then tells every node to close the screen's live socket.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import app_ctx, path_id, require_writer
from streamsrv.auth import Identity, authenticate
from streamsrv.boards.displays import display_url
from streamsrv.context import AppContext
from streamsrv.errors import field_error, not_found
from streamsrv.http import endpoint, json_response, read_json
from streamsrv.ids import MAX_ID
from streamsrv.models import Account, AuditLog, Display, Team, utcnow
from streamsrv.revocation import drop_credential
from streamsrv.timefmt import iso

TAG = "displays"


class DisplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scope: Literal["team", "account"]
    target_id: int = Field(ge=1, le=MAX_ID)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class DisplayOut(BaseModel):
    id: int
    name: str
    scope: str
    target_id: int
    target_name: str
    url: str
    created_at: str


def display_out(ctx: AppContext, display: Display, target_name: str) -> DisplayOut:
    assert display.id is not None
    return DisplayOut(
        id=display.id,
        name=display.name,
        scope=display.scope,
        target_id=display.target_id,
        target_name=target_name,
        url=display_url(ctx, display),
        created_at=iso(display.created_at),
    )


def target_account(session: Session, org_id: int, scope: str, target_id: int) -> tuple[int, str] | None:
    """(account id, name) of the board a display shows, or None when it is not in this org."""
    if scope == "team":
        team = session.get(Team, target_id)
        return (team.account_id, team.name) if team is not None and team.org_id == org_id else None
    account = session.get(Account, target_id)
    if account is None or account.org_id != org_id:
        return None
    assert account.id is not None
    return account.id, account.name


def audit(session: Session, identity: Identity, action: str, display: Display) -> None:
    session.add(
        AuditLog(
            org_id=identity.org_id,
            actor_user_id=identity.user_id,
            actor_api_key_id=identity.api_key_id,
            action=action,
            target=f"display:{display.id}",
            details={"name": display.name, "scope": display.scope, "target_id": display.target_id},
        )
    )


@endpoint(
    "POST",
    "/api/v1/displays",
    summary="Create a wallboard display; the answer carries its URL (with its display token)",
    tag=TAG,
    body=DisplayCreate,
    response=DisplayOut,
    status=201,
    scope="admin",
)
async def create_display(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    body = await read_json(request, DisplayCreate)
    ctx = app_ctx(request)

    def create(session: Session) -> DisplayOut:
        target = target_account(session, identity.org_id, body.scope, body.target_id)
        if target is None or not identity.sees_account(target[0]):
            raise field_error("target_id", f"no such {body.scope} in this organization")
        display = Display(
            org_id=identity.org_id,
            name=body.name,
            scope=body.scope,
            target_id=body.target_id,
            created_by=identity.user_id,
        )
        session.add(display)
        session.flush()
        audit(session, identity, "display.created", display)
        return display_out(ctx, display, target[1])

    return json_response(await ctx.db.run(create), status=201)


@endpoint(
    "GET",
    "/api/v1/displays",
    summary="List the live (not revoked) wallboard displays",
    tag=TAG,
    response=DisplayOut,
    response_list=True,
    scope="admin",
)
async def list_displays(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    ctx = app_ctx(request)

    def load(session: Session) -> list[DisplayOut]:
        rows = session.exec(
            select(Display)
            .where(Display.org_id == identity.org_id, col(Display.revoked_at).is_(None))
            .order_by(col(Display.id))
        ).all()
        out = []
        for display in rows:
            target = target_account(session, identity.org_id, display.scope, display.target_id)
            if target is not None and identity.sees_account(target[0]):
                out.append(display_out(ctx, display, target[1]))
        return out

    items: list[Any] = await ctx.db.run(load)
    return json_response({"items": items, "next_cursor": None})


@endpoint(
    "DELETE",
    "/api/v1/displays/{display_id:int}",
    summary="Revoke a display: its token stops working and its screen disconnects at once",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
)
async def revoke_display(request: Request) -> Response:
    identity = await authenticate(request)
    require_writer(identity)
    display_id = path_id(request, "display_id")
    ctx = app_ctx(request)

    def revoke(session: Session) -> None:
        display = session.get(Display, display_id)
        if display is None or display.org_id != identity.org_id or display.revoked_at is not None:
            raise not_found("display")
        target = target_account(session, identity.org_id, display.scope, display.target_id)
        if target is not None and not identity.sees_account(target[0]):
            raise not_found("display")
        display.revoked_at = utcnow()
        display.version += 1
        session.add(display)
        audit(session, identity, "display.revoked", display)

    await ctx.db.run(revoke)
    # After the commit: a socket that reconnects now is refused, so dropping it is final.
    await drop_credential(ctx, f"display:{display_id}")
    return Response(status_code=204)


routes: list[BaseRoute] = [create_display, list_displays, revoke_display]
