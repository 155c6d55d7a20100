"""Answer shapes of the feedback endpoints, for the OpenAPI document (the JSON is built in code)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AgentOut(BaseModel):
    id: int
    name: str
    photo: str | None


class ResponseOut(BaseModel):
    id: int
    account_id: int
    team_id: int
    agent_id: int
    agent: AgentOut
    interaction_id: int
    external_id: str
    # The helpdesk ticket the interaction came from (http(s) only), when there is one.
    ticket_url: str | None = None
    request_id: int | None
    channel: str
    rating: int
    comment: str | None
    comment_hidden: bool
    reward: str | None
    improvement_areas: list[str]
    csat: int | None
    nps: int | None
    fcr: bool | None
    source: str
    edit_count: int
    created_at: datetime
    updated_at: datetime


class ResponseEnvelope(BaseModel):
    response: ResponseOut


class DeliveryOut(BaseModel):
    """How the survey link reaches the customer (docs/email.md)."""

    # "email", or "none" when streamsrv sends nothing (the caller shows the link itself).
    channel: str
    # scheduled | sending | sent | failed | suppressed | cancelled, or not_sent (channel none).
    status: str
    # With channel "none": no_customer_email | not_requested.
    reason: str | None = None
    send_at: datetime | None = None
    sent_at: datetime | None = None
    attempts: int | None = None
    last_error: str | None = None


class RequestOut(BaseModel):
    id: int
    # Null when the request was suppressed: no link exists for it.
    token: str | None
    url: str | None
    status: str
    expires_at: datetime
    delivery: DeliveryOut


class InteractionCreated(BaseModel):
    interaction_id: int
    request: RequestOut
