"""A stand-in for Slack and Microsoft Teams: a real HTTP server on a loopback port that checks
incoming-webhook bodies as they do and records what it accepted; stoppable and restartable on
the same port. And a streamsrv server of its own, with its own database, that posts to it."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import update
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from streamsrv.auth import SESSION_COOKIE, make_session_cookie
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.embedded_redis import EmbeddedRedis, free_port
from streamsrv.models import Delivery, DeliveryStatus, User, utcnow
from streamsrv.security import csrf
from streamsrv.tenancy import NewOrg, create_org
from tests.conftest import fresh_database, make_settings
from tests.email_support import live_server
from tests.support import TIMEOUT, LiveServer, wait_until

SLACK_BLOCKS = {"header", "section", "actions", "context", "divider", "image", "rich_text"}
CARD_ELEMENTS = {"TextBlock", "RichTextBlock", "FactSet", "ColumnSet", "Container", "Image"}


def slack_problem(body: Any) -> str | None:
    """What Slack would refuse in a body (None: valid), after Block Kit's rules."""
    if not isinstance(body, dict):
        return "not an object"
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        return "no text fallback"
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return "blocks must be a non-empty list"

    def text_object(obj: Any, limit: int, plain_only: bool = False) -> bool:
        kinds = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
        return (
            isinstance(obj, dict)
            and obj.get("type") in kinds
            and isinstance(obj.get("text"), str)
            and 0 < len(obj["text"]) <= limit
        )

    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in SLACK_BLOCKS:
            return f"unknown block type {kind!r}"
        if kind == "header" and not text_object(block.get("text"), 150, plain_only=True):
            return "header needs a plain_text text of at most 150 characters"
        if kind == "section":
            fields = block.get("fields")
            if "text" not in block and not fields:
                return "section needs text or fields"
            if "text" in block and not text_object(block["text"], 3000):
                return "bad section text"
            if fields is not None and (
                not isinstance(fields, list)
                or len(fields) > 10
                or not all(text_object(f, 2000) for f in fields)
            ):
                return "bad section fields"
        if kind == "actions":
            for element in block.get("elements") or []:
                if element.get("type") != "button" or not text_object(
                    element.get("text"), 75, plain_only=True
                ):
                    return "bad button"
                if not str(element.get("url", "")).startswith(("http://", "https://")):
                    return "bad button url"
    return None


def teams_problem(body: Any) -> str | None:
    """What a Teams incoming webhook / Workflows trigger would refuse (None: valid)."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "type must be message"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return "one attachment expected"
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return "not an adaptive card"
    card = attachment.get("content")
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        return "content must be an AdaptiveCard 1.4"
    for element in card.get("body") or []:
        if element.get("type") not in CARD_ELEMENTS:
            return f"unknown element {element.get('type')!r}"
        if element["type"] == "RichTextBlock" and not all(
            i.get("type") == "TextRun" and isinstance(i.get("text"), str) for i in element.get("inlines", [])
        ):
            return "RichTextBlock inlines must be TextRuns"
    for action in card.get("actions") or []:
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("http"):
            return "bad action"
    return None


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    raw: bytes


@dataclass
class Hooks:
    """What the receiver accepted, and scripted answers per hook name."""

    received: list[Received] = field(default_factory=list)
    # hook name -> how many times to answer 429 with Retry-After: 1 before accepting
    rate_limit: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    # hook names answered as Slack answers a body it cannot use (a channel's app uninstalled, say)
    invalid: set[str] = field(default_factory=set)
    # hook name -> an event the answer waits for (a slow receiver), up to a bound
    hold: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def slack(self, request: Request) -> Response:
        return await self._take(request, slack_problem, "ok")

    async def teams(self, request: Request) -> Response:
        return await self._take(request, teams_problem, "1")

    async def _take(self, request: Request, check: Any, ok: str) -> Response:
        raw = await request.body()
        name = str(request.path_params["name"])
        held = self.hold.get(name)
        if held is not None:
            await asyncio.to_thread(held.wait, TIMEOUT * 4)
        with self.lock:
            if self.rate_limit.get(name, 0) > 0:
                self.rate_limit[name] -= 1
                return PlainTextResponse("rate_limited", status_code=429, headers={"Retry-After": "1"})
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        problem = "refused by the test" if name in self.invalid else check(body)
        if problem is not None:
            with self.lock:
                self.refused.append((request.url.path, problem))
            return PlainTextResponse("invalid_payload", status_code=400)
        with self.lock:
            self.received.append(Received(request.url.path, body, raw))
        return PlainTextResponse(ok)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = TIMEOUT * 2) -> list[Received]:
        return wait_until(lambda: (got := self.at(path)) and len(got) >= count and got, timeout=timeout)


class Receiver:
    def __init__(self) -> None:
        self.hooks = Hooks()
        self.port = free_port()
        self.server: LiveServer | None = None

    def url(self, kind: str, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{name}"

    def start(self) -> Receiver:
        app = Starlette(
            routes=[
                Route("/slack/{name}", self.hooks.slack, methods=["POST"]),
                Route("/teams/{name}", self.hooks.teams, methods=["POST"]),
            ]
        )
        server = LiveServer(app)
        server.config.port = self.port
        self.server = server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@dataclass
class ChatStack:
    settings: Settings
    db: Database
    server: LiveServer
    receiver: Receiver
    org: NewOrg

    @property
    def hooks(self) -> Hooks:
        return self.receiver.hooks

    def api(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {key or self.org.api_key}"},
            timeout=TIMEOUT,
        )

    def user_api(self, user: User) -> httpx.Client:
        ctx = self.server.app.state.ctx
        token = secrets.token_urlsafe(16)
        cookies = {SESSION_COOKIE: make_session_cookie(ctx, user), csrf.COOKIE: token}
        return httpx.Client(
            base_url=self.server.url,
            headers={"X-CSRF-Token": token, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
            timeout=TIMEOUT,
        )


def chat_stack(backend: str, tmp: Path, redis: EmbeddedRedis) -> Iterator[ChatStack]:
    receiver = Receiver().start()
    try:
        with fresh_database(backend, tmp) as database:
            port = free_port()
            settings = make_settings(
                database.url,
                redis.url,
                tmp,
                public_url=f"http://127.0.0.1:{port}",
                delivery_poll_interval=0.1,
                outbound_allow_private=True,
            )
            with database.session() as session:
                org = create_org(
                    session, "Chat", f"admin-{secrets.token_hex(4)}@example.com", "correct horse battery"
                )
            live = live_server(settings, port)
            try:
                yield ChatStack(settings, database, live, receiver, org)
            finally:
                live.stop()
    finally:
        receiver.stop()


def channel_deliveries(db: Database, channel_id: int) -> list[Delivery]:
    with db.session() as session:
        return list(
            session.exec(
                select(Delivery).where(Delivery.ref == f"chat:{channel_id}").order_by(col(Delivery.id))
            ).all()
        )


def make_due_now(db: Database, channel_id: int) -> int:
    """Retries wait 30 s and more; the tests pull them forward instead of waiting."""
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.ref) == f"chat:{channel_id}", col(Delivery.status) == DeliveryStatus.scheduled
            )
            .values(due_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
