"""Input models of the recovery API and the answer shapes documented in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streamsrv.ids import Id
from streamsrv.inputs import Instant
from streamsrv.recovery.workflow import ContactOutcome
from streamsrv.survey.listing import KeysetCursor
from streamsrv.survey.validation import Text

CaseFilter = Literal["open", "claimed", "resolved", "active"]


def _required_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class CaseQuery(BaseModel):
    account_id: Id | None = None
    status: CaseFilter = Field(default="active", description="active = open or claimed (oldest first)")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: KeysetCursor | None = Field(default=None, description="next_cursor of the previous page")


class MetricsQuery(BaseModel):
    account_id: Id | None = None
    since: Instant | None = Field(default=None, description="cases opened at or after (default: 30 days ago)")
    until: Instant | None = Field(default=None, description="cases opened before (default: now)")

    @model_validator(mode="after")
    def _range(self) -> MetricsQuery:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[Text, Field(min_length=1, max_length=2000)]

    _text = field_validator("text")(_required_text)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: ContactOutcome
    note: Annotated[Text, Field(max_length=1800)] | None = None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Annotated[Text, Field(min_length=1, max_length=2000)]

    _resolution = field_validator("resolution")(_required_text)


# --- Answers ------------------------------------------------------------------------------------


class PersonOut(BaseModel):
    id: int
    name: str


class CaseResponseOut(BaseModel):
    id: int
    rating: int
    comment: str | None
    comment_hidden: bool
    improvement_areas: list[str]
    channel: str
    external_id: str | None
    # The helpdesk ticket the interaction came from (http(s) only), when there is one.
    ticket_url: str | None = None
    created_at: datetime


class CustomerOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    # The details were erased (retention period or an erasure request): they will not come back.
    erased: bool


class FollowupOut(BaseModel):
    request_id: int
    status: str | None
    answered: bool
    # Only in API answers to recovery staff; never carried by events.
    url: str | None
    sent_at: datetime | None
    expires_at: datetime | None


class NoteOut(BaseModel):
    id: int
    author: PersonOut | None
    text: str
    created_at: datetime


class CaseOut(BaseModel):
    id: int
    account_id: int
    team_id: int
    status: Literal["open", "claimed", "resolved"]
    version: int
    agent: PersonOut
    response: CaseResponseOut
    customer: CustomerOut
    before_rating: int
    after_rating: int | None
    opened_at: datetime
    sla_minutes: int
    sla_due_at: datetime
    claimed_by: PersonOut | None
    claimed_at: datetime | None
    resolved_by: PersonOut | None
    resolved_at: datetime | None
    contact_outcome: str | None
    resolution: str | None
    followup: FollowupOut | None
    notes: list[NoteOut]
    updated_at: datetime


class CaseEnvelope(BaseModel):
    case: CaseOut


class FollowupCreated(BaseModel):
    token: str
    url: str
    case: CaseOut


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class MetricsOut(BaseModel):
    since: datetime
    until: datetime
    opened: int
    resolved: int
    open_count: int
    claimed_count: int
    time_to_claim: Durations
    time_to_resolve: Durations
    within_sla: int
    sla_breached: int
    within_sla_share: float | None
    followups_sent: int
    followups_answered: int
    avg_before_rating: float | None
    avg_after_rating: float | None
    rating_uplift: float | None
