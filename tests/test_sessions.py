"""Server-side login sessions: logout ends one, "log out everywhere", a password change and
deactivation end all of them, and with them every live socket and every stream token they
issued, on every node.

Two applications on one database and one Redis are two nodes: the session ends through node A's
pages or API while its sockets live on node B.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from streamsrv import migrate
from streamsrv.app import create_app
from streamsrv.client import Event, Status, StreamClient
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.models import Role
from tests.conftest import Tenant, fresh_database
from tests.login_support import Browser
from tests.streaming import Floor, emit_events_async, make_floor, make_user
from tests.support import TIMEOUT, LiveServer

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def node_b(settings: Settings, db: Database) -> Iterator[LiveServer]:
    live = LiveServer(create_app(settings)).start()
    yield live
    live.stop()


@dataclass
class Login:
    browser: Browser
    email: str

    @property
    def cookie(self) -> str:
        session = self.browser.session
        assert session is not None
        return session

    @property
    def csrf(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.browser.cookies["streamsrv_csrf"]}

    def stream_token(self, streams: list[str]) -> str:
        r = self.browser.post("/api/v1/stream-tokens", json={"streams": streams}, headers=self.csrf)
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


@pytest.fixture
def login(tenant: Tenant) -> Iterator[Callable[[str], Login]]:
    """Log in at node A with a browser of its own (closed after the test)."""
    browsers: list[Browser] = []

    def log_in(email: str) -> Login:
        browser = Browser(tenant.server.url)
        browsers.append(browser)
        r = browser.login(email, PASSWORD)
        assert r.status_code == 303 and browser.session, r.text
        return Login(browser, email)

    yield log_in
    for browser in browsers:
        browser.close()


def copied(tenant: Tenant, cookie: str) -> httpx.Client:
    """Another machine holding a copy of the cookie."""
    return httpx.Client(
        base_url=tenant.server.url,
        headers={"Cookie": f"streamsrv_session={cookie}"},
        follow_redirects=False,
        timeout=TIMEOUT,
    )


async def closed_without_events(client: StreamClient) -> int | None:
    """The close code; fails if an event got through first."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            item = await client.next(TIMEOUT)
            assert not isinstance(item, Event), f"delivered after the session ended: {item}"
            if isinstance(item, Status) and item.state == "closed":
                return item.code


async def refused(url: str, **credential: str) -> int | None:
    """A fresh connection's close code; fails if it got as far as a subscription."""
    async with StreamClient(url, streams=["team:1"], **credential) as client:
        code = await closed_without_events(client)
        assert not client.subscribed
        return code


def team_leader(tenant: Tenant, db: Database) -> tuple[Floor, str, int]:
    floor = make_floor(db, tenant.org_id)
    user = make_user(db, tenant.org_id, Role.team_leader, PASSWORD, team_ids=[floor.team_id])
    assert user.id is not None
    return floor, user.email, user.id


def test_logout_ends_the_session_for_copies_of_its_cookie(
    tenant: Tenant, db: Database, login: Callable[[str], Login]
) -> None:
    _, email, _ = team_leader(tenant, db)
    laptop, phone = login(email), login(email)
    cookie = laptop.cookie
    with copied(tenant, cookie) as thief:
        assert thief.get("/api/v1/users/me").status_code == 200
        r = laptop.browser.post("/logout", data={"csrf_token": laptop.browser.cookies["streamsrv_csrf"]})
        assert r.status_code == 303
        assert thief.get("/api/v1/users/me").status_code == 401
        assert thief.get("/").status_code == 303
    # Logging out one browser leaves the user's other sessions alone.
    assert phone.browser.get("/api/v1/users/me").status_code == 200


def test_sessions_are_listed_and_ended_one_by_one(
    tenant: Tenant, db: Database, login: Callable[[str], Login]
) -> None:
    _, email, _ = team_leader(tenant, db)
    laptop, phone = login(email), login(email)
    r = laptop.browser.get("/api/v1/users/me/sessions")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2
    assert sorted(item["current"] for item in items) == [False, True]
    for item in items:
        assert set(item) == {"id", "created_at", "last_seen_at", "expires_at", "current"}
    other = next(item["id"] for item in items if not item["current"])
    # Without the CSRF header a cookie cannot end anything.
    assert laptop.browser.request("DELETE", f"/api/v1/users/me/sessions/{other}").status_code == 403
    r = laptop.browser.request("DELETE", f"/api/v1/users/me/sessions/{other}", headers=laptop.csrf)
    assert r.status_code == 204, r.text
    assert phone.browser.get("/api/v1/users/me").status_code == 401
    assert [item["current"] for item in laptop.browser.get("/api/v1/users/me/sessions").json()["items"]] == [
        True
    ]
    # Another user's session, or an id that does not exist, is not found.
    _, stranger_email, _ = team_leader(tenant, db)
    stranger = login(stranger_email)
    theirs = stranger.browser.get("/api/v1/users/me/sessions").json()["items"][0]["id"]
    gone = laptop.browser.request("DELETE", f"/api/v1/users/me/sessions/{theirs}", headers=laptop.csrf)
    assert gone.status_code == 404
    assert stranger.browser.get("/api/v1/users/me").status_code == 200
    # An API key is not a login.
    assert tenant.api.get("/api/v1/users/me/sessions").status_code == 404


ENDINGS = ["logout", "everywhere", "password", "deactivate"]


@pytest.mark.parametrize("ending", ENDINGS)
async def test_ending_a_session_closes_its_sockets_and_tokens_on_every_node(
    tenant: Tenant, db: Database, node_b: LiveServer, login: Callable[[str], Login], ending: str
) -> None:
    floor, email, uid = team_leader(tenant, db)
    stream = f"team:{floor.team_id}"
    ws_b = node_b.ws_url + "/ws"
    mine, other = login(email), login(email)
    token = mine.stream_token([stream])
    cookie = f"streamsrv_session={mine.cookie}"
    cookie_socket = StreamClient(ws_b, cookie=cookie, streams=[stream])
    token_socket = StreamClient(ws_b, token=token, streams=[stream])
    other_socket = StreamClient(ws_b, cookie=f"streamsrv_session={other.cookie}", streams=[stream])
    async with cookie_socket, token_socket, other_socket:
        for client in (cookie_socket, token_socket, other_socket):
            await client.wait_subscribed(TIMEOUT)

        # The session ends through node A.
        csrf = mine.browser.cookies["streamsrv_csrf"]
        if ending == "logout":
            r = await asyncio.to_thread(mine.browser.post, "/logout", data={"csrf_token": csrf})
        elif ending == "everywhere":
            form = {"csrf_token": csrf, "everywhere": "1"}
            r = await asyncio.to_thread(mine.browser.post, "/logout", data=form)
        else:
            change = {"password": "another long password"} if ending == "password" else {"active": False}
            r = await asyncio.to_thread(tenant.api.patch, f"/api/v1/users/{uid}", json=change)
        assert r.status_code in (200, 303), r.text

        # "Within a second" without a stopwatch: the end is broadcast before the answer, and
        # node B hears it on the same Redis pub/sub connection as the stream's events, so the
        # sockets must be closed before an event committed now could reach them.
        await emit_events_async(db, tenant.org_id, [stream], 1)
        assert await closed_without_events(cookie_socket) == 4401
        assert await closed_without_events(token_socket) == 4401
        if ending == "logout":
            # The user's other session is untouched: it gets the sentinel.
            assert (await other_socket.next_event(TIMEOUT)).data["n"] == 0
        else:
            assert await closed_without_events(other_socket) == 4401

    # The stream token died with its session: a fresh connection with it is refused too.
    assert await refused(ws_b, token=token) == 4401
    assert await refused(ws_b, cookie=cookie) == 4401


def test_sessions_migration_goes_both_ways(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:
        assert "sessions" in inspect(database.engine).get_table_names()
        migrate.downgrade(database.engine, "0006")
        assert "sessions" not in inspect(database.engine).get_table_names()
        migrate.upgrade(database.engine)
        columns = {c["name"] for c in inspect(database.engine).get_columns("sessions")}
        assert columns == {
            "id",
            "org_id",
            "user_id",
            "secret_hash",
            "session_version",
            "created_at",
            "last_seen_at",
            "expires_at",
        }
