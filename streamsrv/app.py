"""The ASGI application: ``create_app(settings)`` wires routes, middleware and the lifespan."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from streamsrv import api, health, hooks, i18n, ledger, logs, metrics, openapi, pages, ws
from streamsrv.admission import Gate
from streamsrv.boards import standings
from streamsrv.chat import enqueue as chat_enqueue
from streamsrv.chat import jobs as chat_jobs
from streamsrv.chat.sender import ChatSender
from streamsrv.coaching import alerts
from streamsrv.config import Settings
from streamsrv.context import AppContext, LoginHints
from streamsrv.db import Database
from streamsrv.deliveries.schedule import Periodic, Scheduler
from streamsrv.deliveries.worker import Senders, Worker
from streamsrv.embedded_redis import EmbeddedRedis
from streamsrv.errors import ApiError, error_response
from streamsrv.history import History, Keys
from streamsrv.hub import Hub
from streamsrv.hub_redis import RedisBackend
from streamsrv.integrations import retention as unmapped_retention
from streamsrv.mail import survey_email
from streamsrv.mail.account_email import AccountEmailSender
from streamsrv.mail.sender import SurveyEmailSender
from streamsrv.middleware import BodyLimit, Gated, IngestGate, SecurityHeaders
from streamsrv.outbound import messages as webhook_messages
from streamsrv.outbound.fanout import Fanout
from streamsrv.outbound.sender import WebhookSender
from streamsrv.pages.survey import busy_page
from streamsrv.paths import AVATARS_URL_PREFIX, STATIC_DIR
from streamsrv.recovery import cases, erasure
from streamsrv.relay import Relay
from streamsrv.reports import jobs as report_jobs
from streamsrv.reports.sender import ReportEmailSender
from streamsrv.retention import job as retention_job
from streamsrv.revocation import SocketRegistry
from streamsrv.security.passwords import HASHER
from streamsrv.security.tokens import Signer
from streamsrv.templating import error_page, make_templates
from streamsrv.ws.authz import AuthzCache
from streamsrv.ws.fastpath import FastPath

log = logging.getLogger("streamsrv")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith("/api/")
        or path in ("/healthz", "/readyz")
        or "application/json" in request.headers.get("accept", "")
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if _wants_json(request):
        return error_response(exc)
    return error_page(request, exc.status, "Something is not right", exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    err = ApiError(exc.status_code, exc.detail or "error", headers=dict(exc.headers or {}))
    if exc.status_code == 404:
        err = ApiError(404, f"no such resource: {request.url.path}")
    elif exc.status_code == 405:
        err = ApiError(
            405,
            f"method {request.method} is not allowed on {request.url.path}",
            headers=dict(exc.headers or {}),
        )
    return await _api_error(request, err)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500, "internal error; it has been logged"))


def wire_hooks() -> None:
    """Connect each feature to the seams it reacts to; the order is the order they run in.

    Recovery runs first: it is the one receiver that also handles follow-up answers, which the
    others leave alone.
    """
    hooks.RESPONSE_STORED.connect("recovery.cases", cases.on_response)
    hooks.RESPONSE_STORED.connect("coaching.alerts", alerts.on_response)
    hooks.RESPONSE_STORED.connect("boards.standings", standings.on_response)
    hooks.RESPONSE_STORED.connect("mail.cancel_unsent", survey_email.on_response)
    hooks.RESPONSE_STORED.connect("rewards.ledger", ledger.on_response)
    hooks.REQUEST_ISSUED.connect("mail.survey_email", survey_email.on_request_issued)
    hooks.CONTACTS_ERASED.connect("recovery.erasure", erasure.on_contacts_erased)
    hooks.CONTACTS_ERASED.connect("mail.deliveries", survey_email.on_contacts_erased)
    hooks.EVENT_EMITTED.connect("chat.channels", chat_enqueue.on_event)
    hooks.CONTACTS_ERASED.connect("outbound.webhooks", webhook_messages.on_contacts_erased)
    hooks.EVENT_EMITTED.connect("outbound.webhooks", webhook_messages.on_event)


def wire_senders(senders: Senders, ctx: AppContext) -> None:
    """Which code executes each kind of delivery (survey email, chat posts, webhooks)."""
    email = SurveyEmailSender(
        ctx.db, ctx.settings, ctx.signer, translations=lambda locale: i18n.translator(locale).gettext
    )
    senders.register(email.sender())
    for chat_sender in ChatSender(ctx.db, ctx.settings).senders():
        senders.register(chat_sender)
    senders.register(WebhookSender(ctx.db, ctx.settings).sender())
    senders.register(AccountEmailSender(ctx.db, ctx.settings).sender())
    senders.register(ReportEmailSender(ctx.db, ctx.settings).sender())


def scheduled_jobs(ctx: AppContext) -> list[Periodic]:
    """Work that runs once per period across all nodes (retention, digests, reports)."""
    return [
        retention_job.periodic(ctx.db),
        unmapped_retention.periodic(ctx.db),
        *chat_jobs.periodic(ctx.db),
        *report_jobs.periodic(ctx.db),
    ]


class DataFiles(StaticFiles):
    """Files the server wrote into the data directory; a folder not made yet serves 404s."""

    async def check_config(self) -> None:
        return None


# Seconds a refused ingest request is told to wait (Retry-After).
RETRY_AFTER = 1


def overloaded(scope: Scope) -> Response:
    return error_response(
        ApiError(
            503,
            "the server is at its capacity for ingest requests; nothing was stored, try again shortly",
            code="overloaded",
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    )


def survey_busy(scope: Scope) -> Response:
    return busy_page(Request(scope), RETRY_AFTER)


# The ingest write path behind the admission gate: what stores answers and interactions.
INGEST_ROUTES = (
    Gated("POST", re.compile(r"/api/v1/interactions"), overloaded),
    Gated("POST", re.compile(r"/api/v1/feedback"), overloaded),
    Gated("POST", re.compile(r"/api/v1/responses/[^/]+"), overloaded),
    Gated("POST", re.compile(r"/f/[^/]+/rating"), overloaded),
    # The customer's form: a readable page in their language rather than JSON.
    Gated("POST", re.compile(r"/f/[^/]+"), survey_busy),
)


def build_routes(settings: Settings) -> list[BaseRoute]:
    return [
        # The mounts come first: every page asks url_for("static") for its stylesheet, and the
        # router looks names up in this order, paying an exception for every route it passes.
        # Demo avatars are written at run time, so they live in the data directory, not the
        # package; their URLs stay under /static (this mount comes before that one).
        Mount(
            AVATARS_URL_PREFIX.rstrip("/"),
            app=DataFiles(directory=settings.avatars_dir, check_dir=False),
            name="avatars",
        ),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        *health.routes,
        *metrics.routes,
        *ws.routes,
        *openapi.routes,
        *api.routes,
        *pages.routes,
    ]


def create_app(settings: Settings | None = None, *, login_hints: LoginHints | None = None) -> Starlette:
    """``login_hints``: logins for the login page to list (``streamsrv demo`` passes its own)."""
    settings = settings or Settings.from_env()
    wire_hooks()
    logs.install_filters()
    fastpath = FastPath(settings.ws_fastpath)
    gate = Gate(settings.max_ingest_in_flight)
    metrics.INGEST_LIMIT.set(gate.limit)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        HASHER.configure(settings.password_hash_workers)
        db = Database(settings.database_url)
        embedded: EmbeddedRedis | None = None
        redis_url = settings.redis_url
        if not redis_url:
            embedded = EmbeddedRedis(workdir=settings.redis_dir).start()
            redis_url = embedded.url
        redis = Redis.from_url(redis_url)
        ctx = AppContext(
            settings=settings,
            db=db,
            signer=Signer(settings.secret_key),
            templates=make_templates(),
            redis=redis,
            login_hints=login_hints,
        )
        keys = Keys(settings.redis_prefix)
        history = History(redis, keys, settings.stream_history_maxlen, settings.stream_history_ttl)
        hub_redis = Redis.from_url(redis_url)
        hub = Hub(RedisBackend(hub_redis, history, keys))
        relay = Relay(
            db,
            redis_url,
            keys,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_interval,
            history_maxlen=settings.stream_history_maxlen,
            history_ttl=settings.stream_history_ttl,
        )
        senders = Senders()
        wire_senders(senders, ctx)
        worker = Worker(db, senders, poll_interval=settings.delivery_poll_interval)
        # Webhook deliveries are written after ingest commits, paced by the worker's busy signal.
        fanout = Fanout(db, busy=worker.busy, poll_interval=settings.delivery_poll_interval)
        scheduler = Scheduler(db, worker.node, scheduled_jobs(ctx))
        authz = AuthzCache()
        ctx.services.update(
            hub=hub,
            relay=relay,
            history=history,
            sockets=SocketRegistry(hub, forget_org=authz.forget_org),
            authz=authz,
            deliveries=worker,
            fanout=fanout,
            scheduler=scheduler,
            fastpath=fastpath,
            admission=gate,
        )
        app.state.ctx = ctx
        fastpath.log_startup()
        await hub.start()
        relay.start()
        if settings.worker:
            worker.start()
            fanout.start()
            scheduler.start()
        try:
            yield
        finally:
            if settings.worker:
                await scheduler.stop()
                await fanout.stop()
                await worker.stop()
            relay.stop()
            await hub.stop()
            await hub_redis.aclose()
            await redis.aclose()
            db.dispose()
            if embedded is not None:
                embedded.close()

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(IngestGate, gate=gate, routes=INGEST_ROUTES),
        Middleware(
            BodyLimit,
            limit=settings.max_body_bytes,
            upload_limit=settings.max_upload_bytes,
            upload_suffixes=("/photo", "/logo"),
        ),
    ]
    return Starlette(
        routes=build_routes(settings),
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
