"""Emails about a user's own login: the invitation to set a first password, and the password
reset link. Both go through the durable delivery queue (kind ``account_email``), to the
organization's SMTP server or the server's default, like survey emails.

The link's token is random and only its hash is stored (``account_tokens``); the delivery row
carries the token sealed with the server's secret key (``streamsrv.security.sealed``), so that
the worker can build the link, and the sealed copy is wiped from the row once the delivery is
finished, whatever its outcome. Neither the token nor the link is ever logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import css_inline
from sqlalchemy import update
from sqlmodel import Session, col

from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.deliveries import queue
from streamsrv.deliveries.queue import Job
from streamsrv.deliveries.worker import PermanentFailure, Sender, Suppressed
from streamsrv.mail.message import FALLBACK_DOMAIN, BadAddress, check_address, default_from
from streamsrv.mail.render import RenderedEmail, Renderer
from streamsrv.mail.smtp import BOUNCED, Connections, SmtpTarget, email_sender, queue_for, resolve
from streamsrv.models import (
    AccountToken,
    Delivery,
    DeliveryStatus,
    Organization,
    SmtpSettings,
    TokenPurpose,
    User,
    utcnow,
)
from streamsrv.security.sealed import SMTP_CREDENTIALS, Sealer, SealError

KIND = "account_email"
PRODUCT = "streamsrv"
# The key that seals a link's token inside its delivery row until the email is sent.
LINK_SEALING = "streamsrv.account-link"
# Where each purpose's link leads (``streamsrv.pages.account_links``).
LINK_PATHS = {TokenPurpose.invite: "/invite/", TokenPurpose.reset: "/password/reset/"}
USED = "the link was used or replaced before the email went out"


def link_sealer(settings: Settings) -> Sealer:
    return Sealer(settings.secret_key, LINK_SEALING)


def link_url(settings: Settings, purpose: str, token: str) -> str:
    return f"{settings.public_url}{LINK_PATHS[TokenPurpose(purpose)]}{token}"


def schedule(
    session: Session, settings: Settings, row: AccountToken, token: str, now: datetime
) -> int | None:
    """Queue the email carrying ``token``'s link, in the transaction that made the token."""
    assert row.id is not None
    own_server = session.get(SmtpSettings, row.org_id) is not None
    return queue.enqueue(
        session,
        org_id=row.org_id,
        kind=KIND,
        queue=queue_for(row.org_id, own_server),
        payload={"token_id": row.id, "sealed": link_sealer(settings).seal(token)},
        due_at=now,
        now=now,
        ref=f"user:{row.user_id}",
    )


@dataclass(frozen=True)
class Outgoing:
    target: SmtpTarget
    message: EmailMessage


def render(renderer: Renderer, purpose: str, context: dict[str, Any]) -> RenderedEmail:
    name = "account_invite" if purpose == TokenPurpose.invite else "account_reset"
    if purpose == TokenPurpose.invite:
        subject = f"You are invited to {context['org_name']} on {PRODUCT}"
    else:
        subject = f"Reset your {PRODUCT} password"
    values = {**context, "subject": subject, "product": PRODUCT}
    html = renderer.env.get_template(f"{name}.html").render(values)
    text = renderer.env.get_template(f"{name}.txt").render(values)
    inlined = css_inline.inline(html, load_remote_stylesheets=False, keep_at_rules=True)
    return RenderedEmail(subject, inlined, text)


def build(
    rendered: RenderedEmail, from_address: str, from_name: str, to: str, to_name: str, key: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = formataddr((from_name, from_address))
    message["To"] = formataddr((to_name, to))
    domain = from_address.rpartition("@")[2] or FALLBACK_DOMAIN
    message["Message-ID"] = f"<{key}@{domain}>"
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def staff_message(
    session: Session,
    settings: Settings,
    sealer: Sealer,
    org_id: int,
    rendered: RenderedEmail,
    to_address: str,
    to_name: str,
    key: str,
) -> Outgoing:
    """An email to one of the organization's own users, through its SMTP server if it has one
    (from that server's address) or else the server-wide one (``STREAMSRV_SMTP_FROM`` first)."""
    own = session.get(SmtpSettings, org_id)
    target = resolve(own, settings.smtp_url, sealer)
    if own is not None:
        from_address = target.from_address
    else:
        from_address = settings.smtp_from or target.from_address or default_from(settings.public_url)
    message = build(rendered, from_address, target.from_name or PRODUCT, to_address, to_name, key)
    return Outgoing(target, message)


class StaffEmailSender:
    """Delivers one kind of email to the organization's own users: ``prepare`` builds the message
    in a database session at send time, ``after`` records the outcome."""

    kind: str

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        renderer: Renderer | None = None,
        connections: Connections | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.sealer = Sealer(settings.secret_key, SMTP_CREDENTIALS)
        self.renderer = renderer or Renderer()
        self.connections = connections or Connections()

    def sender(self) -> Sender:
        return email_sender(self.kind, self.send, self.after, self.connections)

    async def send(self, job: Job) -> None:
        outgoing = await self.db.run(lambda session: self.prepare(session, job))
        await self.connections.send(outgoing.target, outgoing.message)

    def prepare(self, session: Session, job: Job) -> Outgoing:
        raise NotImplementedError

    def after(self, session: Session, job: Job, status: str, error: str | None) -> None:
        raise NotImplementedError


class AccountEmailSender(StaffEmailSender):
    kind = KIND

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        renderer: Renderer | None = None,
        connections: Connections | None = None,
    ) -> None:
        super().__init__(db, settings, renderer=renderer, connections=connections)
        self.links = link_sealer(settings)

    def prepare(self, session: Session, job: Job) -> Outgoing:
        """The message to send now, or Suppressed / PermanentFailure saying why not."""
        now = utcnow()
        row = session.get(AccountToken, job.payload.get("token_id"))
        if row is None or row.org_id != job.org_id or row.consumed_at is not None:
            raise Suppressed(USED)
        if row.expires_at <= now:
            raise PermanentFailure("the link expired before the email could be sent")
        user = session.get(User, row.user_id)
        org = session.get(Organization, row.org_id)
        if user is None or org is None:
            raise PermanentFailure("the user no longer exists")
        try:
            token = self.links.unseal(str(job.payload.get("sealed", "")))
        except SealError:
            raise PermanentFailure("the link cannot be read back (the secret key changed)") from None
        try:
            to_address = check_address(user.email)
        except BadAddress as exc:
            raise PermanentFailure(f"{BOUNCED}{exc}") from None
        rendered = render(
            self.renderer,
            row.purpose,
            {
                "org_name": org.name,
                "name": user.name,
                "email": user.email,
                "url": link_url(self.settings, row.purpose, token),
                "expires_at": row.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            },
        )
        return staff_message(
            session,
            self.settings,
            self.sealer,
            row.org_id,
            rendered,
            to_address,
            user.name,
            f"account.{job.id}",
        )

    def after(self, session: Session, job: Job, status: str, error: str | None) -> None:
        """A finished delivery forgets the sealed token: only the hash remains anywhere."""
        if status == DeliveryStatus.scheduled:
            return
        payload = {"token_id": job.payload.get("token_id")}
        session.execute(update(Delivery).where(col(Delivery.id) == job.id).values(payload=payload))
