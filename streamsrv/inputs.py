"""The API's two kinds of open-ended input, each checked by one validator wherever it appears.

``Instant``: a timestamp from a client. Read as UTC when it has no zone; refused (422 naming the
field) outside the years ``MIN_YEAR``..``MAX_YEAR``. Python's datetime stops at the years 1 and
9999, so an extreme value with an offset (``9999-12-31T23:59:59-12:00``) cannot even be converted
to UTC, and date arithmetic near either end overflows: nothing that far out is a real interaction,
answer or filter, so it never reaches the handlers.

``IdCursor``: the ``next_cursor`` of a list paged by row id: a decimal id of a row that can exist
(0..MAX_ID), so an oversized number is refused instead of overflowing the database's integer.
The feedback and recovery lists page by (time, id) instead: ``streamsrv.survey.listing.KeysetCursor``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from streamsrv.ids import MAX_ID

MIN_YEAR, MAX_YEAR = 2000, 2200
OUT_OF_RANGE = f"must be between the years {MIN_YEAR} and {MAX_YEAR}"


def in_range(value: datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def to_utc(value: datetime) -> datetime:
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
    if not in_range(value):
        raise ValueError(OUT_OF_RANGE)
    return value


Instant = Annotated[datetime, AfterValidator(to_utc)]

NOT_A_CURSOR = "is not a cursor returned by this API"


def id_cursor(value: str) -> str:
    if value == "":
        return value  # no cursor: the first page
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))) or int(value) > MAX_ID:
        raise ValueError(NOT_A_CURSOR)
    return value


IdCursor = Annotated[str, Field(max_length=20), AfterValidator(id_cursor)]
