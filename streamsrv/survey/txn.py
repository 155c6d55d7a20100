"""Running a create-or-replay transaction safely under concurrency."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from streamsrv.db import Database

T = TypeVar("T")


async def run_idempotent(db: Database, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in a transaction; if a concurrent twin won a unique-constraint race, run it again.

    ``fn`` must look for the existing row first, so the second run takes the replay path and
    answers with what the winner stored instead of failing with a 500.
    """
    try:
        return await db.run(fn)
    except IntegrityError:
        return await db.run(fn)
