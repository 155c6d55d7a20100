"""Test helpers: one timeout constant, a real uvicorn server on port 0, polling without sleeps."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

T = TypeVar("T")

# Every wait in the suite is a multiple of this; slow machines set STREAMSRV_TEST_TIMEOUT_SCALE.
TIMEOUT = 5.0 * float(os.environ.get("STREAMSRV_TEST_TIMEOUT_SCALE", "1"))


def wait_until(predicate: Callable[[], T], timeout: float = TIMEOUT, interval: float = 0.01) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def async_wait_until(predicate: Callable[[], Awaitable[T]], timeout: float = TIMEOUT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


class LiveServer:
    """Runs an ASGI app on uvicorn in a background thread, bound to 127.0.0.1 on a free port."""

    def __init__(self, app: Starlette, **config: Any) -> None:
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            ws_per_message_deflate=False,
            **config,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def app(self) -> Starlette:
        return self.config.app  # type: ignore[no-any-return]

    def start(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=TIMEOUT * 4)
        if not self.server.started:
            raise RuntimeError("live server failed to start")
        sock = self.server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=TIMEOUT * 4)
