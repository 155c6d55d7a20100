"""Invitations and password resets: single-use, expiring links emailed to a user.

Nobody types another person's password. An administrator invites an address with a role and a
scope: the user row is created at once, inactive and with an unusable password hash
(``users.UNUSABLE_PASSWORD``), so the address is taken in the organization (inviting it again is
a 409 that points at "resend") and the row cannot log in. The emailed link lets the invitee
choose a password; accepting it makes the user active. A password reset link works the same way
for an active user.

A link's token is ``Signer.dumps(purpose, secret)``: signed, so a forged or mistyped link is
refused before the database is asked, and carrying a random secret of which only the SHA-256 is
stored (``AccountToken.token_hash``). A link is used up (``consumed_at``) in the transaction that
sets the password, by an UPDATE that only one of two racing requests can win; it expires at
``expires_at`` (``STREAMSRV_INVITE_LINK_TTL``, ``STREAMSRV_RESET_LINK_TTL``); a new link of the
same purpose deletes the user's earlier ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from streamsrv import access, logins
from streamsrv import audit as audit_log
from streamsrv.access import Level
from streamsrv.auth import Identity, user_identity
from streamsrv.config import Settings
from streamsrv.mail import account_email
from streamsrv.models import Account, AccountToken, Agent, Team, TokenPurpose, User
from streamsrv.org import users
from streamsrv.org.common import conflict, flush_or_conflict, get_in_org, require_org_admin
from streamsrv.org.schemas import InvitationCreate, InvitationOut
from streamsrv.security.tokens import INVITE, PASSWORD_RESET, Signer, TokenError, token_hash

ALREADY_THERE = (
    "this address already has a login or a pending invitation in this organization; "
    "to send the link again, resend the invitation"
)
ALREADY_ACCEPTED = "this user has already accepted their invitation"
SALTS = {TokenPurpose.invite: INVITE, TokenPurpose.reset: PASSWORD_RESET}
# Longer than any link's real lifetime; the row's expires_at is what decides.
MAX_TOKEN_LENGTH = 300


def ttl(settings: Settings, purpose: TokenPurpose) -> timedelta:
    seconds = settings.invite_link_ttl if purpose is TokenPurpose.invite else settings.reset_link_ttl
    return timedelta(seconds=seconds)


def _issue(
    session: Session, settings: Settings, signer: Signer, user: User, purpose: TokenPurpose, now: datetime
) -> AccountToken:
    """A new link of ``purpose`` for ``user`` (voiding earlier ones) and its email, queued."""
    assert user.id is not None
    session.execute(
        delete(AccountToken).where(
            col(AccountToken.user_id) == user.id,
            col(AccountToken.purpose) == purpose,
            col(AccountToken.consumed_at).is_(None),
        )
    )
    secret = secrets.token_urlsafe(32)
    row = AccountToken(
        org_id=user.org_id,
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(secret),
        created_at=now,
        expires_at=now + ttl(settings, purpose),
    )
    session.add(row)
    session.flush()
    account_email.schedule(session, settings, row, signer.dumps(SALTS[purpose], secret), now)
    return row


def _out(user: User, row: AccountToken) -> InvitationOut:
    return InvitationOut(user=users.user_out(user), status="invited", expires_at=row.expires_at)


def check_invite(session: Session, identity: Identity, body: InvitationCreate) -> None:
    require_org_admin(identity)
    scope = users.Scope(body.role, sorted(set(body.account_ids)), sorted(set(body.team_ids)), body.agent_id)
    users.validate_scope(session, identity.org_id, scope)
    taken = session.exec(
        select(User.id).where(User.org_id == identity.org_id, User.email == body.email)
    ).first()
    if taken is not None:
        raise conflict(ALREADY_THERE, "email")
    if body.agent_id is not None:
        linked = session.exec(
            select(User.id).where(User.org_id == identity.org_id, User.agent_id == body.agent_id)
        ).first()
        if linked is not None:
            raise conflict("another user is already linked to this agent", "agent_id")


def invite(
    session: Session,
    identity: Identity,
    body: InvitationCreate,
    settings: Settings,
    signer: Signer,
    now: datetime,
) -> InvitationOut:
    """Create the invited user (inactive, no usable password) and email them their link."""
    check_invite(session, identity, body)
    user = User(
        org_id=identity.org_id,
        email=body.email,
        name=body.name,
        password_hash=users.UNUSABLE_PASSWORD,
        role=body.role,
        account_ids=sorted(set(body.account_ids)),
        team_ids=sorted(set(body.team_ids)),
        agent_id=body.agent_id,
        active=False,
    )
    session.add(user)
    flush_or_conflict(session, ALREADY_THERE, "email")
    row = _issue(session, settings, signer, user, TokenPurpose.invite, now)
    audit_log.record(
        session, identity, "user.invited", f"user:{user.id}", {"email": user.email, "role": user.role}
    )
    return _out(user, row)


def resend(
    session: Session, identity: Identity, user_id: int, settings: Settings, signer: Signer, now: datetime
) -> InvitationOut:
    """A new link for a pending user; the one emailed before stops working."""
    require_org_admin(identity)
    user = get_in_org(session, User, user_id, identity.org_id, "user")
    if not users.is_pending(user):
        raise conflict(ALREADY_ACCEPTED, "user_id")
    row = _issue(session, settings, signer, user, TokenPurpose.invite, now)
    audit_log.record(session, identity, "user.invitation_resent", f"user:{user.id}", {"email": user.email})
    return _out(user, row)


def pending_invitations(session: Session, org_id: int) -> dict[int, datetime]:
    """The expiry of each pending user's current invitation link, by user id."""
    rows = session.exec(
        select(AccountToken).where(
            AccountToken.org_id == org_id,
            AccountToken.purpose == TokenPurpose.invite,
            col(AccountToken.consumed_at).is_(None),
        )
    ).all()
    return {row.user_id: row.expires_at for row in rows}


# --- following a link -----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    token_id: int
    user: User
    expires_at: datetime


def _usable_by(user: User, purpose: TokenPurpose) -> bool:
    if purpose is TokenPurpose.invite:
        return users.is_pending(user)
    return user.active and not users.is_pending(user)


def open_link(
    session: Session, signer: Signer, purpose: TokenPurpose, token: str, now: datetime
) -> Link | None:
    """The link's user while the link can still be used; None when forged, used, replaced or
    expired (one answer for all: the page says the same either way)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        secret = signer.loads(SALTS[purpose], token, max_age=None)
    except TokenError:
        return None
    if not isinstance(secret, str):
        return None
    row = session.exec(
        select(AccountToken).where(
            AccountToken.token_hash == token_hash(secret), AccountToken.purpose == purpose
        )
    ).first()
    if row is None or row.id is None or row.consumed_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.org_id != row.org_id or not _usable_by(user, purpose):
        return None
    return Link(row.id, user, row.expires_at)


def use_link(
    session: Session,
    signer: Signer,
    purpose: TokenPurpose,
    token: str,
    password_hash: str,
    now: datetime,
) -> User | None:
    """Set the password through the link and use it up, in one transaction; None when the link
    no longer works (another request used it first, it expired, it was replaced)."""
    link = open_link(session, signer, purpose, token, now)
    if link is None:
        return None
    won = session.execute(
        update(AccountToken)
        .where(col(AccountToken.id) == link.token_id, col(AccountToken.consumed_at).is_(None))
        .values(consumed_at=now)
    )
    if not won.rowcount:  # type: ignore[attr-defined]
        return None
    user = link.user
    user.password_hash = password_hash
    if purpose is TokenPurpose.invite:
        user.active = True
    session.add(user)
    # Every session ends: after a reset, whoever knew the old password is logged out.
    logins.end_all(session, user)
    session.execute(
        delete(AccountToken).where(
            col(AccountToken.user_id) == user.id,
            col(AccountToken.purpose) == purpose,
            col(AccountToken.consumed_at).is_(None),
        )
    )
    action = "user.invitation_accepted" if purpose is TokenPurpose.invite else "user.password_reset"
    audit_log.record(session, user_identity(user), action, f"user:{user.id}", {})
    return user


def request_reset(session: Session, settings: Settings, signer: Signer, email: str, now: datetime) -> int:
    """Email a reset link to every active login with this address (one per organization at
    most); how many were sent, for the caller's metrics only: never shown to the requester."""
    sent = 0
    for user in users.by_email(session, email):
        if not _usable_by(user, TokenPurpose.reset):
            continue
        _issue(session, settings, signer, user, TokenPurpose.reset, now)
        audit_log.record(
            session, None, "user.password_reset_requested", f"user:{user.id}", {}, org_id=user.org_id
        )
        sent += 1
    return sent


# --- what the users page shows ----------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    user: User
    # "active", "invited", "invitation expired" or "deactivated"
    status: str
    invite_expires_at: datetime | None
    scope: str


@dataclass(frozen=True)
class Choices:
    """What a scope may name, by name: the organization's accounts, teams and agents."""

    accounts: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    agents: list[tuple[int, str]]


def choices(session: Session, org_id: int) -> Choices:
    def named(model: type[Account] | type[Team] | type[Agent]) -> list[tuple[int, str]]:
        rows = session.exec(
            select(model.id, model.name).where(model.org_id == org_id).order_by(model.name, col(model.id))
        ).all()
        return [(row_id, name) for row_id, name in rows if row_id is not None]

    return Choices(named(Account), named(Team), named(Agent))


def scope_words(user: User, names: Choices) -> str:
    """The user's scope in the names its administrator knows, never ids."""
    rule = access.rule_of(user.role)
    if rule is None:
        return ""
    if rule.level is Level.ACCOUNT:
        if not user.account_ids:
            return "Whole organization" if rule.org_wide_unrestricted else "No accounts"
        chosen = set(user.account_ids)
        return "Accounts: " + ", ".join(name for i, name in names.accounts if i in chosen)
    if rule.level is Level.TEAM:
        chosen = set(user.team_ids or [])
        return "Teams: " + (", ".join(name for i, name in names.teams if i in chosen) or "none")
    agent = next((name for i, name in names.agents if i == user.agent_id), None)
    return f"Agent: {agent}" if agent else "No agent linked"


def status_of(user: User, expires_at: datetime | None, now: datetime) -> str:
    if users.is_pending(user):
        return "invited" if expires_at is not None and expires_at > now else "invitation expired"
    return "active" if user.active else "deactivated"


def admin_view(session: Session, identity: Identity, now: datetime) -> tuple[list[UserRow], Choices]:
    """Every user of the organization with status and scope in words, and the scope choices."""
    require_org_admin(identity)
    names = choices(session, identity.org_id)
    pending = pending_invitations(session, identity.org_id)
    rows = session.exec(select(User).where(User.org_id == identity.org_id).order_by(col(User.id))).all()
    out = []
    for user in rows:
        assert user.id is not None
        expires = pending.get(user.id) if users.is_pending(user) else None
        out.append(UserRow(user, status_of(user, expires, now), expires, scope_words(user, names)))
    return out, names


def user_view(session: Session, identity: Identity, user_id: int, now: datetime) -> tuple[UserRow, Choices]:
    require_org_admin(identity)
    user = get_in_org(session, User, user_id, identity.org_id, "user")
    names = choices(session, identity.org_id)
    expires = pending_invitations(session, identity.org_id).get(user_id) if users.is_pending(user) else None
    return UserRow(user, status_of(user, expires, now), expires, scope_words(user, names)), names
