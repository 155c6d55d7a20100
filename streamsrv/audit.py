"""The audit log: who changed what, written in the same transaction as the change.

Every administrative change goes through one of the feature modules (``org/``, ``outbound/``,
``chat/``, ``integrations/``), and the API and the admin pages call the same functions, so the
entry is written once, by the function that makes the change, whichever surface asked for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv.auth import Identity
from streamsrv.models import AuditLog


def record(
    session: Session,
    identity: Identity | None,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    *,
    org_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Add one entry; ``identity`` None is the system itself (then ``org_id`` is required)."""
    owner = org_id if org_id is not None else identity.org_id if identity is not None else None
    if owner is None:
        raise ValueError("an audit entry needs an organization")
    row = AuditLog(
        org_id=owner,
        actor_user_id=identity.user_id if identity else None,
        actor_api_key_id=identity.api_key_id if identity else None,
        action=action,
        target=target,
        details=dict(details or {}),
    )
    if now is not None:
        row.created_at = now
    session.add(row)
