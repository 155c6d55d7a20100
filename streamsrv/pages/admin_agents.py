"""``/admin/teams`` and ``/admin/agents``: teams and agents managed from the browser.

Every change goes through the same feature functions as the admin API (``streamsrv.org.teams``
and ``streamsrv.org.agents``), so who may do what, the checks and the audit trail are the
API's: administrators, for the accounts their scope covers. Forms are CSRF-protected and follow
Post/Redirect/Get; a form with errors comes back (422) with a message per field.

An agent form may carry a photo file. The page's script (static/js/photo_crop.js) lets the user
crop it to a square in the browser and puts the square in place of the chosen file; without
script the original file is sent. Either way the server checks the bytes and the size.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.integrations import connectors
from streamsrv.models import User
from streamsrv.org import accounts, agents, teams
from streamsrv.org.common import Page
from streamsrv.org.schemas import (
    AccountOut,
    AgentCreate,
    AgentListQuery,
    AgentOut,
    AgentUpdate,
    PageQuery,
    TeamCreate,
    TeamListQuery,
    TeamOut,
    TeamUpdate,
)
from streamsrv.pages.agent_forms import (
    Errors,
    FormProblem,
    api_error_page,
    closes_form,
    csrf_failed,
    from_api_error,
    from_validation,
    lines,
    parse_id,
    read_form,
    read_photo,
    text,
    writer_or_page,
)
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.revocation import reach_changed
from streamsrv.templating import error_page, render

TEAMS = "/admin/teams"
AGENTS = "/admin/agents"
PAGE_SIZE = 100


def helpdesks() -> list[tuple[str, str]]:
    """(system, label) of every helpdesk whose agent id an agent may carry."""
    return [(name, connectors.REGISTRY[name].label) for name in connectors.NAMES]


def _all_pages(fetch: Any) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page: Page[Any] = fetch(cursor)
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def all_accounts(session: Session, identity: Identity) -> list[AccountOut]:
    return _all_pages(lambda c: accounts.listing(session, identity, PageQuery(limit=500, cursor=c)))


def all_teams(session: Session, identity: Identity) -> list[TeamOut]:
    return _all_pages(lambda c: teams.listing(session, identity, TeamListQuery(limit=500, cursor=c)))


async def _admin(request: Request, path: str) -> tuple[User, Identity] | Response:
    user = await current_user(request)
    if user is None:
        return to_login(path)
    identity = user_identity(user)
    refused = writer_or_page(request, user, identity)
    return refused if refused is not None else (user, identity)


async def _admin_form(
    request: Request, path: str, max_part_size: int = 1024 * 1024
) -> tuple[Identity, Any] | Response:
    """The checks of every POST here, in order: logged in, the form's CSRF token, the role."""
    user = await current_user(request)
    if user is None:
        return to_login(path)
    try:
        form = await read_form(request, max_part_size)
    except FormProblem as exc:
        return error_page(request, 413, "Cannot read the form", str(exc))
    refused = csrf_failed(request, form)
    if refused is not None:
        return refused
    identity = user_identity(user)
    refused = writer_or_page(request, user, identity)
    return refused if refused is not None else (identity, form)


def _base_url(request: Request) -> str:
    return str(request.app.state.ctx.settings.public_url)


def _limit(request: Request) -> int:
    return int(request.app.state.ctx.settings.max_upload_bytes)


# --- teams --------------------------------------------------------------------------------------


def _teams_view(session: Session, identity: Identity) -> dict[str, Any]:
    accounts_ = all_accounts(session, identity)
    by_account: dict[int, list[TeamOut]] = {a.id: [] for a in accounts_}
    for team in all_teams(session, identity):
        by_account.setdefault(team.account_id, []).append(team)
    return {"accounts": accounts_, "teams": by_account}


async def teams_page(
    request: Request, errors: Errors | None = None, values: dict[str, str] | None = None, status: int = 200
) -> Response:
    who = await _admin(request, TEAMS)
    if isinstance(who, Response):
        return who
    _, identity = who
    view = await load(request, lambda s: _teams_view(s, identity))
    done = request.query_params.get("done", "")
    return render(
        request,
        "admin_teams.html",
        {
            **view,
            "errors": errors or Errors(),
            "values": values or {},
            "done": done if done in ("created", "renamed") else "",
        },
        status=status,
    )


async def create_team(request: Request) -> Response:
    checked = await _admin_form(request, TEAMS)
    if isinstance(checked, Response):
        return checked
    identity, form = checked
    values = {"account_id": text(form, "account_id"), "name": text(form, "name")}
    try:
        body = TeamCreate(account_id=parse_id(values["account_id"]) or 0, name=values["name"])
        await load(request, lambda s: teams.create(s, identity, body))
    except ValidationError as exc:
        return await teams_page(request, from_validation(exc), values, 422)
    except ApiError as exc:
        return await teams_page(request, from_api_error(exc), values, exc.status)
    return RedirectResponse(f"{TEAMS}?done=created", status_code=303)


async def rename_team(request: Request) -> Response:
    team_id = int(request.path_params["team_id"])
    checked = await _admin_form(request, TEAMS)
    if isinstance(checked, Response):
        return checked
    identity, form = checked
    name = text(form, "name")
    try:
        body = TeamUpdate(name=name)
        await load(request, lambda s: teams.update(s, identity, team_id, {"name": body.name}))
    except ValidationError as exc:
        errors = from_validation(exc, {"name": f"team-{team_id}-name"})
        return await teams_page(request, errors, {f"team-{team_id}-name": name}, 422)
    except ApiError as exc:
        if exc.status == 404:
            return api_error_page(request, exc, "the team")
        errors = Errors(
            {f"team-{team_id}-name": exc.fields.get("name", exc.message) if exc.fields else exc.message}
        )
        return await teams_page(request, errors, {f"team-{team_id}-name": name}, 422)
    return RedirectResponse(f"{TEAMS}?done=renamed", status_code=303)


# --- agents -------------------------------------------------------------------------------------


def _bool_param(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw)


async def agents_page(request: Request) -> Response:
    who = await _admin(request, AGENTS)
    if isinstance(who, Response):
        return who
    _, identity = who
    params = request.query_params
    team_id = parse_id(params.get("team_id", ""))
    active = _bool_param(params.get("active", ""))
    cursor = params.get("cursor", "")
    query = AgentListQuery(
        team_id=team_id, active=active, limit=PAGE_SIZE, cursor=cursor if parse_id(cursor) else None
    )
    base = _base_url(request)

    def view(session: Session) -> dict[str, Any]:
        page = agents.listing(session, identity, query, base)
        teams_ = all_teams(session, identity)
        return {
            "agents": page.items,
            "next_cursor": page.next_cursor,
            "teams": teams_,
            "team_names": {t.id: t.name for t in teams_},
            "account_names": {a.id: a.name for a in all_accounts(session, identity)},
        }

    data = await load(request, view)
    next_url = None
    if data["next_cursor"]:
        keep = {k: v for k, v in (("team_id", team_id), ("active", params.get("active"))) if v}
        next_url = f"{AGENTS}?{urlencode({**keep, 'cursor': data['next_cursor']})}"
    done = request.query_params.get("done", "")
    imported = request.query_params.get("imported", "")
    return render(
        request,
        "admin_agents.html",
        {
            **data,
            "filter_team": team_id,
            "filter_active": params.get("active", ""),
            "next_url": next_url,
            "done": done if done in ("created", "saved") else "",
            "imported": imported if imported.isdigit() and len(imported) <= 6 else "",
        },
    )


def _form_values(agent: AgentOut | None) -> dict[str, str]:
    if agent is None:
        return {"active": "on"}
    values = {
        "name": agent.name,
        "email": agent.email or "",
        "team_id": str(agent.team_id),
        "active": "on" if agent.active else "",
        "bio": agent.bio,
        "hobbies": "\n".join(agent.hobbies),
        "photo_url": agent.photo_url or "",
    }
    values.update({f"ext_{system}": value for system, value in agent.external_ids.items()})
    return values


async def _agent_form(
    request: Request,
    identity: Identity,
    agent: AgentOut | None,
    values: dict[str, str],
    errors: Errors,
    status: int = 200,
) -> Response:
    def view(session: Session) -> dict[str, Any]:
        return {
            "teams": all_teams(session, identity),
            "account_names": {a.id: a.name for a in all_accounts(session, identity)},
        }

    data = await load(request, view)
    systems = helpdesks()
    known = {s for s, _ in systems}
    # Ids of systems without a connector (set through the API) are kept and shown too.
    extra = sorted(k.removeprefix("ext_") for k in values if k.startswith("ext_") and k[4:] not in known)
    return render(
        request,
        "admin_agent_form.html",
        {
            **data,
            "agent": agent,
            "values": values,
            "errors": errors,
            "helpdesks": systems + [(s, s) for s in extra],
            "saved": request.query_params.get("saved") == "1",
        },
        status=status,
    )


def _fields(form: Any, systems: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The form as typed (to show again) and as the API's fields."""
    values = {
        name: text(form, name)
        for name in ("name", "email", "team_id", "active", "bio", "hobbies", "photo_url")
    }
    external: dict[str, str] = {}
    for system in systems:
        raw = text(form, f"ext_{system}")
        values[f"ext_{system}"] = raw
        if raw.strip():
            external[system] = raw
    fields: dict[str, Any] = {
        "name": values["name"],
        "email": values["email"].strip() or None,
        "team_id": parse_id(values["team_id"]) or 0,
        "active": values["active"] == "on",
        "bio": values["bio"].replace("\r\n", "\n"),
        "hobbies": lines(values["hobbies"]),
        "photo_url": values["photo_url"].strip() or None,
        "external_ids": external,
    }
    return values, fields


def _systems(form: Any) -> list[str]:
    names = {s for s, _ in helpdesks()}
    names |= {k.removeprefix("ext_") for k in form if k.startswith("ext_") and 4 < len(k) <= 44}
    return sorted(names)


async def new_agent_page(request: Request) -> Response:
    who = await _admin(request, f"{AGENTS}/new")
    if isinstance(who, Response):
        return who
    _, identity = who
    team = request.query_params.get("team_id", "")
    values = _form_values(None)
    if parse_id(team):
        values["team_id"] = team
    return await _agent_form(request, identity, None, values, Errors())


async def create_agent(request: Request) -> Response:
    checked_form = await _admin_form(request, f"{AGENTS}/new", _limit(request) + 1)
    if isinstance(checked_form, Response):
        return checked_form
    identity, form = checked_form
    values, fields = _fields(form, _systems(form))
    errors = Errors()
    photo = await read_photo(form, _limit(request), errors)
    body: AgentCreate | None = None
    try:
        body = AgentCreate(**fields)
    except ValidationError as exc:
        for name, message in from_validation(exc).fields.items():
            errors.add(name, message)
    if errors or body is None:
        return await _agent_form(request, identity, None, values, errors, 422)
    base = _base_url(request)
    checked = body

    def save(session: Session) -> AgentOut:
        out = agents.create(session, identity, checked, base)
        if photo is not None:
            out = agents.store_photo(session, identity, out.id, photo[1], photo[0], base)
        return out

    try:
        out = await load(request, save)
    except ApiError as exc:
        return await _agent_form(request, identity, None, values, from_api_error(exc), 422)
    return RedirectResponse(f"{AGENTS}/{out.id}?saved=1", status_code=303)


async def _load_agent(request: Request, identity: Identity, agent_id: int) -> AgentOut | Response:
    base = _base_url(request)
    try:
        return await load(request, lambda s: agents.get(s, identity, agent_id, base))
    except ApiError as exc:
        return api_error_page(request, exc, "the agent")


async def agent_page(request: Request) -> Response:
    agent_id = int(request.path_params["agent_id"])
    who = await _admin(request, f"{AGENTS}/{agent_id}")
    if isinstance(who, Response):
        return who
    _, identity = who
    agent = await _load_agent(request, identity, agent_id)
    if isinstance(agent, Response):
        return agent
    return await _agent_form(request, identity, agent, _form_values(agent), Errors())


async def update_agent(request: Request) -> Response:
    agent_id = int(request.path_params["agent_id"])
    checked_form = await _admin_form(request, f"{AGENTS}/{agent_id}", _limit(request) + 1)
    if isinstance(checked_form, Response):
        return checked_form
    identity, form = checked_form
    agent = await _load_agent(request, identity, agent_id)
    if isinstance(agent, Response):
        return agent
    values, fields = _fields(form, _systems(form))
    errors = Errors()
    photo = await read_photo(form, _limit(request), errors)
    changes: dict[str, Any] = {}
    try:
        checked = AgentUpdate(**fields)
        changes = {name: getattr(checked, name) for name in fields}
    except ValidationError as exc:
        for name, message in from_validation(exc).fields.items():
            errors.add(name, message)
    if errors:
        return await _agent_form(request, identity, agent, values, errors, 422)
    # Only what differs is changed (and audited). The form shows every helpdesk id the agent
    # has, so the ids sent are the whole set: an emptied field removes that id.
    current = agent.model_dump()
    changes = {k: v for k, v in changes.items() if current.get(k) != v}
    base = _base_url(request)

    def save(session: Session) -> AgentOut:
        out = agents.update(session, identity, agent_id, changes, base) if changes else agent
        if photo is not None:
            out = agents.store_photo(session, identity, agent_id, photo[1], photo[0], base)
        return out

    try:
        await load(request, save)
    except ApiError as exc:
        if exc.status == 404:
            return api_error_page(request, exc, "the agent")
        return await _agent_form(request, identity, agent, values, from_api_error(exc), 422)
    if "team_id" in changes:
        # After the commit: open subscriptions are authorised again (as the API's PATCH does).
        await reach_changed(request.app.state.ctx, identity.org_id)
    return RedirectResponse(f"{AGENTS}/{agent_id}?saved=1", status_code=303)


routes: list[BaseRoute] = [
    Route(TEAMS, teams_page, methods=["GET"], name="admin_teams"),
    Route(TEAMS, closes_form(create_team), methods=["POST"], name="admin_teams_create"),
    Route(
        TEAMS + "/{team_id:int}/rename", closes_form(rename_team), methods=["POST"], name="admin_teams_rename"
    ),
    Route(AGENTS, agents_page, methods=["GET"], name="admin_agents"),
    Route(AGENTS + "/new", new_agent_page, methods=["GET"], name="admin_agents_new"),
    Route(AGENTS + "/new", closes_form(create_agent), methods=["POST"], name="admin_agents_create"),
    Route(AGENTS + "/{agent_id:int}", agent_page, methods=["GET"], name="admin_agent"),
    Route(AGENTS + "/{agent_id:int}", closes_form(update_agent), methods=["POST"], name="admin_agent_update"),
]
