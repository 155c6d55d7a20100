"""``GET /ws``: the websocket adapter around the hub and the stream protocol.

Per connection: authenticate (session cookie with an Origin check, ``?token=`` stream token, or a
Bearer API key), then a receive loop that parses client frames, authorises each ``sub``
server-side and attaches it to the hub. Outgoing frames go into a byte-bounded send buffer (on
uvicorn: the transport's own, written with frames encoded once per event); a client that lets
it overflow is closed with ``CLOSE_SLOW_CONSUMER`` and resumes elsewhere with its cursors, so it
never slows anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamsrv import metrics, protocol
from streamsrv.auth import (
    KEY_CACHE,
    SESSION_COOKIE,
    Identity,
    key_identity,
    lookup_api_key,
    session_user,
    user_identity,
)
from streamsrv.cache import TTLCache
from streamsrv.hub import Hub, Subscription
from streamsrv.protocol import Frame, ProtocolError
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


# uvicorn's websocket protocol classes whose transport may carry pre-encoded frames directly.
_RAW_PROTOCOLS = (
    ("uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol"),
    ("uvicorn.protocols.websockets.websockets_impl", "WebSocketProtocol"),
)
# How long a slow consumer's close frame may wait behind its full buffer before the socket is cut.
OVERFLOW_CLOSE_GRACE = 30.0


class RawSocket:
    """Direct access to the server's transport under one ASGI websocket.

    Every frame then costs one ``transport.write`` of bytes built once per event, instead of an
    ASGI message, an encoder call and a task switch per subscriber. The transport's own write
    buffer is the connection's send buffer; its size is what the byte bound is checked against.
    """

    __slots__ = ("open_state", "proto", "sansio", "transport")

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.transport: asyncio.Transport = proto.transport
        # Sans-I/O: ``close_sent`` is set before any close frame goes out (ours or the echo of
        # the client's, which also closes the transport). Legacy: its state leaves OPEN first.
        self.sansio = hasattr(proto, "close_sent")
        self.open_state: Any = None if self.sansio else proto.state

    def open(self) -> bool:
        # Checked before every frame: attribute reads only, no property chains.
        if self.transport.is_closing():
            return False
        if self.sansio:
            return not self.proto.close_sent
        return bool(self.proto.state is self.open_state and self.open_state.name == "OPEN")


def _raw_protocol_types() -> tuple[type, ...]:
    # Only modules uvicorn already imported: importing the legacy one would warn for nothing.
    found = []
    for module, name in _RAW_PROTOCOLS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(getattr(mod, name, None), type):
            found.append(getattr(mod, name))
    return tuple(found)


def _find_protocol(send: Any, types: tuple[type, ...], depth: int = 0) -> Any:
    """The uvicorn protocol behind ``send``, through the middlewares' wrapping closures."""
    owner = getattr(send, "__self__", None)
    if owner is not None and isinstance(owner, types):
        return owner
    if depth >= 8:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if callable(value) and not isinstance(value, type):
            found = _find_protocol(value, types, depth + 1)
            if found is not None:
                return found
    return None


def raw_socket(websocket: WebSocket) -> RawSocket | None:
    """A ``RawSocket`` for an accepted websocket served by uvicorn, else None (ASGI path)."""
    types = _raw_protocol_types()
    if not types:
        return None
    proto = _find_protocol(getattr(websocket, "_send", None), types)
    if proto is None or getattr(proto, "transport", None) is None:
        return None
    raw = RawSocket(proto)
    return raw if raw.open() else None


class _DeliveredCounter:
    """Counts raw frame writes and adds them to the metric once per loop turn, not per frame:
    the metric's lock would otherwise be a visible share of a 5,000-subscriber fan-out."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = 0

    def add(self) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending += 1

    def flush(self) -> None:
        pending, self.pending = self.pending, 0
        metrics.FRAMES_DELIVERED.inc(pending)


_delivered = _DeliveredCounter()


class Connection:
    """The sink the hub writes into, bounded in bytes.

    On uvicorn, frames go straight to the transport (``RawSocket``) and its write buffer is the
    bound: no queue and no task per connection, which is what keeps idle sockets small and fan-out
    cheap. On any other server, a deque drained by one writer task through ASGI does the same job.
    """

    __slots__ = (
        "_closer",
        "_wake",
        "_writer",
        "closed",
        "limit",
        "overflowed",
        "queue",
        "queued",
        "raw",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, limit: int) -> None:
        self.websocket = websocket
        self.limit = limit
        self.closed = False
        self.overflowed = False
        self._closer: asyncio.Task[None] | None = None
        self.raw = raw_socket(websocket)
        # The ASGI fallback's queue, event and task exist only without a raw socket: an empty
        # deque alone is most of a kilobyte, on every idle connection.
        self.queue: deque[Frame] | None = None
        self.queued = 0
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        if self.raw is None:
            self.queue = deque()
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._drain())

    def send_frame(self, frame: Frame | str) -> None:
        if self.closed:
            return
        if isinstance(frame, str):
            frame = Frame(frame)
        raw = self.raw
        if raw is not None:
            if not raw.open():
                return  # the receive loop sees the disconnect and cleans up
            transport = raw.transport
            transport.write(frame.wire)
            _delivered.add()
            if transport.get_write_buffer_size() > self.limit:
                self._overflow()
            return
        assert self.queue is not None and self._wake is not None
        self.queue.append(frame)
        self.queued += len(frame)
        if self.queued > self.limit:
            self._overflow()
            return
        self._wake.set()

    def _overflow(self) -> None:
        self.closed = True
        self.overflowed = True
        if self.queue is not None:
            self.queue.clear()
        self.queued = 0
        metrics.SLOW_DISCONNECTS.inc()
        self._cancel_writer()
        self._closer = asyncio.create_task(
            self._close(protocol.CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and resume")
        )
        if self.raw is not None:
            # The close frame queues behind what the client has not read; one that never reads
            # again must not hold the socket forever.
            asyncio.get_running_loop().call_later(OVERFLOW_CLOSE_GRACE, self.raw.transport.abort)

    def _cancel_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    async def _drain(self) -> None:
        ws = self.websocket
        assert self._wake is not None and self.queue is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                frame = self.queue.popleft()
                self.queued -= len(frame)
                await ws.send_text(frame.text)
                metrics.FRAMES_DELIVERED.inc()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def close_soon(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_writer()
        self._closer = asyncio.create_task(self._close(code, reason))

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._cancel_writer()
        await self._close(code, reason)

    async def stop(self) -> None:
        self.closed = True
        if self._writer is not None:
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
        identity = KEY_CACHE.get(key_text)
        if identity is None:

            def by_key(session: Session) -> Identity | None:
                key = lookup_api_key(session, key_text)
                return key_identity(key) if key is not None else None

            identity = await ctx.db.run(by_key)
            if identity is not None:
                KEY_CACHE.put(key_text, identity)
        return identity if identity is not None and identity.has("streams") else None
    if cookie:

        def by_cookie(session: Session) -> Identity | None:
            user = session_user(ctx, session, cookie)
            return user_identity(user) if user is not None else None

        return await ctx.db.run(by_cookie)
    return None


MISSING: Any = object()
# A few seconds of memory for authorisation lookups, so that thousands of clients reconnecting at
# once (a node restart, a network blip) do not each cost database round trips. Scope changes
# reach live sockets through ``drop_credential``, which makes them reconnect. Where a stream's
# subject sits (agent -> team -> account) rarely changes; 5 s is safe.
OWNER_CACHE: TTLCache[tuple[int, str], Owner] = TTLCache()
REACH_CACHE: TTLCache[Identity, Reach] = TTLCache()


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
        if self._reach is None:
            self._reach = REACH_CACHE.get(self.identity)
        if ref.name not in self._owners:
            self._owners[ref.name] = OWNER_CACHE.get((self.identity.org_id, ref.name), MISSING)
        if self._owners[ref.name] is MISSING or self._reach is None:

            def load(session: Session) -> tuple[Reach, Owner | None]:
                reach = self._reach or resolve_reach(session, self.identity)
                return reach, resolve_owner(session, self.identity.org_id, ref)

            reach, owner = await self.ctx.db.run(load)
            self._reach = reach
            self._owners[ref.name] = owner
            REACH_CACHE.put(self.identity, reach)
            if owner is not None:
                # Refusals are not remembered: a stream may come into existence any moment.
                OWNER_CACHE.put((self.identity.org_id, ref.name), owner)
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
        return  # the client left; the finally block below undoes everything
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
