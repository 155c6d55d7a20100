"""Notification channels as stored: the webhook URL sealed, shown masked, and which channels
an event goes to (cached per organization, since every outbox event of ingest asks).

The cache answers "this organization has no channels" without a query on the common path. A
change on this node clears its entry at once; other nodes see it within :data:`ROUTES_TTL`
seconds, which only delays a new channel's first message (or lets one through to a channel
deleted that moment: its sender finds the row gone and records the delivery as suppressed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import rows_clause, visible
from streamsrv.auth import Identity
from streamsrv.cache import TTLCache
from streamsrv.chat.schemas import ChannelDeliveryOut, ChannelOut
from streamsrv.errors import field_error
from streamsrv.models import Account, Delivery, NotificationChannel, Team
from streamsrv.org.common import get_visible
from streamsrv.outbound.safety import UnsafeTarget, check_url
from streamsrv.security.sealed import Sealer

CHAT_URLS = "streamsrv.chat-webhook-url"
KINDS = ("slack", "teams")
NEGATIVE_RESPONSE = "negative_response"
CASE_SLA_BREACH = "case_sla_breach"
SHOUTOUT = "shoutout"
GREAT_MOMENT = "great_moment"
DAILY_DIGEST = "daily_digest"
TEST = "test"
EVENTS = (NEGATIVE_RESPONSE, CASE_SLA_BREACH, SHOUTOUT, GREAT_MOMENT, DAILY_DIGEST)
DELIVERY_LOG = 100
ROUTES_TTL = 5.0


@dataclass(frozen=True)
class ChannelRoute:
    """What the event receiver needs of a channel: no URL, nothing secret."""

    id: int
    kind: str
    account_id: int
    team_id: int | None
    events: frozenset[str]

    def wants(self, event: str, account_id: int, team_id: int | None) -> bool:
        if event not in self.events or account_id != self.account_id:
            return False
        return self.team_id is None or team_id is None or self.team_id == team_id


# Keyed by (database, organization): one process may serve several databases (the test suite's
# servers), whose organization ids overlap.
_routes: TTLCache[tuple[str, int], tuple[ChannelRoute, ...]] = TTLCache(ttl=ROUTES_TTL, size=10_000)


def queue_name(channel_id: int) -> str:
    return f"chat:{channel_id}"


def forget(org_id: int) -> None:
    """This node's cached routes of ``org_id`` are stale (a channel changed)."""
    _routes.discard_keys(lambda key: key[1] == org_id)


def routes(session: Session, org_id: int) -> tuple[ChannelRoute, ...]:
    key = (str(session.get_bind().engine.url), org_id)
    cached = _routes.get(key)
    if cached is not None:
        return cached
    rows = session.exec(
        select(NotificationChannel)
        .where(NotificationChannel.org_id == org_id)
        .order_by(col(NotificationChannel.id))
    ).all()
    found = tuple(
        ChannelRoute(r.id, r.kind, r.account_id, r.team_id, frozenset(r.events))
        for r in rows
        if r.id is not None
    )
    _routes.put(key, found)
    return found


def targets(
    session: Session, org_id: int, event: str, account_id: int, team_id: int | None
) -> list[ChannelRoute]:
    return [r for r in routes(session, org_id) if r.wants(event, account_id, team_id)]


def mask(url: str) -> str:
    parts = urlsplit(url)
    tail = parts.path.rstrip("/")[-4:]
    return f"{parts.scheme}://{parts.hostname}/\u2026{tail}"


def channel_out(row: NotificationChannel) -> ChannelOut:
    assert row.id is not None
    return ChannelOut(
        id=row.id,
        kind=row.kind,
        url_masked=row.url_hint,
        account_id=row.account_id,
        team_id=row.team_id,
        events=list(row.events),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def checked_url(url: str, allow_private: bool) -> str:
    try:
        return check_url(url, allow_private=allow_private)
    except UnsafeTarget as exc:
        raise field_error("url", str(exc)) from None


def _check_team(session: Session, org_id: int, account_id: int, team_id: int | None) -> None:
    if team_id is None:
        return
    team = session.get(Team, team_id)
    if team is None or team.org_id != org_id or team.account_id != account_id:
        raise field_error("team_id", "no such team in this account")


def _audit(session: Session, identity: Identity, action: str, row: NotificationChannel) -> None:
    audit_log.record(
        session,
        identity,
        action,
        f"notification_channel:{row.id}",
        {
            "kind": row.kind,
            "account_id": row.account_id,
            "team_id": row.team_id,
            "events": list(row.events),
            "url": row.url_hint,
        },
    )


def create(
    session: Session,
    sealer: Sealer,
    identity: Identity,
    *,
    kind: str,
    url: str,
    account_id: int,
    team_id: int | None,
    events: Sequence[str],
    now: datetime,
) -> NotificationChannel:
    account = session.get(Account, account_id)
    if account is None or account.org_id != identity.org_id or not identity.sees_account(account_id):
        raise field_error("account_id", "no such account in this organization")
    _check_team(session, identity.org_id, account_id, team_id)
    row = NotificationChannel(
        org_id=identity.org_id,
        account_id=account_id,
        team_id=team_id,
        kind=kind,
        url_sealed=sealer.seal(url),
        url_hint=mask(url),
        events=list(events),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, identity, "notification_channel.created", row)
    forget(identity.org_id)
    return row


def load(session: Session, identity: Identity, channel_id: int) -> NotificationChannel:
    clause = rows_clause(identity, NotificationChannel.account_id)
    return get_visible(session, NotificationChannel, channel_id, identity, clause, "notification channel")


def listing(session: Session, identity: Identity) -> list[NotificationChannel]:
    stmt = select(NotificationChannel).where(NotificationChannel.org_id == identity.org_id)
    stmt = visible(stmt, rows_clause(identity, NotificationChannel.account_id))
    return list(session.exec(stmt.order_by(col(NotificationChannel.id))).all())


def update(
    session: Session,
    sealer: Sealer,
    identity: Identity,
    channel_id: int,
    changes: dict[str, Any],
    now: datetime,
) -> NotificationChannel:
    row = load(session, identity, channel_id)
    if "team_id" in changes:
        _check_team(session, identity.org_id, row.account_id, changes["team_id"])
        row.team_id = changes["team_id"]
    if "kind" in changes:
        row.kind = changes["kind"]
    if "url" in changes:
        row.url_sealed = sealer.seal(changes["url"])
        row.url_hint = mask(changes["url"])
    if "events" in changes:
        row.events = list(changes["events"])
    row.updated_at = now
    session.add(row)
    session.flush()
    _audit(session, identity, "notification_channel.updated", row)
    forget(identity.org_id)
    return row


def delete(session: Session, identity: Identity, channel_id: int) -> None:
    row = load(session, identity, channel_id)
    _audit(session, identity, "notification_channel.deleted", row)
    session.delete(row)
    session.flush()
    forget(identity.org_id)


def deliveries(session: Session, identity: Identity, channel_id: int) -> list[ChannelDeliveryOut]:
    row = load(session, identity, channel_id)
    assert row.id is not None
    rows = session.exec(
        select(Delivery)
        # By ref, which is indexed; a channel's deliveries carry its queue name as their ref.
        .where(Delivery.ref == queue_name(row.id), Delivery.org_id == identity.org_id)
        .order_by(col(Delivery.id).desc())
        .limit(DELIVERY_LOG)
    ).all()
    return [
        ChannelDeliveryOut(
            id=d.id or 0,
            event=(d.payload or {}).get("event"),
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            due_at=d.due_at,
            sent_at=d.sent_at,
            created_at=d.created_at,
        )
        for d in rows
    ]


def stored(session: Session, org_id: int, channel_id: int) -> NotificationChannel | None:
    row = session.get(NotificationChannel, channel_id)
    return row if row is not None and row.org_id == org_id else None
