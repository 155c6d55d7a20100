"""Server-rendered pages (Jinja2). Each module owns one page or flow and exports ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.pages import (
    admin,
    admin_accounts,
    admin_api_keys,
    admin_displays,
    coach,
    dashboard,
    home,
    integrations,
    live,
    login,
    me,
    outbox,
    recovery,
    survey,
    unsubscribe,
    wallboard,
)

routes: list[BaseRoute] = [
    *home.routes,
    *live.routes,
    *login.routes,
    *survey.routes,
    *me.routes,
    *wallboard.routes,
    *coach.routes,
    *recovery.routes,
    *dashboard.routes,
    *unsubscribe.routes,
    *outbox.routes,
    *integrations.routes,
    *admin.routes,
    *admin_accounts.routes,
    *admin_displays.routes,
    *admin_api_keys.routes,
]
