"""Placeholder: filled in by the live-surfaces work."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
