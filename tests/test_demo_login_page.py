"""The demo's login page lists the demo logins and links every surface; a real install never does."""

from __future__ import annotations

import httpx

from streamsrv.app import create_app
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.demo.runner import login_hints
from streamsrv.demo.seed import demo_logins
from tests.support import TIMEOUT, LiveServer


def test_demo_login_page_lists_logins_and_surfaces(settings: Settings, db: Database) -> None:
    live = LiveServer(create_app(settings, login_hints=login_hints(demo_logins()))).start()
    try:
        page = httpx.get(live.url + "/login", timeout=TIMEOUT).text
    finally:
        live.stop()
    assert "Demo logins" in page and "agent@demo.streamsrv.local" in page
    for path in ("/live", "/me", "/coach", "/recovery", "/dashboard", "/wallboard"):
        assert f'href="{path}"' in page


def test_login_page_of_a_real_install_shows_no_demo_logins(settings: Settings, db: Database) -> None:
    live = LiveServer(create_app(settings)).start()
    try:
        page = httpx.get(live.url + "/login", timeout=TIMEOUT).text
    finally:
        live.stop()
    assert "Demo logins" not in page and "demo.streamsrv.local" not in page
