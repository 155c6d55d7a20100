"""The data model. Every row carries ``org_id``: no query may cross an organization's line.

Tables are created and upgraded by Alembic (``streamsrv/migrations``); ``streamsrv migrate``
runs them. Timestamps are stored as UTC and always read back timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; SQLite has no time zones and PostgreSQL gets the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Cents(TypeDecorator[Decimal]):
    """An amount of money kept as whole cents (an integer on every database), read as a Decimal
    with two places; SQLite has no exact decimal type."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | float | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return int((Decimal(str(value)) * 100).to_integral_value())

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(Decimal("0.01"))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Role(enum.StrEnum):
    admin = "admin"
    manager = "manager"
    client_viewer = "client_viewer"
    team_leader = "team_leader"
    recovery = "recovery"
    agent = "agent"


class Channel(enum.StrEnum):
    phone = "phone"
    email = "email"
    chat = "chat"
    sms = "sms"
    social = "social"
    in_store = "in_store"
    delivery = "delivery"
    other = "other"


class RequestKind(enum.StrEnum):
    initial = "initial"
    recovery_followup = "recovery_followup"


# Response.source of answers to recovery follow-up requests: they measure the recovery, not the
# agent, so standings, alerts and dashboard aggregates leave them out (no double counting).
FOLLOWUP_SOURCE = "recovery_followup"


class SendChannel(enum.StrEnum):
    """How an account's feedback requests reach customers."""

    email = "email"
    none = "none"


class RequestStatus(enum.StrEnum):
    pending = "pending"
    responded = "responded"
    suppressed = "suppressed"


DEFAULT_REWARDS: list[dict[str, Any]] = [
    {"code": "high_five", "label": "High five", "emoji": "\U0001f64c", "value": 0},
    {"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4},
    {"code": "lunch", "label": "Lunch", "emoji": "\U0001f957", "value": 15},
    {"code": "gift_card", "label": "Gift card", "emoji": "\U0001f381", "value": 25},
]

DEFAULT_IMPROVEMENT_AREAS: list[dict[str, str]] = [
    {"code": "speed", "label": "Speed of response"},
    {"code": "knowledge", "label": "Product knowledge"},
    {"code": "courtesy", "label": "Courtesy"},
    {"code": "clarity", "label": "Clear explanation"},
    {"code": "resolution", "label": "Solved my problem"},
    {"code": "follow_up", "label": "Follow-up"},
]


DEFAULT_ALERT_RULES: dict[str, Any] = {
    # Each rule can be switched off or tuned per account (PATCH /api/v1/accounts/{id}).
    "negative_rating": {"enabled": True},
    "low_streak": {"enabled": True, "count": 3},
    "recurring_area": {"enabled": True, "count": 3, "days": 7},
    "great_moment": {"enabled": True},
}


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Account(SQLModel, table=True):
    """A client programme or brand, with its survey settings and reward catalogue."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_accounts_org_name"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    # Ratings at or below this are negative: they open recovery cases and raise alerts.
    negative_threshold: int = Field(default=2)
    reward_catalogue: list[dict[str, Any]] = _json(lambda: [dict(r) for r in DEFAULT_REWARDS])
    improvement_areas: list[dict[str, str]] = _json(lambda: [dict(a) for a in DEFAULT_IMPROVEMENT_AREAS])
    ask_csat: bool = Field(default=False)
    ask_nps: bool = Field(default=False)
    ask_fcr: bool = Field(default=False)
    suppression_days: int = Field(default=7)
    request_ttl_days: int = Field(default=14)
    edit_window_hours: int = Field(default=24)
    promo_code: str | None = Field(default=None, max_length=64)
    share_url: str | None = Field(default=None, max_length=500)
    leaderboard_min_responses: int = Field(default=5)
    recovery_sla_minutes: int = Field(default=240)
    alert_rules: dict[str, Any] = _json(lambda: {k: dict(v) for k, v in DEFAULT_ALERT_RULES.items()})
    # Reaching customers: how and when feedback requests go out.
    send_channel: str = Field(default=SendChannel.email, max_length=20)
    send_delay_minutes: int = Field(default=0)
    # {"start": "08:00", "end": "20:00", "days": [1, 2, 3, 4, 5]} in the account's time zone
    # (ISO weekdays, Monday = 1); null sends at any hour.
    send_window: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sender_name: str | None = Field(default=None, max_length=100)
    reply_to: str | None = Field(default=None, max_length=254)
    email_footer: str = Field(default="", max_length=1000)
    # Language of the survey and email when neither the interaction nor the browser names one.
    default_locale: str = Field(default="en", max_length=10)
    # IANA name; "today", "this week" and "this month" start at this zone's midnight.
    time_zone: str = Field(default="UTC", max_length=64)
    brand_color: str | None = Field(default=None, max_length=7)
    survey_intro: str = Field(default="", max_length=500)
    # Customers' contact details are erased this many days after their latest answer (or, for a
    # request never answered, after the request); streamsrv.retention.
    contact_retention_days: int = Field(default=30)
    # Agents linked to a user may edit their own bio, hobbies and photo at /settings/profile.
    agents_edit_profile: bool = Field(default=True)
    # --- statements (issue 13) ---
    # Most an agent's rewards may pay in one month, in the catalogue's currency; null = no cap.
    # Manager adjustments are never capped (streamsrv.ledger.statement_json).
    reward_cap_per_agent: Decimal | None = Field(default=None, sa_column=Column(Cents(), nullable=True))
    # --- end statements ---
    # The blended scorecard (streamsrv.scorecard): weights of the customer rating, CSAT, NPS, FCR
    # and QA score (integers adding up to 100), and the responses an agent needs in a period
    # before a blended score is shown.
    scorecard_weights: dict[str, int] = _json(lambda: {"rating": 100, "csat": 0, "nps": 0, "fcr": 0, "qa": 0})
    scorecard_min_responses: int = Field(default=5)
    # Scheduled reports (streamsrv.reports): the local hour they go at, and the weekly one's day.
    report_hour: int = Field(default=7)
    weekly_report_day: int = Field(default=1)  # ISO weekday, 1 = Monday
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_teams_account_name"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    name: str = Field(max_length=200)
    # Work address: matches CSV import lines and invitations of the agent's user. Not unique in
    # the schema (older agents have none); streamsrv.org.agents refuses a second agent with it.
    email: str | None = Field(default=None, max_length=254, index=True)
    bio: str = Field(default="", max_length=500)
    hobbies: list[str] = _json(list)
    photo_url: str | None = Field(default=None, max_length=500)
    # Ids of this agent in helpdesks: {"zendesk": "123", "freshdesk": "agent-9"}.
    external_ids: dict[str, str] = _json(dict)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AgentPhoto(SQLModel, table=True):
    """Uploaded photos live in the database so that every node can serve them."""

    __tablename__ = "agent_photos"
    agent_id: int = Field(foreign_key="agents.id", primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    content_type: str = Field(max_length=50)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    version: int = Field(default=1)


class AccountLogo(SQLModel, table=True):
    """An account's logo for its survey pages and emails, stored like agent photos."""

    __tablename__ = "account_logos"
    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    content_type: str = Field(max_length=50)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Part of the public URL: a new upload gets a new URL, so the old one can be cached forever.
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"
    # Unique per organization only: a global constraint told one tenant's admin (by a 409) that an
    # address had an account in another organization.
    __table_args__ = (UniqueConstraint("org_id", "email", name="uq_users_org_email"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=254, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=20)
    # Scope: managers, client viewers and recovery staff see accounts; team leaders see teams.
    account_ids: list[int] = _json(list)
    team_ids: list[int] = _json(list)
    agent_id: int | None = Field(default=None, foreign_key="agents.id")
    active: bool = Field(default=True)
    # Bumped on password change, deactivation or "log out everywhere": every login session
    # (``LoginSession``) opened before ends.
    session_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LoginSession(SQLModel, table=True):
    """One login of a user, from ``/login`` until logout, expiry or the end of all their sessions.

    The cookie carries a random secret; only its hash is stored, so a copy of the database opens
    no session. ``session_version`` is the user's at login: a bump ends the session even if its
    row was written by a login that raced with the bump.
    """

    __tablename__ = "sessions"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    secret_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    session_version: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TokenPurpose(enum.StrEnum):
    invite = "invite"
    reset = "reset"


class AccountToken(SQLModel, table=True):
    """A link emailed to a user: an invitation to set a first password, or a password reset.

    Only the SHA-256 of the link's random secret is kept, so a copy of the database opens no
    link. A token is single use (``consumed_at`` is set in the transaction that sets the
    password) and expires at ``expires_at``; sending a new one of the same purpose deletes the
    user's earlier ones.
    """

    __tablename__ = "account_tokens"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    consumed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    # The public part shown in listings ("ssk_ab12cd34"); the secret is only stored hashed.
    prefix: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    key_hash: str = Field(max_length=128)
    scopes: list[str] = _json(list)
    account_ids: list[int] = _json(list)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


# Interactions still holding contact details: the only ones the retention job has to look at.
HOLDS_CONTACT = text(
    "(customer_email IS NOT NULL OR customer_name IS NOT NULL OR customer_phone IS NOT NULL)"
)


class Interaction(SQLModel, table=True):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id", name="uq_interactions_account_external"),
        Index(
            "ix_interactions_contact_held",
            "account_id",
            "created_at",
            sqlite_where=HOLDS_CONTACT,
            postgresql_where=HOLDS_CONTACT,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=200)
    customer_email: str | None = Field(default=None, max_length=254, index=True)
    customer_name: str | None = Field(default=None, max_length=200)
    customer_phone: str | None = Field(default=None, max_length=40)
    # When the contact details above were erased (retention or on request); null while kept.
    contact_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The customer's language, when the helpdesk or integration knows it ("es", "pt-BR").
    locale: str | None = Field(default=None, max_length=10)
    source: str = Field(default="api", max_length=40)
    # The ticket in the helpdesk the interaction came from (an http(s) URL), linked on the pages.
    ticket_url: str | None = Field(default=None, max_length=500)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class FeedbackRequest(SQLModel, table=True):
    __tablename__ = "feedback_requests"
    __table_args__ = (
        Index("ix_feedback_requests_suppression", "account_id", "customer_email", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    interaction_id: int = Field(foreign_key="interactions.id", index=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    kind: str = Field(default=RequestKind.initial, max_length=20)
    status: str = Field(default=RequestStatus.pending, max_length=20)
    customer_email: str | None = Field(default=None, max_length=254)
    # Random per request; the URL token is an HMAC of it, and only a hash of the token is stored.
    nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    recovery_case_id: int | None = Field(default=None)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Response(SQLModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_org_created", "org_id", "created_at"),
        Index("ix_responses_agent_created", "agent_id", "created_at"),
        Index("ix_responses_team_created", "team_id", "created_at"),
        Index("ix_responses_account_created", "account_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    account_id: int = Field(foreign_key="accounts.id")
    team_id: int = Field(foreign_key="teams.id")
    agent_id: int = Field(foreign_key="agents.id")
    interaction_id: int = Field(foreign_key="interactions.id")
    request_id: int | None = Field(
        default=None, foreign_key="feedback_requests.id", sa_column_kwargs={"unique": True}
    )
    channel: str = Field(max_length=20)
    rating: int
    comment: str = Field(default="", max_length=2000)
    reward: str | None = Field(default=None, max_length=40)
    improvement_areas: list[str] = _json(list)
    csat: int | None = Field(default=None)
    nps: int | None = Field(default=None)
    fcr: bool | None = Field(default=None)
    source: str = Field(default="survey", max_length=40)
    # The customer gave (or last edited) this answer through the survey link: ingest may no longer
    # replace it (``source`` names the first writer only, and ingest's default looks like the link API's).
    by_customer: bool = Field(default=False)
    edit_count: int = Field(default=0)
    # Moderation: a hidden comment is kept but never shown on streams or boards.
    comment_hidden: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OutboxEvent(SQLModel, table=True):
    """An event committed with the change that caused it; the relay moves it to Redis."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "sent_at", "id"),
        # Few rows wait for fan-out at any time: the index holds only those. Each condition is
        # spelled the way that dialect renders the query's ``WHERE fanout`` (SQLite: ``= 1``), or
        # SQLite's planner does not see that the index covers the query and scans the table.
        Index("ix_outbox_fanout", "id", sqlite_where=text("fanout = 1"), postgresql_where=text("fanout")),
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    org_id: int = Field(foreign_key="organizations.id")
    type: str = Field(max_length=40)
    # Stream names this event goes to, e.g. ["agent:7", "team:2", "account:1"].
    streams: list[str] = _json(list)
    payload: dict[str, Any] = _json(dict)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    attempts: int = Field(default=0)
    # Outbound webhooks still have to be queued for this event (``streamsrv.outbound.fanout``):
    # set in the event's transaction, cleared in the one that writes its deliveries.
    fanout: bool = Field(
        default=False, sa_column=Column(Boolean(), nullable=False, server_default=text("false"))
    )


# --- Live surfaces: displays, coaching, recovery, moderation ----------------------------------


class Display(SQLModel, table=True):
    """A named wallboard screen. Its URL carries a signed display token; revoking kills it."""

    __tablename__ = "displays"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    # "team" or "account": which board the screen shows.
    scope: str = Field(max_length=20)
    target_id: int
    # What the screen shows: everyone by name (``top_n`` null), or the top ``top_n`` ranks by
    # name and below them nobody ("hidden") or rank and score without a name ("anonymous").
    top_n: int | None = Field(default=None)
    below_top: str = Field(default="hidden", max_length=20)
    # How long a new shout-out stays pinned at the front of the ticker.
    shoutout_pin_minutes: int = Field(default=10)
    # Bumped to revoke: tokens carry the version they were issued for.
    version: int = Field(default=1)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_team_created", "team_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    team_id: int = Field(foreign_key="teams.id")
    agent_id: int = Field(foreign_key="agents.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="responses.id")
    # negative_rating | low_streak | recurring_area | great_moment
    rule: str = Field(max_length=40)
    message: str = Field(max_length=500)
    details: dict[str, Any] = _json(dict)
    acknowledged_by: int | None = Field(default=None, foreign_key="users.id")
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CoachingNote(SQLModel, table=True):
    __tablename__ = "coaching_notes"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="responses.id")
    author_id: int = Field(foreign_key="users.id")
    text: str = Field(max_length=2000)
    # Shared notes are visible to the agent on /me.
    shared: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Shoutout(SQLModel, table=True):
    __tablename__ = "shoutouts"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    team_id: int = Field(foreign_key="teams.id", index=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="responses.id")
    author_id: int = Field(foreign_key="users.id")
    message: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CaseStatus(enum.StrEnum):
    open = "open"
    claimed = "claimed"
    resolved = "resolved"


class RecoveryCase(SQLModel, table=True):
    __tablename__ = "recovery_cases"
    __table_args__ = (Index("ix_recovery_cases_account_status", "account_id", "status", "opened_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    team_id: int = Field(foreign_key="teams.id")
    agent_id: int = Field(foreign_key="agents.id")
    response_id: int = Field(foreign_key="responses.id", sa_column_kwargs={"unique": True})
    status: str = Field(default=CaseStatus.open, max_length=20)
    before_rating: int
    after_rating: int | None = Field(default=None)
    claimed_by: int | None = Field(default=None, foreign_key="users.id")
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_by: int | None = Field(default=None, foreign_key="users.id")
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # e.g. reached, voicemail, no_answer, refunded: free text from a short list on the page.
    contact_outcome: str | None = Field(default=None, max_length=100)
    resolution: str | None = Field(default=None, max_length=2000)
    followup_request_id: int | None = Field(default=None, foreign_key="feedback_requests.id")
    # Optimistic concurrency: two people claiming at once, one wins.
    version: int = Field(default=1)
    opened_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CaseNote(SQLModel, table=True):
    __tablename__ = "case_notes"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    case_id: int = Field(foreign_key="recovery_cases.id", index=True)
    author_id: int = Field(foreign_key="users.id")
    text: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="users.id")
    actor_api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    action: str = Field(max_length=60)
    target: str = Field(max_length=100)
    details: dict[str, Any] = _json(dict)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def alert_rules_of(account: Account) -> dict[str, dict[str, Any]]:
    """The account's alert rules with defaults filled in for anything it does not set."""
    rules = {k: dict(v) for k, v in DEFAULT_ALERT_RULES.items()}
    for name, settings in (account.alert_rules or {}).items():
        if name in rules and isinstance(settings, dict):
            rules[name].update(settings)
    return rules


# --- Deliveries to the outside world and scheduled work ---------------------------------------


class DeliveryStatus(enum.StrEnum):
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    suppressed = "suppressed"
    cancelled = "cancelled"


class Delivery(SQLModel, table=True):
    """One message to the outside (an email, a chat post, a webhook call), written in the same
    transaction as its cause and executed by whichever node's worker claims it first."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "due_at"),
        Index("ix_deliveries_ref", "ref"),
        # Enqueueing the same thing twice (a redelivered webhook, a retried request) is a no-op.
        UniqueConstraint("kind", "dedupe_key", name="uq_deliveries_kind_dedupe"),
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    org_id: int = Field(foreign_key="organizations.id", index=True)
    # What executes it: "email", "slack", "teams", "webhook", ...
    kind: str = Field(max_length=20)
    # Deliveries of one queue (one SMTP server, one receiving URL) run one at a time on a node,
    # so a slow receiver holds up only its own queue.
    queue: str = Field(max_length=120)
    # What it is about, for lookups: "request:42", "case:7".
    ref: str | None = Field(default=None, max_length=80)
    dedupe_key: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default=DeliveryStatus.scheduled, max_length=20)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Temporary failures are retried until this moment, then the delivery fails.
    give_up_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    claimed_by: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ScheduleRun(SQLModel, table=True):
    """One run of a scheduled job for one slot ("retention", "2026-11-26T03"): the node that
    inserts the row runs the job, so a schedule fires once however many nodes there are."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_schedule_runs_job_slot"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=80)
    slot: str = Field(max_length=80)
    node: str = Field(max_length=40)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    error: str | None = Field(default=None, max_length=1000)


# --- Survey emails: an organization's own SMTP server and the addresses never to email -------


class SmtpSecurity(enum.StrEnum):
    starttls = "starttls"
    tls = "tls"
    none = "none"


class SmtpSettings(SQLModel, table=True):
    """An organization's own SMTP server; without a row, the server-wide STREAMSRV_SMTP_URL."""

    __tablename__ = "smtp_settings"
    org_id: int = Field(foreign_key="organizations.id", primary_key=True)
    host: str = Field(max_length=253)
    port: int
    security: str = Field(default=SmtpSecurity.starttls, max_length=10)
    username: str | None = Field(default=None, max_length=254)
    # Fernet token under a key derived from the server's secret key; never returned by the API.
    password_sealed: str | None = Field(default=None, max_length=2000)
    from_address: str = Field(max_length=254)
    from_name: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SuppressionReason(enum.StrEnum):
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    manual = "manual"


class Suppression(SQLModel, table=True):
    """An address of an account's customers that gets no survey email, whatever else happens."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("account_id", "email", name="uq_suppressions_account_email"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    email: str = Field(max_length=254)
    reason: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


# --- Helpdesk integrations: tickets solved in a helpdesk become interactions -------------------


class Integration(SQLModel, table=True):
    """One helpdesk (a connector) sending its solved tickets to one account's surveys."""

    __tablename__ = "integrations"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    connector: str = Field(max_length=40)
    name: str = Field(max_length=200)
    # Sealed (streamsrv.security.sealed): the server must read it back to check HMAC signatures.
    secret_sealed: str = Field(max_length=1000)
    enabled: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    secret_rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class IntegrationDelivery(SQLModel, table=True):
    """One webhook call received for an integration, whatever became of it (the delivery log)."""

    __tablename__ = "integration_deliveries"
    __table_args__ = (Index("ix_integration_deliveries_integration", "integration_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    integration_id: int = Field(foreign_key="integrations.id")
    # accepted | duplicate | ignored | unmapped | rejected | invalid | too_large
    status: str = Field(max_length=20)
    http_status: int
    reason: str = Field(default="", max_length=500)
    event_id: str | None = Field(default=None, max_length=200)
    interaction_id: int | None = Field(default=None, foreign_key="interactions.id")
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class UnmappedStatus(enum.StrEnum):
    open = "open"
    mapped = "mapped"


class UnmappedEvent(SQLModel, table=True):
    """A solved ticket whose agent no agent of the account matched, kept until an admin maps it."""

    __tablename__ = "integration_unmapped"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id", name="uq_integration_unmapped_external"),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    integration_id: int = Field(foreign_key="integrations.id")
    connector: str = Field(max_length=40)
    external_id: str = Field(max_length=200)
    # The helpdesk's agent as the event named them: {"id", "email", "name"}.
    agent_ref: dict[str, Any] = _json(dict)
    # The interaction to record once mapped (InteractionIn fields without the agent).
    interaction: dict[str, Any] = _json(dict)
    status: str = Field(default=UnmappedStatus.open, max_length=20)
    agent_id: int | None = Field(default=None, foreign_key="agents.id")
    interaction_id: int | None = Field(default=None, foreign_key="interactions.id")
    mapped_by: int | None = Field(default=None, foreign_key="users.id")
    mapped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # When the customer's details were erased from ``interaction`` (retention, or once mapped).
    contact_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


# --- Chat channels (Slack, Microsoft Teams) ------------------------------------------------------


class NotificationChannel(SQLModel, table=True):
    """A Slack or Teams incoming webhook that an account's (or one team's) events are posted to."""

    __tablename__ = "notification_channels"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    # None: every team of the account.
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    # "slack" | "teams"
    kind: str = Field(max_length=20)
    # The webhook URL is a credential (whoever holds it can post): sealed, shown only masked.
    url_sealed: str = Field(max_length=4000)
    url_hint: str = Field(max_length=200)
    events: list[str] = _json(list)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


# --- Outbound webhooks: customers' systems subscribed to events -------------------------------


class WebhookStatus(enum.StrEnum):
    active = "active"
    disabled = "disabled"


class WebhookEndpoint(SQLModel, table=True):
    """A customer's URL subscribed to event types; its deliveries are rows of ``deliveries``
    (kind ``webhook``, queue ``webhook:{id}``)."""

    __tablename__ = "webhook_endpoints"
    # Ids are never reused: a deleted endpoint's delivery log must not show as a new one's.
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    events: list[str] = _json(list)
    # Empty: every account of the organization.
    account_ids: list[int] = _json(list)
    # Fernet tokens (signing needs the secret itself); never returned after creation.
    secret_sealed: str = Field(max_length=500)
    # The secret before the last rotation, still signing alongside until previous_until.
    previous_secret_sealed: str | None = Field(default=None, max_length=500)
    previous_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    status: str = Field(default=WebhookStatus.active, max_length=20)
    disabled_reason: str | None = Field(default=None, max_length=500)
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_by: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


# The delivery log of one endpoint reads the newest rows of its queue.
Index("ix_deliveries_queue_id", Delivery.__table__.c.queue, Delivery.__table__.c.id)  # type: ignore[attr-defined]


# --- Quality assurance: scorecard templates and evaluations (docs/qa.md) ----------------------


class QaTemplate(SQLModel, table=True):
    """One version of an account's scorecard; an update adds a version, evaluations keep theirs."""

    __tablename__ = "qa_templates"
    __table_args__ = (UniqueConstraint("family_id", "version", name="uq_qa_templates_family_version"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    # The id of the first version: every version of one scorecard shares it.
    family_id: int | None = Field(default=None, index=True)
    version: int = Field(default=1)
    name: str = Field(max_length=200)
    # [{"name", "weight", "criteria": [{"id", "name", "weight", "kind", "auto_fail"}]}]
    sections: list[dict[str, Any]] = _json(list)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class QaEvaluation(SQLModel, table=True):
    __tablename__ = "qa_evaluations"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    agent_id: int = Field(foreign_key="agents.id", index=True)
    interaction_id: int = Field(foreign_key="interactions.id", index=True)
    template_id: int = Field(foreign_key="qa_templates.id")
    reviewer_id: int = Field(foreign_key="users.id")
    # criterion id -> "yes" / "no" or 1..5
    answers: dict[str, Any] = _json(dict)
    comment: str = Field(default="", max_length=2000)
    score: float
    auto_failed: bool = Field(default=False)
    # pending, acknowledged or disputed: the agent answers once.
    agent_status: str = Field(default="pending", max_length=20)
    agent_comment: str = Field(default="", max_length=2000)
    agent_responded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LedgerKind(enum.StrEnum):
    award = "award"
    reversal = "reversal"
    adjustment = "adjustment"


class LedgerEntry(SQLModel, table=True):
    """One immutable line of the reward ledger: a reward earned, taken back, or adjusted.

    Rows are only ever inserted: an edit that changes a response's reward adds a reversal of the
    live award (``reverses_id``) and a new award. Amounts are in cents of ``currency`` as the
    reward catalogue said at that moment; ``month`` is the statement month (``YYYY-MM``, in the
    account's time zone) the line counts toward.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_account_month", "account_id", "month"),
        Index("ix_ledger_response", "response_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    account_id: int = Field(foreign_key="accounts.id")
    agent_id: int = Field(foreign_key="agents.id")
    response_id: int | None = Field(default=None, foreign_key="responses.id")
    reward: str | None = Field(default=None, max_length=40)
    amount_cents: int
    currency: str = Field(max_length=3)
    month: str = Field(max_length=7)
    kind: str = Field(max_length=20)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entries.id")
    reason: str = Field(default="", max_length=500)
    actor: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class StatementClose(SQLModel, table=True):
    """A closed statement month of an account: later ledger lines go to the next open month."""

    __tablename__ = "statement_closes"
    __table_args__ = (UniqueConstraint("account_id", "month", name="uq_statement_close"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    account_id: int = Field(foreign_key="accounts.id")
    month: str = Field(max_length=7)
    actor: str | None = Field(default=None, max_length=200)
    # --- statements (issue 13) ---
    # The cap and the currency the month was closed with: a later change of the account's settings
    # does not rewrite a closed statement (null currency: closed before this was kept).
    reward_cap: Decimal | None = Field(default=None, sa_column=Column(Cents(), nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    # --- end statements ---
    closed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
