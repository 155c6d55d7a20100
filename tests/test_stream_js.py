"""static/js/stream.js in a real Chromium against the live server, on SQLite and PostgreSQL.

Each test opens a same-origin page, imports the module, connects with a stream token from the
API and commits events through the outbox, so the whole path (outbox -> relay -> Redis -> hub ->
websocket -> StreamConnection) is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, WebSocket, WebSocketRoute

from streamsrv.db import Database
from tests.conftest import Tenant
from tests.streaming import Floor, emit_events, make_floor

pytestmark = pytest.mark.browser

# Starts a StreamConnection whose callbacks record into window globals the test reads back.
# With ``gated``, every connection attempt first waits for ``window.__gate``: the test holds a
# reconnect back until it has committed the events the client must then recover.
SETUP = """
async ({token, streams, cursors, storageKey, gated, extra}) => {
  const mod = await import("/static/js/stream.js");
  window.__events = [];
  window.__errors = [];
  window.__resyncs = [];
  window.__states = [];
  window.__gate = Promise.resolve();
  let badge = document.getElementById("conn");
  if (!badge) {
    badge = document.createElement("span");
    badge.id = "conn";
    document.body.appendChild(badge);
  }
  const indicator = mod.connectionIndicator(badge);
  window.__conn = new mod.StreamConnection({
    token: gated ? () => window.__gate.then(() => token) : token,
    streams,
    cursors: cursors || {},
    storageKey: storageKey || null,
    onEvent: (event) => window.__events.push(event),
    onError: (frame) => window.__errors.push(frame),
    onResync: (stream) => window.__resyncs.push(stream),
    onState: (state, detail) => {
      window.__states.push([state, detail.code === undefined ? null : detail.code]);
      indicator(state, detail);
    },
    ...(extra || {}),
  });
  window.__conn.start();
}
"""


@dataclass
class Browsing:
    page: Page
    tenant: Tenant
    floor: Floor
    sent: list[dict[str, Any]]

    def token(self, streams: list[str]) -> str:
        r = self.tenant.api.post("/api/v1/stream-tokens", json={"streams": streams, "ttl_seconds": 300})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def open(self, streams: list[str], token: str | None = None, **options: Any) -> None:
        self.page.evaluate(
            SETUP,
            {"token": token or self.token(streams), "streams": streams, **options},
        )

    def wait_subscribed(self, count: int) -> None:
        self.page.wait_for_function(f"() => window.__conn && window.__conn.subscribed.length === {count}")

    def wait_events(self, count: int) -> list[dict[str, Any]]:
        self.page.wait_for_function(f"() => window.__events.length >= {count}")
        events: list[dict[str, Any]] = self.page.evaluate("() => window.__events")
        return events

    def numbers(self) -> list[int]:
        return [e["data"]["n"] for e in self.page.evaluate("() => window.__events")]

    def subs_sent(self) -> list[dict[str, Any]]:
        return [f for f in self.sent if f.get("op") == "sub"]


@pytest.fixture
def browsing(page: Page, tenant: Tenant, db: Database) -> Browsing:
    sent: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(orjson.loads(payload)))

    page.on("websocket", watch)
    # Any same-origin page will do: the module is imported from /static like every page does.
    page.goto(tenant.server.url + "/healthz")
    return Browsing(page=page, tenant=tenant, floor=make_floor(db, tenant.org_id), sent=sent)


def test_events_arrive_in_order_and_badge_shows_live(browsing: Browsing, db: Database) -> None:
    stream = f"team:{browsing.floor.team_id}"
    browsing.open([stream])
    browsing.wait_subscribed(1)
    badge = browsing.page.locator("#conn")
    assert badge.text_content() == "Live"
    assert badge.get_attribute("aria-live") == "polite"
    assert badge.get_attribute("role") == "status"
    assert "conn-live" in (badge.get_attribute("class") or "").split()
    emit_events(db, browsing.tenant.org_id, [stream], 5)
    events = browsing.wait_events(5)
    assert [e["data"]["n"] for e in events] == [0, 1, 2, 3, 4]
    assert {e["stream"] for e in events} == {stream}
    assert {e["type"] for e in events} == {"feedback.received"}
    assert len({e["id"] for e in events}) == 5
    states = [s for s, _ in browsing.page.evaluate("() => window.__states")]
    assert states == ["connecting", "live"]


def test_dropped_socket_resumes_with_cursor_exactly_once(browsing: Browsing, db: Database) -> None:
    stream = f"agent:{browsing.floor.agent_ids[0]}"
    org_id = browsing.tenant.org_id
    browsing.open([stream], gated=True)
    browsing.wait_subscribed(1)
    emit_events(db, org_id, [stream], 3)
    before = browsing.wait_events(3)
    cursor = before[-1]["id"]
    assert browsing.page.evaluate(f"() => window.__conn.cursor({stream!r})") == cursor

    # Hold the reconnect back, drop the socket, and commit while the client is away.
    browsing.page.evaluate("() => { window.__gate = new Promise((r) => { window.__openGate = r; }); }")
    browsing.page.evaluate("() => window.__conn.dropForTest()")
    browsing.page.wait_for_function("() => window.__conn.state === 'reconnecting'")
    assert browsing.page.locator("#conn").text_content() == "Reconnecting…"
    emit_events(db, org_id, [stream], 4, start=3)
    assert browsing.numbers() == [0, 1, 2]
    browsing.page.evaluate("() => window.__openGate()")

    browsing.wait_events(7)
    browsing.page.wait_for_function("() => window.__conn.state === 'live'")
    assert browsing.page.evaluate("() => window.__conn.connects") == 2
    subs = browsing.subs_sent()
    assert subs[0] == {"op": "sub", "stream": stream}
    assert subs[1] == {"op": "sub", "stream": stream, "since": cursor}
    # Live again: new events keep coming after the recovered ones, none twice.
    emit_events(db, org_id, [stream], 1, start=7)
    browsing.wait_events(8)
    assert browsing.numbers() == list(range(8))
    assert browsing.page.locator("#conn").text_content() == "Live"


def test_offline_goes_offline_and_resumes_when_back_online(browsing: Browsing, db: Database) -> None:
    stream = f"account:{browsing.floor.account_id}"
    org_id = browsing.tenant.org_id
    browsing.open([stream])
    browsing.wait_subscribed(1)
    emit_events(db, org_id, [stream], 2)
    browsing.wait_events(2)
    browsing.page.context.set_offline(True)
    browsing.page.wait_for_function("() => window.__conn.state === 'offline'")
    assert browsing.page.locator("#conn").text_content() == "Offline"
    emit_events(db, org_id, [stream], 3, start=2)
    browsing.page.context.set_offline(False)
    browsing.wait_events(5)
    # None twice: a sentinel committed once all five are in is the very next event.
    emit_events(db, org_id, [stream], 1, start=5)
    browsing.wait_events(6)
    assert browsing.numbers() == [0, 1, 2, 3, 4, 5]
    assert browsing.subs_sent()[-1].get("since") is not None


def test_forbidden_stream_reports_error_and_others_keep_flowing(browsing: Browsing, db: Database) -> None:
    allowed = f"team:{browsing.floor.team_id}"
    refused = f"account:{browsing.floor.other_account_id}"
    token = browsing.token([allowed])  # the token names only the team stream
    browsing.open([allowed, refused], token=token)
    browsing.page.wait_for_function("() => window.__errors.length === 1")
    errors = browsing.page.evaluate("() => window.__errors")
    assert errors[0]["op"] == "error"
    assert errors[0]["code"] == "forbidden"
    assert errors[0]["stream"] == refused
    # A refusal is final: the stream is dropped, so a reconnect does not ask again.
    assert browsing.page.evaluate("() => window.__conn.streams") == [allowed]
    browsing.wait_subscribed(1)
    emit_events(db, browsing.tenant.org_id, [allowed], 1)
    assert browsing.wait_events(1)[0]["stream"] == allowed
    assert browsing.page.evaluate("() => window.__conn.state") == "live"


def test_bad_token_stops_without_retrying(browsing: Browsing) -> None:
    browsing.open([f"team:{browsing.floor.team_id}"], token="forged")
    browsing.page.wait_for_function("() => window.__conn.state === 'closed'")
    assert browsing.page.evaluate("() => window.__states") == [["connecting", None], ["closed", 4401]]
    assert browsing.page.locator("#conn").text_content() == "Disconnected"
    assert browsing.page.locator("#conn").get_attribute("data-state") == "closed"


def test_stale_cursor_asks_for_resync_and_continues_live(browsing: Browsing, db: Database) -> None:
    stream = f"team:{browsing.floor.team_id}"
    browsing.open([stream], cursors={stream: "zzz-1-0"})
    browsing.page.wait_for_function("() => window.__resyncs.length === 1")
    assert browsing.page.evaluate("() => window.__resyncs") == [stream]
    assert browsing.page.evaluate(f"() => window.__conn.cursor({stream!r})") is None
    emit_events(db, browsing.tenant.org_id, [stream], 2)
    assert [e["data"]["n"] for e in browsing.wait_events(2)] == [0, 1]


def test_storage_key_resumes_after_page_reload(browsing: Browsing, db: Database) -> None:
    stream = f"board:team:{browsing.floor.team_id}"
    org_id = browsing.tenant.org_id
    token = browsing.token([stream])
    browsing.open([stream], token=token, storageKey="wallboard")
    browsing.wait_subscribed(1)
    emit_events(db, org_id, [stream], 2)
    cursor = browsing.wait_events(2)[-1]["id"]
    browsing.page.reload()
    stored = browsing.page.evaluate("() => JSON.parse(sessionStorage.getItem('wallboard'))")
    assert stored == {stream: cursor}
    emit_events(db, org_id, [stream], 2, start=2)
    browsing.open([stream], token=token, storageKey="wallboard")
    browsing.wait_events(2)
    # None twice: a sentinel committed once both are in is the very next event.
    emit_events(db, org_id, [stream], 1, start=4)
    browsing.wait_events(3)
    assert browsing.numbers() == [2, 3, 4]
    assert browsing.subs_sent()[-1] == {"op": "sub", "stream": stream, "since": cursor}


def test_unsubscribe_stops_delivery(browsing: Browsing, db: Database) -> None:
    first = f"agent:{browsing.floor.agent_ids[0]}"
    second = f"agent:{browsing.floor.agent_ids[1]}"
    browsing.open([first], token=browsing.token([first, second]))
    browsing.wait_subscribed(1)
    browsing.page.evaluate(f"() => window.__conn.subscribe({second!r})")
    browsing.wait_subscribed(2)
    browsing.page.evaluate(f"() => window.__conn.unsubscribe({first!r})")
    browsing.page.wait_for_function(f"() => window.__conn.subscribed.join() === {second!r}")
    emit_events(db, browsing.tenant.org_id, [first, second], 1)
    browsing.wait_events(1)
    # The unsubscribed stream's copy of the event never arrives: the second one is the only one.
    emit_events(db, browsing.tenant.org_id, [second], 1, start=1)
    events = browsing.wait_events(2)
    assert [(e["stream"], e["data"]["n"]) for e in events] == [(second, 0), (second, 1)]


def test_missing_pong_is_a_dead_connection(browsing: Browsing) -> None:
    """A network that silently eats the server's frames: the client notices and reconnects."""
    dropped: list[str] = []

    def black_hole_pongs(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str) and orjson.loads(message).get("op") == "pong":
                dropped.append(message)
                return
            route.send(message)

        server.on_message(from_server)

    browsing.page.route_web_socket("**/ws*", black_hole_pongs)
    stream = f"team:{browsing.floor.team_id}"
    browsing.open([stream], extra={"pingInterval": 300, "pongTimeout": 400})
    browsing.page.wait_for_function("() => window.__conn.connects >= 2")
    assert dropped
    states = [s for s, _ in browsing.page.evaluate("() => window.__states")]
    assert states[:3] == ["connecting", "live", "reconnecting"]


def test_no_streams_is_live_once_the_server_answers(browsing: Browsing) -> None:
    browsing.open([], token=browsing.token([f"team:{browsing.floor.team_id}"]))
    browsing.page.wait_for_function("() => window.__conn.state === 'live'")
    assert browsing.sent == [{"op": "ping"}]
