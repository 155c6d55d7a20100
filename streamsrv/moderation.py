"""Comment moderation: hide or show a response's comment, with an audit trail.

A hidden comment stays in the database (managers may need it for audit and the CSV export keeps
it for them) but leaves it nowhere else: the change is announced as ``feedback.updated`` with the
comment null, so every live surface drops the text at once. The rating is untouched and keeps
counting in every aggregate and leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import String, and_, cast, literal, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from streamsrv import stream_names
from streamsrv.access import org_wide, rows_clause, visible
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, not_found
from streamsrv.events import FEEDBACK_UPDATED, public_payload
from streamsrv.ids import MAX_ID
from streamsrv.inputs import IdCursor
from streamsrv.labels import vocabulary
from streamsrv.models import Account, Agent, AuditLog, Display, Interaction, Response, Role, Team
from streamsrv.outbox import emit
from streamsrv.survey.cards import agent_card, response_json
from streamsrv.timefmt import iso

ACTION_HIDDEN = "comment.hidden"
ACTION_SHOWN = "comment.shown"


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it as bad input rather than fail on insert.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class ModerationIn(BaseModel):
    hidden: bool
    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="why: kept in the audit log"
    )


@dataclass(frozen=True)
class Moderated:
    response: dict[str, Any]
    changed: bool


def may_moderate(identity: Identity, account_id: int) -> bool:
    if identity.role == Role.admin:
        return identity.sees_account(account_id)
    return identity.role == Role.manager and identity.sees_account(account_id)


def load_visible(session: Session, identity: Identity, response_id: int) -> Response:
    """The response if the caller may read it at all; 404 otherwise (no hint that it exists)."""
    if not 1 <= response_id <= MAX_ID:
        raise not_found("response")
    stmt = select(Response).where(col(Response.id) == response_id, col(Response.org_id) == identity.org_id)
    scope = rows_clause(identity, Response.account_id, Response.team_id, Response.agent_id)
    if scope is not None:
        stmt = stmt.where(scope)
    row = session.exec(stmt).first()
    if row is None:
        raise not_found("response")
    return row


def set_comment_hidden(
    session: Session, identity: Identity, response_id: int, data: ModerationIn, now: datetime
) -> Moderated:
    """Hide or show one comment: 404 outside the caller's scope, 403 for roles that only read."""
    row = load_visible(session, identity, response_id)
    if not may_moderate(identity, row.account_id):
        raise ApiError(403, "only managers of this account and administrators may moderate comments")
    changed = row.comment_hidden != data.hidden
    if changed:
        row.comment_hidden = data.hidden
        row.updated_at = now
        session.add(row)
        session.add(
            AuditLog(
                org_id=identity.org_id,
                actor_user_id=identity.user_id,
                actor_api_key_id=identity.api_key_id,
                action=ACTION_HIDDEN if data.hidden else ACTION_SHOWN,
                target=f"response:{row.id}",
                details={"reason": data.reason, "actor": identity.name},
                created_at=now,
            )
        )
        session.flush()
    payload = _payload(session, row)
    if changed:
        emit(
            session,
            identity.org_id,
            FEEDBACK_UPDATED,
            stream_names.feedback(row.account_id, row.team_id, row.agent_id),
            public_payload(payload),
        )
    return Moderated(payload, changed)


def _payload(session: Session, row: Response) -> dict[str, Any]:
    interaction = session.get(Interaction, row.interaction_id)
    agent = session.get(Agent, row.agent_id)
    account = session.get(Account, row.account_id)
    assert interaction is not None and agent is not None
    return response_json(
        row, interaction.external_id, agent_card(session, agent), interaction.ticket_url, vocabulary(account)
    )


# --- The audit log -----------------------------------------------------------------------------


class AuditQuery(BaseModel):
    action: Annotated[Text, Field(max_length=60)] | None = None
    target: Annotated[Text, Field(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: IdCursor | None = Field(default=None, description="next_cursor of the previous page")


@dataclass(frozen=True)
class AuditPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def audit_json(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actor_user_id": entry.actor_user_id,
        "actor_api_key_id": entry.actor_api_key_id,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "created_at": iso(entry.created_at),
    }


def _targets(kind: str, id_col: Any, *where: Any) -> Any:
    """The audit ``target`` strings ("kind:id") of the rows ``where`` selects."""
    return select(literal(f"{kind}:") + cast(id_col, String)).where(*where)


def audit_scope(identity: Identity) -> ColumnElement[bool] | None:
    """What an administrator of some accounts may read of the log (None: all of it).

    Entries about the rows of their accounts (the accounts, their teams, agents, responses and
    displays) and whatever they did themselves; the rest of the organization's log is another
    administrator's business.
    """
    if org_wide(identity):
        return None
    accounts = sorted(identity.account_ids)
    org = identity.org_id
    teams = select(Team.id).where(Team.org_id == org, col(Team.account_id).in_(accounts))
    target = col(AuditLog.target)
    about: list[ColumnElement[bool]] = [
        target.in_([f"account:{a}" for a in accounts]),
        target.in_(_targets("team", Team.id, Team.org_id == org, col(Team.account_id).in_(accounts))),
        target.in_(_targets("agent", Agent.id, Agent.org_id == org, col(Agent.account_id).in_(accounts))),
        target.in_(
            _targets("response", Response.id, Response.org_id == org, col(Response.account_id).in_(accounts))
        ),
        target.in_(
            _targets(
                "display",
                Display.id,
                Display.org_id == org,
                or_(
                    and_(col(Display.scope) == "account", col(Display.target_id).in_(accounts)),
                    and_(col(Display.scope) == "team", col(Display.target_id).in_(teams)),
                ),
            )
        ),
    ]
    if identity.user_id is not None:
        about.append(col(AuditLog.actor_user_id) == identity.user_id)
    if identity.api_key_id is not None:
        about.append(col(AuditLog.actor_api_key_id) == identity.api_key_id)
    return or_(*about)


def list_audit(session: Session, identity: Identity, query: AuditQuery) -> AuditPage:
    """Newest first, keyset-paginated on the id."""
    stmt = visible(select(AuditLog).where(col(AuditLog.org_id) == identity.org_id), audit_scope(identity))
    if query.action:
        stmt = stmt.where(col(AuditLog.action) == query.action)
    if query.target:
        stmt = stmt.where(col(AuditLog.target) == query.target)
    if query.cursor:
        stmt = stmt.where(col(AuditLog.id) < min(int(query.cursor), MAX_ID))
    rows = session.exec(stmt.order_by(col(AuditLog.id).desc()).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    next_cursor = str(page[-1].id) if len(rows) > query.limit else None
    return AuditPage([audit_json(r) for r in page], next_cursor)
