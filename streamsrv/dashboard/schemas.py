"""Response shapes of the dashboard endpoints (they document the API in /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class PeriodOut(BaseModel):
    since: str
    until: str
    # The zone whose midnights the period and the trend's days count from.
    time_zone: str


class CsatOut(BaseModel):
    answers: int
    satisfied: int
    percent: float | None


class NpsOut(BaseModel):
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: float | None


class FcrOut(BaseModel):
    answers: int
    resolved: int
    percent: float | None


class MetricsOut(BaseModel):
    responses: int
    rating_sum: int
    average_rating: float | None
    csat: CsatOut
    nps: NpsOut
    fcr: FcrOut
    rewards_total: int


class RatingBucket(BaseModel):
    rating: int
    count: int


class RewardCount(BaseModel):
    code: str
    label: str
    emoji: str
    count: int


class SummaryOut(MetricsOut):
    period: PeriodOut
    requests_sent: int
    response_rate: float | None
    distribution: list[RatingBucket]
    rewards: list[RewardCount]


class BreakdownRow(MetricsOut):
    key: str
    id: int | None
    name: str
    # Agent rows only (null on team and channel rows): the blended scorecard (docs/scorecard.md),
    # null with a reason when the agent has fewer responses than the account's minimum.
    blended_score: float | None = None
    blended_reason: Literal["not_enough_responses", "no_data"] | None = None
    blended_reason_label: str | None = None


class BreakdownOut(BaseModel):
    period: PeriodOut
    by: Literal["team", "agent", "channel"]
    items: list[BreakdownRow]


class TrendPoint(BaseModel):
    date: str
    responses: int
    rating_sum: int
    average_rating: float | None


class TrendOut(BaseModel):
    period: PeriodOut
    points: list[TrendPoint]
