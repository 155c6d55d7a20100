"""Users: logins, their role and their scope (accounts, teams or one agent), and sessions.

A role's level in the role table (``streamsrv.access``) decides which scope field it uses;
the others must be empty, so a user can never carry a scope that silently means nothing.
Password hashes and session versions never leave the server. Changing a password or
deactivating a user ends every login session of theirs (``streamsrv.logins.end_all``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from streamsrv import access, logins
from streamsrv import audit as audit_log
from streamsrv.access import Level
from streamsrv.auth import Identity
from streamsrv.errors import field_error, not_found
from streamsrv.models import Account, AccountToken, Agent, Role, Team, User
from streamsrv.org.common import Page, check_ids_in_org, conflict, flush_or_conflict, get_in_org, paginate
from streamsrv.org.schemas import UserCreate, UserListQuery, UserOut
from streamsrv.security.password_policy import password_problem

DUPLICATE_EMAIL = "a user with this email already exists"
# The password hash of an invited user who has not chosen a password yet: not an Argon2 hash, so
# no password ever verifies against it (``streamsrv.org.invitations``).
UNUSABLE_PASSWORD = "!invited"  # noqa: S105 - a marker, not a password
PENDING_ACTIVATION = "this user has not accepted their invitation yet; resend it instead"

# The scope field that names a role's rows, by the role's level.
SCOPE_FIELDS = {Level.ACCOUNT: "account_ids", Level.TEAM: "team_ids", Level.AGENT: "agent_id"}
# What a scope of each level may not leave empty (administrators may: the whole organization).
EMPTY_SCOPE = {
    Level.ACCOUNT: "a {role} needs at least one account",
    Level.TEAM: "a team leader needs at least one team",
    Level.AGENT: "an agent user must be linked to exactly one agent",
}


@dataclass
class Scope:
    role: str
    account_ids: list[int] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)
    agent_id: int | None = None

    def values(self) -> dict[str, list[int] | int | None]:
        return {"account_ids": self.account_ids, "team_ids": self.team_ids, "agent_id": self.agent_id}


def _rule(role: str) -> access.RoleRule:
    rule = access.rule_of(role)
    assert rule is not None, f"{role} is not a user role"
    return rule


def validate_scope(session: Session, org_id: int, scope: Scope) -> None:
    """422 naming the field when the scope does not fit the role or names another org's rows."""
    rule = _rule(scope.role)
    used = SCOPE_FIELDS[rule.level]
    values = scope.values()
    if not rule.org_wide_unrestricted and values[used] in (None, []):
        raise field_error(used, EMPTY_SCOPE[rule.level].format(role=scope.role))
    for name, value in values.items():
        if name != used and value not in (None, []):
            raise field_error(name, f"not used by the {scope.role} role; leave it empty")
    check_ids_in_org(session, Account, scope.account_ids, org_id, "account_ids")
    check_ids_in_org(session, Team, scope.team_ids, org_id, "team_ids")
    if scope.agent_id is not None:
        check_ids_in_org(session, Agent, [scope.agent_id], org_id, "agent_id")


def _check_agent_link(session: Session, org_id: int, agent_id: int | None, except_user: int | None) -> None:
    if agent_id is None:
        return
    stmt = select(User.id).where(User.org_id == org_id, User.agent_id == agent_id)
    if except_user is not None:
        stmt = stmt.where(User.id != except_user)
    if session.exec(stmt).first() is not None:
        raise conflict("another user is already linked to this agent", "agent_id")


def _email_taken(session: Session, org_id: int, email: str, except_user: int | None = None) -> bool:
    # Unique within the organization only: a conflict must never tell one tenant's administrator
    # that the address has a login in another organization (the login tells them apart).
    stmt = select(User.id).where(User.org_id == org_id, User.email == email)
    if except_user is not None:
        stmt = stmt.where(User.id != except_user)
    return session.exec(stmt).first() is not None


def _is_org_admin(user: User) -> bool:
    return user.role == Role.admin and user.active and not user.account_ids


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to demote or deactivate the organization's last unrestricted administrator."""
    others = session.exec(
        select(User).where(User.org_id == user.org_id, User.id != user.id, User.role == Role.admin)
    ).all()
    if not any(_is_org_admin(other) for other in others):
        raise conflict("this is the organization's last administrator; appoint another first", "role")


def is_pending(user: User) -> bool:
    """Invited and not accepted yet: no password of their own, and no way to log in."""
    return user.password_hash == UNUSABLE_PASSWORD


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def _dedupe(ids: list[int]) -> list[int]:
    return sorted(set(ids))


def _new_scope(body: UserCreate) -> Scope:
    return Scope(body.role, _dedupe(body.account_ids), _dedupe(body.team_ids), body.agent_id)


def check_password(password: str, email: str, name: str) -> None:
    """422 naming ``password`` when it is too weak to set (streamsrv.security.password_policy)."""
    problem = password_problem(password, email, name)
    if problem is not None:
        raise field_error("password", problem)


def check_new(session: Session, identity: Identity, body: UserCreate) -> None:
    """Everything ``create`` checks, for refusing bad input before paying for a password hash."""
    check_password(body.password, body.email, body.name)
    validate_scope(session, identity.org_id, _new_scope(body))
    if _email_taken(session, identity.org_id, body.email):
        raise conflict(DUPLICATE_EMAIL, "email")
    _check_agent_link(session, identity.org_id, body.agent_id, None)


def create(session: Session, identity: Identity, body: UserCreate, password_hash: str) -> UserOut:
    check_new(session, identity, body)
    scope = _new_scope(body)
    user = User(
        org_id=identity.org_id,
        email=body.email,
        name=body.name,
        password_hash=password_hash,
        role=body.role,
        account_ids=scope.account_ids,
        team_ids=scope.team_ids,
        agent_id=scope.agent_id,
    )
    session.add(user)
    flush_or_conflict(session, DUPLICATE_EMAIL, "email")
    audit_log.record(
        session, identity, "user.created", f"user:{user.id}", {"email": user.email, "role": user.role}
    )
    return user_out(user)


def listing(session: Session, identity: Identity, query: UserListQuery) -> Page[UserOut]:
    stmt = select(User).where(User.org_id == identity.org_id)
    if query.role is not None:
        stmt = stmt.where(User.role == query.role)
    if query.active is not None:
        stmt = stmt.where(User.active == query.active)
    rows, cursor = paginate(session, stmt, User.id, query.cursor, query.limit)
    return Page([user_out(u) for u in rows], cursor)


def get(session: Session, identity: Identity, user_id: int) -> UserOut:
    return user_out(get_in_org(session, User, user_id, identity.org_id, "user"))


def get_me(session: Session, identity: Identity) -> UserOut:
    if identity.via != "session" or identity.user_id is None:
        raise not_found("user (this credential is an API key, not a user session)")
    return get(session, identity, identity.user_id)


def _merged_scope(user: User, changes: dict[str, Any]) -> Scope:
    """The scope after a PATCH. On a role change, scope fields the new role does not use and the
    body did not mention are cleared, so "manager -> team_leader + team_ids" just works."""
    role = changes.get("role", user.role)
    scope = Scope(role, list(user.account_ids or []), list(user.team_ids or []), user.agent_id)
    if role != user.role:
        used = SCOPE_FIELDS[_rule(role).level]
        for name in ("account_ids", "team_ids", "agent_id"):
            if name != used and name not in changes:
                setattr(scope, name, None if name == "agent_id" else [])
    for name in ("account_ids", "team_ids"):
        if name in changes:
            setattr(scope, name, _dedupe(changes[name]))
    if "agent_id" in changes:
        scope.agent_id = changes["agent_id"]
    return scope


def check_update(
    session: Session, identity: Identity, user_id: int, changes: dict[str, Any], password: str | None = None
) -> User:
    """Everything ``update`` checks; ``changes`` are the PATCH's fields without the password,
    which is checked against the email and name the user will have."""
    user = get_in_org(session, User, user_id, identity.org_id, "user")
    if changes.get("active") and not user.active and is_pending(user):
        # Active is what accepting the invitation makes them, with a password of their own.
        raise conflict(PENDING_ACTIVATION, "active")
    if password is not None:
        check_password(password, changes.get("email") or user.email, changes.get("name", user.name) or "")
    scope = _merged_scope(user, changes)
    validate_scope(session, identity.org_id, scope)
    if "email" in changes and _email_taken(session, identity.org_id, changes["email"], except_user=user_id):
        raise conflict(DUPLICATE_EMAIL, "email")
    _check_agent_link(session, identity.org_id, scope.agent_id, user_id)
    if _is_org_admin(user):
        stays = scope.role == Role.admin and not scope.account_ids and changes.get("active", True)
        if not stays:
            _keep_an_admin(session, user)
    return user


def update(
    session: Session, identity: Identity, user_id: int, changes: dict[str, Any], password_hash: str | None
) -> UserOut:
    user = check_update(session, identity, user_id, changes)
    scope = _merged_scope(user, changes)
    was_active = user.active
    for name in ("email", "name", "active"):
        if name in changes:
            setattr(user, name, changes[name])
    user.role = scope.role
    user.account_ids = scope.account_ids
    user.team_ids = scope.team_ids
    user.agent_id = scope.agent_id
    if password_hash is not None:
        user.password_hash = password_hash
    session.add(user)
    flush_or_conflict(session, DUPLICATE_EMAIL, "email")
    if password_hash is not None or (was_active and not user.active):
        logins.end_all(session, user)
    if changes.get("active") is False and is_pending(user):
        # Deactivating an invited user revokes the invitation: its link stops working.
        session.execute(
            delete(AccountToken).where(
                col(AccountToken.user_id) == user_id, col(AccountToken.consumed_at).is_(None)
            )
        )
    fields = sorted(changes) + (["password"] if password_hash is not None else [])
    audit_log.record(session, identity, "user.updated", f"user:{user_id}", {"fields": fields})
    return user_out(user)


def update_own_name(session: Session, identity: Identity, name: str) -> UserOut:
    """A logged-in user renames themself (``/settings``)."""
    user = _own(session, identity)
    user.name = name
    session.add(user)
    audit_log.record(session, identity, "user.updated", f"user:{user.id}", {"fields": ["name"], "own": True})
    return user_out(user)


def change_own_password(session: Session, identity: Identity, expected_hash: str, password_hash: str) -> bool:
    """A logged-in user sets a new password, having given the current one (checked by the caller
    against ``expected_hash``): every login session of theirs ends. False when the password
    changed meanwhile (another tab, a reset): nothing is written."""
    user = _own(session, identity)
    if user.password_hash != expected_hash:
        return False
    user.password_hash = password_hash
    session.add(user)
    logins.end_all(session, user)
    audit_log.record(
        session, identity, "user.updated", f"user:{user.id}", {"fields": ["password"], "own": True}
    )
    return True


def _own(session: Session, identity: Identity) -> User:
    if identity.via != "session" or identity.user_id is None:
        raise not_found("user (this credential is not a user session)")
    return get_in_org(session, User, identity.user_id, identity.org_id, "user")


# --- logins ----------------------------------------------------------------------------------


def by_email(session: Session, email: str) -> list[User]:
    """Every login with this address, one per organization at most, oldest first."""
    return list(session.exec(select(User).where(User.email == email).order_by(col(User.id))).all())


def upgrade_password_hash(session: Session, user_id: int | None, old_hash: str, new_hash: str) -> None:
    """Store a stronger hash of the same password, unless the password changed meanwhile."""
    row = session.get(User, user_id)
    if row is not None and row.password_hash == old_hash:
        row.password_hash = new_hash
        session.add(row)


def end_sessions(session: Session, user_id: int | None) -> None:
    """Every login session of the user ends ("log out everywhere")."""
    row = session.get(User, user_id)
    if row is not None:
        logins.end_all(session, row)


# --- what a scope means, in names ---------------------------------------------------------------


@dataclass
class ScopeSummary:
    everything: bool = False
    accounts: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    agent: str | None = None


def _names(
    session: Session, model: type[Account] | type[Team], org_id: int, ids: frozenset[int]
) -> list[str]:
    if not ids:
        return []
    rows = session.exec(
        select(model.name).where(model.org_id == org_id, col(model.id).in_(sorted(ids))).order_by(model.name)
    )
    return list(rows.all())


def describe_scope(session: Session, identity: Identity) -> ScopeSummary:
    """Names, not ids: what this scope means in words its user recognises."""
    summary = ScopeSummary(
        everything=identity.org_wide,
        accounts=_names(session, Account, identity.org_id, identity.account_ids),
        teams=_names(session, Team, identity.org_id, identity.team_ids),
    )
    if identity.agent_id is not None:
        agent = session.get(Agent, identity.agent_id)
        if agent is not None and agent.org_id == identity.org_id:
            summary.agent = agent.name
    return summary
