"""Playwright fixtures for browser tests: one headless Chromium per session, a fresh context per test.

Use them from a test module with ``from tests.browser import browser, page  # noqa: F401`` (or
list ``"tests.browser"`` in ``pytest_plugins`` of the root conftest). Tests that drive the page
must be plain ``def`` functions: Playwright's sync API refuses to run inside an event loop, and
pytest-asyncio runs ``async def`` tests inside one.
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


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    instance = playwright_instance.chromium.launch(
        executable_path=str(path), headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


def new_context(browser: Browser, *, bypass_csp: bool = False) -> BrowserContext:
    """A fresh profile (cookies, storage) whose waits all default to the suite's TIMEOUT."""
    context = browser.new_context(bypass_csp=bypass_csp)
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
