"""A webhook consumer for the tests: a real HTTP server on a loopback port (Starlette under
uvicorn, in its own thread) that verifies each message's signature as a customer's system
would (``standardwebhooks.Webhook(secret).verify``), refuses bad ones, and can be stopped and
started again on the same port. Plus a streamsrv server of its own that is allowed to call it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.models import Delivery, DeliveryStatus, utcnow
from streamsrv.outbound.messages import queue_of
from streamsrv.tenancy import NewOrg, create_org
from tests.conftest import fresh_database, make_settings
from tests.email_support import live_server
from tests.support import TIMEOUT, LiveServer, wait_until


@dataclass
class Received:
    id: str
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]
    # The URL's query string: tells the test's endpoints apart on one receiver.
    query: str


@dataclass
class Consumer:
    """What the receiver accepts (``secrets``) and answers (``status``, ``answer``)."""

    secrets: list[str] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    status: int = 204
    answer: bytes = b""
    # Set: every request waits for it before answering (a receiver that hangs).
    hold: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        if self.hold is not None:
            await asyncio.to_thread(self.hold.wait, TIMEOUT * 4)
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload: Any = None
        for secret in list(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        with self.lock:
            if payload is None:
                self.rejected.append(headers)
                return Response(b"bad signature", status_code=401)
            if 200 <= self.status < 300:
                self.accepted.append(
                    Received(headers["webhook-id"], headers, body, payload, request.url.query)
                )
            status, answer = self.status, self.answer
        return Response(answer, status_code=status)

    def ids(self) -> list[str]:
        with self.lock:
            return [r.id for r in self.accepted]

    def of_type(self, type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.accepted if r.payload["type"] == type]

    def wait_for(self, type: str, count: int = 1, timeout: float = TIMEOUT * 2) -> list[Received]:
        return wait_until(lambda: self.of_type(type)[count - 1 :], timeout=timeout) and self.of_type(type)


class Receiver:
    """The consumer's HTTP server, restartable on the same port."""

    def __init__(self, consumer: Consumer | None = None) -> None:
        self.consumer = consumer or Consumer()
        self.port = free_port()
        self.live: LiveServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hooks", self.consumer.hook, methods=["POST"])])
        live = LiveServer(app)
        live.config.port = self.port
        self.live = live.start()
        return self

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


@dataclass
class HookStack:
    settings: Settings
    db: Database
    server: LiveServer
    org: NewOrg
    receiver: Receiver

    def api(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {key or self.org.api_key}"},
            timeout=TIMEOUT,
        )


def hook_stack(backend: str, tmp: Path, redis: EmbeddedRedis, **overrides: Any) -> Iterator[HookStack]:
    receiver = Receiver().start()
    try:
        with fresh_database(backend, tmp) as database:
            port = free_port()
            overrides.setdefault("outbound_allow_private", True)
            settings = make_settings(
                database.url,
                redis.url,
                tmp,
                public_url=f"http://127.0.0.1:{port}",
                delivery_poll_interval=0.1,
                **overrides,
            )
            with database.session() as session:
                org = create_org(
                    session, "Hooks", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
                )
            live = live_server(settings, port)
            try:
                yield HookStack(settings, database, live, org, receiver)
            finally:
                live.stop()
    finally:
        receiver.stop()


def webhook_rows(db: Database, endpoint_id: int) -> list[Delivery]:
    with db.session() as session:
        return list(
            session.exec(
                select(Delivery).where(Delivery.queue == queue_of(endpoint_id)).order_by(col(Delivery.id))
            ).all()
        )


def make_due_now(db: Database, endpoint_id: int) -> int:
    """Retries wait 30 s and more; the tests pull scheduled retries forward instead of waiting."""
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.queue) == queue_of(endpoint_id), col(Delivery.status) == DeliveryStatus.scheduled
            )
            .values(due_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
