"""``/coach``: the team leader's micro-coaching panel.

The page renders the selected team's alerts server-side, split into "Needs attention" and "Great
moments", filtered by kind and agent (``?kind=&agent_id=``, a plain GET form), with the true
count of open alerts and an "Acknowledge selected" form: all of it works without scripts. The
script (static/js/coach.js) then reloads the same snapshot from ``GET /api/v1/coach`` with the
same filter and stays live on ``team:{id}`` (feedback) and ``coach:{id}`` (alerts,
acknowledgements, notes, shout-outs), showing only live alerts the filter covers. A table lists
each agent's rewards earned this month (``streamsrv.earnings``: the statement's figures, cap and
adjustments applied); a row is reloaded from ``GET /api/v1/agents/{id}/earnings`` on each
``ledger.updated`` of the team's ``coach:{id}`` stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streamsrv import earnings as running_totals
from streamsrv import labels, ledger
from streamsrv.auth import user_identity
from streamsrv.coaching import panel
from streamsrv.coaching.access import COACH_ROLES, coachable_teams
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import Account, utcnow
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.periods import zone
from streamsrv.security import csrf
from streamsrv.templating import error_page, render

PAGE = "/coach"
# What the kinds of alert are called on the page, in the filter and (via a data attribute) by
# the script that adds live alerts.
KIND_LABELS = {code: labels.alert_kind_label(code) for code in labels.ALERT_KIND_LABELS}
MORE_STEP = panel.OPEN_ALERTS


def _id(raw: str) -> int | None:
    if raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    return None


def requested_team(request: Request) -> int | None:
    return _id(request.query_params.get("team_id", ""))


def requested_filter(params: QueryParams | Any) -> panel.AlertFilter:
    """The kind and agent filter of a query string or form; unknown values mean "all"."""
    kind = str(params.get("kind") or "")
    return panel.AlertFilter(
        kind if kind in panel.ALERT_KINDS else None, _id(str(params.get("agent_id") or ""))
    )


def requested_limit(request: Request) -> int:
    raw = request.query_params.get("open_limit", "")
    if raw.isdigit() and len(raw) <= 4:
        return max(1, min(int(raw), panel.MAX_OPEN_ALERTS))
    return panel.OPEN_ALERTS


def local_times(alerts: list[dict[str, Any]], time_zone: str | None) -> dict[int, str]:
    """When each alert was raised, as the floor reads it without scripts: the account's local
    "14:05" today, else "23 Nov" (the script re-renders it in the same zone)."""
    tz = zone(time_zone)
    today = utcnow().astimezone(tz).date()
    out: dict[int, str] = {}
    for alert in alerts:
        local = datetime.fromisoformat(str(alert["created_at"]).replace("Z", "+00:00")).astimezone(tz)
        out[int(alert["id"])] = local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b")
    return out


def page_url(team_id: int | None, where: panel.AlertFilter, **extra: Any) -> str:
    params: dict[str, Any] = {}
    if team_id is not None:
        params["team_id"] = team_id
    if where.kind is not None:
        params["kind"] = where.kind
    if where.agent_id is not None:
        params["agent_id"] = where.agent_id
    params.update({k: v for k, v in extra.items() if v is not None})
    return PAGE + (f"?{urlencode(params)}" if params else "")


async def coach(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(PAGE + (f"?{request.url.query}" if request.url.query else ""))
    if user.role not in COACH_ROLES:
        return error_page(
            request, 403, "Not for your role", "The coaching panel is for team leaders and managers."
        )
    identity = user_identity(user)
    where = requested_filter(request.query_params)
    limit = requested_limit(request)
    wanted = requested_team(request)
    now = utcnow()

    def read(session: Any) -> tuple[list[Any], Any, dict[str, Any] | None, list[dict[str, Any]]]:
        teams = coachable_teams(session, identity)
        # An unknown or foreign team id falls back to the first team: the picker never leaks names.
        selected = next((t for t in teams if t.id == wanted), teams[0] if teams else None)
        snap = None
        totals: list[dict[str, Any]] = []
        if selected is not None:
            snap = panel.snapshot(session, identity, selected.id, now, where, limit)
            totals = team_totals(session, selected.account_id, selected.id or 0, now)
        return teams, selected, snap, totals

    teams, selected, snap, totals = await load(request, read)
    empty: dict[str, Any] = {"open": [], "recent": [], "open_count": 0, "open_limit": limit}
    alerts: dict[str, Any] = snap["alerts"] if snap else empty
    attention = [a for a in alerts["open"] if a["rule"] in panel.ATTENTION_RULES]
    moments = [a for a in alerts["open"] if a["rule"] in panel.MOMENT_RULES]
    shown = len(alerts["open"])
    team_id = selected.id if selected else None
    more_url = None
    if shown < alerts["open_count"]:
        more_url = page_url(team_id, where, open_limit=min(limit + MORE_STEP, panel.MAX_OPEN_ALERTS))
    return render(
        request,
        "coach.html",
        {
            "teams": teams,
            "selected": selected,
            "agents": snap["agents"] if snap else [],
            "where": where,
            "kinds": KIND_LABELS,
            "attention": attention,
            "moments": moments,
            "shoutouts": snap["shoutouts"] if snap else [],
            "times": local_times(alerts["open"], snap["time_zone"] if snap else None),
            "open_count": alerts["open_count"],
            "open_limit": limit,
            "shown": shown,
            "more_url": more_url if shown < panel.MAX_OPEN_ALERTS else None,
            "acknowledged": request.query_params.get("acknowledged", ""),
            # --- statements (issue 13): the team's running totals of the month ---
            "earnings": totals,
            "earnings_month": totals[0]["month"] if totals else "",
            "earnings_cap": totals[0]["cap"] if totals else None,
            "earnings_currency": totals[0]["currency"] if totals else "",
        },
    )


def team_totals(session: Any, account_id: int, team_id: int, now: datetime) -> list[dict[str, Any]]:
    """Each active agent's running total of rewards this month (as the statement will pay it)."""
    account = session.get(Account, account_id)
    if account is None:
        return []
    month = ledger.month_key(now, account.time_zone)
    agents = running_totals.agents_of_team(session, team_id)
    by_agent = running_totals.team_earnings(session, account, agents, month)
    return [by_agent[a.id] for a in agents if a.id is not None]


async def acknowledge_selected(request: Request) -> Response:
    """``POST /coach/acknowledge``: the checked alerts, acknowledged in one request."""
    user = await current_user(request)
    if user is None:
        return to_login(PAGE)
    form = await request.form()
    if not csrf.verify(request, str(form.get(csrf.FIELD) or "")):
        return error_page(
            request, 403, "Please try again", "The form expired; reload the page and select the alerts again."
        )
    if user.role not in COACH_ROLES:
        return error_page(
            request, 403, "Not for your role", "The coaching panel is for team leaders and managers."
        )
    team_id = _id(str(form.get("team_id") or ""))
    if team_id is None:
        return error_page(request, 404, "Not found", "This team does not exist.")
    raw_ids = [str(v) for v in form.getlist("alert_id")]
    alert_ids = [_id(v) for v in raw_ids]
    if not raw_ids:
        return error_page(
            request,
            422,
            "Nothing selected",
            "Tick the alerts to acknowledge, then press \u201cAcknowledge selected\u201d.",
        )
    if any(a is None for a in alert_ids):
        return error_page(request, 404, "Not found", "One of these alerts does not exist.")
    identity = user_identity(user)
    where = requested_filter(form)
    now = utcnow()
    ids = [a for a in alert_ids if a is not None]
    try:
        done = await load(
            request, lambda session: panel.acknowledge_many(session, identity, team_id, ids, now)
        )
    except ApiError as exc:
        titles = {403: "Not allowed", 404: "Not found", 422: "Cannot acknowledge them"}
        return error_page(request, exc.status, titles.get(exc.status, "Cannot acknowledge them"), exc.message)
    return RedirectResponse(page_url(team_id, where, acknowledged=done), status_code=303)


routes: list[BaseRoute] = [
    Route(PAGE, coach, methods=["GET"], name="coach"),
    Route(PAGE + "/acknowledge", acknowledge_selected, methods=["POST"], name="coach_acknowledge"),
]
