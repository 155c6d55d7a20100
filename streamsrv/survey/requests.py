"""Interactions and the feedback requests they produce: tokens, idempotency, suppression.

A request's link token is never stored: it is an HMAC of the request's random nonce
(``Signer.request_token``), and only its SHA-256 is kept for lookups. A request that must not be
answerable through a link (suppressed, or ingested server-side) gets an empty nonce and the hash
of a throwaway secret, so no token for it exists anywhere.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.errors import ApiError, field_error
from streamsrv.hooks import REQUEST_ISSUED, RequestIssued
from streamsrv.models import (
    Account,
    Agent,
    FeedbackRequest,
    Interaction,
    RequestKind,
    RequestStatus,
)
from streamsrv.security.tokens import Signer, new_nonce, token_hash
from streamsrv.survey.validation import InteractionIn


@dataclass(frozen=True)
class IssuedRequest:
    """The answer to ``POST /api/v1/interactions``; ``created`` is False on an idempotent replay."""

    interaction: Interaction
    request: FeedbackRequest
    token: str | None
    url: str | None
    created: bool


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/f/{token}"


def link_token(signer: Signer, request: FeedbackRequest) -> str | None:
    """Re-derive the link token of a request, or None if it has none by design."""
    if not request.nonce or request.status == RequestStatus.suppressed:
        return None
    return signer.request_token(request.nonce)


def visible_account(session: Session, identity: Identity, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.org_id != identity.org_id:
        raise field_error("account_id", f"no account {account_id} in this organization")
    if not identity.sees_account(account_id):
        raise ApiError(
            403,
            f"this credential may not act on account {account_id}",
            code="forbidden",
            fields={"account_id": "not visible to this credential"},
        )
    return account


def resolve_agent(session: Session, account: Account, data: InteractionIn) -> Agent:
    data.agent_fields()
    if data.agent_id is not None:
        agent = session.get(Agent, data.agent_id)
        if agent is None or agent.org_id != account.org_id:
            raise field_error("agent_id", f"no agent {data.agent_id} in this organization")
        if agent.account_id != account.id:
            raise field_error("agent_id", f"agent {data.agent_id} does not work on account {account.id}")
        return agent
    ref = data.agent_external_id
    assert ref is not None
    found = session.exec(
        select(Agent)
        .where(Agent.org_id == account.org_id, Agent.account_id == account.id)
        .where(col(Agent.external_ids)[ref.system].as_string() == ref.id)
        .order_by(col(Agent.id))
    ).first()
    if found is None:
        raise field_error(
            "agent_external_id", f"no agent of account {account.id} has {ref.system} id '{ref.id}'"
        )
    return found


def existing_interaction(session: Session, account_id: int, external_id: str) -> Interaction | None:
    return session.exec(
        select(Interaction).where(
            Interaction.account_id == account_id, Interaction.external_id == external_id
        )
    ).first()


def latest_request(session: Session, interaction_id: int) -> FeedbackRequest | None:
    return session.exec(
        select(FeedbackRequest)
        .where(
            FeedbackRequest.interaction_id == interaction_id,
            FeedbackRequest.kind == RequestKind.initial,
        )
        .order_by(col(FeedbackRequest.id).desc())
    ).first()


def is_suppressed(session: Session, account: Account, email: str | None, now: datetime) -> bool:
    """Was this customer already asked (by a request actually sent) within the account's period?"""
    if email is None or account.suppression_days <= 0:
        return False
    since = now - timedelta(days=account.suppression_days)
    count = session.exec(
        select(func.count())
        .select_from(FeedbackRequest)
        .where(
            FeedbackRequest.account_id == account.id,
            FeedbackRequest.customer_email == email,
            FeedbackRequest.status != RequestStatus.suppressed,
            col(FeedbackRequest.created_at) >= since,
        )
    ).one()
    return bool(count)


def new_interaction(
    account: Account, agent: Agent, data: InteractionIn, now: datetime, source: str
) -> Interaction:
    assert account.id is not None and agent.id is not None
    customer = data.customer
    return Interaction(
        org_id=account.org_id,
        account_id=account.id,
        agent_id=agent.id,
        team_id=agent.team_id,
        channel=data.channel.value,
        external_id=data.external_id,
        customer_email=customer.email if customer else None,
        customer_name=customer.name if customer else None,
        customer_phone=customer.phone if customer else None,
        locale=data.locale,
        ticket_url=data.ticket_url,
        source=data.source or source,
        occurred_at=data.occurred_at or now,
        created_at=now,
    )


def new_request(
    signer: Signer, account: Account, interaction: Interaction, status: RequestStatus, now: datetime
) -> tuple[FeedbackRequest, str | None]:
    """A request row and its link token (None when the request must not be answerable by link)."""
    assert interaction.id is not None
    if status == RequestStatus.pending:
        nonce = new_nonce()
        issued = signer.request_token(nonce)
        token: str | None = issued
        stored_hash = token_hash(issued)
    else:
        nonce, token = "", None
        stored_hash = token_hash("unissued:" + secrets.token_urlsafe(32))
    request = FeedbackRequest(
        org_id=account.org_id,
        account_id=interaction.account_id,
        interaction_id=interaction.id,
        agent_id=interaction.agent_id,
        kind=RequestKind.initial,
        status=status,
        customer_email=interaction.customer_email,
        nonce=nonce,
        token_hash=stored_hash,
        expires_at=now + timedelta(days=account.request_ttl_days),
        created_at=now,
    )
    return request, token


def record_interaction(
    session: Session,
    signer: Signer,
    settings: Settings,
    identity: Identity,
    data: InteractionIn,
    now: datetime,
    send: str | None = None,
) -> IssuedRequest:
    """Store an interaction and its feedback request, or return the stored ones on a replay.

    ``send`` overrides the account's ``send_channel`` for this one request ("email", "none").

    Two concurrent first calls for one (account, external_id) both get here; the unique constraint
    lets only one commit, and the caller retries the loser, which then takes the replay branch.
    """
    account = visible_account(session, identity, data.account_id)
    found = existing_interaction(session, data.account_id, data.external_id)
    if found is not None:
        assert found.id is not None
        request = latest_request(session, found.id)
        if request is None:
            raise ApiError(409, "this interaction has no feedback request", code="conflict")
        token = link_token(signer, request)
        return IssuedRequest(found, request, token, survey_url(settings, token) if token else None, False)
    agent = resolve_agent(session, account, data)
    interaction = new_interaction(account, agent, data, now, source="api")
    session.add(interaction)
    session.flush()
    suppressed = is_suppressed(session, account, interaction.customer_email, now)
    status = RequestStatus.suppressed if suppressed else RequestStatus.pending
    request, token = new_request(signer, account, interaction, status, now)
    session.add(request)
    session.flush()
    REQUEST_ISSUED.fire(session, RequestIssued(account, interaction, request, send, now))
    return IssuedRequest(interaction, request, token, survey_url(settings, token) if token else None, True)
