"""The public HTTP API v1 (``/api/v1``). Each module owns one resource and exports ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.api import (
    accounts,
    agents,
    apikeys,
    feedback,
    interactions,
    responses,
    stream_tokens,
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
    *responses.routes,
    *feedback.routes,
    *stream_tokens.routes,
]
