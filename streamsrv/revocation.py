"""Revocation reaches live sockets: closing every websocket of a credential on every node.

API handlers call ``drop_credential`` after a revocation commits (an API key deleted, a user
deactivated or narrowed, a display removed). The message travels on the hub's control channel,
so every node's ``SocketRegistry`` closes that credential's sockets with 4401 and forgets what
it had cached for it; the client's next connection is authenticated afresh.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from streamsrv import protocol
from streamsrv.auth import KEY_CACHE

if TYPE_CHECKING:
    from streamsrv.context import AppContext
    from streamsrv.hub import Hub

log = logging.getLogger("streamsrv.revocation")

DROP = "drop"


class LiveSocket(Protocol):
    def close_soon(self, code: int, reason: str) -> None: ...


class SocketRegistry:
    """Live connections by credential, so a revocation on any node closes them everywhere."""

    def __init__(self, hub: Hub) -> None:
        self.by_credential: dict[str, set[LiveSocket]] = {}
        hub.control_handlers.append(self._on_control)

    def add(self, credential: str, conn: LiveSocket) -> None:
        self.by_credential.setdefault(credential, set()).add(conn)

    def remove(self, credential: str, conn: LiveSocket) -> None:
        conns = self.by_credential.get(credential)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_credential[credential]

    def _on_control(self, data: bytes) -> None:
        verb, _, credential = data.decode(errors="replace").partition(" ")
        if verb != DROP:
            return
        forget_cached(credential)
        for conn in list(self.by_credential.get(credential, ())):
            conn.close_soon(protocol.CLOSE_UNAUTHORIZED, "credentials revoked")


def forget_cached(credential: str) -> None:
    kind, _, ident = credential.partition(":")
    if kind == "apikey" and ident.isdigit():
        KEY_CACHE.forget_key(int(ident))


async def drop_credential(ctx: AppContext, credential: str) -> None:
    """Close every live socket of ``credential`` on every node (after a revocation commits)."""
    forget_cached(credential)
    hub: Hub | None = ctx.services.get("hub")
    if hub is not None:
        try:
            await hub.broadcast(f"{DROP} {credential}")
        except Exception:  # noqa: BLE001 - revocation already holds; sockets re-check on reconnect
            log.warning("could not broadcast the revocation of %s", credential)
