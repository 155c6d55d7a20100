"""Liveness and readiness. Readiness proves the database and a Redis publish-and-receive."""

from __future__ import annotations

import asyncio
import secrets
import time

from sqlalchemy import text
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.context import AppContext
from streamsrv.http import json_response

READY_TIMEOUT = 2.0


async def redis_round_trip(ctx: AppContext) -> float:
    timeout = READY_TIMEOUT
    """Publish on a private channel and wait to receive it; returns the round trip in ms."""
    if ctx.redis is None:
        raise RuntimeError("no Redis client")
    channel = f"{ctx.settings.redis_prefix}:ready:{secrets.token_hex(8)}"
    started = time.perf_counter()
    pubsub = ctx.redis.pubsub()
    try:
        await asyncio.wait_for(pubsub.subscribe(channel), timeout)
        await asyncio.wait_for(ctx.redis.publish(channel, b"ping"), timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=deadline - time.monotonic()
            )
            if msg is not None and msg.get("data") == b"ping":
                return (time.perf_counter() - started) * 1000
        raise TimeoutError("published message did not come back")
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    checks: dict[str, dict[str, object]] = {}

    def ping_db(session: Session) -> None:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]

    try:
        started = time.perf_counter()
        await asyncio.wait_for(ctx.db.run(ping_db), READY_TIMEOUT)
        checks["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = {"ok": False, "error": str(exc) or type(exc).__name__}
    try:
        checks["redis"] = {"ok": True, "ms": round(await redis_round_trip(ctx), 2)}
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = {"ok": False, "error": str(exc) or type(exc).__name__}
    ready = all(c["ok"] for c in checks.values())
    return json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
