"""``GET /ws``: authenticate, then answer client frames until the socket closes.

Per connection: the credential is checked once (``credentials``), then a receive loop parses
client frames, authorises each ``sub`` server-side (``authz``) and attaches it to the hub, whose
frames go into the connection's bounded sink (``connection``). When the organization's reach
changes (``streamsrv.revocation.reach_changed``), every open subscription is authorised again
and those no longer allowed are dropped with a ``forbidden`` error frame.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamsrv import metrics, protocol
from streamsrv.auth import Identity
from streamsrv.hub import Hub, Subscription
from streamsrv.protocol import ProtocolError, parse_stream
from streamsrv.revocation import SocketRegistry
from streamsrv.ws.authz import Authoriser
from streamsrv.ws.connection import Connection
from streamsrv.ws.credentials import authenticate_ws, cookie_from_foreign_origin
from streamsrv.ws.fastpath import FastPath
from streamsrv.ws.ratelimit import MAX_DROPPED, RateLimiter

if TYPE_CHECKING:
    from streamsrv.context import AppContext

log = logging.getLogger("streamsrv.ws")

MAX_SUBSCRIPTIONS = 64
NOT_YOURS = "you may not subscribe to this stream"
ACCESS_ENDED = "your access to this stream has ended"


class StreamSession:
    """One authenticated connection's protocol state."""

    __slots__ = ("_recheck", "authz", "conn", "generation", "hub", "paused", "subs")

    def __init__(self, ctx: AppContext, hub: Hub, identity: Identity, conn: Connection) -> None:
        self.hub = hub
        self.conn = conn
        self.authz = Authoriser(ctx, identity)
        self.subs: dict[str, Subscription] = {}
        # Bumped by every change of reach; subscriptions held until they are authorised again.
        self.generation = 0
        self.paused: dict[str, Subscription] = {}
        self._recheck: asyncio.Task[None] | None = None

    async def handle(self, frame: protocol.ClientFrame) -> None:
        if isinstance(frame, protocol.Ping):
            self.conn.send_frame(protocol.PONG)
        elif isinstance(frame, protocol.Sub):
            await self.subscribe(frame)
        else:
            sub = self.subs.pop(frame.stream.name, None)
            if sub is not None:
                await self.hub.detach(sub)
            self.conn.send_frame(protocol.unsubscribed(frame.stream.name))

    async def subscribe(self, frame: protocol.Sub) -> None:
        name = frame.stream.name
        if name in self.subs:
            raise ProtocolError(
                "bad_request", "already subscribed; unsub first to resume from a cursor", stream=name
            )
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} streams per connection", stream=name
            )
        generation = self.generation
        if not await self.authz.allows(frame.stream):
            # Same answer for "does not exist" and "not yours": ids are not probed this way.
            raise ProtocolError("forbidden", NOT_YOURS, stream=name)
        sub, recovered, replay = await self.hub.attach(name, self.conn, frame.since)
        # The reach changed while this one was being attached: it holds its events until it is
        # authorised again, like the subscriptions the change paused.
        while generation != self.generation:
            generation = self.generation
            if not await self.authz.allows(frame.stream):
                await self.hub.detach(sub)
                raise ProtocolError("forbidden", NOT_YOURS, stream=name)
        self.subs[name] = sub
        self.conn.send_frame(protocol.subscribed(name, recovered is True))
        if recovered is False:
            self.conn.send_frame(protocol.resync(name))
        self.hub.release(sub, replay)

    def close_soon(self, code: int, reason: str) -> None:
        self.conn.close_soon(code, reason)

    def reach_changed(self) -> None:
        """Hold every subscription's events from now on, then authorise them again.

        Called on the hub's control message, before the hub passes on any event published after
        the change, so nothing reaches a subscription that has just lost its access.
        """
        self.generation += 1
        self.authz.forget()
        for name, sub in self.subs.items():
            if self.paused.get(name) is not sub:
                sub.hold()
                self.paused[name] = sub
        if self._recheck is None and self.paused:
            self._recheck = asyncio.create_task(self._authorise_paused())

    async def _authorise_paused(self) -> None:
        try:
            # Changes may keep coming while this runs: nothing stays held once it returns.
            while self.paused:
                await self._authorise_paused_once()
        except Exception:
            # Events stay held; a fresh connection is authorised from scratch.
            log.exception("could not authorise a connection's subscriptions again; closing it")
            self.conn.close_soon(protocol.CLOSE_INTERNAL, "could not check access; reconnect")
        finally:
            self._recheck = None

    async def _authorise_paused_once(self) -> None:
        verdicts: dict[str, bool] = {}
        generation = -1
        while generation != self.generation:
            generation = self.generation
            self.authz.forget()
            verdicts = {name: await self.authz.allows(parse_stream(name)) for name in list(self.paused)}
        paused, self.paused = self.paused, {}
        refused = []
        for name, sub in paused.items():
            if self.subs.get(name) is not sub:
                continue  # unsubscribed meanwhile
            if verdicts[name]:
                sub.release()
            else:
                del self.subs[name]
                refused.append(sub)
                self.conn.send_frame(protocol.error("forbidden", ACCESS_ENDED, name))
        for sub in refused:
            await self.hub.detach(sub)

    async def close(self) -> None:
        if self._recheck is not None:
            # Not cancelled: it may be detaching refused subscriptions from the hub.
            await self._recheck
        subs, self.subs = self.subs, {}
        for sub in subs.values():
            await self.hub.detach(sub)


async def ws_endpoint(websocket: WebSocket) -> None:
    ctx: AppContext = websocket.app.state.ctx
    hub: Hub = ctx.services["hub"]
    if cookie_from_foreign_origin(websocket, ctx.settings.public_url):
        await websocket.accept()
        await websocket.close(protocol.CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    identity = await authenticate_ws(ctx, websocket)
    await websocket.accept()
    if identity is None:
        await websocket.close(protocol.CLOSE_UNAUTHORIZED, "authentication required")
        return
    fastpath: FastPath = ctx.services["fastpath"]
    conn = Connection(websocket, ctx.settings.ws_send_buffer_bytes, fastpath.socket(websocket))
    registry: SocketRegistry = ctx.services["sockets"]
    session = StreamSession(ctx, hub, identity, conn)
    registry.add(identity.credentials, identity.org_id, session)
    limiter = RateLimiter()
    max_frame = ctx.settings.ws_max_frame_bytes
    metrics.CONNECTIONS.inc()
    try:
        while not conn.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            if len(data) > max_frame:
                await conn.close(protocol.CLOSE_TOO_BIG, "frame too large")
                break
            if not limiter.allow():
                if limiter.dropped > MAX_DROPPED:
                    await conn.close(protocol.CLOSE_POLICY, "too many frames")
                    break
                if limiter.dropped % 10 == 1:
                    conn.send_frame(protocol.error("rate_limited", "slow down: frames are being dropped"))
                continue
            try:
                await session.handle(protocol.parse_client_frame(data))
            except ProtocolError as exc:
                conn.send_frame(protocol.error(exc.code, exc.message, exc.stream))
    except WebSocketDisconnect:
        return  # the client left; the finally block below undoes everything
    except RuntimeError:
        # Raised by Starlette when receiving after the socket was closed by the slow-consumer path.
        if not conn.closed:
            raise
    finally:
        registry.remove(identity.credentials, identity.org_id, session)
        metrics.CONNECTIONS.dec()
        await session.close()
        await conn.stop()


routes = [WebSocketRoute("/ws", ws_endpoint)]
