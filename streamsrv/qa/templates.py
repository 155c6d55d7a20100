"""Scorecard templates: per account, versioned; managers and administrators of the account write them.

An update never changes a stored version: it adds the next one, so every evaluation keeps the
scorecard it was scored against. Reviewers (team leaders, managers, administrators) read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from streamsrv import audit
from streamsrv.access import Owner, in_scope
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, not_found
from streamsrv.models import Account, QaTemplate, Role, Team
from streamsrv.qa.schemas import TemplateIn
from streamsrv.timefmt import iso

WRITERS = frozenset({Role.admin, Role.manager})
REVIEWERS = frozenset({Role.admin, Role.manager, Role.team_leader})


def require_reviewer(identity: Identity) -> None:
    identity.require("read")
    if identity.role not in REVIEWERS:
        raise ApiError(403, "QA is for team leaders, managers and administrators", code="forbidden")


def require_template_writer(identity: Identity) -> None:
    identity.require("read")
    if identity.role not in WRITERS:
        raise ApiError(403, "scorecards are kept by managers and administrators", code="forbidden")


def _reviews_account(session: Session, identity: Identity, account_id: int) -> bool:
    """Managers and admins: the account is theirs; team leaders: one of their teams is in it."""
    if identity.role not in REVIEWERS:
        return False
    if identity.role == Role.team_leader:
        teams = session.exec(
            select(Team.id).where(Team.org_id == identity.org_id, Team.account_id == account_id)
        ).all()
        return any(in_scope(identity, Owner(account_id, t)) for t in teams if t is not None)
    return in_scope(identity, Owner(account_id))


def load_account(session: Session, identity: Identity, account_id: int, write: bool) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.org_id != identity.org_id:
        raise not_found("account")
    allowed = (
        identity.role in WRITERS and in_scope(identity, Owner(account_id))
        if write
        else _reviews_account(session, identity, account_id)
    )
    if not allowed:
        raise not_found("account")
    return account


def load_template(session: Session, identity: Identity, template_id: int, write: bool = False) -> QaTemplate:
    template = session.get(QaTemplate, template_id)
    if template is None or template.org_id != identity.org_id:
        raise not_found("scorecard")
    try:
        load_account(session, identity, template.account_id, write)
    except ApiError:
        raise not_found("scorecard") from None
    return template


def sections_of(body: TemplateIn) -> list[dict[str, Any]]:
    """The stored form: every criterion gets an id unique in the template (c1, c2, ...)."""
    sections: list[dict[str, Any]] = []
    n = 0
    for s in body.sections:
        criteria = []
        for c in s.criteria:
            n += 1
            criteria.append(
                {"id": f"c{n}", "name": c.name, "weight": c.weight, "kind": c.kind, "auto_fail": c.auto_fail}
            )
        sections.append({"name": s.name, "weight": s.weight, "criteria": criteria})
    return sections


def template_json(template: QaTemplate, latest: bool = True) -> dict[str, Any]:
    return {
        "id": template.id,
        "account_id": template.account_id,
        "family_id": template.family_id,
        "version": template.version,
        "latest": latest,
        "name": template.name,
        "sections": template.sections,
        "created_at": iso(template.created_at),
    }


def _latest_version(session: Session, family_id: int) -> int:
    top = session.exec(select(func.max(QaTemplate.version)).where(QaTemplate.family_id == family_id)).one()
    return int(top or 0)


def create_template(
    session: Session, identity: Identity, account_id: int, body: TemplateIn, now: datetime
) -> dict[str, Any]:
    account = load_account(session, identity, account_id, write=True)
    assert account.id is not None
    template = QaTemplate(
        org_id=identity.org_id,
        account_id=account.id,
        name=body.name,
        sections=sections_of(body),
        created_by=identity.user_id,
        created_at=now,
    )
    session.add(template)
    session.flush()
    template.family_id = template.id
    session.flush()
    audit.record(session, identity, "qa.template_created", f"qa_template:{template.id}", {"name": body.name})
    return template_json(template)


def new_version(
    session: Session, identity: Identity, template_id: int, body: TemplateIn, now: datetime
) -> dict[str, Any]:
    old = load_template(session, identity, template_id, write=True)
    assert old.family_id is not None
    template = QaTemplate(
        org_id=old.org_id,
        account_id=old.account_id,
        family_id=old.family_id,
        version=_latest_version(session, old.family_id) + 1,
        name=body.name,
        sections=sections_of(body),
        created_by=identity.user_id,
        created_at=now,
    )
    session.add(template)
    session.flush()
    audit.record(
        session,
        identity,
        "qa.template_versioned",
        f"qa_template:{template.id}",
        {"family_id": old.family_id, "version": template.version},
    )
    return template_json(template)


def list_templates(
    session: Session, identity: Identity, account_id: int, all_versions: bool
) -> list[dict[str, Any]]:
    load_account(session, identity, account_id, write=False)
    rows = list(
        session.exec(
            select(QaTemplate)
            .where(QaTemplate.org_id == identity.org_id, QaTemplate.account_id == account_id)
            .order_by(col(QaTemplate.family_id), col(QaTemplate.version).desc())
        ).all()
    )
    out: list[dict[str, Any]] = []
    seen: set[int | None] = set()
    for row in rows:
        latest = row.family_id not in seen
        seen.add(row.family_id)
        if latest or all_versions:
            out.append(template_json(row, latest))
    return out


def get_template(session: Session, identity: Identity, template_id: int) -> dict[str, Any]:
    template = load_template(session, identity, template_id)
    assert template.family_id is not None
    return template_json(template, template.version == _latest_version(session, template.family_id))
