"""Unsubscribe links: ``/u/{token}``, signed, naming the request whose email carried them.

The token holds the organization, the account and the request id (whose row has the address),
not the address itself, so a forwarded email does not spell out the customer's address in a URL.
It never expires by time: an unsubscribe link from an old email must still work. It stops
working only if the server's secret key changes or the request is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from streamsrv.config import Settings
from streamsrv.mail import suppressions
from streamsrv.models import Account, FeedbackRequest, Suppression, SuppressionReason
from streamsrv.security.tokens import UNSUBSCRIBE, Signer, TokenError


@dataclass(frozen=True)
class Subscriber:
    """Whom an unsubscribe link is about."""

    account: Account
    email: str


def token_for(signer: Signer, request: FeedbackRequest) -> str:
    return signer.dumps(UNSUBSCRIBE, {"o": request.org_id, "a": request.account_id, "r": request.id})


def url_for(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/u/{token}"


def resolve(session: Session, signer: Signer, token: str) -> Subscriber:
    """Who the link unsubscribes; TokenError when it is forged or names nothing any more."""
    data = signer.loads(UNSUBSCRIBE, token, max_age=None)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("o", "a", "r")):
        raise TokenError("invalid token")
    request = session.get(FeedbackRequest, data["r"])
    account = session.get(Account, data["a"])
    if (
        request is None
        or account is None
        or request.org_id != data["o"]
        or account.org_id != data["o"]
        or request.account_id != account.id
        or not request.customer_email
    ):
        raise TokenError("this unsubscribe link no longer names an address")
    return Subscriber(account, request.customer_email)


def unsubscribe(session: Session, signer: Signer, token: str, now: datetime) -> tuple[Subscriber, Suppression]:
    who = resolve(session, signer, token)
    assert who.account.id is not None
    row, _ = suppressions.add(
        session,
        org_id=who.account.org_id,
        account_id=who.account.id,
        email=who.email,
        reason=SuppressionReason.unsubscribed,
        now=now,
    )
    return who, row


def masked(email: str) -> str:
    """``c***@example.com``: enough for the customer to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
