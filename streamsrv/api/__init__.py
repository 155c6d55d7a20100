"""The public HTTP API v1 (``/api/v1``). Each module owns one resource and exports ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.api import (
    accounts,
    agents,
    apikeys,
    boards,
    coaching,
    dashboard,
    displays,
    feedback,
    interaction_state,
    interactions,
    me,
    moderation,
    recovery,
    responses,
    smtp_settings,
    stream_tokens,
    suppressions,
    teams,
    users,
)

routes: list[BaseRoute] = [
    *accounts.routes,
    *teams.routes,
    *agents.routes,
    *users.routes,
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
    *moderation.routes,
    *smtp_settings.routes,
    *suppressions.routes,
]
