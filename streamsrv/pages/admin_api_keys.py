"""``/admin/api-keys``: keys for integrations, for administrators of the whole organization.

Creating a key answers with the page showing the whole key once (not a redirect: the secret must
not travel in a URL or be shown again); it is stored hashed. Revoking takes effect at once, as
through the API (``streamsrv.org.apikeys`` and ``streamsrv.revocation``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.org import accounts, apikeys
from streamsrv.org.common import require_org_admin
from streamsrv.org.schemas import AccountOut, ApiKeyCreate, ApiKeyCreated, ApiKeyOut, PageQuery
from streamsrv.pages.admin_forms import errors_of, forbidden, posted, text
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import drop_credential
from streamsrv.security.apikeys import SCOPES
from streamsrv.templating import error_page, render

PAGE = "/admin/api-keys"
SCOPE_NAMES = {
    "admin": "Administer: change settings, users and keys (includes every other permission)",
    "ingest": "Send interactions and feedback",
    "read": "Read feedback, dashboards and settings",
    "streams": "Follow live updates",
}
FIELDS = {"name", "scopes", "account_ids"}


def refusal(request: Request, identity: Identity) -> Response | None:
    try:
        require_org_admin(identity)
    except ApiError:
        return forbidden(request, "API keys are managed by administrators of the whole organization.")
    return None


async def show(
    request: Request,
    identity: Identity,
    *,
    created: ApiKeyCreated | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    def view(session: Any) -> tuple[list[ApiKeyOut], list[AccountOut]]:
        keys = apikeys.listing(session, identity, PageQuery(limit=500)).items
        return keys, accounts.listing(session, identity, PageQuery(limit=500)).items

    keys, account_rows = await load(request, view)
    names = {a.id: a.name for a in account_rows}
    context = {
        "keys": sorted(keys, key=lambda k: (k.revoked_at is not None, -k.id)),
        "accounts": account_rows,
        "account_names": names,
        "scopes": [(s, SCOPE_NAMES[s]) for s in SCOPES],
        "scope_names": SCOPE_NAMES,
        "created": created,
        "revoked": request.query_params.get("revoked", "") == "1",
        "values": values or {"scopes": ["read"], "account_ids": []},
        "errors": errors or {},
        "titles": {"name": "Name", "scopes": "Permissions", "account_ids": "Accounts"},
    }
    return render(request, "admin_api_keys.html", context, status=status)


async def page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    identity = user_identity(user)
    refused = refusal(request, identity)
    return refused if refused is not None else await show(request, identity)


async def create(request: Request) -> Response:
    checked_form = await posted(request, PAGE, refusal)
    if isinstance(checked_form, Response):
        return checked_form
    identity, form = checked_form.identity, checked_form.form
    values: dict[str, Any] = {
        "name": text(form, "name", 300),
        "scopes": [str(s) for s in form.getlist("scopes")][: len(SCOPES) + 1],
        "account_ids": [str(a) for a in form.getlist("account_ids")][:201],
    }
    try:
        body = ApiKeyCreate.model_validate(values)
        made = await load(request, lambda s: apikeys.create(s, identity, body))
    except (ValidationError, ApiError) as exc:
        return await show(request, identity, values=values, errors=errors_of(exc, FIELDS), status=422)
    return await show(request, identity, created=made, status=201)


async def revoke(request: Request) -> Response:
    key_id: int = request.path_params["key_id"]
    checked_form = await posted(request, PAGE, refusal)
    if isinstance(checked_form, Response):
        return checked_form
    identity = checked_form.identity
    if not 1 <= key_id <= MAX_ID:
        return error_page(request, 404, "Not found", "There is no such API key.")
    try:
        await load(request, lambda s: apikeys.revoke(s, identity, key_id))
    except ApiError:
        return error_page(request, 404, "Not found", "There is no such API key.")
    # As the API does: streams opened with this key close on every node.
    await drop_credential(request.app.state.ctx, f"apikey:{key_id}")
    return RedirectResponse(f"{PAGE}?revoked=1", status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, page, methods=["GET"], name="admin_api_keys"),
    Route(PAGE, create, methods=["POST"], name="admin_api_keys_create"),
    Route(PAGE + "/{key_id:int}/revoke", revoke, methods=["POST"], name="admin_api_key_revoke"),
]
