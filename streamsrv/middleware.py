"""Pure ASGI middleware: request body limits, security headers and the ingest admission gate."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streamsrv.admission import Gate
from streamsrv.errors import ApiError, error_body
from streamsrv.metrics import INGEST_IN_FLIGHT, INGEST_REFUSED

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self' ws: wss:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses bodies over ``limit`` bytes (``upload_limit`` under ``upload_prefixes``) with 413.

    Checked against Content-Length up front and again while streaming, so a chunked upload cannot
    slip past.
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int, upload_suffixes: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_suffixes = upload_suffixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.upload_limit if path.endswith(self.upload_suffixes) else self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await _reject(send, limit)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, f"request body is larger than {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


async def _reject(send: Send, limit: int) -> None:
    body = error_body(413, f"request body is larger than {limit} bytes")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Gated:
    """One gated route: its method, a full match of its path, and the answer when refused."""

    method: str
    path: re.Pattern[str]
    refuse: Callable[[Scope], Response]


class IngestGate:
    """Lets the gated routes through :class:`streamsrv.admission.Gate`; the rest pass untouched.

    A refused request is answered at once, before its body is read, by its route's ``refuse``;
    an admitted one holds its place until its response is sent, or it fails or is cancelled.
    """

    def __init__(self, app: ASGIApp, gate: Gate, routes: Sequence[Gated]) -> None:
        self.app = app
        self.gate = gate
        self.routes = tuple(routes)

    def _gated(self, scope: Scope) -> Gated | None:
        method: str = scope["method"]
        path: str = scope["path"]
        for gated in self.routes:
            if gated.method == method and gated.path.fullmatch(path):
                return gated
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gated = self._gated(scope) if scope["type"] == "http" else None
        if gated is None:
            await self.app(scope, receive, send)
            return
        if not self.gate.try_enter():
            INGEST_REFUSED.inc()
            await gated.refuse(scope)(scope, receive, send)
            return
        INGEST_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            INGEST_IN_FLIGHT.dec()
            self.gate.leave()
