"""Load-client worker for ``scripts/bench.py``: many websocket connections, or an HTTP publisher.

Runs as its own process (``python scripts/bench_clients.py``) so the load never shares an event
loop, or a core's worth of GIL, with the server or the coordinator. The coordinator drives it with
one JSON command per line on stdin and reads one JSON reply per line on stdout:

- ``connect``: open one websocket per entry of ``streams`` (``null`` = hold the connection idle),
  subscribe each and reply once every subscription is acknowledged;
- ``reset`` / ``collect``: forget / report what arrived (latency histogram, lost and duplicate
  events) once every connection has every expected event or the timeout passes;
- ``drop`` / ``resume``: cut every connection at once, then reconnect each with its last cursor;
- ``publish``: send events over raw keep-alive HTTP/1.1, open loop at a fixed rate or closed loop;
- ``close``: disconnect everything and exit.

Two wire protocols: streamsrv's stream protocol v1 and Socket.IO (engine.io v4 over a plain
websocket), so both servers are measured with the same client code. Events carry their send time
(``time.time_ns()``, one clock for every process on the box), so latency is measured per frame.
Every wait is bounded by a timeout from the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from collections import Counter
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

# Latencies are kept as a histogram of 0.1 ms buckets: exact enough, and a few KB to report.
BUCKET_US = 100
CONNECT_CONCURRENCY = 200
CONNECT_ATTEMPTS = 6


class Stats:
    """What one worker observed since the last ``reset``."""

    def __init__(self) -> None:
        self.hist: Counter[int] = Counter()
        self.max_us = 0
        self.frames = 0
        self.events = 0
        self.duplicates = 0
        self.resyncs = 0
        self.first_ns = 0
        self.last_ns = 0

    def record(self, sent_ns: int, now: int) -> None:
        lat_us = (now - sent_ns) // 1000
        self.hist[lat_us // BUCKET_US] += 1
        if lat_us > self.max_us:
            self.max_us = lat_us
        if not self.first_ns:
            self.first_ns = now
        self.last_ns = now


class Conn:
    """One websocket connection and what it has seen; survives drop/resume with its cursor."""

    __slots__ = (
        "cursor",
        "headers",
        "proto",
        "ready",
        "seen",
        "stats",
        "stream",
        "transport",
        "url",
    )

    def __init__(
        self, url: str, headers: dict[str, str], proto: str, stream: str | None, stats: Stats
    ) -> None:
        self.url = url
        self.headers = headers
        self.proto = proto
        self.stream = stream
        self.stats = stats
        self.transport: WSTransport | None = None
        self.ready: asyncio.Future[bool] | None = None
        self.cursor: str | None = None
        self.seen: set[int] = set()

    # frames ------------------------------------------------------------------------------------

    def on_connected(self, transport: WSTransport) -> None:
        if self.proto != "streamsrv":
            return  # Socket.IO: wait for the engine.io open packet
        if self.stream is None:
            self._set_ready()
            return
        sub: dict[str, Any] = {"op": "sub", "stream": self.stream}
        if self.cursor is not None:
            sub["since"] = self.cursor
        transport.send(WSMsgType.TEXT, orjson.dumps(sub))

    def on_text(self, transport: WSTransport, payload: bytes) -> None:
        if self.proto == "streamsrv":
            self._on_streamsrv(payload)
        else:
            self._on_socketio(transport, payload)

    def _on_streamsrv(self, payload: bytes) -> None:
        msg = orjson.loads(payload)
        op = msg.get("op")
        if op == "event":
            self.stats.frames += 1
            cursor = msg["id"]
            self.cursor = cursor
            if msg.get("type") != "feedback.received":
                return
            comment = (msg.get("data") or {}).get("comment") or ""
            parts = comment.split(" ")
            if len(parts) != 3 or parts[0] != "b":
                return
            self._event(int(parts[1]), int(parts[2]))
        elif op == "subscribed":
            self._set_ready()
        elif op == "resync":
            self.stats.resyncs += 1
        elif op == "error":
            self._set_ready(False)

    def _on_socketio(self, transport: WSTransport, payload: bytes) -> None:
        if payload.startswith(b"42"):
            self.stats.frames += 1
            name, data = orjson.loads(payload[2:])[:2]
            if name == "ev":
                self._event(int(data["s"]), int(data["t"]))
        elif payload == b"2":
            transport.send(WSMsgType.TEXT, b"3")
        elif payload.startswith(b"0{"):
            transport.send(WSMsgType.TEXT, b"40")
        elif payload.startswith(b"40"):
            if self.stream is None:
                self._set_ready()
            else:
                transport.send(WSMsgType.TEXT, b"420" + orjson.dumps(["join", self.stream]))
        elif payload.startswith(b"430"):
            self._set_ready()
        elif payload.startswith(b"44"):
            self._set_ready(False)

    def _event(self, seq: int, sent_ns: int) -> None:
        # Each event carries a unique sequence number: seeing one twice is a duplicate delivery.
        stats = self.stats
        if seq in self.seen:
            stats.duplicates += 1
            return
        self.seen.add(seq)
        stats.events += 1
        stats.record(sent_ns, time.time_ns())

    def _set_ready(self, ok: bool = True) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(ok)

    # lifecycle ---------------------------------------------------------------------------------

    async def open(self, timeout: float) -> bool:
        path = self.url
        if self.proto == "socketio":
            path = self.url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
        for attempt in range(CONNECT_ATTEMPTS):
            self.ready = asyncio.get_running_loop().create_future()
            try:
                transport, _ = await ws_connect(
                    lambda: Listener(self),
                    path,
                    extra_headers=self.headers,
                    websocket_handshake_timeout=timeout,
                    enable_auto_pong=True,
                )
            except Exception:  # noqa: BLE001 - picows raises several kinds; all mean: try again
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            self.transport = transport
            try:
                if await asyncio.wait_for(self.ready, timeout):
                    return True
            except TimeoutError:
                pass
            transport.disconnect()
        return False

    def drop(self) -> None:
        if self.transport is not None:
            self.transport.disconnect(graceful=False)
            self.transport = None


class Listener(WSListener):  # type: ignore[misc]
    def __init__(self, conn: Conn) -> None:
        super().__init__()
        self.conn = conn

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.conn.on_connected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY:
            self.conn.on_text(transport, frame.get_payload_as_bytes())
        elif kind == WSMsgType.CLOSE:
            transport.disconnect()


# publisher ---------------------------------------------------------------------------------------


class HttpConn:
    """A minimal keep-alive HTTP/1.1 client: the publisher must cost far less than the server."""

    def __init__(self, host: str, port: int, head: bytes) -> None:
        self.host = host
        self.port = port
        self.head = head
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _body(kind: str, target: Any, seq: int, run: str) -> bytes:
    now = time.time_ns()
    if kind == "streamsrv":
        account_id, agent_id = target
        return orjson.dumps(
            {
                "account_id": account_id,
                "agent_id": agent_id,
                "channel": "chat",
                "external_id": f"{run}-{seq}",
                "rating": 5,
                "comment": f"b {seq} {now}",
            }
        )
    return orjson.dumps({"room": target, "data": {"s": seq, "t": now}})


async def publish(cmd: dict[str, Any]) -> dict[str, Any]:
    host, port, path = cmd["host"], int(cmd["port"]), cmd["path"]
    headers = "".join(f"{k}: {v}\r\n" for k, v in cmd.get("headers", {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{headers}"
    ).encode()
    kind, targets, run = cmd["kind"], cmd["targets"], cmd["run"]
    count, rate, seq0 = int(cmd["count"]), float(cmd.get("rate", 0)), int(cmd.get("seq0", 0))
    deadline = time.monotonic() + float(cmd["timeout"])
    pool: asyncio.Queue[HttpConn] = asyncio.Queue()
    conns = [HttpConn(host, port, head) for _ in range(int(cmd.get("concurrency", 8)))]
    for c in conns:
        pool.put_nowait(c)
    failed: list[int] = []
    statuses: Counter[int] = Counter()

    async def one(seq: int) -> None:
        conn = await pool.get()
        try:
            status = await asyncio.wait_for(
                conn.post(_body(kind, targets[(seq - seq0) % len(targets)], seq, run)),
                max(0.1, deadline - time.monotonic()),
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            conn.writer = None
            status = 0
        statuses[status] += 1
        if status not in (200, 201):
            failed.append(seq)
        pool.put_nowait(conn)

    started = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    if rate > 0:
        for i in range(count):
            due = started + i / rate
            now = time.monotonic()
            if now > deadline:
                failed.extend(range(seq0 + i, seq0 + count))
                break
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(seq0 + i)))
    else:
        queue = iter(range(seq0, seq0 + count))

        async def loop() -> None:
            for seq in queue:
                if time.monotonic() > deadline:
                    failed.append(seq)
                    continue
                await one(seq)

        tasks = [asyncio.create_task(loop()) for _ in conns]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    for c in conns:
        c.close()
    return {
        "sent": count - len(failed),
        "failed": failed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "elapsed": elapsed,
    }


# the worker --------------------------------------------------------------------------------------


class Worker:
    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.stats = Stats()

    async def connect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        timeout = float(cmd.get("timeout", 60))
        proto, url, headers = cmd["proto"], cmd["url"], cmd.get("headers", {})
        fresh = [Conn(url, headers, proto, s, self.stats) for s in cmd["streams"]]
        self.conns.extend(fresh)
        return await self._open_all(fresh, timeout)

    async def _open_all(self, conns: list[Conn], timeout: float) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        started = time.monotonic()

        async def one(conn: Conn) -> bool:
            async with gate:
                return await conn.open(timeout)

        results = await asyncio.gather(*(one(c) for c in conns))
        ok = sum(1 for r in results if r)
        return {"connected": ok, "failed": len(conns) - ok, "seconds": time.monotonic() - started}

    def reset(self) -> dict[str, Any]:
        self.stats = Stats()
        for conn in self.conns:
            conn.stats = self.stats
            conn.seen.clear()
        return {}

    async def collect(self, cmd: dict[str, Any]) -> dict[str, Any]:
        expect: dict[str, list[int]] = cmd["expect"]
        wanted = {stream: set(seqs) for stream, seqs in expect.items()}
        deadline = time.monotonic() + float(cmd["timeout"])

        def missing() -> int:
            return sum(len(wanted.get(c.stream or "", set()) - c.seen) for c in self.conns)

        while (left := missing()) and time.monotonic() < deadline:  # noqa: ASYNC110 - frames arrive in callbacks
            await asyncio.sleep(0.01)
        s = self.stats
        return {
            "missing": left,
            "frames": s.frames,
            "events": s.events,
            "duplicates": s.duplicates,
            "resyncs": s.resyncs,
            "hist": {str(k): v for k, v in s.hist.items()},
            "max_us": s.max_us,
            "first_ns": s.first_ns,
            "last_ns": s.last_ns,
            "connected": sum(
                1 for c in self.conns if c.transport is not None and not c.transport.is_disconnected
            ),
        }

    def drop(self) -> dict[str, Any]:
        for conn in self.conns:
            conn.drop()
        return {"dropped": len(self.conns)}

    async def resume(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return await self._open_all(self.conns, float(cmd.get("timeout", 60)))

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        name = cmd["cmd"]
        if name == "connect":
            return await self.connect(cmd)
        if name == "reset":
            return self.reset()
        if name == "collect":
            return await self.collect(cmd)
        if name == "drop":
            return self.drop()
        if name == "resume":
            return await self.resume(cmd)
        if name == "publish":
            return await publish(cmd)
        if name == "close":
            self.drop()
            return {}
        raise ValueError(f"unknown command {name!r}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = orjson.loads(line)
        try:
            reply = await worker.handle(cmd)
            reply["ok"] = True
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator, which fails the run
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        reply["cpu"] = _cpu()
        sys.stdout.write(orjson.dumps(reply).decode() + "\n")
        sys.stdout.flush()
        if cmd["cmd"] == "close":
            break


if __name__ == "__main__":
    import uvloop

    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        uvloop.run(main())
    os._exit(0)
