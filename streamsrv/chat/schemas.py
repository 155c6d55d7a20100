"""Request and response models of ``/api/v1/notification-channels``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from streamsrv.ids import Id
from streamsrv.org.schemas import Input

ChannelKind = Literal["slack", "teams"]
EventName = Literal["negative_response", "case_sla_breach", "shoutout", "great_moment", "daily_digest"]
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Events = Annotated[list[EventName], Field(min_length=1, max_length=5)]


def _distinct(events: list[str] | None) -> list[str] | None:
    return None if events is None else list(dict.fromkeys(events))


class ChannelIn(Input):
    kind: ChannelKind
    # The incoming-webhook URL (Slack) or the Workflows / incoming-webhook URL (Teams).
    url: WebhookUrl
    account_id: Id
    # Only this team's events (and a digest of this team); absent: the whole account.
    team_id: Id | None = None
    events: Events

    _events = field_validator("events")(_distinct)


class ChannelPatch(Input):
    kind: ChannelKind | None = None
    url: WebhookUrl | None = None
    team_id: Id | None = None
    events: Events | None = None

    _events = field_validator("events")(_distinct)


class ChannelOut(BaseModel):
    id: int
    kind: str
    # The webhook URL is a secret: only its host and last characters are shown.
    url_masked: str
    account_id: int
    team_id: int | None
    events: list[str]
    created_at: datetime
    updated_at: datetime


class ChannelTestOut(BaseModel):
    delivery_id: int
    status: str


class ChannelDeliveryOut(BaseModel):
    id: int
    event: str | None
    status: str
    attempts: int
    last_error: str | None
    due_at: datetime
    sent_at: datetime | None
    created_at: datetime
