"""``/agents/{agent_id}/one-on-one``: the printable 1:1 sheet of one agent for one period.

Rendered on the server (no script): the period picker is a plain GET form, and a print
stylesheet (``static/css/one_on_one.css``, ``@media print``) leaves out the navigation and the
controls and fits the sheet on A4. ``streamsrv.coaching.one_on_one`` gathers the data and checks
who may read it: managers and administrators of the agent's account, the agent's team leaders,
and the agent (their own sheet only).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from streamsrv.auth import user_identity
from streamsrv.coaching import one_on_one
from streamsrv.errors import ApiError
from streamsrv.ids import MAX_ID
from streamsrv.models import utcnow
from streamsrv.pages.session import current_user, load, to_login
from streamsrv.scorecard import Blended
from streamsrv.templating import error_page, render

# The trend chart's drawing box (SVG user units): ratings 1-5 from the bottom to the top.
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_PAD = 24


def trend_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where each average sits in the chart (points without responses are left out)."""
    step = (CHART_WIDTH - 2 * CHART_PAD) / max(1, len(points) - 1)
    out = []
    for i, point in enumerate(points):
        average = point["average_rating"]
        if average is None:
            continue
        y = CHART_HEIGHT - CHART_PAD - (average - 1) / 4 * (CHART_HEIGHT - 2 * CHART_PAD)
        out.append({"x": round(CHART_PAD + i * step, 1), "y": round(y, 1), **point})
    return out


def components(result: Blended) -> list[dict[str, Any]]:
    return [part.json() for part in result.parts]


async def sheet_page(request: Request) -> Response:
    agent_id: int = request.path_params["agent_id"]
    path = f"/agents/{agent_id}/one-on-one"
    user = await current_user(request)
    if user is None:
        return to_login(path + (f"?{request.url.query}" if request.url.query else ""))
    identity = user_identity(user)
    if not 1 <= agent_id <= MAX_ID:
        return error_page(request, 404, "Not found", "There is no such agent.")
    now = utcnow()
    params = {k: v for k, v in request.query_params.items() if k in ("period", "from_date", "to_date")}
    try:
        query = one_on_one.read_query(params)
        data = await load(request, lambda s: one_on_one.sheet(s, identity, agent_id, query, now))
    except ApiError as exc:
        if exc.status == 403:
            return error_page(
                request, 403, "Not for your role", "1:1 pages are for managers, team leaders and the agent."
            )
        if exc.status == 404:
            return error_page(request, 404, "Not found", "There is no such agent in your teams.")
        return error_page(request, 422, "That period cannot be shown", exc.message)
    win = data["window"]
    return render(
        request,
        "one_on_one.html",
        {
            **data,
            "path": path,
            "periods": list(one_on_one.PERIOD_LABELS.items()),
            "period_label": one_on_one.PERIOD_LABELS[win.period],
            "first_day": win.first.strftime("%d %b %Y"),
            "last_day": win.last.strftime("%d %b %Y"),
            "from_date": win.first.isoformat(),
            "to_date": win.last.isoformat(),
            "components": components(data["blended"]),
            "points": trend_points(data["trend"]),
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT, "pad": CHART_PAD},
        },
    )


routes: list[BaseRoute] = [
    Route("/agents/{agent_id:int}/one-on-one", sheet_page, methods=["GET"], name="one_on_one"),
]
