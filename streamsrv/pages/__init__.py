"""Server-rendered pages (Jinja2). Each module owns one page or flow and exports ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from streamsrv.pages import home, live, login, survey

routes: list[BaseRoute] = [*home.routes, *live.routes, *login.routes, *survey.routes]
