"""Revocation and changes of reach reach live sockets, on every node.

Two control messages travel on the hub's control channel, which every node hears on the same
Redis pub/sub connection as the streams' events, so a socket is dealt with before any event
committed after the change can reach it:

- ``drop <credential>``: API handlers send it after a revocation commits (an API key deleted, a
  user deactivated or changed, a login session ended, a display removed). Every node's
  ``SocketRegistry`` closes that credential's sockets with 4401 and forgets what it had cached
  for it; the client's next connection is authenticated afresh.
- ``reach <org_id>``: sent after a change of where a stream's subject sits in the organization
  (an agent moved to another team or account). Every node forgets the organization's cached
  authorisation answers and has each open connection of that organization re-check its
  subscriptions, dropping those no longer allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from streamsrv import protocol
from streamsrv.auth import KEY_CACHE

if TYPE_CHECKING:
    from streamsrv.context import AppContext
    from streamsrv.hub import Hub

log = logging.getLogger("streamsrv.revocation")

DROP = "drop"
REACH = "reach"

K = TypeVar("K")


class LiveSocket(Protocol):
    def close_soon(self, code: int, reason: str) -> None: ...

    def reach_changed(self) -> None:
        """Hold this connection's events now, then re-check its subscriptions."""


class SocketRegistry:
    """Live connections by credential and by organization, so a revocation or a change of reach
    on any node reaches them everywhere. ``forget_org`` clears an organization's cached
    authorisation answers."""

    def __init__(self, hub: Hub, forget_org: Callable[[int], None]) -> None:
        self.by_credential: dict[str, set[LiveSocket]] = {}
        self.by_org: dict[int, set[LiveSocket]] = {}
        self.forget_org = forget_org
        hub.control_handlers.append(self._on_control)

    def add(self, credentials: tuple[str, ...], org_id: int, conn: LiveSocket) -> None:
        for credential in credentials:
            self.by_credential.setdefault(credential, set()).add(conn)
        self.by_org.setdefault(org_id, set()).add(conn)

    def remove(self, credentials: tuple[str, ...], org_id: int, conn: LiveSocket) -> None:
        for credential in credentials:
            _discard(self.by_credential, credential, conn)
        _discard(self.by_org, org_id, conn)

    def _on_control(self, data: bytes) -> None:
        verb, _, subject = data.decode(errors="replace").partition(" ")
        if verb == DROP:
            forget_cached(subject)
            for conn in list(self.by_credential.get(subject, ())):
                conn.close_soon(protocol.CLOSE_UNAUTHORIZED, "credentials revoked")
        elif verb == REACH and subject.isdigit():
            org_id = int(subject)
            self.forget_org(org_id)
            for conn in list(self.by_org.get(org_id, ())):
                conn.reach_changed()


def _discard(index: dict[K, set[LiveSocket]], key: K, conn: LiveSocket) -> None:
    conns = index.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del index[key]


def forget_cached(credential: str) -> None:
    kind, _, ident = credential.partition(":")
    if kind == "apikey" and ident.isdigit():
        KEY_CACHE.forget_key(int(ident))


async def _broadcast(ctx: AppContext, message: str) -> None:
    hub: Hub | None = ctx.services.get("hub")
    if hub is not None:
        try:
            await hub.broadcast(message)
        except Exception:  # noqa: BLE001 - the change already holds; sockets re-check on reconnect
            log.warning("could not broadcast %r", message)


async def drop_credential(ctx: AppContext, credential: str) -> None:
    """Close every live socket of ``credential`` on every node (after a revocation commits)."""
    forget_cached(credential)
    await _broadcast(ctx, f"{DROP} {credential}")


async def reach_changed(ctx: AppContext, org_id: int) -> None:
    """Re-check the open subscriptions of ``org_id`` on every node (after the change commits)."""
    registry: SocketRegistry | None = ctx.services.get("sockets")
    if registry is not None:
        # This node's next subscription must not wait for the broadcast to come back.
        registry.forget_org(org_id)
    await _broadcast(ctx, f"{REACH} {org_id}")
