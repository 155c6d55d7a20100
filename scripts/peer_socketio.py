"""The peer for ``scripts/bench.py``: a python-socketio server deployed the way it scales out.

    .venv/bin/python scripts/peer_socketio.py --port 8100 --redis-url redis://127.0.0.1:6379/0

ASGI on uvicorn (uvloop, httptools, no per-message deflate: the same serving stack as
``streamsrv serve``), ``AsyncRedisManager`` on the same Redis as streamsrv. Clients connect to
``/socket.io/`` and emit ``join`` with a room name (acknowledged). Events enter over HTTP,
``POST /emit {"room": ..., "data": {...}}``, and ``sio.emit`` publishes them through Redis, whence
every node (here: this one) delivers ``ev`` to the room: the path a multi-node deployment takes.
``GET /healthz`` answers once the server is up.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import socketio
import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def build(redis_url: str, channel: str) -> Any:
    manager = socketio.AsyncRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, cors_allowed_origins=[])

    @sio.event  # type: ignore[untyped-decorator]
    async def join(sid: str, room: str) -> str:
        await sio.enter_room(sid, room)
        return "ok"

    async def respond(send: Send, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def http_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            await respond(send, 200, b'{"status":"ok"}')
            return
        if scope["path"] != "/emit" or scope["method"] != "POST":
            await respond(send, 404, b'{"error":"not found"}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            msg = orjson.loads(body)
            room, data = str(msg["room"]), msg["data"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await respond(send, 400, b'{"error":"expected {room, data}"}')
            return
        await sio.emit("ev", data, room=room)
        await respond(send, 200, b'{"ok":true}')

    return socketio.ASGIApp(sio, other_asgi_app=http_app)


def main() -> None:
    parser = argparse.ArgumentParser(description="python-socketio peer server for the benchmark")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--channel", default="bench-socketio")
    args = parser.parse_args()
    uvicorn.run(
        build(args.redis_url, args.channel),
        host=args.host,
        port=args.port,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        ws_per_message_deflate=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
