"""Calendar filters for the dashboard, the feedback list and the CSV export.

``period=today|week|month|7d|30d`` or ``from_date``/``to_date`` (local dates, both inclusive)
name days rather than instants: the server turns them into instants at the view's midnights
(``streamsrv.periods``), so what a page shows never depends on the time zone of the browser
that asked. ``7d`` and ``30d`` are today and the 6 (29) local days before it.

The view's zone is that of the accounts the view covers: the account filtered on (directly or
through the team or agent filtered on), otherwise the accounts in the caller's scope. Accounts
in different zones share no midnight, so a view across them counts in UTC, and every answer
names the zone it used (``time_zone``); choosing an account gives that account's days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import Session, col, select

from streamsrv import access
from streamsrv.auth import Identity
from streamsrv.models import Account, Agent, Team
from streamsrv.periods import (
    UTC_ZONE,
    Period,
    day_bounds,
    day_start,
    last_days,
    local_date,
    period_bounds,
    zone,
)

CalendarPeriod = Literal["today", "week", "month", "7d", "30d"]
LAST_DAYS: dict[str, int] = {"7d": 7, "30d": 30}
# A range without a start covers this many days up to its end, like the dashboard's default.
DEFAULT_DAYS = 30
MAX_DAYS = 400
# Outside these years a date is a typo, and date arithmetic near date.min overflows.
MIN_YEAR, MAX_YEAR = 2000, 2200

F = TypeVar("F", bound="CalendarFilters")


def _in_years(value: date | None) -> date | None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def _alone(info: ValidationInfo, *others: str) -> None:
    """A calendar filter replaces ``since``/``until`` (and the other calendar filters)."""
    given = [name for name in ("since", "until", *others) if info.data.get(name) is not None]
    if given:
        raise ValueError(f"cannot be combined with {' or '.join(given)}")


class CalendarFilters(BaseModel):
    """Mixed in after a model's ``since``/``until`` fields, whose values the checks read."""

    period: CalendarPeriod | None = Field(
        default=None,
        description="today, week (from Monday), month, 7d or 30d (local days up to today), "
        "in the view's time zone; instead of since/until",
    )
    from_date: date | None = Field(
        default=None, description="first local day, inclusive (YYYY-MM-DD); instead of since/until"
    )
    to_date: date | None = Field(default=None, description="last local day, inclusive (YYYY-MM-DD)")

    @field_validator("period")
    @classmethod
    def _check_period(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _alone(info)
        return value

    @field_validator("from_date")
    @classmethod
    def _check_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None:
            _alone(info, "period")
        return _in_years(value)

    @field_validator("to_date")
    @classmethod
    def _check_to(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None:
            return None
        _alone(info, "period")
        _in_years(value)
        first = info.data.get("from_date")
        if first is not None:
            if value < first:
                raise ValueError("must not be before from_date")
            if (value - first).days >= MAX_DAYS:
                raise ValueError(f"the period may span at most {MAX_DAYS} days")
        return value

    @property
    def names_days(self) -> bool:
        return self.period is not None or self.from_date is not None or self.to_date is not None


def calendar_bounds(
    filters: CalendarFilters, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """``[since, until)`` in UTC for the calendar filter, or None when none is set.

    ``from_date`` alone runs through today (a future day gets its own, still empty, day);
    ``to_date`` alone covers the 30 days that end with it.
    """
    period = filters.period
    if period is not None:
        if period in LAST_DAYS:
            days = last_days(now, LAST_DAYS[period], tz)
            return day_start(days[0], tz), day_bounds(days[-1], tz)[1]
        return period_bounds(cast(Period, period), now, tz)
    if filters.from_date is None and filters.to_date is None:
        return None
    last = filters.to_date or max(local_date(now, tz), filters.from_date or date.min)
    first = filters.from_date or last - timedelta(days=DEFAULT_DAYS - 1)
    return day_start(first, tz), day_bounds(last, tz)[1]


def _in_scope(stmt: Any, identity: Identity) -> Any:
    """Accounts of the organization in the caller's scope (all, org-wide)."""
    stmt = stmt.where(col(Account.org_id) == identity.org_id)
    scope = access.accounts_clause(identity)
    return stmt if scope is None else stmt.where(scope)


def account_zones(session: Session, identity: Identity) -> dict[int, str]:
    """Each account in the caller's scope and its zone: pages show a response's or a case's
    times in its own account's zone."""
    rows = session.exec(_in_scope(select(Account.id, Account.time_zone), identity)).all()
    return {int(account_id): zone(name).key for account_id, name in rows}


def view_zone(session: Session, identity: Identity, filters: Any) -> ZoneInfo:
    """The zone whose midnights the view counts from: see the module's docstring.

    ``filters`` is any filter model with ``account_id``, ``team_id`` and ``agent_id``. The
    caller's accounts are those with agents in the caller's scope (every response belongs to
    an agent); each filter narrows them to its own account, so a filter that matches no
    response still names the zone its account keeps.
    """
    stmt = _in_scope(select(Account.time_zone).distinct(), identity)
    if getattr(filters, "account_id", None) is not None:
        stmt = stmt.where(col(Account.id) == filters.account_id)
    if getattr(filters, "team_id", None) is not None:
        stmt = stmt.where(col(Account.id).in_(select(Team.account_id).where(col(Team.id) == filters.team_id)))
    if getattr(filters, "agent_id", None) is not None:
        stmt = stmt.where(
            col(Account.id).in_(select(Agent.account_id).where(col(Agent.id) == filters.agent_id))
        )
    zones = set(session.exec(stmt).all())
    return zone(zones.pop()) if len(zones) == 1 else UTC_ZONE


def pinned(session: Session, identity: Identity, filters: F, now: datetime) -> F:
    """The filters with a calendar filter replaced by the ``since``/``until`` it stands for."""
    if not filters.names_days:
        return filters
    bounds = calendar_bounds(filters, now, view_zone(session, identity, filters))
    assert bounds is not None
    update = {"since": bounds[0], "until": bounds[1], "period": None, "from_date": None, "to_date": None}
    return filters.model_copy(update=update)
