"""Where survey emails go (an organization's SMTP server, else ``STREAMSRV_SMTP_URL``) and the
SMTP conversation itself, with every failure sorted into "try again later" or "never".

One connection per SMTP target is kept open between messages of a burst: the worker works
through a queue one message at a time, and a TLS handshake and login per message would cost
more than the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from streamsrv import metrics
from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Sender, TemporaryFailure
from streamsrv.models import DeliveryStatus, SmtpSecurity, SmtpSettings
from streamsrv.security.sealed import Sealer, SealError

DEFAULT_QUEUE = "smtp:default"
# Each SMTP step (connect, greeting, each command, the data) must answer within this.
STEP_TIMEOUT = 20.0
# Servers drop idle clients (often after 60 s or more); reconnecting before that is cheaper
# than finding a dead connection mid-message.
IDLE_SECONDS = 30.0
# Prefix of a failure's error text when the receiving server refused the address for good: the
# sender's ``after`` step puts such an address on the suppression list.
BOUNCED = "bounced: "
# What talking SMTP can raise: protocol answers, and sockets, TLS and timeouts (all OSError).
SMTP_ERRORS = (aiosmtplib.SMTPException, OSError)
DEFAULT_PORTS = {SmtpSecurity.starttls: 587, SmtpSecurity.tls: 465, SmtpSecurity.none: 25}


class SmtpUrlError(ValueError):
    """``STREAMSRV_SMTP_URL`` cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    from_address: str = ""
    from_name: str | None = None


def queue_for(org_id: int, has_own_server: bool) -> str:
    """Deliveries to one SMTP server share a queue: a slow server holds up only its own mail."""
    return f"smtp:org:{org_id}" if has_own_server else DEFAULT_QUEUE


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://user:pass@host:587?starttls=true&from=noreply@example.com``, ``smtps://...:465``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("STREAMSRV_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError("STREAMSRV_SMTP_URL names no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        security = SmtpSecurity.tls
    elif query.get("starttls", "").lower() in ("1", "true", "yes", "on"):
        security = SmtpSecurity.starttls
    else:
        security = SmtpSecurity.none
    try:
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError:
        raise SmtpUrlError("STREAMSRV_SMTP_URL has an invalid port") from None
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        from_address=query.get("from", ""),
    )


def target_of(row: SmtpSettings, sealer: Sealer) -> SmtpTarget:
    password = None
    if row.password_sealed:
        try:
            password = sealer.unseal(row.password_sealed)
        except SealError:
            raise PermanentFailure(
                "the organization's SMTP password cannot be decrypted (the server's secret key "
                "changed?); set it again with PUT /api/v1/smtp-settings"
            ) from None
    return SmtpTarget(
        host=row.host,
        port=row.port,
        security=SmtpSecurity(row.security),
        username=row.username,
        password=password,
        from_address=row.from_address,
        from_name=row.from_name,
    )


def resolve(own: SmtpSettings | None, default_url: str, sealer: Sealer) -> SmtpTarget:
    """The organization's own server, else the server-wide one; neither is a permanent failure."""
    if own is not None:
        return target_of(own, sealer)
    if not default_url:
        raise PermanentFailure(
            "no SMTP server configured: set STREAMSRV_SMTP_URL, or the organization's own with "
            "PUT /api/v1/smtp-settings"
        )
    try:
        return parse_smtp_url(default_url)
    except SmtpUrlError as exc:
        raise PermanentFailure(str(exc)) from None


def _code_text(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def classify(exc: Exception) -> TemporaryFailure | PermanentFailure:
    """Sort an SMTP failure: 4xx and network trouble are retried, 5xx are final.

    Only a 5xx answer to the recipient itself counts as a bounce (the address is then never
    emailed again); a refused sender or message is this server's problem, not the address's.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0] if exc.recipients else None
        if refused is not None:
            exc = refused
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        if 500 <= exc.code < 600:
            return PermanentFailure(f"{BOUNCED}{_code_text(exc)}")
        return TemporaryFailure(f"recipient deferred: {_code_text(exc)}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # A wrong password is fixed by a person; retrying for a day leaves time for that.
        return TemporaryFailure(f"SMTP login failed ({_code_text(exc)}): check the username and password")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return PermanentFailure(f"refused: {_code_text(exc)}")
        return TemporaryFailure(f"deferred: {_code_text(exc)}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return TemporaryFailure(f"the SMTP server does not support what its settings ask for: {exc}")
    if isinstance(exc, ssl.SSLError):
        return TemporaryFailure(f"TLS failed: {exc}")
    if isinstance(exc, TimeoutError):
        return TemporaryFailure(f"the SMTP server did not answer in time: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return TemporaryFailure(f"cannot reach the SMTP server: {exc}")
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


@dataclass
class _Open:
    client: aiosmtplib.SMTP
    last_used: float


class Connections:
    """At most one open connection per SMTP target; each target's messages go one at a time."""

    def __init__(self, step_timeout: float = STEP_TIMEOUT, idle_seconds: float = IDLE_SECONDS) -> None:
        self.step_timeout = step_timeout
        self.idle_seconds = idle_seconds
        self._open: dict[SmtpTarget, _Open] = {}
        self._locks: dict[SmtpTarget, asyncio.Lock] = {}

    async def _connect(self, target: SmtpTarget) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username or None,
            password=target.password or None,
            use_tls=target.security == SmtpSecurity.tls,
            # False, not None: None would upgrade whenever offered, and "none" means none.
            start_tls=target.security == SmtpSecurity.starttls,
            timeout=self.step_timeout,
        )
        await client.connect()
        return client

    async def send(self, target: SmtpTarget, message: EmailMessage) -> None:
        """Send one message; raises TemporaryFailure or PermanentFailure."""
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            held = self._open.pop(target, None)
            if held is not None and time.monotonic() - held.last_used > self.idle_seconds:
                await _close(held.client)
                held = None
            try:
                client = held.client if held is not None else await self._connect(target)
            except SMTP_ERRORS as exc:
                raise classify(exc) from None
            try:
                try:
                    await client.send_message(message)
                except aiosmtplib.SMTPServerDisconnected:
                    if held is None:
                        raise
                    # The kept connection had been dropped by the server: one fresh try.
                    client = await self._connect(target)
                    await client.send_message(message)
            except SMTP_ERRORS as exc:
                await _close(client)
                raise classify(exc) from None
            self._open[target] = _Open(client, time.monotonic())

    async def close(self) -> None:
        held = list(self._open.values())
        self._open.clear()
        for item in held:
            await _close(item.client)


async def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        if client.is_connected:
            await asyncio.wait_for(client.quit(), 2.0)
    with contextlib.suppress(Exception):
        client.close()


# Far below the delivery lease (5 minutes), above a slow server's connect, login and data.
SEND_TIMEOUT = 120.0


def email_sender(
    kind: str,
    send: Callable[[Job], Awaitable[None]],
    after: Callable[..., Any],
    connections: Connections,
) -> Sender:
    """A delivery sender for one kind of email, its metric series shown as zero from the start
    (so dashboards and alerts see them before any email is sent)."""
    for status in (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.suppressed, "scheduled"):
        metrics.DELIVERIES.labels(kind, status)
    metrics.DELIVERY_QUEUE_AGE.labels(kind).set(0)
    return Sender(kind, send, after=after, timeout=SEND_TIMEOUT, close=connections.close)
