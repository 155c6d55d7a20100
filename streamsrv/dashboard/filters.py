"""The dashboard's filter: which responses an aggregate, a breakdown or an export covers.

One model for every dashboard endpoint and the CSV export, so "the same filters" means the same
code. The period defaults to the last 30 days; it is bounded so that a daily series never grows
past a screenful of points and an absurd date can never overflow date arithmetic. A calendar
filter (``period``, ``from_date``/``to_date``, ``streamsrv.period_filters``) counts from the
midnights of the view's time zone, which the period carries so that daily series use its days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import Session

from streamsrv.access import ACCOUNT_ROLES, require_feedback_reader
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, field_error
from streamsrv.ids import Id
from streamsrv.inputs import Instant
from streamsrv.models import Channel, Role
from streamsrv.period_filters import (
    DEFAULT_DAYS,
    MAX_DAYS,
    CalendarFilters,
    calendar_bounds,
    view_zone,
)
from streamsrv.periods import UTC_ZONE, days_between

DEFAULT_PERIOD = timedelta(days=DEFAULT_DAYS)
MAX_PERIOD = timedelta(days=MAX_DAYS)


class _Bounds(BaseModel):
    account_id: Id | None = None
    team_id: Id | None = None
    agent_id: Id | None = None
    channel: Channel | None = None
    since: Instant | None = Field(default=None, description="inclusive, ISO-8601; default until - 30 days")
    until: Instant | None = Field(default=None, description="exclusive, ISO-8601; default now")

    @field_validator("until")
    @classmethod
    def _check_until(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        # Checked on "until" (declared after "since") so the error names a field.
        since = info.data.get("since")
        if until is not None and since is not None:
            if since >= until:
                raise ValueError("must be after since")
            if until - since > MAX_PERIOD:
                raise ValueError(f"the period may span at most {MAX_PERIOD.days} days")
        return until


class DashboardQuery(CalendarFilters, _Bounds):
    """The calendar fields come after since/until, whose values their checks read."""


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    # Whose local days the daily series counts (UTC for a view across zones).
    tz: ZoneInfo = field(default=UTC_ZONE)

    def days(self) -> list[str]:
        """Every local day the period touches, as ``YYYY-MM-DD`` (the trend's x axis)."""
        return [d.isoformat() for d in days_between(self.since, self.until, self.tz)]


def resolve_period(session: Session, identity: Identity, query: DashboardQuery, now: datetime) -> Period:
    """The calendar filter at the view's midnights, else since/until with their defaults:
    until now, since 30 days before until."""
    tz = view_zone(session, identity, query)
    bounds = calendar_bounds(query, now, tz)
    if bounds is not None:
        if len(days_between(*bounds, tz)) > MAX_DAYS:
            # Only from_date alone can run this long: it runs through today.
            raise field_error("from_date", f"the period may span at most {MAX_DAYS} days")
        return Period(*bounds, tz)
    if query.until is not None:
        until = query.until
    elif query.since is not None:
        # "Since X" means up to now; a future X still gets a (then empty) one-day window.
        until = max(now, query.since + timedelta(days=1))
    else:
        until = now
    since = query.since or until - DEFAULT_PERIOD
    if until - since > MAX_PERIOD:
        raise field_error("since", f"the period may span at most {MAX_PERIOD.days} days")
    return Period(since, until, tz)


def authorize_dashboard(identity: Identity) -> None:
    """Agents see only their own feedback on /me; aggregates over colleagues are not for them."""
    identity.require("read")
    require_feedback_reader(identity)
    if identity.role == Role.agent:
        raise ApiError(403, "agents cannot use the dashboard", code="forbidden")


def check_account_filter(identity: Identity, account_id: int | None) -> None:
    """An explicit account outside the caller's scope is named as such instead of looking empty."""
    if account_id is not None and identity.role in ACCOUNT_ROLES and not identity.sees_account(account_id):
        raise ApiError(404, "account not found", fields={"account_id": "not in your scope"})
