"""Webhook endpoints as stored: who may see them, their secrets, and the per-organization cache
of subscriptions that every emitted event consults.

An endpoint limited to ``account_ids`` gets only those accounts' events; an empty list means
every account, which only an administrator of the whole organization may set up or see.
Secrets are ``whsec_`` + base64 of 32 random bytes, sealed at rest (signing needs them back).
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv import metrics
from streamsrv.auth import Identity
from streamsrv.cache import TTLCache
from streamsrv.errors import field_error, not_found
from streamsrv.models import Account, WebhookEndpoint, WebhookStatus
from streamsrv.security.sealed import Sealer

log = logging.getLogger("streamsrv.webhooks")

WEBHOOK_SECRETS = "streamsrv.webhook-secret"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
MAX_ENDPOINTS_PER_ORG = 50
# Another node's change reaches this node's cache within this time; local changes at once.
SUBSCRIPTIONS_TTL = 5.0
_CHANGED = "streamsrv_webhooks_changed"


@dataclass(frozen=True)
class Subscription:
    endpoint_id: int
    events: frozenset[str]
    # Empty: every account.
    account_ids: frozenset[int]

    def wants(self, type: str, account_id: int | None) -> bool:
        if type not in self.events:
            return False
        return not self.account_ids or (account_id is not None and account_id in self.account_ids)


_subscriptions: TTLCache[int, tuple[Subscription, ...]] = TTLCache(ttl=SUBSCRIPTIONS_TTL, size=10_000)
# What the sender keeps of each endpoint (URL, signing keys), by endpoint id: dropped here when
# the endpoint changes on this node, within the sender's short TTL when on another.
targets: TTLCache[int, object] = TTLCache(ttl=2.0, size=10_000)


def subscriptions(session: Session, org_id: int) -> tuple[Subscription, ...]:
    """The organization's active subscriptions; an organization without any costs a dict lookup."""
    cached = _subscriptions.get(org_id)
    if cached is not None:
        return cached
    rows = session.execute(
        select(col(WebhookEndpoint.id), col(WebhookEndpoint.events), col(WebhookEndpoint.account_ids)).where(
            col(WebhookEndpoint.org_id) == org_id, col(WebhookEndpoint.status) == WebhookStatus.active
        )
    ).all()
    subs = tuple(Subscription(int(i), frozenset(ev or ()), frozenset(acc or ())) for i, ev, acc in rows)
    _subscriptions.put(org_id, subs)
    return subs


def changed(session: Session, org_id: int, endpoint_id: int | None) -> None:
    """An endpoint of the organization changes in this transaction: forget what is cached of it
    once it commits (and now, so this node never keeps the old state for a TTL)."""
    session.info.setdefault(_CHANGED, set()).add((org_id, endpoint_id))
    forget(org_id, endpoint_id)


def forget(org_id: int, endpoint_id: int | None) -> None:
    _subscriptions.discard_keys(lambda key: key == org_id)
    if endpoint_id is not None:
        targets.discard_keys(lambda key: key == endpoint_id)


@event.listens_for(Session, "after_commit")
def _forget_changed(session: Session) -> None:
    for org_id, endpoint_id in session.info.pop(_CHANGED, ()):
        forget(org_id, endpoint_id)


@event.listens_for(Session, "after_rollback")
def _drop_changed(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sealer(secret_key: str) -> Sealer:
    return Sealer(secret_key, WEBHOOK_SECRETS)


def signing_secrets(row: WebhookEndpoint, seal: Sealer, now: datetime) -> list[str]:
    """The secrets to sign with now: the current one, and the previous one during its grace."""
    found = [seal.unseal(row.secret_sealed)]
    if row.previous_secret_sealed and row.previous_until is not None and row.previous_until > now:
        found.append(seal.unseal(row.previous_secret_sealed))
    return found


def _covers(identity: Identity, account_ids: Iterable[int]) -> bool:
    """Whether the caller may see an endpoint for these accounts (empty: the whole org)."""
    ids = list(account_ids)
    if identity.org_wide:
        return True
    return bool(ids) and all(identity.sees_account(a) for a in ids)


def check_accounts(session: Session, identity: Identity, account_ids: Sequence[int]) -> list[int]:
    """The accounts an endpoint may be limited to by this caller; 422 naming ``account_ids``."""
    ids = sorted(set(account_ids))
    if not ids and not identity.org_wide:
        raise field_error(
            "account_ids", "name the accounts this endpoint is for (you administer only some of them)"
        )
    if ids:
        found = set(
            session.exec(
                select(col(Account.id)).where(
                    col(Account.id).in_(ids), col(Account.org_id) == identity.org_id
                )
            ).all()
        )
        unknown = [a for a in ids if a not in found or not identity.sees_account(a)]
        if unknown:
            raise field_error(
                "account_ids", f"unknown account id(s) in your scope: {', '.join(map(str, unknown))}"
            )
    return ids


def listing(session: Session, identity: Identity) -> list[WebhookEndpoint]:
    rows = session.exec(
        select(WebhookEndpoint)
        .where(col(WebhookEndpoint.org_id) == identity.org_id)
        .order_by(col(WebhookEndpoint.id))
    ).all()
    return [row for row in rows if _covers(identity, row.account_ids)]


def load(session: Session, identity: Identity, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint if the caller may manage it; 404 otherwise (nothing learned about others)."""
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.org_id != identity.org_id or not _covers(identity, row.account_ids):
        raise not_found("webhook endpoint")
    return row


def count(session: Session, org_id: int) -> int:
    return len(
        session.exec(select(col(WebhookEndpoint.id)).where(col(WebhookEndpoint.org_id) == org_id)).all()
    )


def audit(
    session: Session,
    identity: Identity | None,
    org_id: int,
    action: str,
    row: WebhookEndpoint,
    **details: Any,
) -> None:
    audit_log.record(
        session, identity, action, f"webhook_endpoint:{row.id}", {"url": row.url, **details}, org_id=org_id
    )


def rotate(row: WebhookEndpoint, seal: Sealer, grace: timedelta, now: datetime) -> str:
    """A new secret; the current one keeps signing alongside it for ``grace``."""
    secret = new_secret()
    if grace > timedelta(0):
        row.previous_secret_sealed = row.secret_sealed
        row.previous_until = now + grace
    else:
        row.previous_secret_sealed = None
        row.previous_until = None
    row.secret_sealed = seal.seal(secret)
    row.updated_at = now
    return secret


def disable(session: Session, endpoint_id: int, reason: str, now: datetime) -> bool:
    """Stop delivering to the endpoint (the retry window of a message ran out); False when it
    was not active. The audit log and the server log say so; the API re-enables it."""
    result = session.execute(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.status) == WebhookStatus.active)
        .values(status=WebhookStatus.disabled, disabled_reason=reason[:500], disabled_at=now, updated_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    row = session.get(WebhookEndpoint, endpoint_id)
    assert row is not None
    session.refresh(row)
    changed(session, row.org_id, endpoint_id)
    audit(session, None, row.org_id, "webhook.disabled", row, reason=reason[:500])
    log.warning("webhooks: endpoint %s of org %s disabled: %s", row.id, row.org_id, reason)
    metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
    return True
