"""Unsubscribe links: ``/u/{token}``, signed, naming the request whose email carried them.

The token holds the organization, the account and the request id (whose row has the address),
and the address sealed (encrypted under a key derived from the server's secret), never in clear,
so a forwarded email does not spell out the customer's address in a URL. It never expires by
time: an unsubscribe link from an old email must still work, also after the request's address
was erased for retention (``streamsrv.retention``); the sealed copy in the customer's own email is
then the only one left. It stops working only if the server's secret key changes or the request
is deleted (or, for links sent before addresses were sealed into them, once the address is
erased).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from streamsrv.config import Settings
from streamsrv.mail import suppressions
from streamsrv.models import Account, FeedbackRequest, Suppression, SuppressionReason
from streamsrv.security.sealed import Sealer, SealError
from streamsrv.security.tokens import UNSUBSCRIBE, Signer, TokenError

ADDRESS = "streamsrv.unsubscribe-address"


@dataclass(frozen=True)
class Subscriber:
    """Whom an unsubscribe link is about."""

    account: Account
    email: str


@functools.cache
def address_sealer(secret_key: str) -> Sealer:
    return Sealer(secret_key, ADDRESS)


def token_for(signer: Signer, sealer: Sealer, request: FeedbackRequest) -> str:
    data: dict[str, object] = {"o": request.org_id, "a": request.account_id, "r": request.id}
    if request.customer_email:
        data["s"] = sealer.seal(request.customer_email)
    return signer.dumps(UNSUBSCRIBE, data)


def url_for(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/u/{token}"


def resolve(session: Session, signer: Signer, sealer: Sealer, token: str) -> Subscriber:
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
    ):
        raise TokenError("this unsubscribe link no longer names an address")
    email = request.customer_email or _unsealed(sealer, data.get("s"))
    if not email:
        raise TokenError("this unsubscribe link no longer names an address")
    return Subscriber(account, email)


def _unsealed(sealer: Sealer, sealed: object) -> str | None:
    if not isinstance(sealed, str):
        return None
    try:
        return sealer.unseal(sealed)
    except SealError:
        return None


def unsubscribe(
    session: Session, signer: Signer, sealer: Sealer, token: str, now: datetime
) -> tuple[Subscriber, Suppression]:
    who = resolve(session, signer, sealer, token)
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
