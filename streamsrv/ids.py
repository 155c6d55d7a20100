"""Row ids as the API accepts them: positive, and within the schema's 32-bit integer columns.

A larger number cannot name a row (and would overflow SQLite's driver), so it is refused by
validation (422 naming the field) or, in a path, answered as not found.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1

# Query strings and path parameters arrive as text: "42" is accepted.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# JSON bodies of the ingest API: a number, not a string that looks like one.
StrictId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
