"""The public HTTP API v1 (``/api/v1``). Each module owns one resource and exports ``routes``.

A module is an adapter: its handlers, served by ``streamsrv.kernel``, call the feature modules
(``streamsrv.org``, ``survey``, ``coaching``, ...) and hold no queries of their own.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.api import (
    account_logo,
    accounts,
    agents,
    apikeys,
    boards,
    coaching,
    dashboard,
    displays,
    erasures,
    feedback,
    integrations,
    interaction_state,
    interactions,
    me,
    moderation,
    notification_channels,
    qa,
    recovery,
    responses,
    sessions,
    smtp_settings,
    statements,
    stream_tokens,
    suppressions,
    teams,
    users,
    webhooks,
)

routes: list[BaseRoute] = [
    *accounts.routes,
    *account_logo.routes,
    *teams.routes,
    *agents.routes,
    *users.routes,
    *sessions.routes,
    *apikeys.routes,
    *interactions.routes,
    *interaction_state.routes,
    *responses.routes,
    *feedback.routes,
    *stream_tokens.routes,
    *me.routes,
    *boards.routes,
    *displays.routes,
    *coaching.routes,
    *recovery.routes,
    *dashboard.routes,
    *statements.routes,
    *moderation.routes,
    *smtp_settings.routes,
    *suppressions.routes,
    *erasures.routes,
    *integrations.routes,
    *notification_channels.routes,
    *webhooks.routes,
    *qa.routes,
]
