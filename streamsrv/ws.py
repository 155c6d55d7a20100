"""``GET /ws``: the websocket adapter around the hub and the stream protocol.

Per connection: authenticate (session cookie with an Origin check, ``?token=`` stream token, or a
Bearer API key), then a receive loop that parses client frames, authorises each ``sub``
server-side and attaches it to the hub. Outgoing frames go through a bounded buffer drained by
one writer task; a client that lets it overflow is closed with ``CLOSE_SLOW_CONSUMER`` and
resumes elsewhere with its cursors, so it never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamsrv import metrics, protocol
from streamsrv.auth import SESSION_COOKIE, Identity, key_identity, lookup_api_key, session_user, user_identity
from streamsrv.hub import Hub, Subscription
from streamsrv.protocol import ProtocolError
from streamsrv.stream_auth import Owner, Reach, may_subscribe, resolve_owner, resolve_reach
from streamsrv.stream_tokens import identity_from_token

if TYPE_CHECKING:
    from streamsrv.context import AppContext

log = logging.getLogger("streamsrv.ws")

MAX_SUBSCRIPTIONS = 64
# Token bucket for client frames: a burst of 40, then 20 per second; far beyond what a client
# needs, far below what would let one socket keep a worker busy.
RATE_BURST = 40.0
RATE_PER_SECOND = 20.0
MAX_DROPPED = 200


class Connection:
    """The sink the hub writes into: a byte-bounded queue and one writer task."""

    def __init__(self, websocket: WebSocket, limit: int) -> None:
        self.websocket = websocket
        self.limit = limit
        self.queue: deque[str] = deque()
        self.queued = 0
        self.closed = False
        self.overflowed = False
        self._wake = asyncio.Event()
        self._writer = asyncio.create_task(self._drain())
        self._closer: asyncio.Task[None] | None = None

    def send_frame(self, frame: str) -> None:
        if self.closed:
            return
        self.queue.append(frame)
        self.queued += len(frame)
        if self.queued > self.limit:
            self._overflow()
            return
        self._wake.set()

    def _overflow(self) -> None:
        self.closed = True
        self.overflowed = True
        self.queue.clear()
        self.queued = 0
        metrics.SLOW_DISCONNECTS.inc()
        self._writer.cancel()
        self._closer = asyncio.create_task(
            self._close(protocol.CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and resume")
        )

    async def _drain(self) -> None:
        ws = self.websocket
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                frame = self.queue.popleft()
                self.queued -= len(frame)
                await ws.send_text(frame)
                metrics.FRAMES_DELIVERED.inc()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def close_soon(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._writer.cancel()
        self._closer = asyncio.create_task(self._close(code, reason))

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._writer.cancel()
        await self._close(code, reason)

    async def stop(self) -> None:
        self.closed = True
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer


class SocketRegistry:
    """Live connections by credential, so a revocation on any node closes them everywhere."""

    def __init__(self, hub: Hub) -> None:
        self.by_credential: dict[str, set[Connection]] = {}
        hub.control_handlers.append(self._on_control)

    def add(self, credential: str, conn: Connection) -> None:
        self.by_credential.setdefault(credential, set()).add(conn)

    def remove(self, credential: str, conn: Connection) -> None:
        conns = self.by_credential.get(credential)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_credential[credential]

    def _on_control(self, data: bytes) -> None:
        verb, _, credential = data.decode(errors="replace").partition(" ")
        if verb != "drop":
            return
        for conn in list(self.by_credential.get(credential, ())):
            conn.close_soon(protocol.CLOSE_UNAUTHORIZED, "credentials revoked")


async def drop_credential(ctx: AppContext, credential: str) -> None:
    """Close every live socket of ``credential`` on every node (after a revocation commits)."""
    hub: Hub | None = ctx.services.get("hub")
    if hub is not None:
        try:
            await hub.broadcast(f"drop {credential}")
        except Exception:  # noqa: BLE001 - revocation already holds; sockets re-check on reconnect
            log.warning("could not broadcast the revocation of %s", credential)


class RateLimiter:
    def __init__(self, burst: float = RATE_BURST, rate: float = RATE_PER_SECOND) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.stamp = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False


def _origin_ok(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: it cannot be riding a victim's cookie
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


async def authenticate_ws(ctx: AppContext, websocket: WebSocket) -> Identity | None:
    token = websocket.query_params.get("token")
    header = websocket.headers.get("authorization", "")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if token:
        return await identity_from_token(ctx, token)
    if header.lower().startswith("bearer "):
        key_text = header[7:].strip()

        def by_key(session: Session) -> Identity | None:
            key = lookup_api_key(session, key_text)
            return key_identity(key) if key is not None else None

        identity = await ctx.db.run(by_key)
        return identity if identity is not None and identity.has("streams") else None
    if cookie:

        def by_cookie(session: Session) -> Identity | None:
            user = session_user(ctx, session, cookie)
            return user_identity(user) if user is not None else None

        return await ctx.db.run(by_cookie)
    return None


class StreamSession:
    """One authenticated connection's protocol state."""

    def __init__(self, ctx: AppContext, hub: Hub, identity: Identity, conn: Connection) -> None:
        self.ctx = ctx
        self.hub = hub
        self.identity = identity
        self.conn = conn
        self.subs: dict[str, Subscription] = {}
        self._reach: Reach | None = None
        self._owners: dict[str, Owner | None] = {}

    async def authorised(self, ref: protocol.StreamRef) -> bool:
        if ref.name not in self._owners or self._reach is None:

            def load(session: Session) -> tuple[Reach, Owner | None]:
                reach = self._reach or resolve_reach(session, self.identity)
                return reach, resolve_owner(session, self.identity.org_id, ref)

            self._reach, self._owners[ref.name] = await self.ctx.db.run(load)
        owner = self._owners[ref.name]
        reach = self._reach
        return owner is not None and reach is not None and may_subscribe(self.identity, reach, ref, owner)

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
        if not await self.authorised(frame.stream):
            # Same answer for "does not exist" and "not yours": ids are not probed this way.
            raise ProtocolError("forbidden", "you may not subscribe to this stream", stream=name)
        sub, recovered, replay = await self.hub.attach(name, self.conn, frame.since)
        self.subs[name] = sub
        self.conn.send_frame(protocol.subscribed(name, recovered is True))
        if recovered is False:
            self.conn.send_frame(protocol.resync(name))
        self.hub.release(sub, replay)

    async def close(self) -> None:
        subs, self.subs = self.subs, {}
        for sub in subs.values():
            await self.hub.detach(sub)


async def ws_endpoint(websocket: WebSocket) -> None:
    ctx: AppContext = websocket.app.state.ctx
    hub: Hub = ctx.services["hub"]
    if (
        websocket.cookies.get(SESSION_COOKIE)
        and not websocket.query_params.get("token")
        and not _origin_ok(websocket)
    ):
        await websocket.accept()
        await websocket.close(protocol.CLOSE_FORBIDDEN_ORIGIN, "origin not allowed")
        return
    identity = await authenticate_ws(ctx, websocket)
    await websocket.accept()
    if identity is None:
        await websocket.close(protocol.CLOSE_UNAUTHORIZED, "authentication required")
        return
    conn = Connection(websocket, ctx.settings.ws_send_buffer_bytes)
    registry: SocketRegistry = ctx.services["sockets"]
    registry.add(identity.credential, conn)
    session = StreamSession(ctx, hub, identity, conn)
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
        pass
    except RuntimeError:
        # Raised by Starlette when receiving after the socket was closed by the slow-consumer path.
        if not conn.closed:
            raise
    finally:
        registry.remove(identity.credential, conn)
        metrics.CONNECTIONS.dec()
        await session.close()
        await conn.stop()


routes = [WebSocketRoute("/ws", ws_endpoint)]
