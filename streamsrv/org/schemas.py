"""Request and response models of the organization's structure: accounts, teams, agents, users,
API keys and wallboard displays.

Inputs forbid unknown fields, so a typo ("negativ_threshold") is a 422 naming it instead of a
silently ignored setting. PATCH models have every field optional; which ones were actually sent
is read from ``model_fields_set`` (see ``streamsrv.http.patch_changes``).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_serializer,
    model_validator,
)

from streamsrv import locales
from streamsrv.branding import check_brand_color
from streamsrv.ids import MAX_ID, Id
from streamsrv.inputs import IdCursor
from streamsrv.models import Role, SendChannel
from streamsrv.security.apikeys import SCOPES
from streamsrv.security.password_policy import MAX_LENGTH as MAX_PASSWORD_LENGTH
from streamsrv.security.password_policy import MIN_LENGTH as MIN_PASSWORD_LENGTH

# Codes end up in stored responses (Response.reward is 40 chars) and in CSS/JS hooks.
CODE_PATTERN = r"^[a-z0-9][a-z0-9_]{0,39}$"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _no_control(value: str, allowed: str = "") -> str:
    # NUL cannot be stored in PostgreSQL text, and no other control character belongs in a label.
    if any((ord(ch) < 32 or 127 <= ord(ch) < 160) and ch not in allowed for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _multiline(value: str) -> str:
    return _no_control(value, allowed="\n\r\t")


# One line of text (names, labels) and free text that may span lines (bios).
Line = AfterValidator(_no_control)
Multiline = AfterValidator(_multiline)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Line]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_PATTERN)]
IdList = Annotated[list[Id], Field(max_length=200)]


def _http_url(value: str | None) -> str | None:
    """Only absolute http(s) URLs: a ``javascript:`` or ``data:`` link must never reach a page."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("must not contain whitespace or control characters")
    return value


HttpUrl = Annotated[str, StringConstraints(max_length=500), AfterValidator(_http_url)]


def _unique_codes(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for item in items:
        if item.code in seen:
            raise ValueError(f"duplicate code {item.code!r}")
        seen.add(item.code)
    return items


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not EMAIL_RE.match(value) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be an email address like name@example.com")
    return value


Email = Annotated[str, AfterValidator(_email)]
# Only the length here (the schema shows it); the rest of the rule needs the user's email and
# name, and is checked by streamsrv.org.users.
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- accounts -------------------------------------------------------------------------------


def _locale(value: str) -> str:
    value = value.strip()
    if locales.match(value) != value:
        raise ValueError(f"must be one of the supported languages: {', '.join(locales.SUPPORTED)}")
    return value


Locale = Annotated[str, AfterValidator(_locale)]


def _time_zone(value: str) -> str:
    value = value.strip()
    try:
        # A path-like name could otherwise reach the file system lookup.
        if not value or ".." in value or value.startswith("/"):
            raise ValueError
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError("must be an IANA time zone such as Europe/Paris or America/New_York") from None
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]
BrandColor = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=7), AfterValidator(check_brand_color)
]
Translations = Annotated[
    dict[Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), Line]],
    Field(max_length=len(locales.SUPPORTED)),
]


class Labelled(Input):
    """A catalogue entry whose ``labels`` (translations) are left out of the stored JSON when
    there are none, so catalogues without translations keep their shape."""

    @model_serializer(mode="wrap")
    def _drop_empty_labels(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not data.get("labels"):
            data.pop("labels", None)
        return data


DEFAULT_CURRENCY = "USD"
CURRENCIES = frozenset(list_currencies())


def _currency(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or value not in CURRENCIES:
        raise ValueError("must be a 3-letter ISO 4217 currency code such as USD, EUR or GBP")
    return value


Currency = Annotated[str, StringConstraints(max_length=8), AfterValidator(_currency)]


class RewardItem(Labelled):
    code: Code
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), Line]
    # The label in other languages, shown to customers who read them: {"es": "Un café"}.
    labels: Translations = Field(default_factory=dict)
    emoji: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16), Line] = ""
    # What one vote is worth, in ``currency``.
    value: Annotated[int, Field(ge=0, le=100_000)] | Annotated[float, Field(ge=0, le=100_000)] = 0
    # ISO 4217 code of ``value`` (accounts have no currency of their own: the default is USD).
    currency: Currency = DEFAULT_CURRENCY


class ImprovementArea(Labelled):
    code: Code
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), Line]
    labels: Translations = Field(default_factory=dict)


HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class SendWindow(Input):
    """Hours in the account's time zone when survey emails may go out (ISO weekdays, Monday = 1)."""

    start: HHMM = "08:00"
    end: HHMM = "20:00"
    days: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1, max_length=7)] = [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: str, info: Any) -> str:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be later than start")
        return value


Footer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Intro = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
SenderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Line]
SendDelay = Annotated[int, Field(ge=0, le=7 * 24 * 60)]
# Days a customer's contact details are kept after their latest answer (streamsrv.retention).
RetentionDays = Annotated[int, Field(ge=1, le=3650)]
# --- statements (issue 13) ---
# The most an agent's rewards pay in one month, in the catalogue's currency (null: no cap).
RewardCap = Annotated[Decimal, Field(ge=0, le=10_000_000, max_digits=10, decimal_places=2)]
# --- end statements ---
# The local hour scheduled reports go at, and the ISO weekday (1 = Monday) of the weekly one.
ReportHour = Annotated[int, Field(ge=0, le=23)]
Weekday = Annotated[int, Field(ge=1, le=7)]


def _one_currency(items: list[RewardItem]) -> list[RewardItem]:
    """A statement adds rewards up in one currency, so a catalogue names one (issue 13)."""
    currencies = sorted({item.currency for item in items})
    if len(currencies) > 1:
        raise ValueError(
            f"every reward must use the same currency (found {', '.join(currencies)}); "
            "statements add rewards up in one currency"
        )
    return items


RewardCatalogue = Annotated[
    list[RewardItem], Field(max_length=20), AfterValidator(_unique_codes), AfterValidator(_one_currency)
]
ImprovementAreas = Annotated[list[ImprovementArea], Field(max_length=30), AfterValidator(_unique_codes)]
PromoCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), Line]


# --- the blended scorecard (streamsrv.scorecard) ---------------------------------------------

Weight = Annotated[int, Field(ge=0, le=100)]
ScorecardMin = Annotated[int, Field(ge=1, le=100_000)]


class ScorecardWeights(Input):
    """How much each component counts in the blended score, in percent: they add up to 100. The
    object replaces the whole set: a component left out counts 0."""

    rating: Weight = 0
    csat: Weight = 0
    nps: Weight = 0
    fcr: Weight = 0
    qa: Weight = 0

    @model_validator(mode="after")
    def _adds_up(self) -> ScorecardWeights:
        total = self.rating + self.csat + self.nps + self.fcr + self.qa
        if total != 100:
            raise ValueError(f"the weights must add up to 100 % (these add up to {total} %)")
        return self


class AccountSettings(Input):
    """Survey settings shared by create (with defaults) and update (all optional)."""

    negative_threshold: Annotated[int, Field(ge=1, le=4)] = 2
    reward_catalogue: RewardCatalogue | None = None
    improvement_areas: ImprovementAreas | None = None
    ask_csat: bool = False
    ask_nps: bool = False
    ask_fcr: bool = False
    suppression_days: Annotated[int, Field(ge=0, le=365)] = 7
    request_ttl_days: Annotated[int, Field(ge=1, le=365)] = 14
    edit_window_hours: Annotated[int, Field(ge=0, le=720)] = 24
    promo_code: PromoCode | None = None
    share_url: HttpUrl | None = None
    leaderboard_min_responses: Annotated[int, Field(ge=0, le=100_000)] = 5
    recovery_sla_minutes: Annotated[int, Field(ge=1, le=43_200)] = 240
    send_channel: SendChannel = SendChannel.email
    send_delay_minutes: SendDelay = 0
    send_window: SendWindow | None = None
    sender_name: SenderName | None = None
    reply_to: Email | None = None
    email_footer: Footer = ""
    default_locale: Locale = locales.DEFAULT
    time_zone: TimeZone = "UTC"
    brand_color: BrandColor | None = None
    survey_intro: Intro = ""
    contact_retention_days: RetentionDays = 30
    # Agents linked to a user edit their own bio, hobbies and photo (/settings/profile).
    agents_edit_profile: bool = True
    # --- statements (issue 13) ---
    reward_cap_per_agent: RewardCap | None = None
    # --- end statements ---
    # The blended scorecard: weights in percent and the responses needed for a score.
    scorecard_weights: ScorecardWeights | None = None
    scorecard_min_responses: ScorecardMin = 5
    # Scheduled reports (streamsrv.reports), in the account's time zone.
    report_hour: ReportHour = 7
    weekly_report_day: Weekday = 1


class AccountCreate(AccountSettings):
    name: Name


class AccountUpdate(Input):
    name: Name | None = None
    negative_threshold: Annotated[int, Field(ge=1, le=4)] | None = None
    reward_catalogue: RewardCatalogue | None = None
    improvement_areas: ImprovementAreas | None = None
    ask_csat: bool | None = None
    ask_nps: bool | None = None
    ask_fcr: bool | None = None
    suppression_days: Annotated[int, Field(ge=0, le=365)] | None = None
    request_ttl_days: Annotated[int, Field(ge=1, le=365)] | None = None
    edit_window_hours: Annotated[int, Field(ge=0, le=720)] | None = None
    promo_code: PromoCode | None = None
    share_url: HttpUrl | None = None
    leaderboard_min_responses: Annotated[int, Field(ge=0, le=100_000)] | None = None
    recovery_sla_minutes: Annotated[int, Field(ge=1, le=43_200)] | None = None
    send_channel: SendChannel | None = None
    send_delay_minutes: SendDelay | None = None
    send_window: SendWindow | None = None
    sender_name: SenderName | None = None
    reply_to: Email | None = None
    email_footer: Footer | None = None
    default_locale: Locale | None = None
    time_zone: TimeZone | None = None
    brand_color: BrandColor | None = None
    survey_intro: Intro | None = None
    contact_retention_days: RetentionDays | None = None
    agents_edit_profile: bool | None = None
    # --- statements (issue 13) ---
    reward_cap_per_agent: RewardCap | None = None
    # --- end statements ---
    scorecard_weights: ScorecardWeights | None = None
    scorecard_min_responses: ScorecardMin | None = None
    report_hour: ReportHour | None = None
    weekly_report_day: Weekday | None = None


ACCOUNT_NULLABLE = frozenset(
    {"promo_code", "share_url", "send_window", "sender_name", "reply_to", "brand_color"}
    # --- statements (issue 13) ---
    | {"reward_cap_per_agent"}
    # --- end statements ---
)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    name: str
    negative_threshold: int
    reward_catalogue: list[dict[str, Any]]
    improvement_areas: list[dict[str, str]]
    ask_csat: bool
    ask_nps: bool
    ask_fcr: bool
    suppression_days: int
    request_ttl_days: int
    edit_window_hours: int
    promo_code: str | None
    share_url: str | None
    leaderboard_min_responses: int
    recovery_sla_minutes: int
    send_channel: str
    send_delay_minutes: int
    send_window: dict[str, Any] | None
    sender_name: str | None
    reply_to: str | None
    email_footer: str
    default_locale: str
    time_zone: str
    brand_color: str | None
    survey_intro: str
    contact_retention_days: int
    agents_edit_profile: bool
    # --- statements (issue 13) ---
    reward_cap_per_agent: float | None = None
    # --- end statements ---
    scorecard_weights: dict[str, int]
    scorecard_min_responses: int
    report_hour: int
    weekly_report_day: int
    created_at: datetime


# --- teams ----------------------------------------------------------------------------------


class TeamCreate(Input):
    account_id: Id
    name: Name


class TeamUpdate(Input):
    name: Name | None = None


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    account_id: int
    name: str
    created_at: datetime


class TeamListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: IdCursor | None = None


# --- agents ---------------------------------------------------------------------------------

Hobby = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), Line]
Hobbies = Annotated[list[Hobby], Field(max_length=10)]
Bio = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Multiline]
SystemName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Line]
ExternalIds = Annotated[dict[SystemName, ExternalId], Field(max_length=20)]


class AgentCreate(Input):
    team_id: Id
    name: Name
    email: Email | None = None
    bio: Bio = ""
    hobbies: Hobbies = Field(default_factory=list)
    photo_url: HttpUrl | None = None
    external_ids: ExternalIds = Field(default_factory=dict)
    active: bool = True


class AgentUpdate(Input):
    team_id: Id | None = None
    name: Name | None = None
    email: Email | None = None
    bio: Bio | None = None
    hobbies: Hobbies | None = None
    photo_url: HttpUrl | None = None
    external_ids: ExternalIds | None = None
    active: bool | None = None


AGENT_NULLABLE = frozenset({"photo_url", "email"})


class AgentOut(BaseModel):
    id: int
    org_id: int
    account_id: int
    team_id: int
    name: str
    email: str | None
    bio: str
    hobbies: list[str]
    # What pages and integrations should show: the uploaded photo, else photo_url, else null.
    photo: str | None
    photo_url: str | None
    has_uploaded_photo: bool
    external_ids: dict[str, str]
    active: bool
    created_at: datetime


class AgentListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Id | None = None
    team_id: Id | None = None
    active: bool | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: IdCursor | None = None


# --- users ----------------------------------------------------------------------------------


class UserCreate(Input):
    email: Email
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Line] = ""
    password: Password
    role: Role
    account_ids: IdList = Field(default_factory=list)
    team_ids: IdList = Field(default_factory=list)
    agent_id: Id | None = None


class UserUpdate(Input):
    email: Email | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Line] | None = None
    password: Password | None = None
    role: Role | None = None
    account_ids: IdList | None = None
    team_ids: IdList | None = None
    agent_id: Id | None = None
    active: bool | None = None


USER_NULLABLE = frozenset({"agent_id"})


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    email: str
    name: str
    role: str
    account_ids: list[int]
    team_ids: list[int]
    agent_id: int | None
    active: bool
    created_at: datetime


class UserListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    active: bool | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: IdCursor | None = None


class InvitationCreate(Input):
    """A user invited by email: they choose their own password from the emailed link."""

    email: Email
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Line] = ""
    role: Role
    account_ids: IdList = Field(default_factory=list)
    team_ids: IdList = Field(default_factory=list)
    agent_id: Id | None = None


class InvitationOut(BaseModel):
    user: UserOut
    # "invited" until the link is used; then the user is active.
    status: str
    expires_at: datetime


# --- API keys -------------------------------------------------------------------------------


class ApiKeyCreate(Input):
    name: Name
    scopes: Annotated[list[str], Field(min_length=1, max_length=len(SCOPES))]
    account_ids: IdList = Field(default_factory=list)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
        return sorted(set(value))


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    org_id: int
    name: str
    prefix: str
    scopes: list[str]
    account_ids: list[int]
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    # The whole secret, returned by the create call only: it is stored hashed and cannot be shown again.
    key: str


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: IdCursor | None = None


BelowTop = Literal["hidden", "anonymous"]
MAX_TOP_N = 100
MAX_PIN_MINUTES = 24 * 60


class DisplayOptions(BaseModel):
    """What a wallboard screen shows (``PATCH /api/v1/displays/{id}``; also accepted on create)."""

    model_config = ConfigDict(extra="forbid")

    top_n: int | None = Field(
        default=None, ge=1, le=MAX_TOP_N, description="show only the top N ranks; null: everyone"
    )
    below_top: BelowTop = Field(
        default="hidden",
        description="below the top N (when top_n is set): hidden (not shown), anonymous (rank and score only)",
    )
    shoutout_pin_minutes: int = Field(
        default=10,
        ge=0,
        le=MAX_PIN_MINUTES,
        description="how long a new shout-out stays pinned in the ticker",
    )


class DisplayCreate(DisplayOptions):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scope: Literal["team", "account"]
    target_id: int = Field(ge=1, le=MAX_ID)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class DisplayOut(BaseModel):
    id: int
    name: str
    scope: str
    target_id: int
    target_name: str
    url: str
    created_at: str
    top_n: int | None = None
    below_top: str = "hidden"
    shoutout_pin_minutes: int = 10
