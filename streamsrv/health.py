"""Liveness and readiness. Readiness proves the database and a Redis publish-and-receive, and
that this process has room for more ingest requests (streamsrv.admission)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.admission import Gate
from streamsrv.context import AppContext
from streamsrv.http import json_response

READY_TIMEOUT = 2.0


async def redis_round_trip(ctx: AppContext) -> float:
    """Publish to this process's control channel and wait until its hub receives it.

    This proves the very subscriber connection that delivers events, not just a PING.
    """
    hub = ctx.services.get("hub")
    if hub is None:
        raise RuntimeError("hub is not running")
    return float(await hub.round_trip(READY_TIMEOUT))


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    checks: dict[str, dict[str, object]] = {}
    gate: Gate | None = ctx.services.get("admission")
    capacity = {"in_flight": gate.in_flight if gate else 0, "limit": gate.limit if gate else 0}
    if gate is not None and gate.saturated:
        # Answered at once, without probing the database: it is what the ingest requests wait on.
        checks["capacity"] = {"ok": False, **capacity}
        return json_response({"status": "saturated", **capacity, "checks": checks}, status=503)

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
    checks["capacity"] = {"ok": True, **capacity}
    ready = all(c["ok"] for c in checks.values())
    return json_response(
        {"status": "ready" if ready else "unavailable", **capacity, "checks": checks},
        status=200 if ready else 503,
    )


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
