"""The MIME message around a rendered email: addresses, one-click unsubscribe, a stable id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import urlsplit

from streamsrv.mail.render import RenderedEmail

FALLBACK_DOMAIN = "streamsrv.invalid"


class BadAddress(ValueError):
    pass


def check_address(address: str) -> str:
    """The address as an SMTP envelope can carry it, or BadAddress."""
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise BadAddress(f"not a valid email address: {address!r} ({exc})") from None
    if not parsed.username or "." not in parsed.domain or any(ord(c) < 33 for c in address):
        raise BadAddress(f"not a valid email address: {address!r}")
    return parsed.addr_spec


def default_from(public_url: str) -> str:
    """``noreply@`` the public host, when nothing names a sender address."""
    host = urlsplit(public_url).hostname or ""
    if "." not in host or host.replace(".", "").isdigit():
        host = FALLBACK_DOMAIN
    return f"noreply@{host}"


@dataclass(frozen=True)
class Envelope:
    from_address: str
    from_name: str
    to_address: str
    to_name: str | None
    reply_to: str | None
    unsubscribe_url: str
    # Stable per delivery: a resend after a lost lease carries the same id, so receiving
    # systems (and the tests) can tell a duplicate from a second email.
    message_key: str


def build_message(rendered: RenderedEmail, envelope: Envelope, date: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = formataddr((envelope.from_name, envelope.from_address))
    message["To"] = formataddr((envelope.to_name or "", envelope.to_address))
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    domain = envelope.from_address.rpartition("@")[2] or FALLBACK_DOMAIN
    message["Message-ID"] = f"<{envelope.message_key}@{domain}>"
    message["Date"] = format_datetime(date)
    # RFC 8058: mail clients offer "unsubscribe" and POST "List-Unsubscribe=One-Click" to it.
    message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Out-of-office replies to a survey help nobody.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
