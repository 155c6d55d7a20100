"""Agents: the people customers rate, with their card (photo, bio, hobbies).

Uploaded photos are stored in the database (every node can serve them) and served publicly at
``/media/agents/{id}/photo``: survey pages show them to customers who have no login. The URL
carries the photo's version, so it can be cached for a long time and still change on re-upload.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from streamsrv import audit as audit_log
from streamsrv.access import agents_clause, visible
from streamsrv.auth import Identity
from streamsrv.errors import ApiError, field_error, not_found
from streamsrv.models import Account, Agent, AgentPhoto, Team
from streamsrv.org import agent_import
from streamsrv.org.common import Page, apply, conflict, get_in_org, get_visible, paginate, require_writer
from streamsrv.org.schemas import AgentCreate, AgentListQuery, AgentOut, AgentUpdate


def photo_path(agent_id: int, version: int) -> str:
    return f"/media/agents/{agent_id}/photo?v={version}"


def public_photo(agent: Agent, photo_version: int | None, base_url: str = "") -> str | None:
    """The photo to show for an agent: the uploaded one, else the configured URL, else none."""
    if photo_version is not None and agent.id is not None:
        return base_url + photo_path(agent.id, photo_version)
    return agent.photo_url


def photo_versions(session: Session, agent_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    # Only the version column: the image bytes stay in the database.
    rows = session.exec(
        select(AgentPhoto.agent_id, AgentPhoto.version).where(col(AgentPhoto.agent_id).in_(ids))
    ).all()
    return {agent_id: version for agent_id, version in rows}


def agent_out(agent: Agent, photo_version: int | None, base_url: str) -> AgentOut:
    assert agent.id is not None
    return AgentOut(
        id=agent.id,
        org_id=agent.org_id,
        account_id=agent.account_id,
        team_id=agent.team_id,
        name=agent.name,
        email=agent.email,
        bio=agent.bio,
        hobbies=list(agent.hobbies or []),
        photo=public_photo(agent, photo_version, base_url),
        photo_url=agent.photo_url,
        has_uploaded_photo=photo_version is not None,
        external_ids=dict(agent.external_ids or {}),
        active=agent.active,
        created_at=agent.created_at,
    )


def _out(session: Session, agent: Agent, base_url: str) -> AgentOut:
    assert agent.id is not None
    return agent_out(agent, photo_versions(session, [agent.id]).get(agent.id), base_url)


def _load_team(session: Session, identity: Identity, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.org_id != identity.org_id or not identity.sees_account(team.account_id):
        raise field_error("team_id", "no such team in this organization")
    return team


def _check_external_ids(
    session: Session, org_id: int, external_ids: dict[str, str], except_id: int | None
) -> None:
    """A helpdesk's agent id must point at one agent, or webhooks could credit the wrong person."""
    if not external_ids:
        return
    wanted = set(external_ids.items())
    # JSON columns are not portably indexable across SQLite and PostgreSQL; org-sized scan.
    others = session.exec(select(Agent.id, Agent.external_ids).where(Agent.org_id == org_id)).all()
    for other_id, other_ids in others:
        if other_id == except_id or not other_ids:
            continue
        clash = wanted & set(other_ids.items())
        if clash:
            system, value = sorted(clash)[0]
            raise conflict(f"{system} id {value!r} already belongs to agent {other_id}", "external_ids")


def _check_email(session: Session, org_id: int, email: str | None, except_id: int | None) -> None:
    """One agent per work address in an organization: imports and invitations match by it."""
    if email is None:
        return
    stmt = select(Agent.id).where(Agent.org_id == org_id, Agent.email == email)
    if except_id is not None:
        stmt = stmt.where(Agent.id != except_id)
    other = session.exec(stmt).first()
    if other is not None:
        raise conflict(f"email {email!r} already belongs to agent {other}", "email")


def load_visible(session: Session, identity: Identity, agent_id: int) -> Agent:
    return get_visible(session, Agent, agent_id, identity, agents_clause(identity), "agent")


def load_writable(session: Session, identity: Identity, agent_id: int) -> Agent:
    agent = get_in_org(session, Agent, agent_id, identity.org_id, "agent")
    if not identity.sees_account(agent.account_id):
        raise not_found("agent")
    return agent


def create(session: Session, identity: Identity, body: AgentCreate, base_url: str) -> AgentOut:
    team = _load_team(session, identity, body.team_id)
    _check_external_ids(session, identity.org_id, body.external_ids, None)
    _check_email(session, identity.org_id, body.email, None)
    agent = Agent(
        org_id=identity.org_id,
        account_id=team.account_id,
        team_id=body.team_id,
        name=body.name,
        email=body.email,
        bio=body.bio,
        hobbies=body.hobbies,
        photo_url=body.photo_url,
        external_ids=body.external_ids,
        active=body.active,
    )
    session.add(agent)
    session.flush()
    audit_log.record(
        session,
        identity,
        "agent.created",
        f"agent:{agent.id}",
        {"name": agent.name, "team_id": agent.team_id},
    )
    return agent_out(agent, None, base_url)


def listing(session: Session, identity: Identity, query: AgentListQuery, base_url: str) -> Page[AgentOut]:
    stmt = visible(select(Agent).where(Agent.org_id == identity.org_id), agents_clause(identity))
    if query.account_id is not None:
        stmt = stmt.where(Agent.account_id == query.account_id)
    if query.team_id is not None:
        stmt = stmt.where(Agent.team_id == query.team_id)
    if query.active is not None:
        stmt = stmt.where(Agent.active == query.active)
    rows, cursor = paginate(session, stmt, Agent.id, query.cursor, query.limit)
    versions = photo_versions(session, (a.id for a in rows if a.id is not None))
    return Page([agent_out(a, versions.get(a.id or 0), base_url) for a in rows], cursor)


def get(session: Session, identity: Identity, agent_id: int, base_url: str) -> AgentOut:
    return _out(session, load_visible(session, identity, agent_id), base_url)


def update(
    session: Session, identity: Identity, agent_id: int, changes: dict[str, Any], base_url: str
) -> AgentOut:
    agent = load_writable(session, identity, agent_id)
    if "team_id" in changes:
        team = _load_team(session, identity, changes["team_id"])
        # Past responses keep the team and account they were given under.
        agent.account_id = team.account_id
    if "external_ids" in changes:
        _check_external_ids(session, identity.org_id, changes["external_ids"], agent_id)
    if "email" in changes:
        _check_email(session, identity.org_id, changes["email"], agent_id)
    apply(agent, changes)
    session.add(agent)
    session.flush()
    audit_log.record(session, identity, "agent.updated", f"agent:{agent_id}", {"fields": sorted(changes)})
    return _out(session, agent, base_url)


def store_photo(
    session: Session, identity: Identity, agent_id: int, media_type: str, data: bytes, base_url: str
) -> AgentOut:
    agent = load_writable(session, identity, agent_id)
    photo = session.get(AgentPhoto, agent_id)
    if photo is None:
        photo = AgentPhoto(agent_id=agent_id, org_id=identity.org_id, content_type=media_type, data=data)
    else:
        photo.content_type = media_type
        photo.data = data
        photo.version += 1
    session.add(photo)
    session.flush()
    audit_log.record(
        session, identity, "agent.photo_uploaded", f"agent:{agent_id}", {"version": photo.version}
    )
    return agent_out(agent, photo.version, base_url)


def uploaded_photo(session: Session, agent_id: int) -> AgentPhoto:
    photo = session.get(AgentPhoto, agent_id)
    if photo is None:
        # A linked (not uploaded) photo is served by its own host: the agent's ``photo`` field
        # already points there.
        raise not_found("photo")
    return photo


# --- CSV import (parsing and planning: streamsrv.org.agent_import) ------------------------------


def import_snapshot(session: Session, identity: Identity, account_id: int) -> agent_import.Snapshot:
    """The account's teams and the organization's agents, as an import plans against them."""
    require_writer(identity, account_id)
    account = get_in_org(session, Account, account_id, identity.org_id, "account")
    assert account.id is not None
    teams = session.exec(select(Team.id, Team.name).where(Team.account_id == account.id)).all()
    agents = session.exec(select(Agent).where(Agent.org_id == identity.org_id).order_by(col(Agent.id))).all()
    return agent_import.Snapshot(
        account_id=account.id,
        teams={team_id: name for team_id, name in teams if team_id is not None},
        agents=[
            agent_import.ExistingAgent(
                id=a.id or 0,
                account_id=a.account_id,
                team_id=a.team_id,
                name=a.name,
                email=a.email,
                photo_url=a.photo_url,
                external_ids=dict(a.external_ids or {}),
            )
            for a in agents
        ],
    )


def apply_import(
    session: Session, identity: Identity, plan: agent_import.Plan, account_id: int, base_url: str
) -> list[AgentOut]:
    """Every line of an error-free plan, through ``create`` and ``update`` (each audited), in the
    caller's transaction: a failure of any line rolls back all of them."""
    require_writer(identity, account_id)
    if plan.errors:
        raise ApiError(422, "the file has errors: nothing was imported", code="import_errors")
    done: list[AgentOut] = []
    for line in plan.lines:
        if line.action == "create":
            done.append(create(session, identity, AgentCreate(**line.changes), base_url))
        elif line.action == "update" and line.agent_id is not None:
            checked = AgentUpdate(**line.changes)
            changes = {k: getattr(checked, k) for k in line.changes}
            done.append(update(session, identity, line.agent_id, changes, base_url))
    audit_log.record(
        session,
        identity,
        "agents.imported",
        f"account:{account_id}",
        {
            "created": plan.count("create"),
            "updated": plan.count("update"),
            "unchanged": plan.count("unchanged"),
        },
    )
    return done


# --- an agent's own profile (/settings/profile) ------------------------------------------------

PROFILE_FIELDS = frozenset({"bio", "hobbies"})


def own_agent(session: Session, identity: Identity) -> tuple[Agent, Account]:
    """The agent the logged-in user is, with its account; 404 for users linked to no agent."""
    if identity.agent_id is None or identity.api_key_id is not None:
        raise not_found("agent")
    agent = get_in_org(session, Agent, identity.agent_id, identity.org_id, "agent")
    account = get_in_org(session, Account, agent.account_id, identity.org_id, "account")
    return agent, account


def _require_profile_editing(account: Account) -> None:
    if not account.agents_edit_profile:
        raise ApiError(
            403, "your account's managers keep agents' profiles; ask them for changes", code="forbidden"
        )


def update_own_profile(
    session: Session, identity: Identity, changes: dict[str, Any], base_url: str
) -> AgentOut:
    """The agent's own bio and hobbies, when the account lets agents edit their profile."""
    unknown = sorted(set(changes) - PROFILE_FIELDS)
    if unknown:
        raise field_error(unknown[0], "agents edit only their bio and hobbies")
    agent, account = own_agent(session, identity)
    _require_profile_editing(account)
    apply(agent, changes)
    session.add(agent)
    session.flush()
    audit_log.record(
        session, identity, "agent.profile_updated", f"agent:{agent.id}", {"fields": sorted(changes)}
    )
    return _out(session, agent, base_url)


def store_own_photo(
    session: Session, identity: Identity, media_type: str, data: bytes, base_url: str
) -> AgentOut:
    agent, account = own_agent(session, identity)
    _require_profile_editing(account)
    assert agent.id is not None
    photo = session.get(AgentPhoto, agent.id)
    if photo is None:
        photo = AgentPhoto(agent_id=agent.id, org_id=identity.org_id, content_type=media_type, data=data)
    else:
        photo.content_type = media_type
        photo.data = data
        photo.version += 1
    session.add(photo)
    session.flush()
    audit_log.record(
        session, identity, "agent.profile_photo_uploaded", f"agent:{agent.id}", {"version": photo.version}
    )
    return agent_out(agent, photo.version, base_url)
