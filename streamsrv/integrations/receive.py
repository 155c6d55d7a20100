"""One helpdesk webhook call, from raw request to interaction, and mapping waiting events.

The order matters: the integration is looked up first (404 for anything not live, without
saying which), then the body is read within its limit (413), the vendor's proof checked (401),
the payload parsed (422) and, for a solved ticket, the interaction recorded with the same
function as ``POST /api/v1/interactions``. Whatever the outcome, the integration's delivery log
gets one entry and the metrics one count; a refused call stores nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from streamsrv import metrics
from streamsrv.access import SERVICE_ROLE
from streamsrv.auth import Identity
from streamsrv.context import AppContext
from streamsrv.errors import ApiError, not_found
from streamsrv.http import parse_model
from streamsrv.integrations import connectors, store
from streamsrv.integrations.base import Connector, Ignored, Inbound, Malformed, Rejected, Ticket
from streamsrv.models import Integration, UnmappedStatus
from streamsrv.security.sealed import SealError
from streamsrv.survey.requests import record_interaction
from streamsrv.survey.txn import run_idempotent
from streamsrv.survey.validation import InteractionCreate

# Helpdesk payloads are a ticket's fields, never attachments: a few kilobytes.
MAX_EVENT_BYTES = 64 * 1024
# The interaction's external_id is "<connector>:<ticket id>", within its 200 characters.
MAX_TICKET_ID = 150


@dataclass(frozen=True)
class Outcome:
    status: str
    http_status: int
    reason: str
    event_id: str | None = None
    interaction_id: int | None = None
    unmapped_id: int | None = None
    # For a 422: the payload field at fault, and what is wrong with it.
    fields: Mapping[str, str] | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.reason:
            body["reason"] = self.reason
        if self.interaction_id is not None:
            body["interaction_id"] = self.interaction_id
        if self.unmapped_id is not None:
            body["unmapped_id"] = self.unmapped_id
        return body


def integration_identity(integration: Integration) -> Identity:
    """The integration acts as an ingest-only credential of its one account."""
    return Identity(
        org_id=integration.org_id,
        role=SERVICE_ROLE,
        scopes=frozenset({"ingest"}),
        name=f"integration {integration.name}",
        account_ids=frozenset({integration.account_id}),
        via="integration",
    )


def interaction_data(integration: Integration, ticket: Ticket) -> dict[str, Any]:
    """The ``POST /api/v1/interactions`` body of a ticket, without the agent."""
    if len(ticket.ticket_id) > MAX_TICKET_ID:
        raise Malformed("ticket_id", f"is longer than {MAX_TICKET_ID} characters")
    customer = {"email": ticket.customer_email, "name": ticket.customer_name}
    data: dict[str, Any] = {
        "account_id": integration.account_id,
        "channel": ticket.channel.value,
        "external_id": f"{integration.connector}:{ticket.ticket_id}",
        "customer": {k: v for k, v in customer.items() if v},
        "source": integration.connector,
        "locale": ticket.locale,
        "ticket_url": ticket.ticket_url,
    }
    # Checked now, with the agent a placeholder: a ticket kept unmapped must be recordable later.
    try:
        parse_model(InteractionCreate, {**data, "agent_id": 1})
    except ApiError as exc:
        field, message = next(iter(exc.fields.items()), ("body", exc.message))
        raise Malformed(field, message) from None
    return data


def record(
    session: Session,
    ctx: AppContext,
    integration: Integration,
    data: dict[str, Any],
    agent_id: int,
    now: datetime,
) -> tuple[int, bool]:
    body = parse_model(InteractionCreate, {**data, "agent_id": agent_id})
    issued = record_interaction(
        session, ctx.signer, ctx.settings, integration_identity(integration), body, now, None
    )
    assert issued.interaction.id is not None
    return issued.interaction.id, issued.created


def accept(
    session: Session,
    ctx: AppContext,
    integration_id: int,
    ticket: Ticket,
    data: dict[str, Any],
    now: datetime,
) -> Outcome:
    """One transaction: the interaction (or the waiting event) and the log entry commit together."""
    integration = session.get(Integration, integration_id)
    assert integration is not None
    external_id = str(data["external_id"])
    found = store.existing_interaction(session, integration, external_id)
    if found is not None:
        outcome = Outcome(
            "duplicate", 200, f"ticket {ticket.ticket_id} was already received", ticket.event_id, found.id
        )
    else:
        agent = store.find_agent(session, integration, ticket.agent)
        if agent is None:
            waiting = store.keep_unmapped(session, integration, external_id, ticket.agent, data, now)
            who = ticket.agent.id or ticket.agent.email or "no agent"
            outcome = Outcome(
                "unmapped",
                202,
                f"no agent of the account matches the helpdesk's agent ({who}); waiting to be mapped",
                ticket.event_id,
                unmapped_id=waiting.id,
            )
        else:
            assert agent.id is not None
            interaction_id, created = record(session, ctx, integration, data, agent.id, now)
            outcome = Outcome(
                "accepted" if created else "duplicate",
                201 if created else 200,
                "",
                ticket.event_id,
                interaction_id,
            )
    store.log(
        session,
        integration,
        outcome.status,
        outcome.http_status,
        outcome.reason,
        outcome.event_id,
        now,
        outcome.interaction_id,
    )
    return outcome


async def _log_only(ctx: AppContext, integration_id: int, outcome: Outcome, now: datetime) -> None:
    def work(session: Session) -> None:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        store.log(
            session, integration, outcome.status, outcome.http_status, outcome.reason, outcome.event_id, now
        )

    await ctx.db.run(work)


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise Malformed("body", "is empty; the helpdesk must send a JSON body")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Malformed("body", "is not valid JSON") from None


async def handle(
    ctx: AppContext,
    connector_name: str,
    integration_id: int,
    inbound_headers: Mapping[str, str],
    read_body: Callable[[], Awaitable[bytes]],
    now: datetime,
) -> tuple[Connector, Outcome]:
    """Run one webhook call through its connector; 404 (raised) when the integration is not live.

    ``read_body`` reads the raw body within the size limit (``ApiError(413)`` beyond it).
    """
    connector = connectors.get(connector_name)

    def load(session: Session) -> tuple[Integration, str] | None:
        row = store.active(session, connector_name, integration_id)
        if row is None:
            return None
        try:
            return row, store.sealer(ctx.settings).unseal(row.secret_sealed)
        except SealError:
            # Sealed under another secret key: nothing can verify it until the secret is rotated.
            return row, ""

    found = await ctx.db.run(load) if connector is not None else None
    if connector is None or found is None:
        metrics.INTEGRATION_EVENTS.labels(
            connector=connector.name if connector else "unknown", status="not_found"
        ).inc()
        raise not_found("integration")
    integration, secret = found
    try:
        raw = await read_body()
    except ApiError as exc:
        if exc.status != 413:
            raise
        outcome = Outcome("too_large", 413, exc.message)
        await _log_only(ctx, integration_id, outcome, now)
        return connector, outcome
    inbound = Inbound(headers=inbound_headers, body=raw, now=now)
    try:
        if not secret:
            raise Rejected("the integration's secret cannot be read; rotate it")
        connector.verify(secret, inbound)
    except Rejected as exc:
        outcome = Outcome("rejected", 401, str(exc))
        await _log_only(ctx, integration_id, outcome, now)
        return connector, outcome
    try:
        parsed = connector.parse(_decode(raw), inbound)
        data = interaction_data(integration, parsed) if isinstance(parsed, Ticket) else None
    except Malformed as exc:
        outcome = Outcome("invalid", 422, str(exc), fields={exc.field: exc.message})
        await _log_only(ctx, integration_id, outcome, now)
        return connector, outcome
    if isinstance(parsed, Ignored):
        outcome = Outcome("ignored", 200, parsed.reason, parsed.event_id)
        await _log_only(ctx, integration_id, outcome, now)
        return connector, outcome
    assert data is not None
    ticket = parsed
    return connector, await run_idempotent(
        ctx.db, lambda session: accept(session, ctx, integration_id, ticket, data, now)
    )


# --- mapping a waiting event to an agent ---------------------------------------------------------


def map_event(
    session: Session,
    ctx: AppContext,
    identity: Identity,
    unmapped_id: int,
    agent_id: int,
    remember: bool,
    now: datetime,
) -> dict[str, Any]:
    row = store.load_unmapped(session, identity, unmapped_id)
    if row.status != UnmappedStatus.open:
        raise ApiError(409, "this event was already mapped", code="conflict")
    agent = store.mapping_agent(session, row, agent_id)
    assert agent.id is not None
    integration = session.get(Integration, row.integration_id)
    assert integration is not None
    interaction_id, _ = record(session, ctx, integration, dict(row.interaction), agent.id, now)
    store.mark_mapped(session, identity, row, agent, interaction_id, remember, now)
    session.flush()
    return store.unmapped_out(row).model_dump(mode="json")
