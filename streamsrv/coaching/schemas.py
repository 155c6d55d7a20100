"""Input and answer shapes of the coaching API (answers are built as dicts; these document them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from streamsrv.ids import Id, StrictId
from streamsrv.inputs import IdCursor
from streamsrv.survey.schemas import ResponseOut

MAX_NOTE = 2000
MAX_SHOUTOUT = 500


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# The kinds of alert (the rule that raised it), as the panel's "kind" filter names them.
AlertKind = Literal["negative_rating", "low_streak", "recurring_area", "great_moment"]


class CoachQuery(BaseModel):
    team_id: Id | None = Field(default=None, description="a team you coach; default: your first team")
    kind: AlertKind | None = Field(default=None, description="only alerts of this kind (rule)")
    agent_id: Id | None = Field(default=None, description="only alerts about this agent")
    open_limit: Annotated[int, Field(ge=1, le=500)] = Field(
        default=50, description="at most this many open alerts (newest first); open_count counts them all"
    )


class NotesQuery(BaseModel):
    agent_id: Id
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: IdCursor | None = Field(default=None, description="next_cursor of the previous page")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictId
    response_id: StrictId | None = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE)]
    shared: StrictBool = False

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _clean_text(value)


class ShoutoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: StrictId
    response_id: StrictId | None = None
    message: Annotated[str, Field(min_length=1, max_length=MAX_SHOUTOUT)]

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        return _clean_text(value)


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = True


class StreakRule(Toggle):
    count: Annotated[int, Field(strict=True, ge=1, le=50)] = 3


class AreaRule(Toggle):
    count: Annotated[int, Field(strict=True, ge=1, le=50)] = 3
    days: Annotated[int, Field(strict=True, ge=1, le=90)] = 7


class AlertRulesIn(BaseModel):
    """The whole rule set; a rule left out gets its default."""

    model_config = ConfigDict(extra="forbid")

    negative_rating: Toggle = Field(default_factory=Toggle)
    low_streak: StreakRule = Field(default_factory=StreakRule)
    recurring_area: AreaRule = Field(default_factory=AreaRule)
    great_moment: Toggle = Field(default_factory=Toggle)


class AlertRulesOut(BaseModel):
    account_id: int
    alert_rules: AlertRulesIn


class NamedRef(BaseModel):
    id: int
    name: str


class AlertResponseOut(BaseModel):
    id: int
    rating: int
    comment: str | None
    comment_hidden: bool
    channel: str
    reward: str | None
    improvement_areas: list[str]
    created_at: datetime


class AlertOut(BaseModel):
    id: int
    rule: str
    severity: str
    message: str
    account_id: int
    team_id: int
    agent: NamedRef
    response: AlertResponseOut | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_by: NamedRef | None
    acknowledged_at: datetime | None


class NoteOut(BaseModel):
    id: int
    agent: NamedRef
    team_id: int
    response_id: int | None
    text: str
    shared: bool
    author: str
    author_id: int
    created_at: datetime


class ShoutoutOut(BaseModel):
    id: int
    agent: NamedRef
    team_id: int
    account_id: int
    agent_id: int
    agent_name: str
    response_id: int | None
    message: str
    author: str
    author_name: str
    author_id: int
    created_at: datetime


class TeamOut(BaseModel):
    id: int
    name: str
    account_id: int
    account_name: str


class Totals(BaseModel):
    count: int
    average: float | None
    negative: int


class DayPoint(BaseModel):
    date: date
    count: int
    average: float | None


class AgentTrend(BaseModel):
    id: int
    name: str
    # Uploaded photo (/media/agents/{id}/photo) or the agent's photo URL; null: show initials.
    photo_url: str | None
    today: Totals
    period: Totals
    series: list[DayPoint]


class AlertLists(BaseModel):
    open: list[AlertOut]
    recent: list[AlertOut]
    # Every open alert of the team the filter covers (counted in SQL); open holds the newest
    # open_limit of them.
    open_count: int
    open_limit: int


class CoachSnapshot(BaseModel):
    teams: list[TeamOut]
    team: TeamOut | None
    negative_threshold: int | None
    agents: list[AgentTrend]
    feedback: list[ResponseOut]
    alerts: AlertLists
    # The team's latest shout-outs of the past week, newest first (the filter applies).
    shoutouts: list[ShoutoutOut]
    generated_at: datetime
    # The team's account's zone and its local date now: "today" and the series' days are its.
    time_zone: str | None = None
    today: date | None = None
