"""Stream protocol v1 in-process: client frames, stream names, cursors and server frames.

No server, no I/O: these pin down what docs/streams.md promises, byte for byte where the
server's frames are concerned.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from streamsrv import protocol
from streamsrv.protocol import (
    Cursor,
    Frame,
    Ping,
    ProtocolError,
    StreamRef,
    Sub,
    Unsub,
    cursor_text,
    encode_event_tail,
    event_frame,
    parse_client_frame,
    parse_cursor,
    parse_stream,
    websocket_text_frame,
)

CURSOR = "67c42b1331ee6-1740909331219-0"


def refused(text: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame(text)
    assert info.value.code == "bad_request"
    return info.value


# client frames ---------------------------------------------------------------------------------


def test_ping() -> None:
    assert parse_client_frame('{"op":"ping"}') == Ping()
    assert parse_client_frame(b'{"op": "ping", "extra": [1, 2]}') == Ping()


@pytest.mark.parametrize("since", [None, "", "absent"])
def test_sub_live_only(since: str | None) -> None:
    body: dict[str, Any] = {"op": "sub", "stream": "agent:42"}
    if since != "absent":
        body["since"] = since
    frame = parse_client_frame(json.dumps(body))
    assert frame == Sub(stream=StreamRef("agent:42", "agent", 42), since=None)


def test_sub_with_cursor() -> None:
    frame = parse_client_frame(json.dumps({"op": "sub", "stream": "board:team:7", "since": CURSOR}))
    assert frame == Sub(
        stream=StreamRef("board:team:7", "board:team", 7),
        since=Cursor("67c42b1331ee6", (1740909331219, 0)),
    )


def test_unsub_and_unknown_fields_are_ignored() -> None:
    frame = parse_client_frame(b'{"op":"unsub","stream":"team:7","since":"whatever","x":1}')
    assert frame == Unsub(stream=StreamRef("team:7", "team", 7))


@pytest.mark.parametrize(
    "text",
    ["", "not json", "{", '{"op":"ping"', "\xff", b"\xff\xfe", "[]", '"ping"', "1", "null", "true"],
)
def test_not_a_json_object(text: str | bytes) -> None:
    assert refused(text).stream is None


@pytest.mark.parametrize(
    "body",
    [{}, {"op": None}, {"op": 1}, {"op": "PING"}, {"op": "pub", "stream": "agent:1"}, {"op": ["sub"]}],
)
def test_unknown_op(body: dict[str, Any]) -> None:
    assert "op must be one of" in refused(json.dumps(body)).message


@pytest.mark.parametrize("op", ["sub", "unsub"])
@pytest.mark.parametrize("stream", [None, 1, ["agent:1"], {"kind": "agent"}])
def test_stream_that_is_not_a_string(op: str, stream: object) -> None:
    body: dict[str, Any] = {"op": op}
    if stream is not None:
        body["stream"] = stream
    assert refused(json.dumps(body)).stream is None


@pytest.mark.parametrize("op", ["sub", "unsub"])
def test_malformed_stream_name_is_named_in_the_error(op: str) -> None:
    error = refused(json.dumps({"op": op, "stream": "agent:abc"}))
    assert error.stream == "agent:abc"
    long = "x" * 500
    assert refused(json.dumps({"op": op, "stream": long})).stream == long[:80]


@pytest.mark.parametrize(
    "since",
    [
        "not a cursor",
        5,
        ["a-1-0"],
        {"epoch": "a"},
        "A-1-0",
        "a-1",
        "a-1-0-0",
        "a--1-0",
        "-1-0",
        "a-1-0\n",
        " a-1-0",
    ],
)
def test_malformed_since_names_the_stream_and_does_not_subscribe(since: object) -> None:
    error = refused(json.dumps({"op": "sub", "stream": "team:7", "since": since}))
    assert error.stream == "team:7"
    assert "cursor" in error.message


# stream names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "id_"),
    [
        ("agent:42", "agent", 42),
        ("team:1", "team", 1),
        ("coach:7", "coach", 7),
        ("recovery:3", "recovery", 3),
        ("account:9", "account", 9),
        ("board:team:7", "board:team", 7),
        ("board:account:9", "board:account", 9),
        ("agent:999999999999999999", "agent", 999_999_999_999_999_999),  # 18 digits: the most
    ],
)
def test_valid_stream_names(name: str, kind: str, id_: int) -> None:
    assert parse_stream(name) == StreamRef(name, kind, id_)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "agent",
        "agent:",
        "agent:0",
        "agent:01",
        "agent:-1",
        "agent:+1",
        "agent:1.0",
        "agent:1e3",
        "agent:1000000000000000000",  # 19 digits
        "Agent:1",
        "agent :1",
        "agent:1 ",
        " agent:1",
        "agent:1\n",
        "agent:1\x00",
        "agent:\u0661",  # ARABIC-INDIC DIGIT ONE: \d would take it, [0-9] does not
        "board:1",
        "board:agent:1",
        "board:team",
        "board:team:0",
        "board:team:7:1",
        "team:7:board",
        "unknown:1",
        'agent:1"',
        "agent:1\\",
    ],
)
def test_invalid_stream_names(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_stream(name)
    assert info.value.code == "bad_request"
    assert info.value.stream == name[:80]


# cursors ---------------------------------------------------------------------------------------

epochs = st.from_regex(r"[0-9a-z]{1,16}", fullmatch=True)
entries = st.tuples(st.integers(0, 10**20 - 1), st.integers(0, 10**20 - 1))


@given(epochs, entries)
def test_cursor_round_trip(epoch: str, entry: tuple[int, int]) -> None:
    text = cursor_text(epoch, entry)
    assert protocol.CURSOR_RE.fullmatch(text)
    cursor = parse_cursor(text)
    assert cursor == Cursor(epoch, entry)
    assert str(cursor) == text


@given(epochs, entries, entries)
def test_cursor_order_is_entry_order(epoch: str, a: tuple[int, int], b: tuple[int, int]) -> None:
    ca, cb = parse_cursor(cursor_text(epoch, a)), parse_cursor(cursor_text(epoch, b))
    assert (ca.entry < cb.entry) == (a < b)


def test_cursor_order_is_numeric_not_textual() -> None:
    ordered = ["e-9-0", "e-10-0", "e-10-1", "e-10-10", "e-11-2"]
    parsed = [parse_cursor(c).entry for c in ordered]
    assert parsed == sorted(parsed)
    assert sorted(ordered) != ordered  # text order would get this wrong


# server frames ---------------------------------------------------------------------------------


def test_fixed_frames_byte_for_byte() -> None:
    assert protocol.PONG == '{"op":"pong"}'
    assert protocol.subscribed("agent:42", True) == '{"op":"subscribed","stream":"agent:42","recovered":true}'
    assert (
        protocol.subscribed("agent:42", False) == '{"op":"subscribed","stream":"agent:42","recovered":false}'
    )
    assert protocol.unsubscribed("team:7") == '{"op":"unsubscribed","stream":"team:7"}'
    assert protocol.resync("team:7") == '{"op":"resync","stream":"team:7"}'
    assert protocol.error("forbidden", "you may not subscribe to this stream", "account:9") == (
        '{"op":"error","code":"forbidden","message":"you may not subscribe to this stream","stream":"account:9"}'
    )
    assert (
        protocol.error("rate_limited", "slow down")
        == '{"op":"error","code":"rate_limited","message":"slow down"}'
    )


@pytest.mark.parametrize("stream", ["agent:1", 'weird "name"\n\\', "ünïcode ☕"])
@pytest.mark.parametrize("message", ["plain", 'quotes " and \\ and \n and \x01', "emoji ☕"])
def test_server_frames_are_valid_json(stream: str, message: str) -> None:
    assert orjson.loads(protocol.PONG) == {"op": "pong"}
    assert json.loads(protocol.subscribed(stream, True)) == {
        "op": "subscribed",
        "stream": stream,
        "recovered": True,
    }
    assert json.loads(protocol.unsubscribed(stream)) == {"op": "unsubscribed", "stream": stream}
    assert json.loads(protocol.resync(stream)) == {"op": "resync", "stream": stream}
    assert json.loads(protocol.error("bad_request", message, stream)) == {
        "op": "error",
        "code": "bad_request",
        "message": message,
        "stream": stream,
    }
    assert "stream" not in json.loads(protocol.error("bad_request", message))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
stream_names = st.sampled_from(["agent:42", "team:7", "board:team:7", "board:account:999999999999999999"])


@given(
    stream_names,
    epochs,
    entries,
    st.sampled_from(["feedback.received", "stats.updated", "case.opened"]),
    st.integers(1, 2**62),
    st.dictionaries(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), json_values, max_size=5
    ),
)
def test_event_frame_is_what_json_dumps_gives(
    stream: str, epoch: str, entry: tuple[int, int], type_: str, eid: int, data: dict[str, Any]
) -> None:
    at = "2025-03-02T10:15:31.204Z"
    cursor = cursor_text(epoch, entry)
    text = event_frame(stream, cursor, encode_event_tail(type_, at, data, eid).decode())
    expected = {
        "op": "event",
        "stream": stream,
        "id": cursor,
        "type": type_,
        "at": at,
        "eid": eid,
        "data": data,
    }
    assert json.loads(text) == expected
    assert text == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)


def test_event_frame_of_the_documented_example() -> None:
    tail = encode_event_tail(
        "reward.suggested",
        "2025-03-02T10:15:31.219Z",
        {"response_id": 812, "agent_id": 42, "reward": {"code": "coffee", "label": "Coffee", "emoji": "☕"}},
        90212,
    ).decode()
    assert event_frame("agent:42", "67c42b1331ee6-1740909331219-1", tail) == (
        '{"op":"event","stream":"agent:42","id":"67c42b1331ee6-1740909331219-1",'
        '"type":"reward.suggested","at":"2025-03-02T10:15:31.219Z","eid":90212,'
        '"data":{"response_id":812,"agent_id":42,"reward":{"code":"coffee","label":"Coffee","emoji":"☕"}}}'
    )


# websocket framing -----------------------------------------------------------------------------


def decoded_by_a_client(wire: bytes) -> list[tuple[Opcode, bool, bytes]]:
    """What an independent RFC 6455 implementation (the websockets client) reads from ``wire``."""
    client = ClientProtocol(parse_uri("ws://localhost/ws"), state=State.OPEN, max_size=None)
    client.receive_data(wire)
    return [(f.opcode, f.fin, bytes(f.data)) for f in client.events_received()]


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_websocket_text_frame(length: int, header: bytes) -> None:
    payload = ("é" * length).encode()[:length] if length % 2 == 0 else b"x" * length
    wire = websocket_text_frame(payload)
    # FIN set, text opcode, no mask bit (server frames are never masked), shortest length form.
    assert wire[: len(header)] == header
    assert wire[len(header) :] == payload
    assert decoded_by_a_client(wire) == [(Opcode.TEXT, True, payload)]


def test_frame_builds_its_wire_bytes_once() -> None:
    frame = Frame('{"op":"pong"}')
    assert frame.wire is frame.wire
    assert frame.wire == b"\x81\x0d" + b'{"op":"pong"}'
    assert len(frame) == len('{"op":"pong"}')
    text = "☕" * 50
    assert decoded_by_a_client(Frame(text).wire) == [(Opcode.TEXT, True, text.encode())]
