"""Request and answer bodies of ``/api/v1/integrations``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from streamsrv.ids import StrictId
from streamsrv.integrations import connectors
from streamsrv.org.schemas import PageQuery


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connector: str = Field(max_length=40)
    account_id: StrictId
    name: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("connector")
    @classmethod
    def _connector(cls, value: str) -> str:
        if connectors.get(value) is None:
            raise ValueError(f"unknown connector; use one of: {', '.join(connectors.NAMES)}")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value or "\x00" in value:
            raise ValueError("must not be blank")
        return value


def _vendor_secret(value: str) -> str:
    if any(c.isspace() for c in value) or "\x00" in value:
        raise ValueError("must not contain spaces")
    return value


# A secret the helpdesk generated (Zendesk's signing secret, Intercom's client secret).
VendorSecret = Annotated[str, Field(min_length=16, max_length=500), AfterValidator(_vendor_secret)]


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: VendorSecret


class IntegrationOut(BaseModel):
    id: int
    account_id: int
    connector: str
    name: str
    # Where the helpdesk posts its events.
    url: str
    enabled: bool
    created_at: datetime
    secret_rotated_at: datetime | None


class IntegrationCreated(IntegrationOut):
    # Shown once, at creation and at each rotation; stored sealed, never returned again.
    secret: str


class IntegrationDeliveryOut(BaseModel):
    id: int
    status: str
    http_status: int
    reason: str
    event_id: str | None
    interaction_id: int | None
    received_at: datetime


class UnmappedOut(BaseModel):
    id: int
    integration_id: int
    account_id: int
    connector: str
    external_id: str
    # The helpdesk's agent as the event named them: {"id", "email", "name"}.
    helpdesk_agent: dict[str, Any]
    customer_name: str | None
    ticket_url: str | None
    status: str
    agent_id: int | None
    interaction_id: int | None
    received_at: datetime
    mapped_at: datetime | None


class MapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictId
    # Store the helpdesk's agent id on the agent, so later events map by themselves.
    remember: StrictBool = False


class UnmappedQuery(PageQuery):
    # "open" (default), "mapped" or "all".
    status: str = Field(default="open", pattern="^(open|mapped|all)$")
