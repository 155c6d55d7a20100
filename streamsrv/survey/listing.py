"""Listing responses with filters and keyset pagination.

The cursor encodes the last row's ``(created_at, id)``; the next page continues strictly below
that key, so rows inserted meanwhile neither shift pages nor cause duplicates, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import orjson
from pydantic import AfterValidator, BaseModel, Field, model_validator
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from streamsrv.access import rows_clause
from streamsrv.auth import Identity
from streamsrv.events import public_payload
from streamsrv.ids import MAX_ID, Id
from streamsrv.inputs import Instant
from streamsrv.labels import vocabularies
from streamsrv.models import FOLLOWUP_SOURCE, Agent, AgentPhoto, Channel, Interaction, Response, Role, utcnow
from streamsrv.period_filters import CalendarFilters, pinned
from streamsrv.survey.cards import AgentCard, photo_url, response_json

MODERATORS = (Role.admin, Role.manager)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Rating = Annotated[int, Field(ge=1, le=5)]


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        raw = orjson.dumps([micros, self.id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            micros, row_id = orjson.loads(raw)
            if not isinstance(micros, int) or not isinstance(row_id, int) or isinstance(row_id, bool):
                raise ValueError("bad cursor")
            if not 1 <= row_id <= MAX_ID:
                raise ValueError("bad cursor")  # no row has that id, and the database would refuse it
            created = EPOCH + timedelta(microseconds=micros)
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, OverflowError, OSError):
            raise ValueError("is not a cursor returned by this API") from None
        return cls(created, row_id)


class _FeedbackFields(BaseModel):
    account_id: Id | None = None
    team_id: Id | None = None
    agent_id: Id | None = None
    channel: Channel | None = None
    rating: Rating | None = None
    min_rating: Rating | None = None
    max_rating: Rating | None = None
    since: Instant | None = Field(default=None, description="inclusive, ISO-8601")
    until: Instant | None = Field(default=None, description="exclusive, ISO-8601")


class FeedbackFilters(CalendarFilters, _FeedbackFields):
    """The filters shared by the feedback list and its CSV export (calendar fields last: their
    checks read since/until)."""

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_rating is not None and self.max_rating is not None and self.min_rating > self.max_rating:
            raise ValueError("min_rating must not be greater than max_rating")
        return self


def keyset_cursor(value: str) -> str:
    if value:
        Cursor.decode(value)
    return value


# The next_cursor of a list paged by (time, id): the feedback list and the recovery queue.
KeysetCursor = Annotated[str, Field(max_length=100), AfterValidator(keyset_cursor)]


class FeedbackQuery(FeedbackFilters):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: KeysetCursor | None = Field(default=None, description="next_cursor of the previous page")


def counted_responses(identity: Identity) -> list[Any]:
    """The one filter every view of "the responses" starts from: the feedback list, its CSV
    export and the dashboard's tiles, breakdowns and trend (``streamsrv.dashboard.aggregates``).

    WHERE terms for the caller's organization and scope, without recovery follow-up answers:
    those (``Response.source == FOLLOWUP_SOURCE``) rate the recovery, not the agent, and are
    shown on the recovery case instead, so a table, its export and its tiles count the same rows.
    """
    terms: list[Any] = [
        col(Response.org_id) == identity.org_id,
        col(Response.source) != FOLLOWUP_SOURCE,
    ]
    scope = rows_clause(identity, Response.account_id, Response.team_id, Response.agent_id)
    if scope is not None:
        terms.append(scope)
    return terms


def filter_clauses(identity: Identity, filters: FeedbackFilters) -> list[Any]:
    """WHERE terms: the counted responses in the caller's scope, then each filter that is set."""
    terms = counted_responses(identity)
    equal = {
        "account_id": Response.account_id,
        "team_id": Response.team_id,
        "agent_id": Response.agent_id,
        "rating": Response.rating,
    }
    for name, column in equal.items():
        value = getattr(filters, name)
        if value is not None:
            terms.append(col(column) == value)
    if filters.channel is not None:
        terms.append(col(Response.channel) == filters.channel.value)
    if filters.min_rating is not None:
        terms.append(col(Response.rating) >= filters.min_rating)
    if filters.max_rating is not None:
        terms.append(col(Response.rating) <= filters.max_rating)
    if filters.since is not None:
        terms.append(col(Response.created_at) >= filters.since)
    if filters.until is not None:
        terms.append(col(Response.created_at) < filters.until)
    return terms


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def uploaded_photos(session: Session, agent_ids: set[int]) -> set[int]:
    """Which of these agents have an uploaded photo (keys only: blobs are never loaded here)."""
    if not agent_ids:
        return set()
    found = session.exec(select(AgentPhoto.agent_id).where(col(AgentPhoto.agent_id).in_(sorted(agent_ids))))
    return set(found.all())


def list_feedback(session: Session, identity: Identity, query: FeedbackQuery) -> Page:
    query = pinned(session, identity, query, utcnow())
    stmt = (
        select(Response, Interaction.external_id, Agent, Interaction.ticket_url)
        .join(Interaction, col(Interaction.id) == col(Response.interaction_id))
        .join(Agent, col(Agent.id) == col(Response.agent_id))
        .where(*filter_clauses(identity, query))
    )
    if query.cursor:
        after = Cursor.decode(query.cursor)
        stmt = stmt.where(
            or_(
                col(Response.created_at) < after.created_at,
                and_(col(Response.created_at) == after.created_at, col(Response.id) < after.id),
            )
        )
    stmt = stmt.order_by(col(Response.created_at).desc(), col(Response.id).desc()).limit(query.limit + 1)
    rows = session.exec(stmt).all()
    page = rows[: query.limit]
    uploaded = uploaded_photos(session, {resp.agent_id for resp, _, _, _ in page})
    words = vocabularies(session, {resp.account_id for resp, _, _, _ in page})
    items = [
        response_json(
            resp,
            external_id,
            AgentCard(
                resp.agent_id,
                agent.name,
                photo_url(resp.agent_id, agent.photo_url, resp.agent_id in uploaded),
            ),
            ticket_url,
            words.get(resp.account_id),
        )
        for resp, external_id, agent, ticket_url in page
    ]
    if identity.role not in MODERATORS:
        # Only those who moderate may read a hidden comment; everyone else gets null.
        items = [public_payload(item) for item in items]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1][0]
        assert last.id is not None
        next_cursor = Cursor(last.created_at, last.id).encode()
    return Page(items, next_cursor)
