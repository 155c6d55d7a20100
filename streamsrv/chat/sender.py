"""The worker's senders for deliveries of kind ``slack`` and ``teams``.

The channel is read again at send time: a deleted channel suppresses what was still queued for
it, a changed URL is used at once. The URL is unsealed only here, checked again with the
address it resolves to (``streamsrv.outbound.safety``), and posted to without following
redirects. Slack answers 429 with Retry-After when a channel posts too fast: that wait is
honoured; 5xx and network failures are retried with the queue's backoff; any other 4xx means
the webhook is gone or the body was refused, and retrying would not change it.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson
from sqlmodel import Session

from streamsrv import metrics
from streamsrv.chat import channels
from streamsrv.chat.messages import Message, render
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Sender, Suppressed, TemporaryFailure
from streamsrv.models import DeliveryStatus, utcnow
from streamsrv.outbound.safety import UnsafeTarget, post_json
from streamsrv.security.sealed import Sealer, SealError

# A webhook answers in well under a second; one that takes longer holds up only its own queue.
POST_TIMEOUT = 15.0
SEND_TIMEOUT = 30.0
# A receiver asking for more than this is asked again after it, not obeyed to the letter.
MAX_RETRY_AFTER = timedelta(hours=1)


class ChatSender:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.sealer = Sealer(settings.secret_key, channels.CHAT_URLS)
        self._client: httpx.AsyncClient | None = None

    def senders(self) -> list[Sender]:
        out = []
        for kind in channels.KINDS:
            for status in (
                DeliveryStatus.sent,
                DeliveryStatus.failed,
                DeliveryStatus.suppressed,
                "scheduled",
            ):
                metrics.DELIVERIES.labels(kind, status)
            metrics.DELIVERY_QUEUE_AGE.labels(kind).set(0)
            out.append(Sender(kind, self.send, timeout=SEND_TIMEOUT, close=self.close))
        return out

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a proxy from the environment must not see (or reroute) the posts.
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def prepare(self, session: Session, job: Job) -> tuple[str, bytes]:
        channel_id = job.payload.get("channel_id")
        row = channels.stored(session, job.org_id, channel_id) if isinstance(channel_id, int) else None
        if row is None:
            raise Suppressed("the notification channel was deleted")
        try:
            url = self.sealer.unseal(row.url_sealed)
        except SealError as exc:
            raise PermanentFailure(f"the webhook URL cannot be read: {exc}; set it again") from None
        message = Message.from_payload(job.payload.get("message") or {})
        body = render(row.kind, message, self.settings.public_url)
        return url, orjson.dumps(body)

    async def send(self, job: Job) -> None:
        url, body = await self.db.run(lambda session: self.prepare(session, job))
        try:
            result = await post_json(
                self.client,
                url,
                body,
                {"User-Agent": "streamsrv"},
                allow_private=self.settings.outbound_allow_private,
                timeout=POST_TIMEOUT,
            )
        except UnsafeTarget as exc:
            raise PermanentFailure(f"refused target: {exc}") from None
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        if 200 <= result.status < 300:
            return
        answer = f"HTTP {result.status}: {result.excerpt.strip()[:300]}"
        if result.status == 429:
            wait = timedelta(seconds=result.retry_after) if result.retry_after is not None else None
            retry_at = utcnow() + min(wait, MAX_RETRY_AFTER) if wait is not None else None
            raise TemporaryFailure(answer, retry_at)
        if result.status >= 500 or result.status == 408:
            raise TemporaryFailure(answer)
        raise PermanentFailure(answer)
