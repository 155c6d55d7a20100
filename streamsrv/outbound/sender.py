"""The worker's sender for deliveries of kind ``webhook``.

Each attempt signs the message afresh (``webhook-timestamp`` is the time of the attempt, so a
receiver's replay window holds for retries too) with the endpoint's current secret, and during a
rotation's grace with the previous one as well, space-separated in ``webhook-signature`` as the
Standard Webhooks spec allows. A 2xx answer is success; anything else, a timeout or a refused
connection is retried with backoff until the message's 24 hours run out, and the endpoint is then
disabled. One ``httpx.AsyncClient`` per node keeps connections to receivers alive between sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from streamsrv import metrics
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Sender, Suppressed, TemporaryFailure
from streamsrv.models import Delivery, DeliveryStatus, WebhookEndpoint, WebhookStatus, utcnow
from streamsrv.outbound import endpoints, messages, safety
from streamsrv.security.sealed import Sealer

# One receiver's answer: far below the delivery lease, long enough for a slow but working one.
SEND_TIMEOUT = 15.0
# The worker's own limit around a whole send (resolving, connecting, reading).
SENDER_TIMEOUT = SEND_TIMEOUT + 5.0
# A Retry-After beyond this is taken as this: a receiver cannot park a message for days.
MAX_RETRY_AFTER = timedelta(hours=1)
GAVE_UP = "gave up after"
OUTCOMES: dict[str, str] = {
    DeliveryStatus.sent: "sent",
    DeliveryStatus.scheduled: "retry",
    DeliveryStatus.failed: "failed",
    DeliveryStatus.suppressed: "suppressed",
}


class _Target:
    __slots__ = ("active", "secrets", "url")

    def __init__(self, url: str, secrets: list[Webhook], active: bool) -> None:
        self.url = url
        self.secrets = secrets
        self.active = active


class WebhookSender:
    def __init__(self, db: Database, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.allow_private = settings.outbound_allow_private
        self.sealer: Sealer = endpoints.sealer(settings.secret_key)
        self.client = client or httpx.AsyncClient(
            http1=True,
            http2=False,
            follow_redirects=False,
            # Proxy variables of the server's environment must not route customers' URLs.
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30.0),
            timeout=SEND_TIMEOUT,
        )

    def sender(self) -> Sender:
        for outcome in OUTCOMES.values():
            metrics.WEBHOOK_DELIVERIES.labels(outcome)
        for status in (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.suppressed, "scheduled"):
            metrics.DELIVERIES.labels(messages.KIND, status)
        metrics.DELIVERY_QUEUE_AGE.labels(messages.KIND).set(0)
        return Sender(messages.KIND, self.send, after=self.after, timeout=SENDER_TIMEOUT, close=self.close)

    async def close(self) -> None:
        await self.client.aclose()

    def _load(self, session: Session, endpoint_id: int, org_id: int, now: datetime) -> _Target | None:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is None or row.org_id != org_id:
            return None
        keys = [Webhook(secret) for secret in endpoints.signing_secrets(row, self.sealer, now)]
        return _Target(row.url, keys, row.status == WebhookStatus.active)

    async def target(self, job: Job, now: datetime) -> _Target | None:
        endpoint_id = int(job.payload["endpoint_id"])
        hit = endpoints.targets.get(endpoint_id, False)
        if hit is None or isinstance(hit, _Target):
            return hit
        found = await self.db.run(lambda s: self._load(s, endpoint_id, job.org_id, now))
        # A rotation's grace ends on its own clock, not the cache's; the entry lives 2 seconds.
        endpoints.targets.put(endpoint_id, found)
        return found

    async def send(self, job: Job) -> str:
        now = utcnow()
        target = await self.target(job, now)
        if target is None:
            raise Suppressed("the endpoint was deleted")
        if not target.active:
            raise Suppressed("the endpoint is disabled")
        body = messages.body_of(job.payload, job.payload["data"])
        text = body.decode()
        msg_id = str(job.payload["id"])
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(key.sign(msg_id, now, text) for key in target.secrets),
            "User-Agent": "streamsrv-webhooks/1",
        }
        try:
            result = await safety.post_json(
                self.client, target.url, body, headers, allow_private=self.allow_private, timeout=SEND_TIMEOUT
            )
        except safety.UnsafeTarget as exc:
            raise PermanentFailure(f"refused: {exc}") from None
        except httpx.TimeoutException:
            raise TemporaryFailure(f"no answer within {SEND_TIMEOUT:.0f}s") from None
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        note = f"HTTP {result.status}: {result.excerpt}"
        if 200 <= result.status < 300:
            return note
        retry_at = None
        if result.retry_after is not None:
            retry_at = utcnow() + min(timedelta(seconds=result.retry_after), MAX_RETRY_AFTER)
        raise TemporaryFailure(note, retry_at)

    def after(self, session: Session, job: Job, status: str, error: str | None) -> None:
        """Counts the outcome; a message whose retry window ran out disables its endpoint."""
        metrics.WEBHOOK_DELIVERIES.labels(OUTCOMES.get(status, status)).inc()
        if status != DeliveryStatus.failed:
            return
        # The worker hands over the last attempt's error; whether the queue gave up on the
        # message (rather than a refused target failing it) is in the row it just wrote.
        recorded = session.execute(
            select(col(Delivery.last_error)).where(col(Delivery.id) == job.id)
        ).scalar()
        if not recorded or not recorded.startswith(GAVE_UP):
            return
        endpoint_id = int(job.payload["endpoint_id"])
        reason = (
            f"message {job.payload.get('id')} could not be delivered within its retry window ({recorded})"
        )
        endpoints.disable(session, endpoint_id, reason, utcnow())
