"""Helpers shared by the admin resources: who may write, org-scoped lookups, paging, PATCH bodies.

Reads need the ``read`` scope and are narrowed to what the identity may see; writes need an
administrator holding the ``admin`` scope. Both the scope and the role are checked, so that no
credential can write through one without the other.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar
from starlette.requests import Request

from streamsrv.access import accounts_clause, agents_clause, teams_clause, visible
from streamsrv.auth import Identity
from streamsrv.context import AppContext
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.ids import MAX_ID

R = TypeVar("R", bound=SQLModel)


def app_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx




def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    if not 1 <= value <= MAX_ID:
        raise not_found(name.removesuffix("_id").replace("_", " "))
    return value


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


def parse_cursor(cursor: str | None) -> int:
    """Cursors are opaque to clients; today they are the last id seen."""
    if cursor is None or cursor == "":
        return 0
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise field_error("cursor", "not a cursor returned by this API")
    return int(cursor)


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


def page(items: Sequence[BaseModel], next_cursor: str | None) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": next_cursor}


def patch_changes(body: BaseModel, nullable: Collection[str]) -> dict[str, Any]:
    """The fields a PATCH body actually sent; ``null`` only where clearing makes sense."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in nullable:
            raise field_error(name, "must not be null")
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        changes[name] = value
    return changes


def flush_or_conflict(session: Session, message: str, field: str) -> None:
    """Flush now so a unique-constraint race becomes a 409, not a 500 at commit."""
    try:
        session.flush()
    except IntegrityError:
        raise ApiError(409, message, code="conflict", fields={field: message}) from None


def conflict(message: str, field: str) -> ApiError:
    return ApiError(409, message, code="conflict", fields={field: message})


__all__ = ["accounts_clause", "agents_clause", "teams_clause", "visible"]
