"""Prometheus metrics (prometheus-client), served at ``/metrics``.

Each process reports its own numbers; with several workers or nodes, scrape each one (the
``instance`` label tells them apart).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv.errors import ApiError

CONNECTIONS = Gauge("streamsrv_ws_connections", "Open websocket connections")
SUBSCRIPTIONS = Gauge("streamsrv_ws_subscriptions", "Active stream subscriptions on this process")
REDIS_CHANNELS = Gauge("streamsrv_redis_channels", "Redis channels this process is subscribed to")
EVENTS_PUBLISHED = Counter(
    "streamsrv_events_published_total", "Outbox events published to Redis by the relay"
)
EVENTS_RECEIVED = Counter("streamsrv_events_received_total", "Stream events received from Redis by the hub")
FRAMES_DELIVERED = Counter("streamsrv_frames_delivered_total", "Event frames written to websockets")
SLOW_DISCONNECTS = Counter("streamsrv_slow_client_disconnects_total", "Connections closed for falling behind")
RELAY_ERRORS = Counter("streamsrv_relay_errors_total", "Relay batches that failed and will be retried")
REDIS_RECONNECTS = Counter("streamsrv_hub_redis_reconnects_total", "Times the hub reconnected to Redis")
RESYNCS = Counter("streamsrv_resyncs_total", "Subscriptions told to resync from a snapshot")
RELAY_LAG = Histogram(
    "streamsrv_relay_lag_seconds",
    "Commit-to-publish delay of outbox events",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERIES = Counter(
    "streamsrv_deliveries_total",
    "Outbound deliveries (email, chat, webhooks) finished, by kind and resulting status",
    ["kind", "status"],
)
DELIVERY_QUEUE_AGE = Gauge(
    "streamsrv_delivery_queue_age_seconds",
    "How long the oldest due, unsent delivery of each kind has waited",
    ["kind"],
)
WEBHOOK_DELIVERIES = Counter(
    "streamsrv_webhook_deliveries_total",
    "Outbound webhook attempts recorded, by outcome (sent, retry, failed, suppressed)",
    ["outcome"],
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "streamsrv_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled because a message's retry window ran out",
)
DELIVERY_LATENCY = Histogram(
    "streamsrv_publish_to_deliver_seconds",
    "Redis publish (XADD clock) to hand-off of the frame to every local subscriber",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)

# Password hashing (streamsrv.security.passwords) and the login throttle (pages.login_throttle).
PASSWORD_HASH_WORKERS = Gauge(
    "streamsrv_password_hash_workers", "How many password hashes this process runs at once at most"
)
PASSWORD_HASHES_RUNNING = Gauge("streamsrv_password_hashes_running", "Password hashes and checks running now")
PASSWORD_HASHES_RUNNING_MAX = Gauge(
    "streamsrv_password_hashes_running_max",
    "The most password hashes and checks that have run at once since the server started",
)
PASSWORD_HASHES_PENDING = Gauge(
    "streamsrv_password_hashes_pending", "Password hashes and checks admitted and not finished yet"
)
PASSWORD_HASHES = Counter(
    "streamsrv_password_hashes_total", "Password hashes (op=hash) and checks (op=verify) done", ["op"]
)
PASSWORD_HASHES_REFUSED = Counter(
    "streamsrv_password_hashes_refused_total", "Password hashes refused because too many were waiting"
)
LOGINS_THROTTLED = Counter(
    "streamsrv_logins_throttled_total",
    "Login attempts refused before any password check, by the limit that refused them",
    ["limit"],
)
# Helpdesk webhooks (streamsrv.integrations), by connector and what became of each call:
# accepted, duplicate, ignored, unmapped, rejected (401), invalid (422), too_large, not_found.
INTEGRATION_EVENTS = Counter(
    "streamsrv_integration_events_total",
    "Helpdesk webhook calls received, by connector and outcome",
    ["connector", "status"],
)
# The ingest admission gate (streamsrv.admission, STREAMSRV_MAX_INGEST_IN_FLIGHT).
INGEST_IN_FLIGHT = Gauge(
    "streamsrv_ingest_in_flight", "Ingest requests (answers, interactions) being served now"
)
INGEST_LIMIT = Gauge(
    "streamsrv_ingest_in_flight_limit", "Ingest requests this process serves at once at most (0: no limit)"
)
INGEST_REFUSED = Counter(
    "streamsrv_ingest_refused_total", "Ingest requests answered 503 at once because the limit was reached"
)


LOOPBACK = ("127.", "::1")


def _allowed(request: Request) -> bool:
    token: str = request.app.state.ctx.settings.metrics_token
    if token:
        return hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}")
    host = request.client.host if request.client else ""
    return host.startswith(LOOPBACK)


async def metrics_endpoint(request: Request) -> Response:
    if not _allowed(request):
        raise ApiError(
            403, "metrics are served to loopback, or with STREAMSRV_METRICS_TOKEN as a Bearer token"
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]
