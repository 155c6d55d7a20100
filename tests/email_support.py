"""A real SMTP server for the email tests (aiosmtpd on a free loopback port, in its own thread),
and a streamsrv server of its own that sends to it.

The server gets its own database: the suite's shared server runs a delivery worker too, and
without an SMTP server it would claim these emails and fail them.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import update
from sqlmodel import col, select

from streamsrv.app import create_app
from streamsrv.config import Settings
from streamsrv.context import LoginHints
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.models import Delivery, DeliveryStatus, utcnow
from streamsrv.tenancy import NewOrg, create_org
from tests.conftest import fresh_database, make_settings
from tests.support import TIMEOUT, LiveServer, wait_until

SENDER = "surveys@mail.example.com"
STAR_LINK = re.compile(r"(https?://[^\s\"<>]+/f/([A-Za-z0-9_-]+))\?rating=([1-5])")


@dataclass
class Inbox:
    """The SMTP server's behaviour and what it accepted. Rules are per recipient address."""

    messages: list[EmailMessage] = field(default_factory=list)
    # address -> SMTP answer to RCPT TO (e.g. "550 5.1.1 no such user")
    refuse: dict[str, str] = field(default_factory=dict)
    # address -> how many DATA commands to answer "451 try later" before accepting
    defer: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        answer = self.refuse.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                if self.defer.get(rcpt, 0) > 0:
                    self.defer[rcpt] -= 1
                    return "451 4.3.0 try later"
            message = BytesParser(policy=policy.default).parsebytes(envelope.content)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = TIMEOUT * 2) -> list[EmailMessage]:
        return wait_until(lambda: (got := self.to(address)) and len(got) >= count and got, timeout=timeout)


class SmtpServer:
    """aiosmtpd, stoppable and restartable on the same port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from={SENDER}"

    def start(self) -> SmtpServer:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class MailStack:
    settings: Settings
    db: Database
    server: LiveServer
    smtp: SmtpServer
    org: NewOrg

    @property
    def inbox(self) -> Inbox:
        return self.smtp.inbox

    def api(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {key or self.org.api_key}"},
            timeout=TIMEOUT,
        )


def live_server(settings: Settings, port: int, login_hints: LoginHints | None = None) -> LiveServer:
    live = LiveServer(create_app(settings, login_hints=login_hints))
    # Survey links in emails must point at this server: its port is chosen before it starts.
    live.config.port = port
    return live.start()


def mail_stack(backend: str, tmp: Path, redis: EmbeddedRedis, **overrides: Any) -> Iterator[MailStack]:
    smtp = SmtpServer().start()
    try:
        with fresh_database(backend, tmp) as database:
            port = free_port()
            settings = make_settings(
                database.url,
                redis.url,
                tmp,
                smtp_url=smtp.url,
                public_url=f"http://127.0.0.1:{port}",
                delivery_poll_interval=0.1,
                **overrides,
            )
            with database.session() as session:
                org = create_org(
                    session, "Mail", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
                )
            live = live_server(settings, port)
            try:
                yield MailStack(settings, database, live, smtp, org)
            finally:
                live.stop()
    finally:
        smtp.stop()


def deliveries(db: Database, request_id: int) -> list[Delivery]:
    with db.session() as session:
        return list(
            session.exec(
                select(Delivery).where(Delivery.ref == f"request:{request_id}").order_by(col(Delivery.id))
            ).all()
        )


def make_due_now(db: Database, request_ids: list[int]) -> int:
    """Retries wait 30 s and more; the tests pull scheduled retries forward instead of waiting."""
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.ref).in_([f"request:{i}" for i in request_ids]),
                col(Delivery.status) == DeliveryStatus.scheduled,
            )
            .values(due_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def unique_email() -> str:
    return f"cust-{secrets.token_hex(5)}@example.com"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "the email must have a text and an HTML part"
    return str(text.get_content()), str(html.get_content())
