"""Integrations, their delivery log and the events waiting for an agent: all the SQL they need.

Only administrators manage integrations (the route guards say so); one limited to some accounts
sees and changes the integrations of those accounts only. Every query is scoped by ``org_id``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import rows_clause, visible
from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.integrations.base import AgentRef
from streamsrv.integrations.schemas import (
    IntegrationCreate,
    IntegrationCreated,
    IntegrationDeliveryOut,
    IntegrationOut,
    UnmappedOut,
    UnmappedQuery,
)
from streamsrv.models import (
    Account,
    Agent,
    Integration,
    IntegrationDelivery,
    Interaction,
    UnmappedEvent,
    UnmappedStatus,
    User,
)
from streamsrv.org.common import Page, paginate
from streamsrv.org.schemas import PageQuery
from streamsrv.security.sealed import Sealer

SEAL_PURPOSE = "streamsrv.integration-secret"
# The delivery log keeps this many calls per integration: enough to debug a setup, bounded.
LOG_SIZE = 100


def sealer(settings: Settings) -> Sealer:
    return Sealer(settings.secret_key, SEAL_PURPOSE)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def events_url(settings: Settings, row: Integration) -> str:
    return f"{settings.public_url}/api/v1/integrations/{row.connector}/{row.id}/events"


def integration_out(settings: Settings, row: Integration) -> IntegrationOut:
    assert row.id is not None
    return IntegrationOut(
        id=row.id,
        account_id=row.account_id,
        connector=row.connector,
        name=row.name,
        url=events_url(settings, row),
        enabled=row.enabled,
        created_at=row.created_at,
        secret_rotated_at=row.secret_rotated_at,
    )


def audit(
    session: Session, identity: Identity, action: str, target: str, details: dict[str, Any], now: datetime
) -> None:
    audit_log.record(session, identity, action, target, {**details, "actor": identity.name}, now=now)


def _scope(identity: Identity) -> Any:
    return rows_clause(identity, col(Integration.account_id))


def create(
    session: Session, settings: Settings, identity: Identity, body: IntegrationCreate, now: datetime
) -> IntegrationCreated:
    account = session.get(Account, body.account_id)
    if account is None or account.org_id != identity.org_id or not identity.sees_account(body.account_id):
        raise field_error("account_id", f"no account {body.account_id} in this credential's scope")
    secret = new_secret()
    row = Integration(
        org_id=identity.org_id,
        account_id=body.account_id,
        connector=body.connector,
        name=body.name,
        secret_sealed=sealer(settings).seal(secret),
        created_by=identity.user_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        identity,
        "integration.created",
        f"integration:{row.id}",
        {"connector": row.connector, "name": row.name, "account_id": row.account_id},
        now,
    )
    return IntegrationCreated(**integration_out(settings, row).model_dump(), secret=secret)


def listing(
    session: Session, settings: Settings, identity: Identity, query: PageQuery
) -> Page[IntegrationOut]:
    stmt = visible(
        select(Integration).where(
            Integration.org_id == identity.org_id, col(Integration.deleted_at).is_(None)
        ),
        _scope(identity),
    )
    rows, cursor = paginate(session, stmt, Integration.id, query.cursor, query.limit)
    return Page([integration_out(settings, r) for r in rows], cursor)


def load_visible(session: Session, identity: Identity, integration_id: int) -> Integration:
    row = session.exec(
        visible(
            select(Integration).where(
                Integration.id == integration_id,
                Integration.org_id == identity.org_id,
                col(Integration.deleted_at).is_(None),
            ),
            _scope(identity),
        )
    ).first()
    if row is None:
        raise not_found("integration")
    return row


def remove(session: Session, identity: Identity, integration_id: int, now: datetime) -> None:
    """The row stays (its log and waiting events refer to it) but never answers again."""
    row = load_visible(session, identity, integration_id)
    row.enabled = False
    row.deleted_at = now
    session.add(row)
    audit(session, identity, "integration.deleted", f"integration:{row.id}", {"name": row.name}, now)


def rotate(
    session: Session,
    settings: Settings,
    identity: Identity,
    integration_id: int,
    now: datetime,
    given: str | None = None,
) -> IntegrationCreated:
    """A new secret: generated, or ``given`` when the helpdesk makes its own and cannot take ours."""
    row = load_visible(session, identity, integration_id)
    secret = given or new_secret()
    row.secret_sealed = sealer(settings).seal(secret)
    row.secret_rotated_at = now
    session.add(row)
    session.flush()
    audit(
        session,
        identity,
        "integration.secret_set" if given else "integration.secret_rotated",
        f"integration:{row.id}",
        {"name": row.name},
        now,
    )
    return IntegrationCreated(**integration_out(settings, row).model_dump(), secret=secret)


def delivery_out(row: IntegrationDelivery) -> IntegrationDeliveryOut:
    return IntegrationDeliveryOut.model_validate(row, from_attributes=True)


def recent_deliveries(
    session: Session, integration: Integration, limit: int = LOG_SIZE
) -> list[IntegrationDelivery]:
    return list(
        session.exec(
            select(IntegrationDelivery)
            .where(
                IntegrationDelivery.org_id == integration.org_id,
                IntegrationDelivery.integration_id == integration.id,
            )
            .order_by(col(IntegrationDelivery.id).desc())
            .limit(limit)
        ).all()
    )


def deliveries(session: Session, identity: Identity, integration_id: int) -> list[IntegrationDeliveryOut]:
    row = load_visible(session, identity, integration_id)
    return [delivery_out(d) for d in recent_deliveries(session, row)]


# --- the receiving side --------------------------------------------------------------------------


def active(session: Session, connector: str, integration_id: int) -> Integration | None:
    """The integration a webhook names, if it is live and of that connector."""
    row = session.get(Integration, integration_id)
    if row is None or row.connector != connector or not row.enabled or row.deleted_at is not None:
        return None
    return row


def log(
    session: Session,
    integration: Integration,
    status: str,
    http_status: int,
    reason: str,
    event_id: str | None,
    now: datetime,
    interaction_id: int | None = None,
) -> None:
    assert integration.id is not None
    session.add(
        IntegrationDelivery(
            org_id=integration.org_id,
            integration_id=integration.id,
            status=status,
            http_status=http_status,
            reason=reason[:500],
            event_id=event_id[:200] if event_id else None,
            interaction_id=interaction_id,
            received_at=now,
        )
    )
    session.flush()
    # Keep the newest LOG_SIZE: the oldest kept id bounds what goes.
    oldest_kept = session.exec(
        select(IntegrationDelivery.id)
        .where(IntegrationDelivery.integration_id == integration.id)
        .order_by(col(IntegrationDelivery.id).desc())
        .offset(LOG_SIZE - 1)
        .limit(1)
    ).first()
    if oldest_kept is not None:
        session.execute(
            delete(IntegrationDelivery).where(
                col(IntegrationDelivery.integration_id) == integration.id,
                col(IntegrationDelivery.id) < oldest_kept,
            )
        )


def find_agent(session: Session, integration: Integration, ref: AgentRef) -> Agent | None:
    """The account's agent with the helpdesk's id for them, else the one whose user has the email."""
    base = select(Agent).where(
        Agent.org_id == integration.org_id, Agent.account_id == integration.account_id, col(Agent.active)
    )
    if ref.id:
        found = session.exec(
            base.where(col(Agent.external_ids)[integration.connector].as_string() == ref.id).order_by(
                col(Agent.id)
            )
        ).first()
        if found is not None:
            return found
    if ref.email:
        found = session.exec(
            base.join(User, col(User.agent_id) == col(Agent.id))
            .where(User.org_id == integration.org_id, func.lower(User.email) == ref.email.lower())
            .order_by(col(Agent.id))
        ).first()
        if found is not None:
            return found
    return None


def existing_interaction(session: Session, integration: Integration, external_id: str) -> Interaction | None:
    return session.exec(
        select(Interaction).where(
            Interaction.org_id == integration.org_id,
            Interaction.account_id == integration.account_id,
            Interaction.external_id == external_id,
        )
    ).first()


def keep_unmapped(
    session: Session,
    integration: Integration,
    external_id: str,
    agent: AgentRef,
    interaction: dict[str, Any],
    now: datetime,
) -> UnmappedEvent:
    """The waiting event for this ticket: a redelivery finds the one already kept."""
    found = session.exec(
        select(UnmappedEvent).where(
            UnmappedEvent.integration_id == integration.id, UnmappedEvent.external_id == external_id
        )
    ).first()
    if found is not None:
        return found
    assert integration.id is not None
    row = UnmappedEvent(
        org_id=integration.org_id,
        account_id=integration.account_id,
        integration_id=integration.id,
        connector=integration.connector,
        external_id=external_id,
        agent_ref=agent.as_json(),
        interaction=interaction,
        received_at=now,
    )
    session.add(row)
    session.flush()
    return row


def unmapped_out(row: UnmappedEvent) -> UnmappedOut:
    assert row.id is not None
    customer = row.interaction.get("customer") or {}
    return UnmappedOut(
        id=row.id,
        integration_id=row.integration_id,
        account_id=row.account_id,
        connector=row.connector,
        external_id=row.external_id,
        helpdesk_agent=dict(row.agent_ref),
        customer_name=customer.get("name"),
        ticket_url=row.interaction.get("ticket_url"),
        status=row.status,
        agent_id=row.agent_id,
        interaction_id=row.interaction_id,
        received_at=row.received_at,
        mapped_at=row.mapped_at,
    )


def unmapped_listing(session: Session, identity: Identity, query: UnmappedQuery) -> Page[UnmappedOut]:
    stmt = visible(
        select(UnmappedEvent).where(UnmappedEvent.org_id == identity.org_id),
        rows_clause(identity, col(UnmappedEvent.account_id)),
    )
    if query.status != "all":
        stmt = stmt.where(UnmappedEvent.status == query.status)
    rows, cursor = paginate(session, stmt, UnmappedEvent.id, query.cursor, query.limit)
    return Page([unmapped_out(r) for r in rows], cursor)


def load_unmapped(session: Session, identity: Identity, unmapped_id: int) -> UnmappedEvent:
    row = session.exec(
        visible(
            select(UnmappedEvent).where(
                UnmappedEvent.id == unmapped_id, UnmappedEvent.org_id == identity.org_id
            ),
            rows_clause(identity, col(UnmappedEvent.account_id)),
        )
    ).first()
    if row is None:
        raise not_found("unmapped event")
    return row


def mapping_agent(session: Session, row: UnmappedEvent, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or agent.org_id != row.org_id:
        raise field_error("agent_id", f"no agent {agent_id} in this organization")
    if agent.account_id != row.account_id:
        raise field_error("agent_id", f"agent {agent_id} does not work on account {row.account_id}")
    return agent


def mark_mapped(
    session: Session,
    identity: Identity,
    row: UnmappedEvent,
    agent: Agent,
    interaction_id: int,
    remember: bool,
    now: datetime,
) -> None:
    if row.status != UnmappedStatus.open:
        raise ApiError(409, "this event was already mapped", code="conflict")
    row.status = UnmappedStatus.mapped
    row.agent_id = agent.id
    row.interaction_id = interaction_id
    row.mapped_by = identity.user_id
    row.mapped_at = now
    # The interaction holds the customer's details now, under the retention rules; no copy stays.
    row.interaction = {**row.interaction, "customer": {}}
    row.contact_erased_at = now
    session.add(row)
    helpdesk_id = row.agent_ref.get("id")
    if remember and helpdesk_id:
        # A new dict: the JSON column is only written when the attribute itself changes.
        agent.external_ids = {**agent.external_ids, row.connector: str(helpdesk_id)}
        session.add(agent)
    audit(
        session,
        identity,
        "integration.event_mapped",
        f"agent:{agent.id}",
        {
            "unmapped_id": row.id,
            "interaction_id": interaction_id,
            "remembered": bool(remember and helpdesk_id),
        },
        now,
    )


# --- the admin page ------------------------------------------------------------------------------

PAGE_LOG = 10


def admin_view(session: Session, settings: Settings, identity: Identity) -> dict[str, Any]:
    """The caller's integrations with their latest calls, and the events waiting for an agent."""
    accounts = {
        a.id: a.name
        for a in session.exec(
            visible(
                select(Account).where(Account.org_id == identity.org_id),
                rows_clause(identity, col(Account.id)),
            )
        ).all()
    }
    integrations = session.exec(
        visible(
            select(Integration).where(
                Integration.org_id == identity.org_id, col(Integration.deleted_at).is_(None)
            ),
            _scope(identity),
        ).order_by(col(Integration.id))
    ).all()
    listed = [
        {
            "row": row,
            "url": events_url(settings, row),
            "account": accounts.get(row.account_id, ""),
            "deliveries": recent_deliveries(session, row, PAGE_LOG),
        }
        for row in integrations
    ]
    waiting = session.exec(
        visible(
            select(UnmappedEvent).where(
                UnmappedEvent.org_id == identity.org_id, UnmappedEvent.status == UnmappedStatus.open
            ),
            rows_clause(identity, col(UnmappedEvent.account_id)),
        )
        .order_by(col(UnmappedEvent.id))
        .limit(200)
    ).all()
    account_ids = sorted({w.account_id for w in waiting})
    agents: dict[int, list[Agent]] = {a: [] for a in account_ids}
    if account_ids:
        for agent in session.exec(
            select(Agent)
            .where(Agent.org_id == identity.org_id, col(Agent.account_id).in_(account_ids), col(Agent.active))
            .order_by(col(Agent.name), col(Agent.id))
        ).all():
            agents[agent.account_id].append(agent)
    events = [
        {
            "row": w,
            "out": unmapped_out(w),
            "customer": (w.interaction.get("customer") or {}).get("name") or "",
            "account": accounts.get(w.account_id, ""),
            "agents": agents.get(w.account_id, []),
        }
        for w in waiting
    ]
    return {"integrations": listed, "events": events}
