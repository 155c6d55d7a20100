"""The stream protocol end to end: outbox -> relay -> Redis -> hub -> websocket, on a live server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streamsrv import metrics
from streamsrv.app import create_app
from streamsrv.client import Failure, Status, StreamClient
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.models import Role
from streamsrv.tenancy import create_org
from tests.conftest import Tenant
from tests.streaming import emit_events, emit_events_async, make_floor, make_key, make_user
from tests.support import TIMEOUT, LiveServer, wait_until


async def recv_json(ws, timeout: float = TIMEOUT) -> dict:  # type: ignore[no-untyped-def]
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def recv_op(ws, op: str, timeout: float = TIMEOUT) -> dict:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while True:
            msg = await recv_json(ws, timeout)
            if msg["op"] == op:
                return msg


def ws_url(tenant: Tenant) -> str:
    return tenant.server.ws_url + "/ws"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# The sink a connection writes into, by name: (uvicorn websocket implementation, ws_fastpath,
# whether the fast path must end up active). wsproto has no transport the fast path can use, so
# "auto" falls back to plain ASGI sends there.
SINKS = {
    "fastpath": ("websockets-sansio", "auto", True),
    "asgi": ("websockets-sansio", "off", False),
    "wsproto": ("wsproto", "auto", False),
}
# The sink does not depend on the database: the production sink runs on both backends, the
# ASGI ones on SQLite only.
SINK_CASES = pytest.mark.parametrize(
    ("backend", "sink"),
    [("sqlite", "fastpath"), ("postgresql", "fastpath"), ("sqlite", "asgi"), ("sqlite", "wsproto")],
    indirect=True,
)


@pytest.fixture(scope="module")
def sink(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sink_server(sink: str, settings: Settings, db: Database) -> Iterator[LiveServer]:
    ws, fastpath, _ = SINKS[sink]
    # 256 KB: small enough for the slow-consumer test to overflow quickly, and far more than
    # any other test here sends.
    app = create_app(settings.replace(ws_send_buffer_bytes=256 * 1024, ws_fastpath=fastpath))
    live = LiveServer(app, ws=ws).start()
    yield live
    live.stop()


@pytest.fixture
def rt(sink_server: LiveServer, db: Database) -> Iterator[Tenant]:
    """A fresh organization on the server of the sink under test."""
    with db.session() as session:
        org = create_org(
            session,
            f"Org {secrets.token_hex(3)}",
            f"admin-{secrets.token_hex(4)}@example.com",
            "correct horse battery",
        )
    with httpx.Client(
        base_url=sink_server.url, headers={"Authorization": f"Bearer {org.api_key}"}, timeout=TIMEOUT
    ) as api:
        yield Tenant(org=org, server=sink_server, api=api)


@SINK_CASES
async def test_fast_path_is_chosen_by_name(rt: Tenant, sink: str) -> None:
    ws, _, active = SINKS[sink]
    async with connect(ws_url(rt), additional_headers=auth(rt.org.api_key)) as conn:
        await conn.send('{"op":"ping"}')
        assert await recv_json(conn) == {"op": "pong"}
    fastpath = rt.server.app.state.ctx.services["fastpath"]
    assert fastpath.active is active
    if active:
        assert fastpath.message == f"websocket fast path: on (uvicorn {ws})"
    else:
        assert fastpath.message.startswith("websocket fast path: off: plain ASGI sends")


@SINK_CASES
async def test_live_event_reaches_subscriber(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    stream = f"agent:{floor.agent_ids[0]}"
    async with connect(ws_url(rt), additional_headers=auth(rt.org.api_key)) as ws:
        await ws.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
        sub = await recv_json(ws)
        assert sub == {"op": "subscribed", "stream": stream, "recovered": False}
        await asyncio.to_thread(emit_events, db, rt.org_id, [stream, f"team:{floor.team_id}"], 1)
        event = await recv_op(ws, "event")
        assert event["stream"] == stream
        assert event["type"] == "feedback.received"
        assert event["data"]["n"] == 0
        assert event["at"].endswith("Z")
        assert isinstance(event["id"], str) and event["id"]


@SINK_CASES
async def test_refused_and_malformed_frames_keep_socket_usable(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    agent_user = make_user(db, rt.org_id, Role.agent, agent_id=floor.agent_ids[0])
    assert agent_user.id is not None
    # An agent's stream token: its own stream is fine, a colleague's is forbidden.
    with db.session():
        pass
    key = make_key(db, rt.org_id, ["streams"], [floor.account_id])
    async with connect(ws_url(rt), additional_headers=auth(key)) as ws:
        await ws.send(orjson.dumps({"op": "sub", "stream": f"agent:{floor.other_agent_id}"}).decode())
        err = await recv_json(ws)
        assert (
            err["op"] == "error"
            and err["code"] == "forbidden"
            and err["stream"] == f"agent:{floor.other_agent_id}"
        )
        await ws.send("not json")
        assert (await recv_json(ws))["code"] == "bad_request"
        await ws.send(orjson.dumps({"op": "sub", "stream": "agent:abc"}).decode())
        assert (await recv_json(ws))["code"] == "bad_request"
        await ws.send(orjson.dumps({"op": "sub", "stream": "agent:999999999"}).decode())
        assert (await recv_json(ws))["code"] == "forbidden"
        await ws.send(orjson.dumps({"op": "ping"}).decode())
        assert await recv_json(ws) == {"op": "pong"}


async def test_unauthenticated_and_bad_token_are_closed(tenant: Tenant) -> None:
    for url, headers in (
        (ws_url(tenant), {}),
        (ws_url(tenant) + "?token=forged", {}),
        (ws_url(tenant), auth("ssk_nope_nope")),
    ):
        async with connect(url, additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await recv_json(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4401


@SINK_CASES
async def test_oversized_frame_closes_with_1009(rt: Tenant) -> None:
    async with connect(ws_url(rt), additional_headers=auth(rt.org.api_key), max_size=None) as ws:
        await ws.send("x" * (rt.server.app.state.ctx.settings.ws_max_frame_bytes + 10))
        with pytest.raises(ConnectionClosed) as info:
            await recv_json(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009


async def test_flood_is_rate_limited(tenant: Tenant) -> None:
    async with connect(ws_url(tenant), additional_headers=auth(tenant.org.api_key)) as ws:
        for _ in range(80):
            await ws.send('{"op":"ping"}')
        # Frames are answered in order, so once a sentinel sent after the flood is answered, every
        # answer to the flood is in. A sentinel can itself be dropped while the bucket is empty
        # (and is then never answered), so another one follows every 0.2 s until one gets through:
        # that short wait only paces the retries, it never decides the outcome.
        replies: list[dict] = []  # type: ignore[type-arg]
        answered, sentinel = False, 0
        async with asyncio.timeout(TIMEOUT):
            while not answered:
                sentinel += 1
                await ws.send(orjson.dumps({"op": "unsub", "stream": f"agent:{sentinel}"}).decode())
                try:
                    while not answered:
                        reply = await recv_json(ws, timeout=0.2)
                        if reply["op"] == "unsubscribed":
                            answered = True
                        else:
                            replies.append(reply)
                except TimeoutError:
                    pass  # this sentinel was dropped: send another
        ops = [r["op"] for r in replies]
        assert 40 <= ops.count("pong") < 80, ops  # a burst of 40 goes through, then 20 per second
        assert any(r["op"] == "error" and r["code"] == "rate_limited" for r in replies), replies


@SINK_CASES
async def test_resume_from_cursor_gets_each_missed_event_once_in_order(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    stream = f"team:{floor.team_id}"
    async with StreamClient(ws_url(rt), api_key=rt.org.api_key, streams=[stream], reconnect=False) as client:
        await client.wait_subscribed(TIMEOUT)
        await emit_events_async(db, rt.org_id, [stream], 3)
        seen = [await client.next_event(TIMEOUT) for _ in range(3)]
        cursor = seen[-1].id
    await emit_events_async(db, rt.org_id, [stream], 4, start=3)
    async with StreamClient(
        ws_url(rt), api_key=rt.org.api_key, streams=[stream], cursors={stream: cursor}
    ) as client:
        got = [await client.next_event(TIMEOUT) for _ in range(4)]
        assert [e.data["n"] for e in got] == [3, 4, 5, 6]
        # None twice: a stream is delivered in order, so a sentinel committed now comes next.
        await emit_events_async(db, rt.org_id, [stream], 1, start=7)
        assert (await client.next_event(TIMEOUT)).data["n"] == 7


@SINK_CASES
async def test_resume_from_unknown_epoch_asks_for_resync(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    stream = f"account:{floor.account_id}"
    async with connect(ws_url(rt), additional_headers=auth(rt.org.api_key)) as ws:
        await ws.send(orjson.dumps({"op": "sub", "stream": stream, "since": "zzz-1-0"}).decode())
        assert await recv_json(ws) == {"op": "subscribed", "stream": stream, "recovered": False}
        assert await recv_json(ws) == {"op": "resync", "stream": stream}
        await ws.send(
            orjson.dumps({"op": "sub", "stream": f"team:{floor.team_id}", "since": "not a cursor"}).decode()
        )
        assert (await recv_json(ws))["code"] == "bad_request"


@SINK_CASES
async def test_replay_racing_live_events_is_exactly_once(rt: Tenant, db: Database) -> None:
    """Events keep arriving while a client replays from an old cursor."""
    floor = make_floor(db, rt.org_id)
    stream = f"agent:{floor.agent_ids[1]}"
    async with StreamClient(ws_url(rt), api_key=rt.org.api_key, streams=[stream], reconnect=False) as first:
        await first.wait_subscribed(TIMEOUT)
        await emit_events_async(db, rt.org_id, [stream], 1)
        start = await first.next_event(TIMEOUT)
    writer = asyncio.create_task(emit_events_async(db, rt.org_id, [stream], 60, start=1))
    async with StreamClient(
        ws_url(rt), api_key=rt.org.api_key, streams=[stream], cursors={stream: start.id}
    ) as client:
        await writer
        got = [await client.next_event(TIMEOUT) for _ in range(60)]
        assert [e.data["n"] for e in got] == list(range(1, 61))
        # None twice: a stream is delivered in order, so a sentinel committed now comes next.
        await emit_events_async(db, rt.org_id, [stream], 1, start=61)
        assert (await client.next_event(TIMEOUT)).data["n"] == 61


async def test_stream_token_grants_only_named_streams(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    board = f"board:team:{floor.team_id}"
    r = tenant.api.post("/api/v1/stream-tokens", json={"streams": [board], "ttl_seconds": 60})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert r.json()["ws_url"].endswith(token)
    async with StreamClient(ws_url(tenant), token=token, streams=[board, f"team:{floor.team_id}"]) as client:
        items = [await client.next(TIMEOUT) for _ in range(3)]
        failures = [i for i in items if isinstance(i, Failure)]
        assert [f.stream for f in failures] == [f"team:{floor.team_id}"]
        assert failures[0].code == "forbidden"
        await emit_events_async(db, tenant.org_id, [board], 1)
        assert (await client.next_event(TIMEOUT)).stream == board


def test_stream_token_is_never_wider_than_issuer(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    narrow = make_key(db, tenant.org_id, ["streams"], [floor.account_id])
    with tenant.client(narrow) as api:
        r = api.post("/api/v1/stream-tokens", json={"streams": [f"account:{floor.other_account_id}"]})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        assert api.post("/api/v1/stream-tokens", json={"streams": ["bogus"]}).status_code == 422
        assert (
            api.post(
                "/api/v1/stream-tokens", json={"streams": [f"account:{floor.account_id}"], "ttl_seconds": 5}
            ).status_code
            == 422
        )
    read_only = make_key(db, tenant.org_id, ["read"])
    with tenant.client(read_only) as api:
        assert (
            api.post("/api/v1/stream-tokens", json={"streams": [f"account:{floor.account_id}"]}).status_code
            == 403
        )


async def test_revoked_issuer_kills_token(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    key = make_key(db, tenant.org_id, ["streams"])
    with tenant.client(key) as api:
        token = api.post("/api/v1/stream-tokens", json={"streams": [f"team:{floor.team_id}"]}).json()["token"]
    from datetime import UTC, datetime

    from sqlmodel import select

    from streamsrv.models import ApiKey

    with db.session() as s:
        row = s.exec(select(ApiKey).where(ApiKey.prefix == key[:16])).one()
        row.revoked_at = datetime.now(UTC)
        s.add(row)
    async with StreamClient(ws_url(tenant), token=token, streams=[f"team:{floor.team_id}"]) as client:
        items = [await client.next(TIMEOUT) for _ in range(2)]
        assert items[-1] == Status("closed", 4401)


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            Role.agent,
            ["agent:{a0}", "board:team:{t}", "board:account:{acc}"],
            ["agent:{a1}", "team:{t}", "coach:{t}", "account:{acc}", "recovery:{acc}"],
        ),
        (
            Role.team_leader,
            ["agent:{a0}", "team:{t}", "coach:{t}", "board:team:{t}", "board:account:{acc}"],
            ["account:{acc}", "recovery:{acc}", "team:{ot}", "agent:{oa}"],
        ),
        (
            Role.client_viewer,
            ["team:{t}", "account:{acc}", "board:account:{acc}"],
            ["agent:{a0}", "coach:{t}", "recovery:{acc}", "account:{oacc}"],
        ),
        (
            Role.recovery,
            ["recovery:{acc}", "board:team:{t}"],
            ["agent:{a0}", "team:{t}", "account:{acc}", "recovery:{oacc}"],
        ),
        (
            Role.manager,
            ["agent:{a0}", "team:{t}", "coach:{t}", "recovery:{acc}", "account:{acc}"],
            ["account:{oacc}", "agent:{oa}"],
        ),
    ],
)
async def test_subscription_matrix(
    tenant: Tenant, db: Database, role: Role, allowed: list[str], denied: list[str]
) -> None:
    floor = make_floor(db, tenant.org_id)
    names = {
        "a0": floor.agent_ids[0],
        "a1": floor.agent_ids[1],
        "t": floor.team_id,
        "acc": floor.account_id,
        "ot": floor.other_team_id,
        "oa": floor.other_agent_id,
        "oacc": floor.other_account_id,
    }
    scope: dict[str, object] = {
        Role.agent: {"agent_id": floor.agent_ids[0]},
        Role.team_leader: {"team_ids": [floor.team_id]},
    }.get(role, {"account_ids": [floor.account_id]})
    user = make_user(db, tenant.org_id, role, **scope)
    from streamsrv.auth import make_session_cookie

    cookie = make_session_cookie(tenant.server.app.state.ctx, user)
    async with connect(ws_url(tenant), additional_headers={"Cookie": f"streamsrv_session={cookie}"}) as ws:
        for template in allowed + denied:
            stream = template.format(**names)
            await ws.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
            reply = await recv_json(ws)
            expected = "subscribed" if template in allowed else "error"
            assert reply["op"] == expected, (role, stream, reply)


async def test_cookie_from_foreign_origin_is_refused(tenant: Tenant, db: Database) -> None:
    user = make_user(db, tenant.org_id, Role.admin)
    from streamsrv.auth import make_session_cookie

    cookie = make_session_cookie(tenant.server.app.state.ctx, user)
    headers = {"Cookie": f"streamsrv_session={cookie}"}
    async with connect(ws_url(tenant), additional_headers=headers, origin="https://evil.example") as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as info:
            await recv_json(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4403


@SINK_CASES
async def test_slow_consumer_is_disconnected_and_others_unaffected(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    stream = f"team:{floor.team_id}"
    url = ws_url(rt)
    before = metrics.SLOW_DISCONNECTS._value.get()
    # The slow client stops reading after subscribing; loopback socket buffers hold several MB,
    # so enough data is sent to fill them and then the server's 256 KB buffer.
    async with connect(url, additional_headers=auth(rt.org.api_key), max_queue=1, max_size=2**24) as slow:
        await slow.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
        await recv_json(slow)
        slow.transport.pause_reading()
        async with StreamClient(url, api_key=rt.org.api_key, streams=[stream]) as fast:
            await fast.wait_subscribed(TIMEOUT)
            count = 1000
            writer = asyncio.create_task(
                asyncio.to_thread(emit_events, db, rt.org_id, [stream], count, 0, 16_000)
            )
            got = [await fast.next_event(TIMEOUT * 4) for _ in range(count)]
            await writer
            assert [e.data["n"] for e in got] == list(range(count))
        wait_until(lambda: metrics.SLOW_DISCONNECTS._value.get() > before)
        slow.transport.resume_reading()
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(slow.recv(), TIMEOUT)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001


def test_metrics_exposed(tenant: Tenant) -> None:
    text = tenant.api.get("/metrics").text
    for name in (
        "streamsrv_ws_connections",
        "streamsrv_events_published_total",
        "streamsrv_relay_lag_seconds",
        "streamsrv_publish_to_deliver_seconds",
    ):
        assert name in text


@SINK_CASES
async def test_revoking_a_key_closes_its_live_sockets(rt: Tenant, db: Database) -> None:
    floor = make_floor(db, rt.org_id)
    key = make_key(db, rt.org_id, ["streams"])
    async with StreamClient(ws_url(rt), api_key=key, streams=[f"team:{floor.team_id}"]) as client:
        await client.wait_subscribed(TIMEOUT)
        listing = rt.api.get("/api/v1/api-keys").json()["items"]
        key_id = next(k["id"] for k in listing if key.startswith(k["prefix"]))
        assert rt.api.delete(f"/api/v1/api-keys/{key_id}").status_code == 200
        # "At once" without a stopwatch: the revocation is broadcast before the DELETE answers,
        # and a node hears it on the same Redis pub/sub connection as the stream's events, so the
        # socket must be closed before an event committed after the DELETE could reach it.
        await emit_events_async(db, rt.org_id, [f"team:{floor.team_id}"], 1)
        async with asyncio.timeout(TIMEOUT):
            while True:
                item = await client.next(TIMEOUT)
                assert isinstance(item, Status), f"delivered after the revocation: {item}"
                if item.state == "closed":
                    assert item.code == 4401
                    break


def test_metrics_need_loopback_or_token(tenant: Tenant, settings: Settings, db: Database) -> None:
    live = LiveServer(create_app(settings.replace(metrics_token="scrape-me"))).start()
    try:
        import httpx

        assert httpx.get(live.url + "/metrics", timeout=TIMEOUT).status_code == 403
        ok = httpx.get(live.url + "/metrics", headers={"Authorization": "Bearer scrape-me"}, timeout=TIMEOUT)
        assert ok.status_code == 200 and "streamsrv_ws_connections" in ok.text
    finally:
        live.stop()


async def test_delivery_latency_histogram_counts_events(tenant: Tenant, db: Database) -> None:
    floor = make_floor(db, tenant.org_id)
    stream = f"team:{floor.team_id}"
    before = metrics.DELIVERY_LATENCY._sum.get(), sum(b.get() for b in metrics.DELIVERY_LATENCY._buckets)
    async with StreamClient(ws_url(tenant), api_key=tenant.org.api_key, streams=[stream]) as client:
        await client.wait_subscribed(TIMEOUT)
        await emit_events_async(db, tenant.org_id, [stream], 3)
        for _ in range(3):
            await client.next_event(TIMEOUT)
    after = sum(b.get() for b in metrics.DELIVERY_LATENCY._buckets)
    assert after >= before[1] + 3
