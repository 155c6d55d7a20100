"""``/api/v1/users``: logins, their role and their scope (accounts, teams or one agent).

A role decides which scope fields it uses; anything else must be empty, so a user can never
carry a scope that silently means nothing. Password hashes and session versions never leave
the server. Changing a password or deactivating a user bumps ``session_version``, which
invalidates every session cookie issued before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from streamsrv.api.admin_common import (
    app_ctx,
    check_ids_in_org,
    conflict,
    flush_or_conflict,
    get_in_org,
    page,
    paginate,
    patch_changes,
    path_id,
    require_org_admin,
)
from streamsrv.api.schemas_admin import USER_NULLABLE, UserCreate, UserListQuery, UserOut, UserUpdate
from streamsrv.auth import authenticate
from streamsrv.errors import field_error, not_found
from streamsrv.http import endpoint, json_response, parse_query, read_json
from streamsrv.models import Account, Agent, Role, Team, User
from streamsrv.revocation import drop_credential
from streamsrv.security.passwords import hash_password

TAG = "users"
DUPLICATE_EMAIL = "a user with this email already exists"

# Which scope field each role uses; the others must stay empty.
ACCOUNT_ROLES = frozenset({Role.manager, Role.client_viewer, Role.recovery})


@dataclass
class Scope:
    role: str
    account_ids: list[int] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)
    agent_id: int | None = None


def _unused(name: str, role: str) -> None:
    raise field_error(name, f"not used by the {role} role; leave it empty")


def validate_scope(session: Session, org_id: int, scope: Scope) -> None:
    """422 naming the field when the scope does not fit the role or names another org's rows."""
    role = scope.role
    if role == Role.admin:
        # An admin with accounts is an admin of those accounts only; none means the whole org.
        if scope.team_ids:
            _unused("team_ids", role)
        if scope.agent_id is not None:
            _unused("agent_id", role)
    elif role in ACCOUNT_ROLES:
        if not scope.account_ids:
            raise field_error("account_ids", f"a {role} needs at least one account")
        if scope.team_ids:
            _unused("team_ids", role)
        if scope.agent_id is not None:
            _unused("agent_id", role)
    elif role == Role.team_leader:
        if not scope.team_ids:
            raise field_error("team_ids", "a team leader needs at least one team")
        if scope.account_ids:
            _unused("account_ids", role)
        if scope.agent_id is not None:
            _unused("agent_id", role)
    elif role == Role.agent:
        if scope.agent_id is None:
            raise field_error("agent_id", "an agent user must be linked to exactly one agent")
        if scope.account_ids:
            _unused("account_ids", role)
        if scope.team_ids:
            _unused("team_ids", role)
    check_ids_in_org(session, Account, scope.account_ids, org_id, "account_ids")
    check_ids_in_org(session, Team, scope.team_ids, org_id, "team_ids")
    if scope.agent_id is not None:
        check_ids_in_org(session, Agent, [scope.agent_id], org_id, "agent_id")


def _check_agent_link(session: Session, org_id: int, agent_id: int | None, except_user: int | None) -> None:
    if agent_id is None:
        return
    stmt = select(User.id).where(User.org_id == org_id, User.agent_id == agent_id)
    if except_user is not None:
        stmt = stmt.where(User.id != except_user)
    if session.exec(stmt).first() is not None:
        raise conflict("another user is already linked to this agent", "agent_id")


def _email_taken(session: Session, email: str, except_user: int | None = None) -> bool:
    # Emails are unique across organizations: the login form has no tenant field.
    stmt = select(User.id).where(User.email == email)
    if except_user is not None:
        stmt = stmt.where(User.id != except_user)
    return session.exec(stmt).first() is not None


def _is_org_admin(user: User) -> bool:
    return user.role == Role.admin and user.active and not user.account_ids


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to demote or deactivate the organization's last unrestricted administrator."""
    others = session.exec(
        select(User).where(User.org_id == user.org_id, User.id != user.id, User.role == Role.admin)
    ).all()
    if not any(_is_org_admin(other) for other in others):
        raise conflict("this is the organization's last administrator; appoint another first", "role")


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def _dedupe(ids: list[int]) -> list[int]:
    return sorted(set(ids))


@endpoint(
    "POST",
    "/api/v1/users",
    summary="Create a user (login) with a role and scope",
    tag=TAG,
    body=UserCreate,
    response=UserOut,
    status=201,
    errors=(409,),
    scope="admin",
)
async def create_user(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    body = await read_json(request, UserCreate)
    scope = Scope(body.role, _dedupe(body.account_ids), _dedupe(body.team_ids), body.agent_id)

    def check(session: Session) -> None:
        validate_scope(session, identity.org_id, scope)
        if _email_taken(session, body.email):
            raise conflict(DUPLICATE_EMAIL, "email")
        _check_agent_link(session, identity.org_id, body.agent_id, None)

    ctx = app_ctx(request)
    # Validate before hashing: Argon2 is deliberately slow and bad input should not pay for it.
    await ctx.db.run(check)
    password_hash = await run_in_threadpool(hash_password, body.password)

    def create(session: Session) -> UserOut:
        check(session)
        user = User(
            org_id=identity.org_id,
            email=body.email,
            name=body.name,
            password_hash=password_hash,
            role=body.role,
            account_ids=scope.account_ids,
            team_ids=scope.team_ids,
            agent_id=scope.agent_id,
        )
        session.add(user)
        flush_or_conflict(session, DUPLICATE_EMAIL, "email")
        return user_out(user)

    out = await ctx.db.run(create)
    return json_response(out, status=201, headers={"Location": f"/api/v1/users/{out.id}"})


@endpoint(
    "GET",
    "/api/v1/users",
    summary="List the organization's users",
    tag=TAG,
    query=UserListQuery,
    response=UserOut,
    response_list=True,
    scope="admin",
)
async def list_users(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    require_org_admin(identity)
    query = parse_query(request, UserListQuery)

    def fetch(session: Session) -> dict[str, Any]:
        stmt = select(User).where(User.org_id == identity.org_id)
        if query.role is not None:
            stmt = stmt.where(User.role == query.role)
        if query.active is not None:
            stmt = stmt.where(User.active == query.active)
        rows, cursor = paginate(session, stmt, User.id, query.cursor, query.limit)
        return page([user_out(u) for u in rows], cursor)

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/users/me",
    summary="The logged-in user (session or a key created by a user: 404)",
    tag=TAG,
    response=UserOut,
    errors=(404,),
)
async def get_me(request: Request) -> Response:
    identity = await authenticate(request)
    if identity.via != "session" or identity.user_id is None:
        raise not_found("user (this credential is an API key, not a user session)")
    user_id = identity.user_id

    def fetch(session: Session) -> UserOut:
        return user_out(get_in_org(session, User, user_id, identity.org_id, "user"))

    return json_response(await app_ctx(request).db.run(fetch))


@endpoint(
    "GET",
    "/api/v1/users/{user_id:int}",
    summary="Get one user",
    tag=TAG,
    response=UserOut,
    errors=(404,),
    scope="admin",
)
async def get_user(request: Request) -> Response:
    identity = await authenticate(request)
    identity.require("read")
    require_org_admin(identity)
    user_id = path_id(request, "user_id")

    def fetch(session: Session) -> UserOut:
        return user_out(get_in_org(session, User, user_id, identity.org_id, "user"))

    return json_response(await app_ctx(request).db.run(fetch))


def _merged_scope(user: User, changes: dict[str, Any]) -> Scope:
    """The scope after a PATCH. On a role change, scope fields the new role does not use and the
    body did not mention are cleared, so "manager -> team_leader + team_ids" just works."""
    role = changes.get("role", user.role)
    scope = Scope(role, list(user.account_ids or []), list(user.team_ids or []), user.agent_id)
    if role != user.role:
        uses = {
            Role.admin: {"account_ids"},
            Role.team_leader: {"team_ids"},
            Role.agent: {"agent_id"},
        }.get(Role(role), {"account_ids"})
        for name in ("account_ids", "team_ids", "agent_id"):
            if name not in uses and name not in changes:
                setattr(scope, name, None if name == "agent_id" else [])
    for name in ("account_ids", "team_ids"):
        if name in changes:
            setattr(scope, name, _dedupe(changes[name]))
    if "agent_id" in changes:
        scope.agent_id = changes["agent_id"]
    return scope


@endpoint(
    "PATCH",
    "/api/v1/users/{user_id:int}",
    summary="Change a user's name, email, password, role, scope or active flag",
    tag=TAG,
    body=UserUpdate,
    response=UserOut,
    errors=(404, 409),
    scope="admin",
)
async def update_user(request: Request) -> Response:
    identity = await authenticate(request)
    require_org_admin(identity)
    user_id = path_id(request, "user_id")
    body = await read_json(request, UserUpdate)
    changes = patch_changes(body, USER_NULLABLE)
    password = changes.pop("password", None)
    ctx = app_ctx(request)

    def check(session: Session) -> User:
        user = get_in_org(session, User, user_id, identity.org_id, "user")
        scope = _merged_scope(user, changes)
        validate_scope(session, identity.org_id, scope)
        if "email" in changes and _email_taken(session, changes["email"], except_user=user_id):
            raise conflict(DUPLICATE_EMAIL, "email")
        _check_agent_link(session, identity.org_id, scope.agent_id, user_id)
        if _is_org_admin(user):
            stays = scope.role == Role.admin and not scope.account_ids and changes.get("active", True)
            if not stays:
                _keep_an_admin(session, user)
        return user

    await ctx.db.run(check)
    password_hash = await run_in_threadpool(hash_password, password) if password is not None else None

    def update(session: Session) -> UserOut:
        user = check(session)
        scope = _merged_scope(user, changes)
        was_active = user.active
        for name in ("email", "name", "active"):
            if name in changes:
                setattr(user, name, changes[name])
        user.role = scope.role
        user.account_ids = scope.account_ids
        user.team_ids = scope.team_ids
        user.agent_id = scope.agent_id
        if password_hash is not None:
            user.password_hash = password_hash
        if password_hash is not None or (was_active and not user.active):
            # Older session cookies carry the old version and stop working at once.
            user.session_version += 1
        session.add(user)
        flush_or_conflict(session, DUPLICATE_EMAIL, "email")
        return user_out(user)

    out = await ctx.db.run(update)
    # Live sockets re-authenticate with the new role, scope or password (or not at all).
    await drop_credential(ctx, f"user:{out.id}")
    return json_response(out)


routes: list[BaseRoute] = [create_user, list_users, get_me, get_user, update_user]
