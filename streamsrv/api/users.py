"""``/api/v1/users``: logins, their role and their scope (accounts, teams or one agent)."""

from __future__ import annotations

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.errors import ApiError
from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.org import invitations, users
from streamsrv.org.common import Page, require_org_admin
from streamsrv.org.schemas import (
    USER_NULLABLE,
    InvitationCreate,
    InvitationOut,
    UserCreate,
    UserListQuery,
    UserOut,
    UserUpdate,
)
from streamsrv.revocation import drop_credential
from streamsrv.security.passwords import HASHER, HasherBusy

TAG = "users"


async def _hash(password: str) -> str:
    try:
        return await HASHER.hash(password)
    except HasherBusy as busy:
        raise ApiError(
            503,
            "too many passwords are being checked right now; try again shortly",
            headers={"Retry-After": str(busy.retry_after)},
        ) from None


@route(
    "POST",
    "/api/v1/users",
    summary="Create a user (login) with a role and scope",
    tag=TAG,
    body=UserCreate,
    response=UserOut,
    status=201,
    errors=(409, 503),
    scope="admin",
    guard=require_org_admin,
)
async def create_user(call: Call[UserCreate, None]) -> Reply:
    identity, body = call.identity, call.body
    # Validate before hashing: Argon2 is deliberately slow and bad input should not pay for it.
    await call.run(lambda session: users.check_new(session, identity, body))
    password_hash = await _hash(body.password)
    out = await call.run(lambda session: users.create(session, identity, body, password_hash))
    return Reply(out, location=f"/api/v1/users/{out.id}")


@route(
    "POST",
    "/api/v1/users/invitations",
    summary="Invite a user by email: they choose their own password from a single-use link",
    tag=TAG,
    body=InvitationCreate,
    response=InvitationOut,
    status=201,
    errors=(409,),
    scope="admin",
    guard=require_org_admin,
)
async def invite_user(call: Call[InvitationCreate, None]) -> Reply:
    identity, body, ctx = call.identity, call.body, call.ctx
    out = await call.run(
        lambda session: invitations.invite(session, identity, body, ctx.settings, ctx.signer, call.now)
    )
    return Reply(out, location=f"/api/v1/users/{out.user.id}")


@route(
    "POST",
    "/api/v1/users/{user_id:int}/invitation",
    summary="Send a pending user a new invitation link; the earlier link stops working",
    tag=TAG,
    response=InvitationOut,
    errors=(404, 409),
    scope="admin",
    guard=require_org_admin,
)
async def resend_invitation(call: Call[None, None]) -> InvitationOut:
    identity, user_id, ctx = call.identity, call.id("user_id"), call.ctx
    return await call.run(
        lambda session: invitations.resend(session, identity, user_id, ctx.settings, ctx.signer, call.now)
    )


# Listing and reading users ask for "read" first, then an administrator of the whole organization.
@route(
    "GET",
    "/api/v1/users",
    summary="List the organization's users",
    tag=TAG,
    query=UserListQuery,
    response=UserOut,
    response_list=True,
    scope="read",
    guard=require_org_admin,
)
def list_users(call: Call[None, UserListQuery], session: Session) -> Page[UserOut]:
    return users.listing(session, call.identity, call.query)


@route(
    "GET",
    "/api/v1/users/me",
    summary="The logged-in user (session or a key created by a user: 404)",
    tag=TAG,
    response=UserOut,
    errors=(404,),
)
def get_me(call: Call[None, None], session: Session) -> UserOut:
    return users.get_me(session, call.identity)


@route(
    "GET",
    "/api/v1/users/{user_id:int}",
    summary="Get one user",
    tag=TAG,
    response=UserOut,
    errors=(404,),
    scope="read",
    guard=require_org_admin,
)
def get_user(call: Call[None, None], session: Session) -> UserOut:
    return users.get(session, call.identity, call.id("user_id"))


@route(
    "PATCH",
    "/api/v1/users/{user_id:int}",
    summary="Change a user's name, email, password, role, scope or active flag",
    tag=TAG,
    body=UserUpdate,
    response=UserOut,
    errors=(404, 409, 503),
    scope="admin",
    guard=require_org_admin,
)
async def update_user(call: Call[UserUpdate, None]) -> UserOut:
    identity, user_id = call.identity, call.id("user_id")
    changes = patch_changes(call.body, USER_NULLABLE)
    password = changes.pop("password", None)
    await call.run(lambda session: users.check_update(session, identity, user_id, changes, password))
    password_hash = await _hash(password) if password is not None else None
    out = await call.run(lambda session: users.update(session, identity, user_id, changes, password_hash))
    # Live sockets re-authenticate with the new role, scope or password (or not at all).
    await drop_credential(call.ctx, f"user:{out.id}")
    return out


routes: list[BaseRoute] = [
    create_user,
    invite_user,
    resend_invitation,
    list_users,
    get_me,
    get_user,
    update_user,
]
