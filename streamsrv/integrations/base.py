"""The connector interface and what connectors share: signature checks and payload helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from streamsrv import locales
from streamsrv.models import Channel

# Custom header carrying the integration's secret, for helpdesks that do not sign their webhooks.
SECRET_HEADER = "X-Streamsrv-Secret"  # noqa: S105 - a header name, not a secret


class Rejected(Exception):
    """The request is not from the helpdesk: missing or wrong signature or secret, stale time."""


class Malformed(Exception):
    """The request is from the helpdesk but its payload cannot be used; ``field`` names why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Inbound:
    """One webhook call as received: the raw body is what signatures cover."""

    headers: Mapping[str, str]
    body: bytes
    now: datetime


@dataclass(frozen=True)
class AgentRef:
    """The helpdesk's agent as the event names them."""

    id: str | None
    email: str | None
    name: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"id": self.id, "email": self.email, "name": self.name}


@dataclass(frozen=True)
class Ticket:
    """A solved ticket, ready to become an interaction."""

    ticket_id: str
    agent: AgentRef
    customer_email: str | None
    customer_name: str | None
    channel: Channel
    ticket_url: str | None
    locale: str | None = None
    # The vendor's id of this delivery when it sends one; the log shows it.
    event_id: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A valid event that asks for no survey (the ticket is not solved, another topic)."""

    reason: str
    event_id: str | None = None


class Connector(ABC):
    """One helpdesk. Subclasses set the names and implement ``verify`` and ``parse``."""

    name: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def verify(self, secret: str, inbound: Inbound) -> None:
        """Raise ``Rejected`` unless the call carries the vendor's proof of ``secret``."""

    @abstractmethod
    def parse(self, payload: Any, inbound: Inbound) -> Ticket | Ignored:
        """The solved ticket in ``payload`` (decoded JSON); ``Malformed`` when unusable."""

    def acknowledge(self, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The answer the helpdesk gets; every supported vendor takes any 2xx as delivered."""
        return status, body


class SecretHeaderConnector(Connector):
    """Helpdesks whose webhooks are not signed: the admin puts the secret in a custom header."""

    header: ClassVar[str] = SECRET_HEADER

    def verify(self, secret: str, inbound: Inbound) -> None:
        given = inbound.headers.get(self.header)
        if not given:
            raise Rejected(f"the {self.header} header is missing")
        if not hmac.compare_digest(given.strip().encode(), secret.encode()):
            raise Rejected(f"the {self.header} header does not match the integration's secret")


def hmac_digest(secret: str, data: bytes, algorithm: str) -> bytes:
    return hmac.new(secret.encode(), data, getattr(hashlib, algorithm)).digest()


def check_signature(given: str | None, expected: str, header: str) -> None:
    if not given:
        raise Rejected(f"the {header} header is missing")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Rejected(f"the {header} signature does not match the body and the integration's secret")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


# --- payload helpers ---------------------------------------------------------------------------


def obj(payload: Any, field: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise Malformed(field, "must be a JSON object")
    return payload


def child(payload: dict[str, Any], key: str, field: str, required: bool = True) -> dict[str, Any]:
    value = payload.get(key)
    if value is None and not required:
        return {}
    return obj(value, field)


def text(payload: dict[str, Any], key: str, field: str | None = None, required: bool = False) -> str | None:
    """A string (or number) value, trimmed; an empty or unfilled placeholder counts as absent."""
    value = payload.get(key)
    if isinstance(value, bool) or (value is not None and not isinstance(value, str | int)):
        raise Malformed(field or key, "must be a string")
    result = str(value).strip() if value is not None else ""
    # A template placeholder the helpdesk left unfilled ("{{ticket.assignee.id}}") is no value.
    if result.startswith("{{") and result.endswith("}}"):
        result = ""
    if not result:
        if required:
            raise Malformed(field or key, "is required")
        return None
    if len(result) > 500:
        raise Malformed(field or key, "is too long")
    return result


def joined_name(*parts: str | None) -> str | None:
    name = " ".join(p for p in parts if p)
    return name or None


_CHANNEL_WORDS: tuple[tuple[tuple[str, ...], Channel], ...] = (
    (("mail",), Channel.email),
    (("sms", "text message"), Channel.sms),
    (("phone", "voice", "call"), Channel.phone),
    (("chat", "messag", "whatsapp", "widget", "messenger"), Channel.chat),
    (("twitter", "facebook", "instagram", "social", "tiktok"), Channel.social),
    (("in_store", "store", "walk"), Channel.in_store),
)


def channel_of(value: str | None) -> Channel:
    """The interaction channel of a helpdesk's channel name ("Email", "Phone call (incoming)")."""
    lowered = (value or "").lower()
    for words, channel in _CHANNEL_WORDS:
        if any(w in lowered for w in words):
            return channel
    return Channel.other


def https_link(value: str | None) -> str | None:
    """A ticket link as an absolute http(s) URL; Zendesk's ``{{ticket.link}}`` has no scheme."""
    if not value:
        return None
    value = value.strip()
    if "://" not in value:
        value = "https://" + value.lstrip("/")
    scheme = value.split("://", 1)[0].lower()
    return value if scheme in ("http", "https") else None


_LANGUAGE_NAMES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "french": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "portuguese": "pt",
    "português": "pt",
}


def locale_of(value: str | None) -> str | None:
    """A language tag from a helpdesk's locale or language name; None when not one we speak."""
    if not value:
        return None
    lowered = value.strip().lower()
    for name, tag in _LANGUAGE_NAMES.items():
        if lowered.startswith(name):
            return tag
    tag = lowered.replace("_", "-")
    return tag if locales.match(tag) is not None and len(tag) <= 10 else None
