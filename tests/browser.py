"""Playwright fixtures for browser tests: one headless Chromium per module, a fresh context per test.

``tests/conftest.py`` registers this module as a plugin (``pytest_plugins``), so any test can
ask for ``page``, ``browser_context`` or ``browser``.

Why per module and not per session: between two calls, Playwright's sync API leaves its own
event loop marked as running in the main thread, so while it is alive every ``async def`` test
(pytest-asyncio) fails with "Cannot run the event loop while another loop is running". Module
scope shuts it down before pytest moves on to another module. For the same reason a module that
uses these fixtures must contain only plain ``def`` tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support import TIMEOUT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        # Never a silent skip: the browser tests are part of the suite (scripts/test.sh installs it).
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` (scripts/test.sh does)")
    instance = playwright_instance.chromium.launch(
        executable_path=str(path), headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


def new_context(browser: Browser, *, bypass_csp: bool = False, timezone_id: str | None = None) -> BrowserContext:
    """A fresh profile (cookies, storage) whose waits all default to the suite's TIMEOUT;
    ``timezone_id`` sets the browser's own time zone."""
    context = browser.new_context(bypass_csp=bypass_csp, timezone_id=timezone_id)
    context.set_default_timeout(TIMEOUT * 1000)
    return context


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()
