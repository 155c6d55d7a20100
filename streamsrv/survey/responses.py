"""Recording a customer's answer: first submission, edits, and server-side ingest.

The survey page, ``POST /api/v1/responses/{token}`` and ``POST /api/v1/feedback`` all end in
``store_response``, which writes the response row and its outbox events in the caller's
transaction, so an answer is never stored without its events or announced without being stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.errors import ApiError, field_error
from streamsrv.events import response_events
from streamsrv.hooks import RESPONSE_STORED, ResponseChange
from streamsrv.labels import vocabulary
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    Agent,
    FeedbackRequest,
    Interaction,
    RequestKind,
    RequestStatus,
    Response,
)
from streamsrv.outbox import emit
from streamsrv.security.tokens import Signer, token_hash
from streamsrv.survey.cards import AgentCard, agent_card, response_json
from streamsrv.survey.requests import (
    existing_interaction,
    latest_request,
    new_interaction,
    new_request,
    resolve_agent,
    visible_account,
)
from streamsrv.survey.validation import FeedbackIn, ResponseIn, SurveyRules, check_response, parse_response

# Link tokens are 32 characters; anything much longer is not one of ours and is not hashed.
MAX_TOKEN_LENGTH = 100
# Clocks of integrating systems drift; a rating "from the future" beyond this is a client bug.
RESPONDED_AT_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Stored:
    response: dict[str, Any]
    created: bool


def store_response(
    session: Session,
    *,
    account: Account,
    interaction: Interaction,
    request: FeedbackRequest,
    agent: AgentCard,
    existing: Response | None,
    data: ResponseIn,
    source: str,
    now: datetime,
    by_customer: bool,
    responded_at: datetime | None = None,
) -> Stored:
    """Create or update the one response of ``request`` and emit its events, in this transaction.

    An edit that changes nothing anyone can see writes nothing and announces nothing: a link
    replayed in a loop must not re-show the same comment on every screen of the floor.
    """
    assert interaction.id is not None and request.id is not None
    fields: dict[str, Any] = {
        "rating": data.rating,
        "comment": (data.comment or "").strip(),
        "reward": data.reward,
        "improvement_areas": list(data.improvement_areas),
        "csat": data.csat,
        "nps": data.nps,
        "fcr": data.fcr,
    }
    if existing is None:
        row = Response(
            org_id=account.org_id,
            account_id=interaction.account_id,
            team_id=interaction.team_id,
            agent_id=interaction.agent_id,
            interaction_id=interaction.id,
            request_id=request.id,
            channel=interaction.channel,
            source=FOLLOWUP_SOURCE if request.kind == RequestKind.recovery_followup else source,
            by_customer=by_customer,
            created_at=responded_at or now,
            updated_at=now,
            **fields,
        )
        previous_reward = None
        previous_rating = None
    else:
        row = existing
        if all(getattr(row, name) == value for name, value in fields.items()):
            return Stored(
                response_json(
                    row, interaction.external_id, agent, interaction.ticket_url, vocabulary(account)
                ),
                created=False,
            )
        previous_reward = existing.reward
        previous_rating = existing.rating
        for name, value in fields.items():
            setattr(row, name, value)
        row.by_customer = row.by_customer or by_customer
        row.edit_count += 1
        row.updated_at = now
    request.status = RequestStatus.responded
    session.add(row)
    session.add(request)
    session.flush()
    payload = response_json(row, interaction.external_id, agent, interaction.ticket_url, vocabulary(account))
    for event in response_events(
        payload, created=existing is None, previous_reward=previous_reward, catalogue=account.reward_catalogue
    ):
        emit(session, account.org_id, event.type, event.streams, event.payload)
    RESPONSE_STORED.fire(
        session,
        ResponseChange(
            account=account,
            request=request,
            response=row,
            payload=payload,
            created=existing is None,
            previous_rating=previous_rating,
            now=now,
            previous_reward=previous_reward,
        ),
    )
    return Stored(payload, existing is None)


# --- The survey link ---------------------------------------------------------------------------


@dataclass
class Survey:
    """Everything one link token opens."""

    token: str
    request: FeedbackRequest
    interaction: Interaction
    account: Account
    agent: Agent
    card: AgentCard
    response: Response | None

    @property
    def followup(self) -> bool:
        return self.request.kind == RequestKind.recovery_followup

    @property
    def rules(self) -> SurveyRules:
        rules = SurveyRules.of(self.account)
        # A follow-up asks how the recovery went: there is no agent to reward for that.
        return replace(rules, rewards=frozenset()) if self.followup else rules

    def edit_deadline(self) -> datetime | None:
        if self.response is None:
            return None
        return self.response.created_at + timedelta(hours=self.account.edit_window_hours)

    def editable(self, now: datetime) -> bool:
        deadline = self.edit_deadline()
        return deadline is None or now < deadline


class SurveyClosed(ApiError):
    """The link cannot be used (404 unknown, 410 expired, 409 edit window over)."""


def find_request(session: Session, token: str) -> FeedbackRequest | None:
    """The request a link token names, whatever its state."""
    if not 0 < len(token) <= MAX_TOKEN_LENGTH:
        return None
    return session.exec(
        select(FeedbackRequest).where(FeedbackRequest.token_hash == token_hash(token))
    ).first()


def open_survey(session: Session, token: str, now: datetime) -> Survey:
    """Load what ``token`` opens, or raise ``SurveyClosed`` with the status to show."""
    request = find_request(session, token)
    if request is None or request.status == RequestStatus.suppressed or not request.nonce:
        raise SurveyClosed(404, "this feedback link is not valid", code="not_found")
    if request.expires_at <= now:
        raise SurveyClosed(410, "this feedback link has expired", code="gone")
    interaction = session.get(Interaction, request.interaction_id)
    account = session.get(Account, request.account_id)
    agent = session.get(Agent, request.agent_id)
    if interaction is None or account is None or agent is None:
        raise SurveyClosed(404, "this feedback link is not valid", code="not_found")
    response = session.exec(select(Response).where(Response.request_id == request.id)).first()
    return Survey(token, request, interaction, account, agent, agent_card(session, agent), response)


def ensure_editable(survey: Survey, now: datetime) -> None:
    if not survey.editable(now):
        raise SurveyClosed(
            409,
            f"this answer can no longer be changed: answers can be edited for "
            f"{survey.account.edit_window_hours} hours",
            code="edit_window_closed",
        )


def check_by_token(session: Session, token: str, raw: Any, now: datetime) -> tuple[Survey, ResponseIn]:
    """The link is checked before the body; raises what ``POST /api/v1/responses/{token}`` answers."""
    survey = open_survey(session, token, now)
    ensure_editable(survey, now)
    return survey, parse_response(raw, survey.rules)


def submit_by_token(session: Session, token: str, raw: Any, source: str, now: datetime) -> Stored:
    """``POST /api/v1/responses/{token}``."""
    survey, data = check_by_token(session, token, raw, now)
    return save_survey(session, survey, data, source, now)


def save_survey(session: Session, survey: Survey, data: ResponseIn, source: str, now: datetime) -> Stored:
    """Store an already validated answer to an open, editable survey."""
    return store_response(
        session,
        account=survey.account,
        interaction=survey.interaction,
        request=survey.request,
        agent=survey.card,
        existing=survey.response,
        data=data,
        source=source,
        now=now,
        by_customer=True,
    )


# --- Server-side ingest ------------------------------------------------------------------------


def ingest_feedback(
    session: Session, signer: Signer, settings: Settings, identity: Identity, data: FeedbackIn, now: datetime
) -> Stored:
    """``POST /api/v1/feedback``: interaction, request and response in the caller's transaction.

    A replay for an interaction that already has an answer edits that answer, as long as that
    answer is ingest's own: what the customer said through the survey link is theirs, and a
    helpdesk's later sync must not overwrite it (409 ``answered_by_customer``). Suppression does
    not apply because the customer has already answered elsewhere.
    """
    account = visible_account(session, identity, data.account_id)
    answer = data.response_part()
    check_response(answer, SurveyRules.of(account))
    if data.responded_at is not None and data.responded_at > now + RESPONDED_AT_SKEW:
        raise field_error("responded_at", "must not be in the future")
    if data.responded_at is not None and data.responded_at < account.created_at:
        raise field_error("responded_at", "must not be before the account was created")
    interaction = existing_interaction(session, account.id or 0, data.external_id)
    existing: Response | None = None
    if interaction is None:
        agent = resolve_agent(session, account, data)
        interaction = new_interaction(account, agent, data, now, source="api")
        session.add(interaction)
        session.flush()
        request = None
    else:
        assert interaction.id is not None
        found_agent = session.get(Agent, interaction.agent_id)
        if found_agent is None:
            raise field_error("agent_id", "the interaction's agent no longer exists")
        agent = found_agent
        request = latest_request(session, interaction.id)
        if request is not None:
            existing = session.exec(select(Response).where(Response.request_id == request.id)).first()
        if existing is not None and existing.by_customer:
            raise ApiError(
                409,
                "the customer answered this interaction through the survey link; "
                "ingest does not replace a customer's answer",
                code="answered_by_customer",
            )
    if request is None:
        request, _ = new_request(signer, account, interaction, RequestStatus.responded, now)
        session.add(request)
        session.flush()
    return store_response(
        session,
        account=account,
        interaction=interaction,
        request=request,
        agent=agent_card(session, agent),
        existing=existing,
        data=answer,
        source=data.source or "api",
        now=now,
        by_customer=False,
        responded_at=data.responded_at if existing is None else None,
    )
