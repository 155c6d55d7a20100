"""Request and response models of ``/api/v1/webhook-endpoints``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from streamsrv.org.schemas import IdList, Input, Line
from streamsrv.outbound.messages import EVENT_TYPES

Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Line]


def _known_events(value: list[str]) -> list[str]:
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(value))


Events = Annotated[
    list[str], Field(min_length=1, max_length=len(EVENT_TYPES) * 2), AfterValidator(_known_events)
]


class EndpointCreate(Input):
    url: Url
    events: Events
    # Empty: every account (administrators of the whole organization only).
    account_ids: IdList = Field(default_factory=list)
    description: Description | None = None


class EndpointUpdate(Input):
    """Every field optional; ``"status": "active"`` re-enables a disabled endpoint."""

    url: Url | None = None
    events: Events | None = None
    account_ids: IdList | None = None
    description: Description | None = None
    status: Annotated[str, StringConstraints(pattern=r"^active$")] | None = None


class RotateSecret(Input):
    # The old secret keeps signing next to the new one this long (0: stop at once).
    grace_hours: Annotated[int, Field(strict=True, ge=0, le=168)] = 24


class EndpointOut(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[str]
    account_ids: list[int]
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    # When the previous secret stops signing (after a rotation), else null.
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    # Shown this once; store it where your receiver can read it.
    secret: str


class SecretRotated(BaseModel):
    id: int
    secret: str
    previous_secret_until: datetime | None


class TestQueued(BaseModel):
    # The delivery's id (also as delivery_id); its row appears in the endpoint's deliveries.
    id: int
    delivery_id: int
    # The webhook-id header the receiver will see.
    message_id: str
    status: str


class DeliveryOut(BaseModel):
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    # The receiver's answer (first 1 KB) or the error; plain text, escape it when showing it.
    response_excerpt: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
