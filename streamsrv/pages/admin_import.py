"""``/admin/agents/import``: agents from a CSV file, in two steps.

1. Dry run: the uploaded file is parsed and planned (``streamsrv.org.agent_import``) against the
   chosen account's teams and the organization's agents; the page shows, per line, what would
   happen (create, update, unchanged) or the errors. Nothing is written.
2. Apply: the dry run's form carries a signed token (expiring after ``TOKEN_MAX_AGE`` seconds)
   holding the file's bytes, the account and the plan's fingerprint. Applying plans the same
   bytes again against the database as it is then; if the plan's fingerprint differs (the file,
   the teams or the agents changed since the dry run) or the plan has any error, nothing is
   written. Otherwise every line goes through the org functions in one transaction.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.integrations import connectors
from streamsrv.org import agent_import, agents
from streamsrv.pages.admin_agents import all_accounts
from streamsrv.pages.agent_forms import (
    FormProblem,
    api_error_page,
    closes_form,
    csrf_failed,
    parse_id,
    read_form,
    text,
    writer_or_page,
)
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import reach_changed
from streamsrv.security.tokens import TokenError
from streamsrv.templating import error_page, render

PAGE = "/admin/agents/import"
PURPOSE = "streamsrv.agent-import"
TOKEN_MAX_AGE = 30 * 60
FILE_FIELD = "file"
# The token field carries the compressed file, so it may be larger than the file's limit.
MAX_PART = 2 * agent_import.MAX_BYTES + 4096
ACTION_LABELS = {"create": "Create", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
FIELD_LABELS = {
    "name": "Name",
    "team": "Team",
    "email": "Email",
    "photo_url": "Photo URL",
    "line": "Line",
    **{agent_import.helpdesk_column(name): f"{c.label} id" for name, c in connectors.REGISTRY.items()},
}
CHANGE_LABELS = {
    "name": "name",
    "team_id": "team",
    "email": "email",
    "photo_url": "photo URL",
    "external_ids": "helpdesk ids",
}


def systems() -> tuple[str, ...]:
    return connectors.NAMES


async def _user(request: Request) -> tuple[Identity, Response | None] | Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    identity = user_identity(user)
    return identity, writer_or_page(request, user, identity)


async def _form_page(
    request: Request, identity: Identity, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    accounts_ = await load(request, lambda s: all_accounts(s, identity))
    values = {
        "accounts": accounts_,
        "columns": agent_import.columns(systems()),
        "max_rows": agent_import.MAX_ROWS,
        "max_kb": agent_import.MAX_BYTES // 1024,
        "account_id": None,
        "error": "",
        "plan": None,
        "token": "",
        "action_labels": ACTION_LABELS,
        "field_labels": FIELD_LABELS,
        "change_labels": CHANGE_LABELS,
        "notice": "",
    }
    values.update(context or {})
    return render(request, "admin_import.html", values, status=status)


async def import_page(request: Request) -> Response:
    checked = await _user(request)
    if isinstance(checked, Response):
        return checked
    identity, refused = checked
    if refused is not None:
        return refused
    return await _form_page(request, identity)


async def sample(request: Request) -> Response:
    checked = await _user(request)
    if isinstance(checked, Response):
        return checked
    _, refused = checked
    if refused is not None:
        return refused
    return Response(
        agent_import.sample(systems()),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="agents-sample.csv"',
            "Cache-Control": "no-store",
        },
    )


def _plan(session: Session, identity: Identity, account_id: int, data: bytes) -> agent_import.Plan:
    snapshot = agents.import_snapshot(session, identity, account_id)
    return agent_import.plan(agent_import.parse(data, systems()), snapshot)


def seal(account_id: int, data: bytes, fingerprint: str) -> dict[str, Any]:
    return {"a": account_id, "f": fingerprint, "d": base64.b64encode(zlib.compress(data, 9)).decode()}


def _unseal(payload: Any) -> tuple[int, bytes, str]:
    if not isinstance(payload, dict):
        raise ValueError("bad token")
    account_id, fingerprint, packed = payload.get("a"), payload.get("f"), payload.get("d")
    if not isinstance(account_id, int) or not isinstance(fingerprint, str) or not isinstance(packed, str):
        raise ValueError("bad token")
    decompressor = zlib.decompressobj()
    data = decompressor.decompress(base64.b64decode(packed), agent_import.MAX_BYTES + 1)
    if len(data) > agent_import.MAX_BYTES:
        raise ValueError("bad token")
    return account_id, data, fingerprint


async def dry_run(request: Request) -> Response:
    checked = await _user(request)
    if isinstance(checked, Response):
        return checked
    identity, refused = checked
    try:
        form = await read_form(request, agent_import.MAX_BYTES + 1)
    except FormProblem as exc:
        return error_page(request, 413, "Cannot read the file", str(exc))
    refused = csrf_failed(request, form) or refused
    if refused is not None:
        return refused
    account_id = parse_id(text(form, "account_id"))
    upload = form.get(FILE_FIELD)
    data = b""
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(agent_import.MAX_BYTES + 1)
    context: dict[str, Any] = {"account_id": account_id}
    if account_id is None:
        return await _form_page(request, identity, {**context, "error": "Choose the account."}, 422)
    if not data:
        return await _form_page(request, identity, {**context, "error": "Choose a CSV file."}, 422)
    try:
        plan = await load(request, lambda s: _plan(s, identity, account_id, data))
    except agent_import.ImportFileError as exc:
        return await _form_page(request, identity, {**context, "error": str(exc)}, 422)
    except ApiError as exc:
        return api_error_page(request, exc, "the import")
    token = ""
    if not plan.errors:
        signer = request.app.state.ctx.signer
        token = signer.dumps(PURPOSE, seal(account_id, data, plan.fingerprint))
    return await _form_page(request, identity, {**context, "plan": plan, "token": token})


async def apply(request: Request) -> Response:
    checked = await _user(request)
    if isinstance(checked, Response):
        return checked
    identity, refused = checked
    try:
        form = await read_form(request, MAX_PART)
    except FormProblem as exc:
        return error_page(request, 413, "Cannot read the form", str(exc))
    refused = csrf_failed(request, form) or refused
    if refused is not None:
        return refused
    signer = request.app.state.ctx.signer
    try:
        account_id, data, fingerprint = _unseal(signer.loads(PURPOSE, text(form, "token"), TOKEN_MAX_AGE))
    except TokenError as exc:
        message = "The dry run is too old" if exc.expired else "The dry run could not be read"
        return error_page(request, 400, message, "Upload the file again to see what it will change.")
    except (ValueError, zlib.error):
        return error_page(request, 400, "The dry run could not be read", "Upload the file again.")
    base = str(request.app.state.ctx.settings.public_url)

    def run(session: Session) -> tuple[agent_import.Plan, int]:
        plan = _plan(session, identity, account_id, data)
        if plan.fingerprint != fingerprint or plan.errors:
            return plan, -1
        agents.apply_import(session, identity, plan, account_id, base)
        return plan, plan.count("create") + plan.count("update")

    try:
        plan, written = await load(request, run)
    except agent_import.ImportFileError as exc:
        return error_page(request, 400, "The dry run could not be read", str(exc))
    except ApiError as exc:
        return api_error_page(request, exc, "the import")
    if written < 0:
        # Nothing was written: show what the file would do now, with a new token if it can apply.
        token = ""
        if not plan.errors:
            token = signer.dumps(PURPOSE, seal(account_id, data, plan.fingerprint))
        notice = (
            "Agents or teams changed since the dry run: nothing was imported. Check the new dry run below."
        )
        return await _form_page(
            request, identity, {"account_id": account_id, "plan": plan, "token": token, "notice": notice}, 409
        )
    if any(line.action == "update" and "team_id" in line.changes for line in plan.lines):
        await reach_changed(request.app.state.ctx, identity.org_id)
    return RedirectResponse(f"/admin/agents?imported={written}", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, import_page, methods=["GET"], name="admin_agents_import"),
    Route(PAGE, closes_form(dry_run), methods=["POST"], name="admin_agents_import_dry_run"),
    Route(PAGE + "/apply", closes_form(apply), methods=["POST"], name="admin_agents_import_apply"),
    Route(PAGE + "/sample.csv", sample, methods=["GET"], name="admin_agents_import_sample"),
]
