"""Stream protocol v1, free of I/O: stream names, cursors, client frames, server frames.

Cursors are ``<epoch>-<ms>-<seq>``: the Redis Streams entry id prefixed with the stream's epoch.
The epoch changes when Redis loses a stream's history (restart without persistence, expiry), so
a cursor from an older epoch is answered with ``resync`` instead of a silent gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from streamsrv import stream_names
from streamsrv.stream_names import StreamRef as StreamRef  # re-exported: frames carry it

# Close codes. 1001/1012 are standard; 4xxx are ours and documented in docs/streams.md.
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011  # the server could not go on with this connection now: reconnect and resume
CLOSE_RESTART = 1012
CLOSE_SLOW_CONSUMER = 4001  # fell behind: reconnect and resume with the last cursor
CLOSE_UNAUTHORIZED = 4401  # credentials missing, invalid, expired or revoked
CLOSE_FORBIDDEN_ORIGIN = 4403

CURSOR_RE = re.compile(r"^([0-9a-z]{1,16})-([0-9]{1,20})-([0-9]{1,20})$")

EntryId = tuple[int, int]


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str, stream: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stream = stream


def parse_stream(name: object) -> StreamRef:
    if not isinstance(name, str):
        raise ProtocolError("bad_request", "stream must be a string")
    ref = stream_names.parse(name)
    if ref is None:
        raise ProtocolError("bad_request", f"unknown stream name {name[:80]!r}", stream=name[:80])
    return ref


def cursor_text(epoch: str, entry: EntryId) -> str:
    """The wire form of a cursor; ``CURSOR_RE`` and ``parse_cursor`` read it back."""
    return f"{epoch}-{entry[0]}-{entry[1]}"


@dataclass(frozen=True)
class Cursor:
    epoch: str
    entry: EntryId

    def __str__(self) -> str:
        return cursor_text(self.epoch, self.entry)


def parse_cursor(raw: object) -> Cursor:
    if not isinstance(raw, str) or (m := CURSOR_RE.fullmatch(raw)) is None:
        raise ProtocolError("bad_request", "since must be a cursor received from this server")
    return Cursor(epoch=m.group(1), entry=(int(m.group(2)), int(m.group(3))))


def parse_entry_id(raw: bytes | str) -> EntryId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Sub:
    stream: StreamRef
    since: Cursor | None


@dataclass(frozen=True)
class Unsub:
    stream: StreamRef


@dataclass(frozen=True)
class Ping:
    """``{"op": "ping"}``: answered with ``pong``."""


ClientFrame = Sub | Unsub | Ping


def parse_client_frame(text: str | bytes) -> ClientFrame:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("bad_request", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_request", "frame must be a JSON object")
    op = data.get("op")
    if op == "ping":
        return Ping()
    if op == "sub":
        stream = parse_stream(data.get("stream"))
        since_raw = data.get("since")
        try:
            since = None if since_raw in (None, "") else parse_cursor(since_raw)
        except ProtocolError as exc:
            raise ProtocolError(exc.code, exc.message, stream=stream.name) from None
        return Sub(stream=stream, since=since)
    if op == "unsub":
        return Unsub(stream=parse_stream(data.get("stream")))
    raise ProtocolError("bad_request", "op must be one of sub, unsub, ping")


# Server frames. Event frames are assembled from pre-encoded pieces (see ``event_frame``).

PONG = '{"op":"pong"}'


def subscribed(stream: str, recovered: bool) -> str:
    return orjson.dumps({"op": "subscribed", "stream": stream, "recovered": recovered}).decode()


def unsubscribed(stream: str) -> str:
    return orjson.dumps({"op": "unsubscribed", "stream": stream}).decode()


def resync(stream: str) -> str:
    return orjson.dumps({"op": "resync", "stream": stream}).decode()


def error(code: str, message: str, stream: str | None = None) -> str:
    body: dict[str, Any] = {"op": "error", "code": code, "message": message}
    if stream is not None:
        body["stream"] = stream
    return orjson.dumps(body).decode()


def encode_event_tail(type: str, at: str, data: dict[str, Any], event_id: int) -> bytes:
    """The part of an event frame after its cursor, encoded once by the relay.

    ``{"op":"event","stream":S,"id":C,`` + tail — the stream and cursor are only known per
    stream after XADD, so the frame is finished by string concatenation, never re-encoded.
    """
    return orjson.dumps({"type": type, "at": at, "eid": event_id, "data": data})[1:]


def event_frame(stream: str, cursor: str, tail: str) -> str:
    # Stream names and cursors match strict patterns (no quotes or escapes), so this is valid JSON.
    return '{"op":"event","stream":"' + stream + '","id":"' + cursor + '",' + tail


def websocket_text_frame(payload: bytes) -> bytes:
    """``payload`` as one complete, unmasked websocket text frame (RFC 6455 section 5.2).

    Server frames are never masked, so the bytes are the same for every receiver: an event is
    framed once and the same ``bytes`` object is written to each subscriber's socket.
    """
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Frame:
    """A server frame: its JSON text, and its complete websocket encoding made on first use."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        wire = self._wire
        if wire is None:
            wire = self._wire = websocket_text_frame(self.text.encode())
        return wire

    def __len__(self) -> int:
        return len(self.text)
