"""``/admin/users``: the organization's users (role, scope in names, status) and invitations.

Administrators of the whole organization (as for ``/api/v1/users``) invite a person by email
with a role and a scope, resend a pending invitation, change a user's role and scope, and
deactivate or reactivate them. Every form posts here, CSRF-protected, goes through the functions
the API uses (``streamsrv.org.invitations``, ``streamsrv.org.users``: same checks, same audit log)
and comes back to a page (Post/Redirect/Get); bad input shows the form again with a message per
field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import access, labels
from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import Role, User, utcnow
from streamsrv.org import invitations, users
from streamsrv.org.common import require_org_admin
from streamsrv.org.schemas import InvitationCreate
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import drop_credential
from streamsrv.security import csrf
from streamsrv.templating import error_page, render

PAGE = "/admin/users"
# The roles a user can be given, as people read them.
ROLE_LABELS = {role: labels.role_label(role) for role in Role}
# Which scope field each role's form uses (the others are ignored, whatever the browser sent).
SCOPE_HELP = {
    "account_ids": "Managers, client viewers and recovery staff need at least one account; "
    "administrators without any reach the whole organization.",
    "team_ids": "Team leaders need at least one team.",
    "agent_id": "Agent users are linked to exactly one agent.",
}
NOTICES = {
    "invited": "Invitation sent.",
    "resent": "A new invitation link was sent; the earlier one no longer works.",
    "saved": "Changes saved.",
    "deactivated": "User deactivated: their sessions have ended.",
    "reactivated": "User reactivated.",
}
EXPIRED_FORM = "The form expired; reload the page and try again."
FIELD_NAMES = ("email", "name", "role", "account_ids", "team_ids", "agent_id", "active", "user_id")


def _forbidden(request: Request) -> Response:
    return error_page(
        request, 403, "Not for your role", "Users are managed by administrators of the whole organization."
    )


async def _admin(request: Request) -> tuple[User | None, Response | None]:
    user = await current_user(request)
    if user is None:
        return None, to_login(PAGE)
    try:
        require_org_admin(user_identity(user))
    except ApiError:
        return None, _forbidden(request)
    return user, None


def _ids(form: FormData, name: str) -> list[int]:
    out = []
    for raw in form.getlist(name):
        if isinstance(raw, str) and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID:
            out.append(int(raw))
    return out


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def scope_fields(form: FormData, role: str) -> dict[str, Any]:
    """The scope the form names for ``role``: only the field that role uses is read."""
    rule = access.rule_of(role)
    values: dict[str, Any] = {"account_ids": [], "team_ids": [], "agent_id": None}
    if rule is None:
        return values
    used = users.SCOPE_FIELDS[rule.level]
    if used == "agent_id":
        picked = _ids(form, "agent_id")
        values["agent_id"] = picked[0] if picked else None
    else:
        values[used] = _ids(form, used)
    return values


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(name if name in FIELD_NAMES else "form", str(error["msg"]))
    return errors


def _api_errors(exc: ApiError) -> dict[str, str]:
    fields = {k: str(v) for k, v in (exc.fields or {}).items()}
    return fields or {"form": exc.message}


async def _listing(
    request: Request,
    identity: Identity,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    now = utcnow()
    rows, names = await load(request, lambda session: invitations.admin_view(session, identity, now))
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(
        request,
        "admin_users.html",
        {
            "rows": rows,
            "names": names,
            "roles": ROLE_LABELS,
            "scope_help": SCOPE_HELP,
            "errors": errors or {},
            "values": values or {"role": Role.manager, "account_ids": [], "team_ids": [], "agent_id": None},
            "notice": notice,
        },
        status=status,
    )


async def users_page(request: Request) -> Response:
    user, refused = await _admin(request)
    if refused is not None or user is None:
        return refused or to_login(PAGE)
    return await _listing(request, user_identity(user))


async def invite(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    async with request.form(max_files=0, max_fields=600) as form:
        if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
            return error_page(request, 403, "Please try again", EXPIRED_FORM)
        identity = user_identity(user)
        try:
            require_org_admin(identity)
        except ApiError:
            return _forbidden(request)
        role = _text(form, "role", 20)
        values: dict[str, Any] = {
            "email": _text(form, "email", 254),
            "name": _text(form, "name", 200),
            "role": role,
            **scope_fields(form, role),
        }
    try:
        body = InvitationCreate.model_validate(values)
    except ValidationError as exc:
        return await _listing(request, identity, errors=_field_errors(exc), values=values, status=422)
    ctx = request.app.state.ctx
    now = utcnow()
    try:
        await load(
            request,
            lambda session: invitations.invite(session, identity, body, ctx.settings, ctx.signer, now),
        )
    except ApiError as exc:
        return await _listing(request, identity, errors=_api_errors(exc), values=values, status=exc.status)
    return RedirectResponse(f"{PAGE}?done=invited", status_code=303)


async def _user_page(
    request: Request,
    identity: Identity,
    user_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    now = utcnow()
    try:
        row, names = await load(
            request, lambda session: invitations.user_view(session, identity, user_id, now)
        )
    except ApiError:
        return error_page(request, 404, "Not found", "This user does not exist.")
    shown = values or {
        "role": row.user.role,
        "account_ids": list(row.user.account_ids or []),
        "team_ids": list(row.user.team_ids or []),
        "agent_id": row.user.agent_id,
    }
    return render(
        request,
        "admin_user.html",
        {
            "row": row,
            "names": names,
            "roles": ROLE_LABELS,
            "scope_help": SCOPE_HELP,
            "errors": errors or {},
            "values": shown,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "is_self": row.user.id == identity.user_id,
        },
        status=status,
    )


def _user_id(request: Request) -> int | None:
    user_id = int(request.path_params["user_id"])
    return user_id if 1 <= user_id <= MAX_ID else None


async def user_page(request: Request) -> Response:
    user, refused = await _admin(request)
    if refused is not None or user is None:
        return refused or to_login(PAGE)
    user_id = _user_id(request)
    if user_id is None:
        return error_page(request, 404, "Not found", "This user does not exist.")
    return await _user_page(request, user_identity(user), user_id)


async def _checked_post(request: Request) -> tuple[Identity | None, FormData | None, Response | None]:
    """The caller's identity and form after the CSRF and role checks, or the refusal."""
    user = await current_user(request)
    if user is None:
        return None, None, to_login(PAGE)
    form = await request.form(max_files=0, max_fields=600)
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return None, None, error_page(request, 403, "Please try again", EXPIRED_FORM)
    identity = user_identity(user)
    try:
        require_org_admin(identity)
    except ApiError:
        return None, None, _forbidden(request)
    return identity, form, None


async def edit(request: Request) -> Response:
    identity, form, refused = await _checked_post(request)
    if refused is not None or identity is None or form is None:
        return refused or to_login(PAGE)
    user_id = _user_id(request)
    if user_id is None:
        return error_page(request, 404, "Not found", "This user does not exist.")
    role = _text(form, "role", 20)
    if role not in ROLE_LABELS:
        values = {"role": role, **scope_fields(form, role)}
        errors = {"role": "choose one of the roles"}
        return await _user_page(request, identity, user_id, errors=errors, values=values, status=422)
    changes: dict[str, Any] = {"role": role, **scope_fields(form, role)}
    return await _change(request, identity, user_id, changes, "saved", dict(changes))


async def set_active(request: Request) -> Response:
    identity, form, refused = await _checked_post(request)
    if refused is not None or identity is None or form is None:
        return refused or to_login(PAGE)
    user_id = _user_id(request)
    if user_id is None:
        return error_page(request, 404, "Not found", "This user does not exist.")
    active = _text(form, "active", 5) == "1"
    return await _change(
        request, identity, user_id, {"active": active}, "reactivated" if active else "deactivated"
    )


async def _change(
    request: Request,
    identity: Identity,
    user_id: int,
    changes: dict[str, Any],
    done: str,
    values: dict[str, Any] | None = None,
) -> Response:
    ctx = request.app.state.ctx

    def apply(session: Any) -> None:
        users.check_update(session, identity, user_id, changes)
        users.update(session, identity, user_id, changes, None)

    try:
        await load(request, apply)
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Not found", "This user does not exist.")
        return await _user_page(
            request, identity, user_id, errors=_api_errors(exc), values=values, status=exc.status
        )
    # Live sockets re-authenticate with the new role and scope (or not at all).
    await drop_credential(ctx, f"user:{user_id}")
    return RedirectResponse(f"{PAGE}/{user_id}?done={done}", status_code=303)


async def resend(request: Request) -> Response:
    identity, _form, refused = await _checked_post(request)
    if refused is not None or identity is None:
        return refused or to_login(PAGE)
    user_id = _user_id(request)
    if user_id is None:
        return error_page(request, 404, "Not found", "This user does not exist.")
    ctx = request.app.state.ctx
    now = utcnow()
    try:
        await load(
            request,
            lambda session: invitations.resend(session, identity, user_id, ctx.settings, ctx.signer, now),
        )
    except ApiError as exc:
        if exc.status == 404:
            return error_page(request, 404, "Not found", "This user does not exist.")
        return await _user_page(request, identity, user_id, errors=_api_errors(exc), status=exc.status)
    return RedirectResponse(f"{PAGE}/{user_id}?done=resent", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, users_page, methods=["GET"], name="admin_users"),
    Route(PAGE + "/invite", invite, methods=["POST"], name="admin_users_invite"),
    Route(PAGE + "/{user_id:int}", user_page, methods=["GET"], name="admin_user"),
    Route(PAGE + "/{user_id:int}/edit", edit, methods=["POST"], name="admin_user_edit"),
    Route(PAGE + "/{user_id:int}/active", set_active, methods=["POST"], name="admin_user_active"),
    Route(PAGE + "/{user_id:int}/invitation", resend, methods=["POST"], name="admin_user_resend"),
]
