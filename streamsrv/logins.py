"""Login sessions, kept on the server: opened at ``/login``, ended by logout, expiry, "log out
everywhere", a password change or deactivation.

The session cookie is a signed random secret; the ``sessions`` table keeps its hash. A session
is valid while its row exists, has not expired, was opened under the user's current
``session_version`` and the user is active. So a copy of the cookie stops working the moment its
session ends, and ending every session of a user (``end_all``) both bumps the version and deletes
the rows. Ending sessions on the server does not reach live websockets by itself: the callers
broadcast ``session:<id>`` or ``user:<id>`` through ``streamsrv.revocation`` after they commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from streamsrv.models import LoginSession, User, utcnow
from streamsrv.security.tokens import SESSION, Signer, TokenError, token_hash

# Recording every request would turn each read into a write; once a minute is enough to tell
# the sessions of a listing apart.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Login:
    user: User
    session_id: int


def open_session(session: Session, signer: Signer, user: User, max_age: int) -> str:
    """Start a session for ``user``; the value of the session cookie."""
    assert user.id is not None
    now = utcnow()
    # Expired rows of this user go now: no sweeper needed, and a user has at most the
    # sessions of one cookie lifetime.
    session.execute(
        delete(LoginSession).where(col(LoginSession.user_id) == user.id, col(LoginSession.expires_at) <= now)
    )
    secret = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            org_id=user.org_id,
            user_id=user.id,
            secret_hash=token_hash(secret),
            session_version=user.session_version,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    session.flush()
    return signer.dumps(SESSION, {"s": secret})


def _row(session: Session, signer: Signer, cookie: str, max_age: int) -> LoginSession | None:
    try:
        data = signer.loads(SESSION, cookie, max_age=max_age)
    except TokenError:
        return None
    secret = data.get("s") if isinstance(data, dict) else None
    if not isinstance(secret, str):
        return None
    return session.exec(select(LoginSession).where(LoginSession.secret_hash == token_hash(secret))).first()


def valid(row: LoginSession | None, user: User | None, now: datetime) -> bool:
    return (
        row is not None
        and user is not None
        and user.id == row.user_id
        and user.active
        and user.session_version == row.session_version
        and row.expires_at > now
    )


def resolve(session: Session, signer: Signer, cookie: str | None, max_age: int) -> Login | None:
    """The user and session of a cookie, or None (forged, expired, logged out or ended)."""
    if not cookie:
        return None
    row = _row(session, signer, cookie, max_age)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    now = utcnow()
    if not valid(row, user, now):
        return None
    assert user is not None and row.id is not None
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
        session.add(row)
    return Login(user, row.id)


def still_open(session: Session, session_id: int, user: User) -> bool:
    """Whether the session ``session_id`` of ``user`` still holds (for what it issued)."""
    return valid(session.get(LoginSession, session_id), user, utcnow())


def end(session: Session, session_id: int, user_id: int | None = None) -> bool:
    """End one session (of ``user_id`` when given); whether there was one to end."""
    stmt = delete(LoginSession).where(col(LoginSession.id) == session_id)
    if user_id is not None:
        stmt = stmt.where(col(LoginSession.user_id) == user_id)
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def end_all(session: Session, user: User) -> None:
    """End every session of ``user``, and any a login in flight is about to open."""
    user.session_version += 1
    session.add(user)
    session.execute(delete(LoginSession).where(col(LoginSession.user_id) == user.id))


def listing(session: Session, user: User) -> list[LoginSession]:
    """The user's open sessions, oldest first."""
    now = utcnow()
    rows = session.exec(
        select(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.session_version == user.session_version)
        .order_by(col(LoginSession.id))
    ).all()
    return [row for row in rows if row.expires_at > now]
