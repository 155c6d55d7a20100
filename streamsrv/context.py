"""Per-process application state, built in the lifespan and reached via ``request.app.state.ctx``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from starlette.templating import Jinja2Templates

from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.security.tokens import Signer


@dataclass(frozen=True)
class LoginHint:
    role: str
    email: str
    sees: str


@dataclass(frozen=True)
class LoginHints:
    """Logins the login page lists: the demo hands over its own; a real install has none."""

    logins: tuple[LoginHint, ...]
    password: str


@dataclass
class AppContext:
    settings: Settings
    db: Database
    signer: Signer
    templates: Jinja2Templates
    redis: Redis | None = None
    # Long-lived services started by the lifespan (relay, hub, embedded Redis), by name.
    services: dict[str, Any] = field(default_factory=dict)
    login_hints: LoginHints | None = None

    @property
    def demo(self) -> bool:
        """Serving ``streamsrv demo``: only the demo hands over logins (and shows its outbox)."""
        return self.login_hints is not None
