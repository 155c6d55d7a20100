"""Server-rendered pages (Jinja2). Each module owns one page or flow and exports ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.pages import (
    account_links,
    admin,
    admin_accounts,
    admin_agents,
    admin_api_keys,
    admin_displays,
    admin_import,
    admin_users,
    chrome,
    coach,
    dashboard,
    home,
    integrations,
    live,
    login,
    me,
    outbox,
    profile,
    qa,
    recovery,
    settings,
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
    *qa.routes,
    *admin_users.routes,
    *account_links.routes,
    *settings.routes,
    *admin_agents.routes,
    *admin_import.routes,
    *profile.routes,
    *chrome.routes,
    *admin.routes,
    *admin_accounts.routes,
    *admin_displays.routes,
    *admin_api_keys.routes,
]
