"""What the organization's resources share: who may change them, lookups inside one
organization, keyset paging and unique-name conflicts.

Reads are narrowed by the role table (``streamsrv.access``); writes need an administrator
holding the ``admin`` scope. Both the scope and the role are checked, so that no credential can
write through one without the other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from streamsrv.access import visible
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, field_error, not_found

R = TypeVar("R", bound=SQLModel)
T = TypeVar("T")


def require_writer(identity: Identity, account_id: int | None = None) -> None:
    """An administrator with the admin scope; with ``account_id``, one whose scope covers it."""
    identity.require("admin")
    identity.require_admin()
    if account_id is not None and not identity.sees_account(account_id):
        # Same answer as for a missing row: a restricted key learns nothing about other accounts.
        raise not_found("account")


def require_org_admin(identity: Identity) -> None:
    """Org-level changes (accounts, users, API keys) need an admin not restricted to accounts."""
    require_writer(identity)
    if not identity.org_wide:
        raise ApiError(403, "this needs an administrator for the whole organization", code="forbidden")


def get_in_org(session: Session, model: type[R], row_id: int, org_id: int, what: str) -> R:
    row = session.get(model, row_id)
    if row is None or getattr(row, "org_id", None) != org_id:
        raise not_found(what)
    return row


def get_visible(
    session: Session,
    model: type[R],
    row_id: int,
    identity: Identity,
    clause: ColumnElement[bool] | None,
    what: str,
) -> R:
    """The row if it is in the caller's org and within ``clause``; 404 either way otherwise."""
    id_col: Any = model.id  # type: ignore[attr-defined]
    org_col: Any = model.org_id  # type: ignore[attr-defined]
    row = session.exec(
        visible(select(model).where(id_col == row_id, org_col == identity.org_id), clause)
    ).first()
    if row is None:
        raise not_found(what)
    return row


def name_taken(
    session: Session,
    model: type[SQLModel],
    within: ColumnElement[bool],
    name: str,
    except_id: int | None = None,
) -> bool:
    """Whether a row of ``model`` matching ``within`` (its organization or account) has ``name``."""
    id_col: Any = model.id  # type: ignore[attr-defined]
    name_col: Any = model.name  # type: ignore[attr-defined]
    stmt = select(id_col).where(within, name_col == name)
    if except_id is not None:
        stmt = stmt.where(id_col != except_id)
    return session.exec(stmt).first() is not None


def check_ids_in_org(
    session: Session, model: type[SQLModel], ids: Collection[int], org_id: int, field: str
) -> None:
    """422 naming ``field`` when any id is missing or belongs to another organization."""
    if not ids:
        return
    id_col: Any = model.id  # type: ignore[attr-defined]
    org_col: Any = model.org_id  # type: ignore[attr-defined]
    found = set(session.exec(select(id_col).where(id_col.in_(sorted(set(ids))), org_col == org_id)).all())
    missing = sorted(set(ids) - found)
    if missing:
        raise field_error(field, f"unknown id(s) in this organization: {', '.join(map(str, missing))}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; the API sends it as ``{"items": [...], "next_cursor": ...}``."""

    items: list[T]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> int:
    """Cursors are opaque to clients; today they are the last id seen (checked as ``IdCursor``)."""
    return int(cursor) if cursor else 0


def paginate(
    session: Session, stmt: SelectOfScalar[R], id_col: Any, cursor: str | None, limit: int
) -> tuple[list[R], str | None]:
    """Keyset paging by id: stable under inserts, no OFFSET scans."""
    after = parse_cursor(cursor)
    rows = list(session.exec(stmt.where(id_col > after).order_by(id_col).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = str(getattr(rows[-1], "id"))  # noqa: B009 - typed models differ per resource
    return rows, next_cursor


def conflict(message: str, field: str) -> ApiError:
    return ApiError(409, message, code="conflict", fields={field: message})


def flush_or_conflict(session: Session, message: str, field: str) -> None:
    """Flush now so a unique-constraint race becomes a 409, not a 500 at commit."""
    try:
        session.flush()
    except IntegrityError:
        raise conflict(message, field) from None


def apply(row: SQLModel, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        setattr(row, key, value)
