"""A session cookie on ``/ws`` is only accepted from the product's own origin: scheme, host and
port, as the browser names it in ``Origin``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streamsrv.app import create_app
from streamsrv.auth import SESSION_COOKIE, make_session_cookie
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.models import Role
from tests.conftest import Tenant
from tests.streaming import make_user
from tests.support import TIMEOUT, LiveServer

PUBLIC_URL = "https://feedback.example.com"


@pytest.fixture(scope="module")
def public_server(settings: Settings, db: Database) -> Iterator[LiveServer]:
    """A node whose public URL is HTTPS while it serves plain HTTP itself (TLS ends at a proxy)."""
    live = LiveServer(create_app(settings.replace(public_url=PUBLIC_URL))).start()
    yield live
    live.stop()


async def _outcome(server: LiveServer, cookie: str, origin: str | None, **headers: str) -> int | str:
    """4403 or another close code when refused; "pong" when the socket is usable."""
    sent = {"Cookie": f"{SESSION_COOKIE}={cookie}", **headers}
    async with connect(
        server.ws_url + "/ws",
        additional_headers=sent,
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        try:
            await ws.send('{"op":"ping"}')
            reply = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            return exc.rcvd.code
        return str(reply["op"])


def _cookie(tenant: Tenant, db: Database) -> str:
    user = make_user(db, tenant.org_id, Role.admin)
    return make_session_cookie(tenant.server.app.state.ctx, user)


async def test_cookie_needs_the_same_scheme_host_and_port(tenant: Tenant, db: Database) -> None:
    server = tenant.server
    cookie = _cookie(tenant, db)
    port = server.port
    assert await _outcome(server, cookie, f"http://127.0.0.1:{port}") == "pong"
    # Same host and port, other scheme: a page on https:// is another origin than this http://
    # server (on a shared host name it may be another program altogether).
    assert await _outcome(server, cookie, f"https://127.0.0.1:{port}") == 4403
    assert await _outcome(server, cookie, "http://evil.example") == 4403
    assert await _outcome(server, cookie, f"http://evil.example:{port}") == 4403
    assert await _outcome(server, cookie, f"http://127.0.0.1:{port + 1}") == 4403
    assert await _outcome(server, cookie, "null") == 4403
    # Non-browsers send no Origin; they cannot carry a victim's cookie jar.
    assert await _outcome(server, cookie, None) == "pong"


async def test_proxy_scheme_and_public_url_count_as_own_origin(
    tenant: Tenant, db: Database, public_server: LiveServer
) -> None:
    cookie = _cookie(tenant, db)
    port = tenant.server.port
    # A trusted proxy that terminates TLS says so in X-Forwarded-Proto (uvicorn trusts
    # 127.0.0.1 by default; `streamsrv serve --proxy-headers` turns it on).
    forwarded = {"X-Forwarded-Proto": "https"}
    assert await _outcome(tenant.server, cookie, f"https://127.0.0.1:{port}", **forwarded) == "pong"
    assert await _outcome(tenant.server, cookie, f"http://127.0.0.1:{port}", **forwarded) == 4403
    # Without proxy headers, the configured public URL is the product's origin too.
    assert await _outcome(public_server, cookie, PUBLIC_URL) == "pong"
    assert await _outcome(public_server, cookie, PUBLIC_URL + ":443") == "pong"
    assert await _outcome(public_server, cookie, "http://feedback.example.com") == 4403
    assert await _outcome(public_server, cookie, "https://evil.example") == 4403
